package dev.castellan.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.Store;
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
 * What every {@link AuditRecords} does: one hash chain, appended to in order, read by filter a page
 * at a time, shortened by retention without breaking verification. The in-memory, H2 and PostgreSQL
 * chains all run it; what only a database can show (tampering with rows, upgrades of the schema)
 * stays in the JDBC module's own tests.
 */
public abstract class AuditRecordsContract {
  protected static final Instant T0 = Instant.parse("2026-11-01T10:00:00.123456Z");

  /** A fresh, empty store implementation for one test; its audit chain is tested. */
  protected abstract Store newStore();

  private Store store;
  protected AuditRecords records;

  @BeforeEach
  void openChain() {
    store = newStore();
    records = store.auditRecords();
  }

  @AfterEach
  void closeChain() {
    store.close();
  }

  protected static AuditEntry entry(int i, String subject, String outcome) {
    return new AuditEntry(
        T0.plusSeconds(i),
        "decision",
        "check",
        "key:abc",
        subject,
        List.of("viewer"),
        "viewer",
        "doc:" + i,
        outcome,
        "because " + i,
        "",
        i,
        "req-" + i,
        "");
  }

  private List<Long> seqs(AuditFilter filter, int pageSize) {
    List<Long> out = new ArrayList<>();
    String token = "";
    do {
      Page<AuditRecord> page = records.read(filter, new PageRequest(pageSize, token));
      assertThat(page.items().size()).isLessThanOrEqualTo(pageSize);
      page.items().forEach(r -> out.add(r.seq()));
      token = page.continuationToken();
    } while (!token.isEmpty());
    return out;
  }

  @Test
  void anEmptyChain_hasTheEmptyHead_andVerifies() {
    assertThat(records.head()).isEqualTo(AuditRecords.Head.EMPTY);
    assertThat(records.read(AuditFilter.ALL, PageRequest.first(10)).items()).isEmpty();
    assertThat(AuditVerification.of(records)).isEqualTo(new AuditVerification(true, 0, 0, ""));
  }

  @Test
  void appends_chainEachRecordToThePrevious_andMoveTheHead() {
    List<AuditRecord> first =
        records.append(List.of(entry(1, "user:anne", "allow"), entry(2, "user:bob", "deny")));
    List<AuditRecord> second = records.append(List.of(entry(3, "user:anne", "deny")));
    assertThat(first).extracting(AuditRecord::seq).containsExactly(1L, 2L);
    assertThat(first.get(0).previousHash()).isEqualTo(AuditRecord.GENESIS);
    assertThat(first.get(1).previousHash()).isEqualTo(first.get(0).hash());
    assertThat(second.get(0).previousHash()).isEqualTo(first.get(1).hash());
    assertThat(records.head())
        .isEqualTo(new AuditRecords.Head(1, AuditRecord.GENESIS, 3, second.get(0).hash()));

    List<AuditRecord> read = records.read(AuditFilter.ALL, PageRequest.first(10)).items();
    assertThat(read).hasSize(3);
    assertThat(read.get(2).entry()).isEqualTo(entry(3, "user:anne", "deny"));
    assertThat(read).allMatch(AuditRecord::contentIntact);
    assertThat(AuditVerification.of(records)).isEqualTo(new AuditVerification(true, 3, 0, ""));
  }

  @Test
  void reads_filterByFieldAndTime_andPageInSeqOrder() {
    for (int i = 1; i <= 7; i++) {
      records.append(List.of(entry(i, i % 2 == 0 ? "user:bob" : "user:anne", "deny")));
    }
    assertThat(seqs(AuditFilter.ALL, 3)).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L);
    AuditFilter bob = new AuditFilter(Instant.EPOCH, AuditFilter.NO_END, "user:bob", "", "", "");
    assertThat(seqs(bob, 2)).containsExactly(2L, 4L, 6L);
    AuditFilter window = new AuditFilter(T0.plusSeconds(3), T0.plusSeconds(5), "", "", "", "deny");
    assertThat(seqs(window, 10)).containsExactly(3L, 4L);
    AuditFilter none = new AuditFilter(Instant.EPOCH, AuditFilter.NO_END, "", "", "", "allow");
    assertThat(seqs(none, 10)).isEmpty();
  }

  @Test
  void aForeignContinuationToken_isRefused() {
    records.append(List.of(entry(1, "user:anne", "deny")));
    assertThatThrownBy(() -> records.read(AuditFilter.ALL, new PageRequest(5, "bm9wZQ")))
        .isInstanceOf(CastellanException.class)
        .satisfies(
            e ->
                assertThat(((CastellanException) e).code())
                    .isEqualTo(ErrorCode.INVALID_CONTINUATION_TOKEN));
  }

  @Test
  void retention_deletesTheOldest_movesTheStart_andTheRestStillVerifies() {
    for (int i = 1; i <= 5; i++) {
      records.append(List.of(entry(i, "user:anne", "deny")));
    }
    String anchor =
        records.read(AuditFilter.ALL, PageRequest.first(10)).items().get(2).previousHash();
    assertThat(records.deleteOlderThan(T0.plusSeconds(3))).isEqualTo(2);
    AuditRecords.Head head = records.head();
    assertThat(head.firstSeq()).isEqualTo(3);
    assertThat(head.anchorHash()).isEqualTo(anchor);
    assertThat(head.lastSeq()).isEqualTo(5);
    assertThat(seqs(AuditFilter.ALL, 10)).containsExactly(3L, 4L, 5L);
    assertThat(AuditVerification.of(records)).isEqualTo(new AuditVerification(true, 3, 0, ""));
    assertThat(records.deleteOlderThan(T0)).isZero();

    assertThat(records.append(List.of(entry(6, "user:anne", "deny"))).getFirst().seq())
        .isEqualTo(6);
    assertThat(AuditVerification.of(records).entries()).isEqualTo(4);
  }

  @Test
  void retentionPastTheNewest_emptiesTheChain_whichGoesOnFromItsEnd() {
    records.append(List.of(entry(1, "user:anne", "deny"), entry(2, "user:anne", "deny")));
    String last = records.head().lastHash();
    assertThat(records.deleteOlderThan(T0.plusSeconds(60))).isEqualTo(2);
    assertThat(records.head()).isEqualTo(new AuditRecords.Head(3, last, 2, last));
    assertThat(AuditVerification.of(records)).isEqualTo(new AuditVerification(true, 0, 0, ""));
    AuditRecord next = records.append(List.of(entry(3, "user:anne", "deny"))).getFirst();
    assertThat(next.seq()).isEqualTo(3);
    assertThat(next.previousHash()).isEqualTo(last);
  }

  @Test
  void concurrentAppenders_makeOneChainWithoutGapsOrForks() throws Exception {
    int threads = 4;
    int batches = 10;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        futures.add(
            pool.submit(
                () -> {
                  for (int b = 0; b < batches; b++) {
                    records.append(
                        List.of(
                            entry(b, "user:t" + thread, "deny"),
                            entry(b, "user:t" + thread, "allow")));
                  }
                }));
      }
      for (Future<?> future : futures) {
        future.get();
      }
    } finally {
      pool.shutdownNow();
    }
    int total = threads * batches * 2;
    assertThat(records.head().lastSeq()).isEqualTo(total);
    assertThat(AuditVerification.of(records)).isEqualTo(new AuditVerification(true, total, 0, ""));
  }
}
