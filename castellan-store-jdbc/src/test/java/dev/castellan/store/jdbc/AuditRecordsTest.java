package dev.castellan.store.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.audit.AuditEntry;
import dev.castellan.audit.AuditFilter;
import dev.castellan.audit.AuditLines;
import dev.castellan.audit.AuditRecord;
import dev.castellan.audit.AuditRecords;
import dev.castellan.audit.AuditVerification;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The audit chain on each database: appends chain, reads filter and page, retention keeps the rest
 * verifiable, concurrent appenders (two store instances, as two nodes) make one chain, and every
 * kind of tampering with the rows (edit, delete, reorder) is caught and named.
 */
abstract class AuditRecordsTest {
  static final Instant T0 = Instant.parse("2026-11-01T10:00:00.123456Z");

  /** A new store on an empty database. */
  protected abstract JdbcStore open() throws SQLException;

  /**
   * Another store instance over the same database, as a second node would have; {@code store}
   * itself where the database allows only one (H2 holds its file for one process).
   */
  protected abstract JdbcStore second() throws SQLException;

  /**
   * A store on a new database that was first migrated only up to V5 (an audit row per entry), then
   * given {@code beforeUpgrade}, then opened, which migrates it to the current schema.
   */
  protected abstract JdbcStore openUpgradedFromV5(Tampering beforeUpgrade) throws SQLException;

  /** Works on the database behind the store's back, as an intruder with SQL access would. */
  protected abstract void tamper(Tampering work) throws SQLException;

  @FunctionalInterface
  interface Tampering {
    void on(Connection connection) throws SQLException;
  }

  /** Runs SQL statements behind the store's back. */
  void tamper(String... statements) throws SQLException {
    tamper(
        connection -> {
          try (Statement statement = connection.createStatement()) {
            for (String sql : statements) {
              statement.execute(sql);
            }
          }
        });
  }

