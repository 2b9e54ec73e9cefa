package dev.castellan.store.jdbc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.audit.AuditEntry;
import dev.castellan.audit.AuditLines;
import dev.castellan.audit.AuditRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.List;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * Moves the audit trail from V5's row per entry into V6's segments, hashes as stored: a recomputed
 * hash would hide an entry that was edited before the move. Then drops the old table.
 */
// Named as Flyway wants it: the version and description are read from the class name.
final class V7__Audit_rows_into_segments extends BaseJavaMigration {
  private static final int ENTRIES_PER_SEGMENT = 500;
  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public void migrate(Context context) throws SQLException {
    Connection connection = context.getConnection();
    AuditLines.Encoder lines = new AuditLines.Encoder(JdbcAuditRecords.SEGMENT_BYTES);
    try (Statement select = connection.createStatement();
        PreparedStatement insert = connection.prepareStatement(JdbcAuditRecords.INSERT_SEGMENT)) {
      select.setFetchSize(ENTRIES_PER_SEGMENT);
      try (ResultSet rs =
          select.executeQuery(
              "SELECT seq, event_time, kind, api, caller, subject, roles, action, resource,"
                  + " outcome, reason, store_id, revision, request_id, client_address,"
                  + " previous_hash, hash FROM audit_log ORDER BY seq")) {
        JdbcAuditRecords.Segment segment = new JdbcAuditRecords.Segment();
        while (rs.next()) {
          AuditRecord record = read(rs);
          lines.write(record);
          segment.add(record);
          if (lines.lines() == ENTRIES_PER_SEGMENT
              || lines.size() >= JdbcAuditRecords.SEGMENT_BYTES) {
            segment.insert(insert, lines);
            segment = new JdbcAuditRecords.Segment();
          }
        }
        if (lines.lines() > 0) {
          segment.insert(insert, lines);
        }
      }
      select.execute("DROP TABLE audit_log");
    }
  }

  private static AuditRecord read(ResultSet rs) throws SQLException {
    AuditEntry entry =
        new AuditEntry(
            rs.getObject(2, OffsetDateTime.class).toInstant(),
            rs.getString(3),
            rs.getString(4),
            rs.getString(5),
            rs.getString(6),
            roles(rs.getString(7)),
            rs.getString(8),
            rs.getString(9),
            rs.getString(10),
            rs.getString(11),
            rs.getString(12),
            rs.getLong(13),
            rs.getString(14),
            rs.getString(15));
    return new AuditRecord(rs.getLong(1), entry, rs.getString(16), rs.getString(17));
  }

  /** V5 kept roles as a JSON array of strings; an edited value is kept as text, to fail verify. */
  private static List<String> roles(String json) {
    try {
      return Arrays.asList(JSON.readValue(json, String[].class));
    } catch (JsonProcessingException e) {
      return List.of(json);
    }
  }
}
