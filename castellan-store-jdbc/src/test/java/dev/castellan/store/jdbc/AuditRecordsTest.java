package dev.castellan.store.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.store.AuditEntry;
import dev.castellan.store.AuditFilter;
import dev.castellan.store.AuditRecord;
import dev.castellan.store.AuditRecords;
import dev.castellan.store.AuditVerification;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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

  /** Runs SQL on the database behind the store's back, as an intruder would. */
  protected abstract void tamper(String... statements) throws SQLException;

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
  void anEmptyChain_isIntact() {
    assertThat(verify().intact()).isTrue();
    assertThat(verify().entries()).isZero();
  }

  @Test
  void anEditedEntry_isCaught_andNamed() throws SQLException {
    appendFive();
    tamper("UPDATE audit_log SET outcome = 'allow' WHERE seq = 3");
    AuditVerification result = verify();
    assertThat(result.intact()).isFalse();
    assertThat(result.badSeq()).isEqualTo(3);
    assertThat(result.entries()).isEqualTo(2);
    assertThat(result.reason()).contains("edited");
  }

  @Test
  void anEditedTime_isCaught() throws SQLException {
    appendFive();
    tamper("UPDATE audit_log SET event_time = event_time + INTERVAL '1' SECOND WHERE seq = 4");
    assertThat(verify().badSeq()).isEqualTo(4);
  }

  @Test
  void aDeletedEntry_isCaught_andNamed() throws SQLException {
    appendFive();
    tamper("DELETE FROM audit_log WHERE seq = 3");
    AuditVerification result = verify();
    assertThat(result.intact()).isFalse();
    assertThat(result.badSeq()).isEqualTo(3);
    assertThat(result.reason()).contains("missing");
  }

  @Test
  void deletingTheNewestEntry_isCaught() throws SQLException {
    appendFive();
    tamper("DELETE FROM audit_log WHERE seq = 5");
    AuditVerification result = verify();
    assertThat(result.badSeq()).isEqualTo(5);
    assertThat(result.reason()).contains("missing");
  }

  @Test
  void deletingTheOldestEntry_isCaught() throws SQLException {
    appendFive();
    tamper("DELETE FROM audit_log WHERE seq = 1");
    assertThat(verify().badSeq()).isEqualTo(1);
  }

  @Test
  void reorderedEntries_areCaught_andNamed() throws SQLException {
    appendFive();
    tamper(
        "UPDATE audit_log SET seq = -2 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = -2");
    AuditVerification result = verify();
    assertThat(result.intact()).isFalse();
    assertThat(result.badSeq()).isEqualTo(2);
    assertThat(result.reason()).contains("previous_hash");
  }

  @Test
  void anEditedEntryWithItsHashRecomputed_isCaughtAtTheNextEntry() throws SQLException {
    appendFive();
    List<AuditRecord> all = records().read(AuditFilter.ALL, PageRequest.first(10)).items();
    AuditEntry forged = entry(2, "user:bob", "allow");
    AuditRecord rechained = AuditRecord.chain(2, forged, all.get(0).hash());
    tamper(
        "UPDATE audit_log SET outcome = 'allow', hash = '" + rechained.hash() + "' WHERE seq = 2");
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

  @Test
  void retention_deletesTheOldest_andTheRestStillVerifies() throws SQLException {
    appendFive();
    assertThat(records().deleteOlderThan(T0.plusSeconds(3))).isEqualTo(2);
    assertThat(records().head().firstSeq()).isEqualTo(3);
    assertThat(verify()).isEqualTo(new AuditVerification(true, 3, 0, ""));
    assertThat(records().deleteOlderThan(T0.plusSeconds(3))).isZero();

    records().append(List.of(entry(6, "user:carl", "deny")));
    assertThat(verify().entries()).isEqualTo(4);

    // Removing one more from the start is not retention: it is caught.
    tamper("DELETE FROM audit_log WHERE seq = 3");
    assertThat(verify().badSeq()).isEqualTo(3);
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
}
