package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link TupleStore} does: revisions, the write rules, reads, the changelog, snapshots
 * and expiry. The in-memory, H2 and PostgreSQL ones all run it.
 */
public abstract class TupleStoreContract extends StoreFixture {
  protected TupleStore tuples;

  @BeforeEach
  void parts() {
    tuples = store.tupleStore();
  }

  // ------------------------------------------------------------------ revisions

  @Test
  void revisions_giveTheLatestOfEachLiveStore_inOneLook_andLeaveOutDeletedOrUnknownOnes() {
    String other = store.createStore("other").id();
    String gone = store.createStore("gone").id();
    tuples.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    tuples.write(storeId, TupleWrite.writes(tuple("doc:2", "viewer", "user:a")));
    tuples.write(gone, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    store.deleteStore(gone);

    assertThat(tuples.revisions(List.of(storeId, other, gone, "01UNKNOWNSTORE000000000000")))
        .isEqualTo(Map.of(storeId, 2L, other, 0L));
    assertThat(tuples.revisions(List.of())).isEmpty();
  }

  // ------------------------------------------------------------------ writes

  @Test
  void eachWrite_takesTheNextRevision_andLogsItsChanges() {
    WriteResult a = tuples.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    WriteResult b =
        tuples.write(
            storeId,
            TupleWrite.of(
                List.of(tuple("doc:2", "viewer", "user:b")),
                List.of(key("doc:1", "viewer", "user:a"))));
    assertThat(a.revision()).isEqualTo(1);
    assertThat(b).isEqualTo(new WriteResult(2, 1, 1));
    assertThat(tuples.revision(storeId)).isEqualTo(2);
    List<Change> changes = tuples.changesAfter(storeId, 0, 100);
    assertThat(changes)
        .extracting(c -> c.revision() + " " + c.operation() + " " + c.tuple().key())
        .containsExactly(
            "1 WRITE doc:1#viewer@user:a",
            "2 DELETE doc:1#viewer@user:a",
            "2 WRITE doc:2#viewer@user:b");
    assertThat(all(storeId)).containsExactly(tuple("doc:2", "viewer", "user:b"));
  }

  @Test
  void writingAnExistingTuple_failsAndWritesNothing() {
    tuples.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    assertCode(
        () ->
            tuples.write(
                storeId,
                TupleWrite.writes(
                    tuple("doc:2", "viewer", "user:b"), tuple("doc:1", "viewer", "user:a"))),
        ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT);
    assertThat(all(storeId)).containsExactly(tuple("doc:1", "viewer", "user:a"));
    assertThat(tuples.revision(storeId)).isEqualTo(1);
  }

  @Test
  void deletingAMissingTuple_failsAndDeletesNothing() {
    tuples.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    assertCode(
        () ->
            tuples.write(
                storeId,
                TupleWrite.deletes(
                    key("doc:1", "viewer", "user:a"), key("doc:9", "viewer", "user:z"))),
        ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT);
    assertThat(all(storeId)).hasSize(1);
  }

  @Test
  void ignoreDuplicatesAndMissing_makeWritesIdempotent() {
    Tuple a = tuple("doc:1", "viewer", "user:a");
    tuples.write(storeId, TupleWrite.writes(a));
    WriteResult again = tuples.write(storeId, new TupleWrite(List.of(a), List.of(), true, false));
    assertThat(again).isEqualTo(new WriteResult(1, 0, 0));
    WriteResult missing =
        tuples.write(
            storeId,
            new TupleWrite(List.of(), List.of(key("doc:9", "viewer", "user:z")), false, true));
    assertThat(missing).isEqualTo(new WriteResult(1, 0, 0));
    WriteResult mixed =
        tuples.write(
            storeId,
            new TupleWrite(
                List.of(a, tuple("doc:2", "viewer", "user:b")),
                List.of(key("doc:9", "viewer", "user:z")),
                true,
                true));
    assertThat(mixed).isEqualTo(new WriteResult(2, 1, 0));
  }

  @Test
  void ignoreDuplicates_stillRefusesAConflictingCondition() {
    tuples.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    Tuple conditional =
        Tuple.conditional("doc:1", "viewer", "user:a", "office", Map.of("ip", "10.0.0.1"));
    assertCode(
        () -> tuples.write(storeId, new TupleWrite(List.of(conditional), List.of(), true, false)),
        ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT);
  }

  @Test
  void theSameTupleTwiceInOneRequest_isRefused() {
    assertCode(
        () ->
            tuples.write(
                storeId,
                TupleWrite.writes(
                    tuple("doc:1", "viewer", "user:a"), tuple("doc:1", "viewer", "user:a"))),
        ErrorCode.CANNOT_ALLOW_DUPLICATE_TUPLES_IN_ONE_REQUEST);
    assertThat(tuples.revision(storeId)).isZero();
  }

  @Test
  void conditionsAndExpiry_roundTrip() {
    Instant expiry = Instant.parse("2031-01-02T03:04:05Z");
    Tuple conditional =
        Tuple.conditional(
                "doc:1",
                "viewer",
                "user:a",
                "office",
                Map.of("ip", "10.0.0.1", "tags", List.of("x", "y"), "limits", Map.of("n", 3)))
            .expiringAt(expiry);
    tuples.write(storeId, TupleWrite.writes(conditional));
    Tuple read = all(storeId).get(0);
    assertThat(read.condition()).isEqualTo("office");
    assertThat(read.conditionContext().get("ip")).isEqualTo("10.0.0.1");
    assertThat(read.conditionContext().get("tags")).isEqualTo(List.of("x", "y"));
    assertThat(((Map<?, ?>) read.conditionContext().get("limits")).get("n"))
        .satisfies(n -> assertThat(((Number) n).intValue()).isEqualTo(3));
    assertThat(read.expiresAt()).isEqualTo(expiry);
    assertThat(tuples.changesAfter(storeId, 0, 10).get(0).tuple().expiresAt()).isEqualTo(expiry);
  }

  @Test
  void concurrentWriters_getDistinctGaplessRevisions() throws Exception {
    int threads = 8;
    int writesPerThread = 25;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<List<Long>>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        futures.add(
            pool.submit(
                () -> {
                  List<Long> revisions = new ArrayList<>();
                  for (int i = 0; i < writesPerThread; i++) {
                    revisions.add(
                        store
                            .write(
                                storeId,
                                TupleWrite.writes(
                                    tuple("doc:" + thread + "-" + i, "viewer", "user:a")))
                            .revision());
                  }
                  return revisions;
                }));
      }
      Set<Long> revisions = new HashSet<>();
      for (Future<List<Long>> future : futures) {
        revisions.addAll(future.get());
      }
      int total = threads * writesPerThread;
      assertThat(revisions).hasSize(total);
      assertThat(revisions).allMatch(r -> r >= 1 && r <= total);
      List<Change> changes = tuples.changesAfter(storeId, 0, 10_000);
      assertThat(changes).extracting(Change::revision).isSorted().hasSize(total);
      assertThat(changes.get(total - 1).revision()).isEqualTo(total);
    } finally {
      pool.shutdownNow();
    }
  }

  // ------------------------------------------------------------------ reads

  private void writeSample() {
    tuples.write(
        storeId,
        TupleWrite.writes(
            tuple("doc:1", "viewer", "user:a"),
            tuple("doc:1", "viewer", "user:b"),
            tuple("doc:1", "editor", "user:a"),
            tuple("doc:2", "viewer", "user:a"),
            tuple("folder:1", "viewer", "user:a")));
  }

  @Test
  void read_filtersByObjectTypeRelationAndUser() {
    writeSample();
    assertThat(read(new TupleFilter("doc:1", "", ""))).hasSize(3);
    assertThat(read(new TupleFilter("doc:", "viewer", ""))).hasSize(3);
    assertThat(read(new TupleFilter("doc:1", "viewer", "user:a"))).hasSize(1);
    assertThat(read(new TupleFilter("", "", "user:a"))).hasSize(4);
    assertThat(read(new TupleFilter("doc:", "", "user:a"))).hasSize(3);
    assertThat(read(TupleFilter.ALL)).hasSize(5);
  }

  private List<Tuple> read(TupleFilter filter) {
    List<Tuple> out = new ArrayList<>();
    String token = "";
    do {
      Page<StoredTuple> page = tuples.read(storeId, filter, new PageRequest(2, token));
      assertThat(page.items().size()).isLessThanOrEqualTo(2);
      page.items().forEach(t -> out.add(t.tuple()));
      token = page.continuationToken();
    } while (!token.isEmpty());
    assertThat(out).doesNotHaveDuplicates();
    return out;
  }

  @Test
  void read_refusesAForeignContinuationToken() {
    writeSample();
    assertCode(
        () -> tuples.read(storeId, TupleFilter.ALL, new PageRequest(2, "not-a-token")),
        ErrorCode.INVALID_CONTINUATION_TOKEN);
  }

  @Test
  void deleteMatching_removesByUserObjectOrRelationInOneRevision() {
    writeSample();
    WriteResult byUser = tuples.deleteMatching(storeId, new TupleFilter("doc:", "", "user:a"));
    assertThat(byUser).isEqualTo(new WriteResult(2, 0, 3));
    assertThat(all(storeId))
        .containsExactlyInAnyOrder(
            tuple("doc:1", "viewer", "user:b"), tuple("folder:1", "viewer", "user:a"));
    WriteResult none = tuples.deleteMatching(storeId, TupleFilter.object("doc:9"));
    assertThat(none).isEqualTo(new WriteResult(2, 0, 0));
    assertThat(tuples.deleteMatching(storeId, TupleFilter.object("folder:1")).deleted())
        .isEqualTo(1);
    assertCode(() -> tuples.deleteMatching(storeId, TupleFilter.ALL), ErrorCode.VALIDATION_ERROR);
  }

  @Test
  void changesAfter_neverSplitsARevision() {
    writeSample(); // revision 1: five changes
    tuples.write(storeId, TupleWrite.writes(tuple("doc:3", "viewer", "user:c")));
    List<Change> firstBatch = tuples.changesAfter(storeId, 0, 3);
    assertThat(firstBatch).hasSize(5).allMatch(c -> c.revision() == 1);
    assertThat(tuples.changesAfter(storeId, 1, 3)).hasSize(1);
    assertThat(tuples.changesAfter(storeId, 2, 3)).isEmpty();
  }

  @Test
  void readChanges_pagesByTypeFromAStartTime() {
    Instant before = Instant.now().minus(1, ChronoUnit.MINUTES);
    writeSample();
    List<Change> docs = new ArrayList<>();
    String token = "";
    while (true) {
      Page<Change> page = tuples.readChanges(storeId, "doc", before, new PageRequest(2, token));
      if (page.items().isEmpty()) {
        assertThat(page.continuationToken()).as("the poller keeps its place").isEqualTo(token);
        break;
      }
      docs.addAll(page.items());
      token = page.continuationToken();
      assertThat(token).isNotEmpty();
    }
    assertThat(docs).hasSize(4).allMatch(c -> c.tuple().key().object().startsWith("doc:"));
    tuples.write(storeId, TupleWrite.writes(tuple("doc:9", "viewer", "user:z")));
    assertThat(tuples.readChanges(storeId, "doc", before, new PageRequest(2, token)).items())
        .extracting(c -> c.tuple().key().object())
        .containsExactly("doc:9");
    assertThat(tuples.readChanges(storeId, "", null, PageRequest.first(100)).items()).hasSize(6);
    assertThat(
            store
                .readChanges(
                    storeId, "", Instant.now().plus(1, ChronoUnit.HOURS), PageRequest.first(100))
                .items())
        .isEmpty();
  }

  @Test
  void snapshot_returnsEveryTupleAndItsRevision() {
    writeSample();
    List<StoredTuple> seen = new ArrayList<>();
    long revision = tuples.snapshot(storeId, seen::add);
    assertThat(revision).isEqualTo(1);
    assertThat(seen).hasSize(5).allMatch(t -> t.writtenAt() != null);
  }

  @Test
  void purgeExpired_deletesOnlyExpiredTuples_asLoggedDeletes() {
    Instant now = Instant.now();
    tuples.write(
        storeId,
        TupleWrite.writes(
            tuple("doc:1", "viewer", "user:a").expiringAt(now.minusSeconds(5)),
            tuple("doc:2", "viewer", "user:a").expiringAt(now.plusSeconds(3600)),
            tuple("doc:3", "viewer", "user:a")));
    assertThat(tuples.purgeExpired(storeId, now)).isEqualTo(1);
    assertThat(all(storeId))
        .extracting(t -> t.key().object())
        .containsExactlyInAnyOrder("doc:2", "doc:3");
    List<Change> changes = tuples.changesAfter(storeId, 1, 10);
    assertThat(changes)
        .extracting(c -> c.operation() + " " + c.tuple().key().object())
        .containsExactly("DELETE doc:1");
    assertThat(tuples.purgeExpired(storeId, now)).isZero();
    assertThat(tuples.revision(storeId)).isEqualTo(2);
  }

  @Test
  void aPartOverItsLimit_isRefusedBeforeAnythingIsWritten() {
    String longId = "x".repeat(WritePlanner.MAX_OBJECT_ID + 1);
    assertCode(
        () ->
            tuples.write(
                storeId,
                TupleWrite.writes(
                    tuple("doc:1", "viewer", "user:a"),
                    tuple("doc:" + longId, "viewer", "user:a"))),
        ErrorCode.VALIDATION_ERROR);
    assertCode(
        () -> tuples.write(storeId, TupleWrite.writes(tuple("doc", "viewer", "user:a"))),
        ErrorCode.VALIDATION_ERROR);
    assertThat(tuples.revision(storeId)).isZero();
  }

  @Test
  void importTuples_skipsStoredAndRepeatedTuples_oneRevisionPerBatch() {
    tuples.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    List<Tuple> input =
        List.of(
            tuple("doc:1", "viewer", "user:a"),
            tuple("doc:2", "viewer", "user:a"),
            tuple("doc:2", "viewer", "user:a"),
            tuple("doc:3", "viewer", "user:a"),
            tuple("doc:4", "viewer", "user:a"));
    List<Long> progress = new ArrayList<>();
    WriteResult result = tuples.importTuples(storeId, input.iterator(), 2, progress::add);
    assertThat(result.written()).isEqualTo(3);
    assertThat(result.revision()).isEqualTo(tuples.revision(storeId));
    assertThat(all(storeId))
        .extracting(t -> t.key().object())
        .containsExactlyInAnyOrder("doc:1", "doc:2", "doc:3", "doc:4");
    assertThat(progress).isNotEmpty().isSorted().last().isEqualTo(5L);
    assertThat(tuples.changesAfter(storeId, 1, 100))
        .extracting(c -> c.tuple().key().object())
        .containsExactlyInAnyOrder("doc:2", "doc:3", "doc:4");
  }
}