  /**
   * Edits the stored lines behind the store's back: {@code edit} gets every line of the trail, in
   * order, and may replace one or set it to null to remove it; each segment keeps its lines.
   */
  void editLines(Consumer<List<String>> edit) throws SQLException {
    tamper(
        connection -> {
          Map<Long, Integer> sizes = new LinkedHashMap<>();
          List<String> lines = new ArrayList<>();
          try (Statement statement = connection.createStatement();
              ResultSet rs =
                  statement.executeQuery(
                      "SELECT first_seq, entries FROM audit_segment ORDER BY first_seq")) {
            while (rs.next()) {
              List<String> segment =
                  new String(rs.getBytes(2), StandardCharsets.UTF_8).lines().toList();
              sizes.put(rs.getLong(1), segment.size());
              lines.addAll(segment);
            }
          }
          edit.accept(lines);
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE audit_segment SET entries = ? WHERE first_seq = ?")) {
            int at = 0;
            for (Map.Entry<Long, Integer> segment : sizes.entrySet()) {
              StringBuilder text = new StringBuilder();
              for (String line : lines.subList(at, at + segment.getValue())) {
                if (line != null) {
                  text.append(line).append('\n');
                }
              }
              at += segment.getValue();
              update.setBytes(1, text.toString().getBytes(StandardCharsets.UTF_8));
              update.setLong(2, segment.getKey());
              update.executeUpdate();
            }
          }
        });
  }

  protected JdbcStore store;

  @BeforeEach
  void openStore() throws SQLException {
    store = open();
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  static AuditEntry entry(int i, String subject, String outcome) {
    return new AuditEntry(
        T0.plusSeconds(i),
        "decision",
        "check",
        "key:abc",
        subject,
        List.of("viewer", "it's \"quoted\""),
        "viewer",
        "doc:" + i,
        outcome,
        i % 2 == 0 ? "" : "no path\nfound",
        "01JSTORE",
        i,
        "req-" + i,
        "127.0.0.1");
  }

  private AuditRecords records() {
    return store.auditRecords();
  }

  private void appendFive() {
    records()
        .append(
            List.of(
                entry(1, "user:anne", "allow"),
                entry(2, "user:bob", "deny"),
                entry(3, "user:anne", "deny")));
    records().append(List.of(entry(4, "user:bob", "allow"), entry(5, "user:anne", "deny")));
  }

  private AuditVerification verify() {
    return AuditVerification.of(records());
  }

  @Test
  void appends_chainEveryEntryToThePreviousOne_andReadBackExactly() {
    appendFive();
    List<AuditRecord> all = records().read(AuditFilter.ALL, PageRequest.first(100)).items();
    assertThat(all).extracting(AuditRecord::seq).containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(all.getFirst().previousHash()).isEqualTo(AuditRecord.GENESIS);
    for (int i = 1; i < all.size(); i++) {
      assertThat(all.get(i).previousHash()).isEqualTo(all.get(i - 1).hash());
    }
    assertThat(all.get(2).entry()).isEqualTo(entry(3, "user:anne", "deny"));
    assertThat(all).allMatch(AuditRecord::contentIntact);
    assertThat(records().head().lastSeq()).isEqualTo(5);
    assertThat(verify()).isEqualTo(new AuditVerification(true, 5, 0, ""));
  }

  @Test
  void aSummarysCount_readsBack_andAnEditedCountIsCaught() throws SQLException {
    AuditEntry summary =
        new AuditEntry(
            T0,
            "decision",
            "auth-failure",
            "",
            "",
            List.of(),
            "authenticate",
            "/stores",
            "deny",
            "41 more failed authentications",
            "",
            0,
            "req-9",
            "203.0.113.7",
            41);
    records().append(List.of(entry(1, "user:anne", "allow"), summary));
    List<AuditRecord> all = records().read(AuditFilter.ALL, PageRequest.first(10)).items();
    assertThat(all.get(1).entry()).isEqualTo(summary);
    assertThat(all.get(0).entry().count()).isEqualTo(1);
    assertThat(verify().intact()).isTrue();

    editLines(lines -> lines.set(1, lines.get(1).replace("\"count\":41", "\"count\":1")));
    assertThat(verify().badSeq()).isEqualTo(2);
  }

  @Test
  void anEmptyChain_isIntact() {
    assertThat(verify().intact()).isTrue();
    assertThat(verify().entries()).isZero();
  }

  @Test
  void anEditedEntry_isCaught_andNamed() throws SQLException {
    appendFive();
    editLines(lines -> lines.set(2, lines.get(2).replace("\"deny\"", "\"allow\"")));
    AuditVerification result = verify();
    assertThat(result.intact()).isFalse();
    assertThat(result.badSeq()).isEqualTo(3);
    assertThat(result.entries()).isEqualTo(2);
    assertThat(result.reason()).contains("edited");
  }

  @Test
  void anEditedTime_isCaught() throws SQLException {
    appendFive();
    editLines(lines -> lines.set(3, lines.get(3).replace("10:00:04.", "10:00:05.")));
    assertThat(verify().badSeq()).isEqualTo(4);
  }

  @Test
  void aDeletedEntry_isCaught_andNamed() throws SQLException {
    appendFive();
    editLines(lines -> lines.set(2, null));
    AuditVerification result = verify();
    assertThat(result.intact()).isFalse();
    assertThat(result.badSeq()).isEqualTo(3);
    assertThat(result.reason()).contains("missing");
  }

  @Test
  void aDeletedSegment_isCaught_andNamed() throws SQLException {
    appendFive();
    tamper("DELETE FROM audit_segment WHERE first_seq = 1");
    AuditVerification result = verify();
    assertThat(result.badSeq()).isEqualTo(1);
    assertThat(result.reason()).contains("missing");
  }

  @Test
  void aLineThatIsNoLongerJson_isCaughtAsEdited() throws SQLException {
    appendFive();
    editLines(lines -> lines.set(3, lines.get(3).substring(0, 40)));
    AuditVerification result = verify();
    assertThat(result.badSeq()).isEqualTo(4);
    assertThat(result.reason()).contains("edited");
  }

  @Test
  void deletingTheNewestEntry_isCaught() throws SQLException {
    appendFive();
    editLines(lines -> lines.set(4, null));
    AuditVerification result = verify();
    assertThat(result.badSeq()).isEqualTo(5);
    assertThat(result.reason()).contains("missing");
  }

  @Test
  void deletingTheOldestEntry_isCaught() throws SQLException {
    appendFive();
    editLines(lines -> lines.set(0, null));
    assertThat(verify().badSeq()).isEqualTo(1);
  }

  @Test
  void reorderedEntries_areCaught_andNamed() throws SQLException {
    appendFive();
    editLines(
        lines -> {
          String second = lines.get(1);
          lines.set(1, lines.get(3));
          lines.set(3, second);
        });
    AuditVerification result = verify();
    assertThat(result.intact()).isFalse();
    assertThat(result.badSeq()).isEqualTo(2);
    assertThat(result.reason()).contains("reordered");
  }

  @Test
  void anEditedEntryWithItsHashRecomputed_isCaughtAtTheNextEntry() throws SQLException {
    appendFive();
    List<AuditRecord> all = records().read(AuditFilter.ALL, PageRequest.first(10)).items();
    AuditEntry forged = entry(2, "user:bob", "allow");
    AuditLines.Encoder encoder = new AuditLines.Encoder();
    encoder.append(2, forged, all.get(0).hash());
    String forgedLine = new String(encoder.toByteArray(), StandardCharsets.UTF_8).strip();
    editLines(lines -> lines.set(1, forgedLine));
    AuditVerification result = verify();
    assertThat(result.badSeq()).isEqualTo(3);
    assertThat(result.reason()).contains("previous_hash");
  }

  @Test
  void reads_filterBySubjectOutcomeAndTime_andPage() {
    appendFive();
    Page<AuditRecord> anne =
        records()
            .read(
                new AuditFilter(Instant.EPOCH, AuditFilter.NO_END, "user:anne", "", "", "deny"),
                PageRequest.first(1));
    assertThat(anne.items()).extracting(AuditRecord::seq).containsExactly(3L);
    Page<AuditRecord> next =
        records()
            .read(
                new AuditFilter(Instant.EPOCH, AuditFilter.NO_END, "user:anne", "", "", "deny"),
                new PageRequest(1, anne.continuationToken()));
    assertThat(next.items()).extracting(AuditRecord::seq).containsExactly(5L);
    assertThat(next.continuationToken()).isEmpty();

    AuditFilter window = new AuditFilter(T0.plusSeconds(2), T0.plusSeconds(4), "", "", "", "");
    assertThat(records().read(window, PageRequest.first(10)).items())
        .extracting(AuditRecord::seq)
        .containsExactly(2L, 3L);
    AuditFilter resource =
        new AuditFilter(Instant.EPOCH, AuditFilter.NO_END, "", "viewer", "doc:4", "");
    assertThat(records().read(resource, PageRequest.first(10)).items())
        .extracting(AuditRecord::seq)
        .containsExactly(4L);
  }

  /** Five entries, a segment each. */
  private void appendFiveSingly() {
    appendSingly(entry(1, "user:anne", "allow"));
    appendSingly(entry(2, "user:bob", "deny"));
    appendSingly(entry(3, "user:anne", "deny"));
    appendSingly(entry(4, "user:bob", "allow"));
    appendSingly(entry(5, "user:anne", "deny"));
  }

  private void appendSingly(AuditEntry entry) {
    records().append(List.of(entry));
  }

  @Test
  void retention_deletesTheOldest_andTheRestStillVerifies() throws SQLException {
    appendFiveSingly();
    assertThat(records().deleteOlderThan(T0.plusSeconds(3))).isEqualTo(2);
    assertThat(records().head().firstSeq()).isEqualTo(3);
    assertThat(verify()).isEqualTo(new AuditVerification(true, 3, 0, ""));
    assertThat(records().deleteOlderThan(T0.plusSeconds(3))).isZero();

    records().append(List.of(entry(6, "user:carl", "deny")));
    assertThat(verify().entries()).isEqualTo(4);

    // Removing one more from the start is not retention: it is caught.
    tamper("DELETE FROM audit_segment WHERE first_seq = 3");
    assertThat(verify().badSeq()).isEqualTo(3);
  }

  @Test
  void retention_keepsTheSegmentThatHoldsTheCutoff_whole() {
    appendFive(); // segments 1-3 and 4-5
    assertThat(records().deleteOlderThan(T0.plusSeconds(3))).isZero();
    assertThat(records().deleteOlderThan(T0.plusSeconds(4))).isEqualTo(3);
    assertThat(records().head().firstSeq()).isEqualTo(4);
    assertThat(verify()).isEqualTo(new AuditVerification(true, 2, 0, ""));
  }

  @Test
  void reads_overManySegments_pageThroughEveryMatchInOrder() {
    List<AuditEntry> written = new ArrayList<>();
    for (int batch = 0; batch < 30; batch++) {
      List<AuditEntry> entries = new ArrayList<>();
      for (int i = 0; i < 7; i++) {
        int n = batch * 7 + i;
        entries.add(
            entry(n, "user:" + (n % 3 == 0 ? "anne" : "bob"), n % 2 == 0 ? "deny" : "allow"));
      }
      records().append(entries);
      written.addAll(entries);
    }
    AuditFilter anneDenied =
        new AuditFilter(Instant.EPOCH, AuditFilter.NO_END, "user:anne", "", "", "deny");
    List<Long> expected = new ArrayList<>();
    for (int i = 0; i < written.size(); i++) {
      if (anneDenied.matches(written.get(i))) {
        expected.add(i + 1L);
      }
    }
    List<Long> read = new ArrayList<>();
    String token = "";
    int pages = 0;
    do {
      Page<AuditRecord> page = records().read(anneDenied, new PageRequest(8, token));
      page.items().forEach(record -> read.add(record.seq()));
      token = page.continuationToken();
      pages++;
    } while (!token.isEmpty());
    assertThat(read).isEqualTo(expected).hasSize(35);
    assertThat(pages).isEqualTo(5);

    AuditFilter window = new AuditFilter(T0.plusSeconds(100), T0.plusSeconds(103), "", "", "", "");
    assertThat(records().read(window, PageRequest.first(10)).items())
        .extracting(AuditRecord::seq)
        .containsExactly(101L, 102L, 103L);
  }

  @Test
  void aReadLooksAtBoundedlyManyEntries_andGivesATokenToReadOn() {
    appendFive();
    AuditRecords bounded = new JdbcAuditRecords(store.dataSource(), 2);
    AuditFilter anne = new AuditFilter(Instant.EPOCH, AuditFilter.NO_END, "user:anne", "", "", "");
    List<Long> read = new ArrayList<>();
    List<Integer> sizes = new ArrayList<>();
    String token = "";
    do {
      Page<AuditRecord> page = bounded.read(anne, new PageRequest(100, token));
      page.items().forEach(record -> read.add(record.seq()));
      sizes.add(page.items().size());
      token = page.continuationToken();
    } while (!token.isEmpty());
    assertThat(read).containsExactly(1L, 3L, 5L);
    assertThat(sizes).containsExactly(1, 1, 1); // entries 1-2, 3-4, then 5 and the end
  }

  @Test
  void retention_ofEverything_leavesAnEmptyButContinuingChain() {
    appendFive();
    assertThat(records().deleteOlderThan(T0.plusSeconds(100))).isEqualTo(5);
    assertThat(verify().intact()).isTrue();
    List<AuditRecord> appended = records().append(List.of(entry(7, "user:dan", "allow")));
    assertThat(appended.getFirst().seq()).isEqualTo(6);
    assertThat(verify()).isEqualTo(new AuditVerification(true, 1, 0, ""));
  }

  @Test
  void concurrentAppenders_onTwoStoreInstances_makeOneUnbrokenChain() throws Exception {
    int threads = 6;
    int batches = 30;
    int perBatch = 4;
    JdbcStore other = second();
    try {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        AuditRecords target = (t % 2 == 0 ? store : other).auditRecords();
        int thread = t;
        done.add(
            pool.submit(
                () -> {
                  for (int b = 0; b < batches; b++) {
                    List<AuditEntry> batch = new ArrayList<>();
                    for (int i = 0; i < perBatch; i++) {
                      batch.add(entry(i, "user:t" + thread, "allow"));
                    }
                    target.append(batch);
                  }
                }));
      }
      for (Future<?> future : done) {
        future.get();
      }
      pool.shutdown();
    } finally {
      if (other != store) {
        other.close();
      }
    }
    AuditVerification result = verify();
    assertThat(result.intact()).as(result.describe()).isTrue();
    assertThat(result.entries()).isEqualTo((long) threads * batches * perBatch);
  }

  @Test
  void aBatchOfTheLargestEntries_isCutIntoSegments_andReadsBackExactly() throws SQLException {
    // Every field at its limit, in characters that take six bytes each as JSON escapes.
    String huge = "\u0001".repeat(AuditEntry.MAX_REASON);
    String wide = "\"".repeat(AuditEntry.MAX_FIELD);
    List<AuditEntry> batch = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      batch.add(
          new AuditEntry(
              T0.plusSeconds(i),
              "decision",
              "check",
              wide,
              "user:" + i,
              List.of(wide),
              wide,
              wide,
              "deny",
              huge,
              wide,
              i,
              wide,
              wide));
    }
    List<AuditRecord> appended = records().append(batch);
    int segments;
    try (Connection connection = store.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SELECT COUNT(*) FROM audit_segment")) {
      rs.next();
      segments = rs.getInt(1);
      connection.rollback();
    }
    assertThat(segments).isGreaterThan(5);
    List<AuditRecord> read = new ArrayList<>();
    String token = "";
    do {
      Page<AuditRecord> page = records().read(AuditFilter.ALL, new PageRequest(25, token));
      read.addAll(page.items());
      token = page.continuationToken();
    } while (!token.isEmpty());
    assertThat(read).isEqualTo(appended);
    assertThat(verify()).isEqualTo(new AuditVerification(true, 60, 0, ""));
  }

  /** Inserts records as V5 stored them, a row each with the roles as a JSON array. */
  private static Tampering v5Rows(List<AuditRecord> rows) {
    return connection -> {
      try (PreparedStatement insert =
          connection.prepareStatement(
              "INSERT INTO audit_log (seq, event_time, kind, api, caller, subject, roles, action,"
                  + " resource, outcome, reason, store_id, revision, request_id, client_address,"
                  + " previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                  + " ?)")) {
        for (AuditRecord row : rows) {
          AuditEntry e = row.entry();
          insert.setLong(1, row.seq());
          insert.setObject(2, e.time().atOffset(java.time.ZoneOffset.UTC));
          insert.setString(3, e.kind());
          insert.setString(4, e.api());
          insert.setString(5, e.caller());
          insert.setString(6, e.subject());
          insert.setString(7, "[\"viewer\",\"it's \\\"quoted\\\"\"]");
          insert.setString(8, e.action());
          insert.setString(9, e.resource());
          insert.setString(10, e.outcome());
          insert.setString(11, e.reason());
          insert.setString(12, e.storeId());
          insert.setLong(13, e.revision());
          insert.setString(14, e.requestId());
          insert.setString(15, e.clientAddress());
          insert.setString(16, row.previousHash());
          insert.setString(17, row.hash());
          insert.executeUpdate();
        }
      }
      try (Statement statement = connection.createStatement()) {
        statement.execute(
            "UPDATE audit_head SET last_seq = "
                + rows.getLast().seq()
                + ", last_hash = '"
                + rows.getLast().hash()
                + "' WHERE id = 1");
      }
    };
  }

  private static List<AuditRecord> chainOf(int count) {
    List<AuditRecord> out = new ArrayList<>();
    String previous = AuditRecord.GENESIS;
    for (int i = 1; i <= count; i++) {
      AuditRecord record = AuditRecord.chain(i, entry(i, "user:anne", "deny"), previous);
      out.add(record);
      previous = record.hash();
    }
    return out;
  }

  @Test
  void upgradingFromV5_movesEveryEntryIntoSegments_withItsHashes() throws SQLException {
    List<AuditRecord> rows = chainOf(1_203);
    try (JdbcStore upgraded = openUpgradedFromV5(v5Rows(rows))) {
      AuditRecords moved = upgraded.auditRecords();
      assertThat(AuditVerification.of(moved)).isEqualTo(new AuditVerification(true, 1_203, 0, ""));
      List<AuditRecord> read = new ArrayList<>();
      String token = "";
      do {
        Page<AuditRecord> page =
            moved.read(AuditFilter.ALL, new PageRequest(PageRequest.MAX_PAGE_SIZE, token));
        read.addAll(page.items());
        token = page.continuationToken();
      } while (!token.isEmpty());
      assertThat(read).isEqualTo(rows);
      assertThat(moved.append(List.of(entry(9, "user:bob", "allow"))).getFirst().seq())
          .isEqualTo(1_204);
      assertThat(AuditVerification.of(moved).intact()).isTrue();
    }
  }

  @Test
  void upgradingFromV5_keepsAnEditedRowCaught() throws SQLException {
    List<AuditRecord> rows = new ArrayList<>(chainOf(5));
    AuditRecord honest = rows.get(3);
    rows.set(
        3,
        new AuditRecord(4, entry(4, "user:anne", "allow"), honest.previousHash(), honest.hash()));
    try (JdbcStore upgraded = openUpgradedFromV5(v5Rows(rows))) {
      AuditVerification result = AuditVerification.of(upgraded.auditRecords());
      assertThat(result.badSeq()).isEqualTo(4);
      assertThat(result.reason()).contains("edited");
    }
  }
}
