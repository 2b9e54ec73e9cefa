package dev.castellan.store.jdbc;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.audit.AuditEntry;
import dev.castellan.audit.AuditFilter;
import dev.castellan.audit.AuditLines;
import dev.castellan.audit.AuditRecord;
import dev.castellan.audit.AuditRecords;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * The audit chain in the {@code audit_segment} table: a row per batch appended, holding the batch's
 * records as JSON lines ({@link AuditLines}), which costs a few microseconds an entry where a row
 * per entry cost over twenty (ADR 0009). Every append and every retention run first locks the one
 * row of {@code audit_head} and reads the chain's end from it, so appends from any number of
 * threads and nodes form one chain, in the order they took the lock.
 */
final class JdbcAuditRecords implements AuditRecords {
  /** A segment is closed at this size; a batch larger than it is stored as several. */
  static final int SEGMENT_BYTES = 256 * 1024;

  /** Segments fetched per query while reading. */
  private static final int SEGMENTS_PER_QUERY = 8;

  /**
   * Entries one read looks at, at most: a filter that matches little ends its page early, with a
   * token to read on, rather than scanning the whole trail in one request.
   */
  static final int SCAN_LIMIT = 200_000;

  /**
   * The background writer's buffer, kept between batches: a new one per batch was a quarter of a
   * megabyte of garbage twenty times a second. Requests that append for themselves are rare.
   */
  private static final ThreadLocal<AuditLines.Encoder> ENCODER =
      ThreadLocal.withInitial(() -> new AuditLines.Encoder(8 * 1024));

  private final Transactions transactions;
  private final int scanLimit;

  JdbcAuditRecords(DataSource pool) {
    this(pool, SCAN_LIMIT);
  }

