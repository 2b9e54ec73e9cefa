package dev.castellan.store.jdbc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.AuditEntry;
import dev.castellan.store.AuditFilter;
import dev.castellan.store.AuditRecord;
import dev.castellan.store.AuditRecords;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.sql.DataSource;

/**
 * The audit chain in the {@code audit_log} table. Every append and every retention run first locks
 * the one row of {@code audit_head} and reads the chain's end from it, so appends from any number
 * of threads and nodes form one chain, in the order they took the lock.
 */
final class JdbcAuditRecords implements AuditRecords {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String COLUMNS =
      "seq, event_time, kind, api, caller, subject, roles, action, resource, outcome, reason,"
          + " store_id, revision, request_id, client_address, previous_hash, hash";

  private final DataSource pool;

  JdbcAuditRecords(DataSource pool) {
    this.pool = pool;
  }

  @FunctionalInterface
  private interface SqlWork<T> {
    T run(Connection connection) throws SQLException;
  }

  private <T> T transaction(SqlWork<T> work) {
    try (Connection connection = pool.getConnection()) {
      try {
        T result = work.run(connection);
        connection.commit();
        return result;
      } catch (SQLException | RuntimeException | Error e) {
        try {
          connection.rollback();
        } catch (SQLException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      }
    } catch (SQLException e) {
      throw new CastellanException(
          ErrorCode.STORE_UNAVAILABLE, "the audit trail database is unavailable", e);
    }
  }

  private static Head lockHead(Connection connection, boolean lock) throws SQLException {
    try (PreparedStatement statement =
            connection.prepareStatement(
                "SELECT first_seq, anchor_hash, last_seq, last_hash FROM audit_head WHERE id = 1"
                    + (lock ? " FOR UPDATE" : ""));
        ResultSet rs = statement.executeQuery()) {
      if (!rs.next()) {
        throw new CastellanException(
            ErrorCode.STORE_UNAVAILABLE, "the audit trail's head row is missing");
      }
      return new Head(rs.getLong(1), rs.getString(2), rs.getLong(3), rs.getString(4));
    }
  }

  @Override
  public List<AuditRecord> append(List<AuditEntry> entries) {
    if (entries.isEmpty()) {
      return List.of();
    }
    return transaction(
        connection -> {
          Head head = lockHead(connection, true);
          List<AuditRecord> records = new ArrayList<>(entries.size());
          long seq = head.lastSeq();
          String previous = head.lastHash();
          try (PreparedStatement insert =
              connection.prepareStatement(
                  "INSERT INTO audit_log ("
                      + COLUMNS
                      + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            for (AuditEntry entry : entries) {
              AuditRecord record = AuditRecord.chain(++seq, entry, previous);
              bind(insert, record);
              insert.addBatch();
              records.add(record);
              previous = record.hash();
            }
            insert.executeBatch();
          }
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE audit_head SET last_seq = ?, last_hash = ? WHERE id = 1")) {
            update.setLong(1, seq);
            update.setString(2, previous);
            update.executeUpdate();
          }
          return records;
        });
  }

  private static void bind(PreparedStatement statement, AuditRecord record) throws SQLException {
    AuditEntry entry = record.entry();
    statement.setLong(1, record.seq());
    statement.setObject(2, entry.time().atOffset(ZoneOffset.UTC));
    statement.setString(3, entry.kind());
    statement.setString(4, entry.api());
    statement.setString(5, entry.caller());
    statement.setString(6, entry.subject());
    statement.setString(7, rolesJson(entry.roles()));
    statement.setString(8, entry.action());
    statement.setString(9, entry.resource());
    statement.setString(10, entry.outcome());
    statement.setString(11, entry.reason());
    statement.setString(12, entry.storeId());
    statement.setLong(13, entry.revision());
    statement.setString(14, entry.requestId());
    statement.setString(15, entry.clientAddress());
    statement.setString(16, record.previousHash());
    statement.setString(17, record.hash());
  }

  private static String rolesJson(List<String> roles) {
    if (roles.isEmpty()) {
      return "[]";
    }
    try {
      return JSON.writeValueAsString(roles);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a list of strings is always JSON", e);
    }
  }

  private static AuditRecord readRecord(ResultSet rs) throws SQLException {
    List<String> roles;
    try {
      roles = Arrays.asList(JSON.readValue(rs.getString(7), String[].class));
    } catch (JsonProcessingException e) {
      // An edited row: keep the text, so the hash check names this entry.
      roles = List.of(rs.getString(7));
    }
    AuditEntry entry =
        new AuditEntry(
            rs.getObject(2, OffsetDateTime.class).toInstant(),
            rs.getString(3),
            rs.getString(4),
            rs.getString(5),
            rs.getString(6),
            roles,
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

  @Override
  public Page<AuditRecord> read(AuditFilter filter, PageRequest page) {
    long after = AuditRecords.afterSeq(page.continuationToken());
    StringBuilder sql =
        new StringBuilder("SELECT ").append(COLUMNS).append(" FROM audit_log WHERE seq > ?");
    List<Object> parameters = new ArrayList<>();
    parameters.add(after);
    if (filter.hasSince()) {
      sql.append(" AND event_time >= ?");
      parameters.add(filter.since().atOffset(ZoneOffset.UTC));
    }
    if (filter.hasUntil()) {
      sql.append(" AND event_time < ?");
      parameters.add(filter.until().atOffset(ZoneOffset.UTC));
    }
    condition(sql, parameters, "subject", filter.subject());
    condition(sql, parameters, "action", filter.action());
    condition(sql, parameters, "resource", filter.resource());
    condition(sql, parameters, "outcome", filter.outcome());
    sql.append(" ORDER BY seq LIMIT ").append(page.pageSize() + 1);
    return transaction(
        connection -> {
          List<AuditRecord> items = new ArrayList<>();
          try (PreparedStatement statement = connection.prepareStatement(sql.toString())) {
            for (int i = 0; i < parameters.size(); i++) {
              statement.setObject(i + 1, parameters.get(i));
            }
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                items.add(readRecord(rs));
              }
            }
          }
          if (items.size() <= page.pageSize()) {
            return new Page<>(items, "");
          }
          items.removeLast();
          return new Page<>(items, AuditRecords.tokenAfter(items.getLast().seq()));
        });
  }

  private static void condition(
      StringBuilder sql, List<Object> parameters, String column, String value) {
    if (!value.isEmpty()) {
      sql.append(" AND ").append(column).append(" = ?");
      parameters.add(value);
    }
  }

  @Override
  public Head head() {
    return transaction(connection -> lockHead(connection, false));
  }

  @Override
  public long deleteOlderThan(Instant cutoff) {
    return transaction(
        connection -> {
          Head head = lockHead(connection, true);
          long keepFrom = head.lastSeq() + 1;
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT MIN(seq) FROM audit_log WHERE event_time >= ? AND seq >= ?")) {
            statement.setObject(1, cutoff.atOffset(ZoneOffset.UTC));
            statement.setLong(2, head.firstSeq());
            try (ResultSet rs = statement.executeQuery()) {
              if (rs.next() && rs.getObject(1) != null) {
                keepFrom = rs.getLong(1);
              }
            }
          }
          if (keepFrom <= head.firstSeq()) {
            return 0L;
          }
          String anchor = head.lastHash();
          if (keepFrom <= head.lastSeq()) {
            try (PreparedStatement statement =
                connection.prepareStatement("SELECT previous_hash FROM audit_log WHERE seq = ?")) {
              statement.setLong(1, keepFrom);
              try (ResultSet rs = statement.executeQuery()) {
                if (rs.next()) {
                  anchor = rs.getString(1);
                }
              }
            }
          }
          long deleted;
          try (PreparedStatement statement =
              connection.prepareStatement("DELETE FROM audit_log WHERE seq < ?")) {
            statement.setLong(1, keepFrom);
            deleted = statement.executeUpdate();
          }
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "UPDATE audit_head SET first_seq = ?, anchor_hash = ? WHERE id = 1")) {
            statement.setLong(1, keepFrom);
            statement.setString(2, anchor);
            statement.executeUpdate();
          }
          return deleted;
        });
  }
}