  JdbcAuditRecords(DataSource pool, int scanLimit) {
    this.transactions = new Transactions(pool, "the audit trail database");
    this.scanLimit = scanLimit;
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
    return transactions.run(
        connection -> {
          Head head = lockHead(connection, true);
          List<AuditRecord> records = new ArrayList<>(entries.size());
          long seq = head.lastSeq();
          String previous = head.lastHash();
          AuditLines.Encoder lines = ENCODER.get();
          lines.reset();
          try (PreparedStatement insert = connection.prepareStatement(INSERT_SEGMENT)) {
            Segment segment = new Segment();
            for (AuditEntry entry : entries) {
              AuditRecord record = lines.append(++seq, entry, previous);
              segment.add(record);
              records.add(record);
              previous = record.hash();
              if (lines.size() >= SEGMENT_BYTES) {
                segment.insert(insert, lines);
                segment = new Segment();
              }
            }
            if (lines.lines() > 0) {
              segment.insert(insert, lines);
            }
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

  static final String INSERT_SEGMENT =
      "INSERT INTO audit_segment (first_seq, last_seq, min_time, max_time, entries)"
          + " VALUES (?, ?, ?, ?, ?)";

  /** The bounds of the segment being filled: its seqs and the span of its entries' times. */
  static final class Segment {
    private long firstSeq = -1;
    private long lastSeq;
    // Empty bounds until the first entry: any time narrows them.
    private Instant minTime = Instant.MAX;
    private Instant maxTime = Instant.MIN;

    void add(AuditRecord record) {
      if (firstSeq < 0) {
        firstSeq = record.seq();
      }
      lastSeq = record.seq();
      Instant time = record.entry().time();
      minTime = time.isBefore(minTime) ? time : minTime;
      maxTime = time.isAfter(maxTime) ? time : maxTime;
    }

    /** Inserts the segment with the lines encoded so far, then empties the encoder. */
    void insert(PreparedStatement insert, AuditLines.Encoder lines) throws SQLException {
      insert.setLong(1, firstSeq);
      insert.setLong(2, lastSeq);
      insert.setObject(3, minTime.atOffset(ZoneOffset.UTC));
      insert.setObject(4, maxTime.atOffset(ZoneOffset.UTC));
      insert.setBytes(5, lines.toByteArray());
      insert.executeUpdate();
      lines.reset();
    }
  }

  @Override
  public Page<AuditRecord> read(AuditFilter filter, PageRequest page) {
    long after = AuditRecords.afterSeq(page.continuationToken());
    List<byte[]> patterns = new ArrayList<>();
    addPattern(patterns, "subject", filter.subject());
    addPattern(patterns, "action", filter.action());
    addPattern(patterns, "resource", filter.resource());
    addPattern(patterns, "outcome", filter.outcome());
    // Segments are visited once each, in first_seq order: the cursor moves on even past a
    // segment whose bounds were edited.
    StringBuilder sql =
        new StringBuilder(
            "SELECT first_seq, entries FROM audit_segment WHERE last_seq > ? AND first_seq > ?");
    List<Object> parameters = new ArrayList<>(List.of(after, Long.MIN_VALUE));
    if (filter.hasSince()) {
      sql.append(" AND max_time >= ?");
      parameters.add(filter.since().atOffset(ZoneOffset.UTC));
    }
    if (filter.hasUntil()) {
      sql.append(" AND min_time < ?");
      parameters.add(filter.until().atOffset(ZoneOffset.UTC));
    }
    sql.append(" ORDER BY first_seq LIMIT ").append(SEGMENTS_PER_QUERY);
    return transactions.run(
        connection -> {
          List<AuditRecord> items = new ArrayList<>();
          long position = after; // the highest seq looked at
          int scanned = 0;
          try (PreparedStatement statement = connection.prepareStatement(sql.toString())) {
            while (true) {
              for (int i = 0; i < parameters.size(); i++) {
                statement.setObject(i + 1, parameters.get(i));
              }
              int segments = 0;
              try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                  segments++;
                  long firstSeq = rs.getLong(1);
                  parameters.set(1, firstSeq);
                  byte[] lines = rs.getBytes(2);
                  long next = firstSeq; // the seq of a line that does not say its own
                  for (int start = 0, end; start < lines.length; start = end + 1) {
                    end = AuditLines.lineEnd(lines, start);
                    int length = end - start;
                    if (length == 0) {
                      continue;
                    }
                    long seq = AuditLines.leadingSeq(lines, start, length);
                    long lineSeq = seq >= 0 ? seq : next;
                    next = lineSeq + 1;
                    if (lineSeq <= after) {
                      continue;
                    }
                    if (scanned == scanLimit) {
                      return new Page<>(items, AuditRecords.tokenAfter(position));
                    }
                    scanned++;
                    if (mayMatch(lines, start, end, patterns)) {
                      AuditRecord record = AuditLines.parseLine(lines, start, length, lineSeq);
                      if (filter.matches(record.entry())) {
                        if (items.size() == page.pageSize()) {
                          return new Page<>(items, AuditRecords.tokenAfter(items.getLast().seq()));
                        }
                        items.add(record);
                      }
                    }
                    position = Math.max(position, lineSeq);
                  }
                }
              }
              if (segments < SEGMENTS_PER_QUERY) {
                return new Page<>(items, "");
              }
            }
          }
        });
  }

  private static void addPattern(List<byte[]> patterns, String field, String value) {
    if (!value.isEmpty()) {
      patterns.add(AuditLines.fieldPattern(field, value));
    }
  }

  private static boolean mayMatch(byte[] lines, int from, int to, List<byte[]> patterns) {
    for (byte[] pattern : patterns) {
      if (!AuditLines.contains(lines, from, to, pattern)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public Head head() {
    return transactions.run(connection -> lockHead(connection, false));
  }

  @Override
  public long deleteOlderThan(Instant cutoff) {
    return transactions.run(
        connection -> {
          Head head = lockHead(connection, true);
          // The oldest segment holding an entry at or after the cutoff is kept whole, with its
          // older entries: retention works a segment at a time.
          long keepFrom = head.lastSeq() + 1;
          String anchor = head.lastHash();
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT first_seq, entries FROM audit_segment WHERE max_time >= ?"
                      + " ORDER BY first_seq LIMIT 1")) {
            statement.setObject(1, cutoff.atOffset(ZoneOffset.UTC));
            try (ResultSet rs = statement.executeQuery()) {
              if (rs.next()) {
                byte[] lines = rs.getBytes(2);
                AuditRecord first =
                    AuditLines.parseLine(lines, 0, AuditLines.lineEnd(lines, 0), rs.getLong(1));
                keepFrom = first.seq();
                anchor = first.previousHash();
              }
            }
          }
          if (keepFrom <= head.firstSeq()) {
            return 0L;
          }
          long deleted = 0;
          try (PreparedStatement count =
                  connection.prepareStatement(
                      "SELECT COALESCE(SUM(last_seq - first_seq + 1), 0) FROM audit_segment"
                          + " WHERE first_seq < ?");
              PreparedStatement delete =
                  connection.prepareStatement("DELETE FROM audit_segment WHERE first_seq < ?")) {
            count.setLong(1, keepFrom);
            try (ResultSet rs = count.executeQuery()) {
              rs.next();
              deleted = rs.getLong(1);
            }
            delete.setLong(1, keepFrom);
            delete.executeUpdate();
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
