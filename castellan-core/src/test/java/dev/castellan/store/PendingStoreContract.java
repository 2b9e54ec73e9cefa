package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link PendingStore} does; the in-memory, H2 and PostgreSQL ones all run it. */
public abstract class PendingStoreContract extends StoreFixture {
  private static final Identity ALICE = Identity.email("alice@example.com");
  private static final Identity BOB = Identity.email("bob@example.com");
  private static final Identity SLACK = new Identity("slack", "T0ACME", "U012AB3CD");

  protected PendingStore pending;

  @BeforeEach
  void parts() {
    pending = store.pendingStore();
  }

  private static PendingTuple row(String object, Identity identity, String source) {
    return PendingTuple.of(object, "viewer", identity, source);
  }

  private List<PendingTuple> heldRows(String id) {
    List<PendingTuple> out = new ArrayList<>();
    String token = "";
    do {
      Page<HeldTuple> page = pending.held(id, new PageRequest(2, token));
      page.items().forEach(h -> out.add(h.tuple()));
      token = page.continuationToken();
    } while (!token.isEmpty());
    return out;
  }

  private static Optional<String> none(Tuple tuple) {
    return Optional.empty();
  }

  @Test
  void hold_keepsRowsInOrder_pagesThem_andIgnoresRowsHeldAlready() {
    PendingTuple first = row("doc:1", ALICE, "drive");
    PendingTuple second =
        new PendingTuple("doc:2", "viewer", "office", Map.of("ip", "10.0.0.1"), SLACK, "slack");
    PendingTuple third = row("doc:3", BOB, "drive");
    assertThat(pending.hold(storeId, List.of(first, second, third))).isEqualTo(3);
    // The same object, relation and identity from another source: held already, unchanged.
    assertThat(pending.hold(storeId, List.of(row("doc:1", ALICE, "cli"), first))).isZero();
    assertThat(heldRows(storeId)).containsExactly(first, second, third);
    assertThat(pending.count(storeId)).isEqualTo(3);
    HeldTuple held = pending.held(storeId, PageRequest.first(1)).items().get(0);
    assertThat(held.storeId()).isEqualTo(storeId);
    assertThat(Ulids.isValid(held.id())).isTrue();
    assertCode(
        () -> pending.held(storeId, new PageRequest(1, "bogus")),
        ErrorCode.INVALID_CONTINUATION_TOKEN);
  }

  @Test
  void hold_refusesUnknownStores_bigBatches_andBadRows() {
    assertCode(
        () -> pending.hold("01ARZ3NDEKTSV4RRFFQ69G5FAV", List.of(row("doc:1", ALICE, "drive"))),
        ErrorCode.STORE_ID_NOT_FOUND);
    List<PendingTuple> big = new ArrayList<>();
    for (int i = 0; i <= PendingStore.MAX_BATCH; i++) {
      big.add(row("doc:" + i, ALICE, "drive"));
    }
    assertCode(() -> pending.hold(storeId, big), ErrorCode.VALIDATION_ERROR);
    assertCode(() -> row("doc", ALICE, "drive"), ErrorCode.VALIDATION_ERROR);
    assertCode(() -> row("doc:1", ALICE, "Drive"), ErrorCode.VALIDATION_ERROR);
    assertThat(pending.count(storeId)).isZero();
  }

  @Test
  void aRowAtTheKeyLimit_isHeldAndApplied_andOnePastItIsRefused() {
    String wide = "\u754c"; // three bytes of UTF-8
    Identity slack = new Identity("slack", wide.repeat(170), wide.repeat(170));
    PendingTuple atLimit = PendingTuple.of("doc:" + wide.repeat(418), "viewer", slack, "slack");
    assertThat(pending.hold(storeId, List.of(atLimit))).isEqualTo(1);
    assertThat(pending.apply(storeId, slack, "user:01A", PendingStoreContract::none).written())
        .isEqualTo(1);
    assertCode(
        () -> PendingTuple.of("doc:" + wide.repeat(430), "viewer", slack, "slack"),
        ErrorCode.VALIDATION_ERROR);
  }

  @Test
  void hold_pastTheLimitPerStore_isRefusedWhole_andOtherStoresAreNotCounted() {
    for (int batch = 0; batch < PendingStore.MAX_PER_STORE / PendingStore.MAX_BATCH; batch++) {
      List<PendingTuple> rows = new ArrayList<>(PendingStore.MAX_BATCH);
      for (int i = 0; i < PendingStore.MAX_BATCH; i++) {
        rows.add(row("doc:" + batch + "-" + i, ALICE, "drive"));
      }
      assertThat(pending.hold(storeId, rows)).isEqualTo(PendingStore.MAX_BATCH);
    }
    assertCode(
        () -> pending.hold(storeId, List.of(row("doc:x", BOB, "drive"), row("doc:y", BOB, "x"))),
        ErrorCode.EXCEEDED_ENTITY_LIMIT);
    assertThat(pending.count(storeId)).isEqualTo(PendingStore.MAX_PER_STORE);
    // Rows held already are not new: holding them again is fine at the limit.
    assertThat(pending.hold(storeId, List.of(row("doc:0-0", ALICE, "drive")))).isZero();
    String other = store.storeCatalog().createStore("other").id();
    assertThat(pending.hold(other, List.of(row("doc:x", BOB, "drive")))).isEqualTo(1);
    // Dropping makes room again.
    assertThat(pending.drop(storeId, "drive")).isEqualTo(PendingStore.MAX_PER_STORE);
    assertThat(pending.hold(storeId, List.of(row("doc:x", BOB, "drive")))).isEqualTo(1);
  }

  @Test
  void drop_removesOneSourceOnly() {
    pending.hold(
        storeId,
        List.of(
            row("doc:1", ALICE, "drive"),
            row("doc:2", ALICE, "slack"),
            row("doc:3", BOB, "drive")));
    assertThat(pending.drop(storeId, "drive")).isEqualTo(2);
    assertThat(pending.drop(storeId, "drive")).isZero();
    assertThat(heldRows(storeId)).containsExactly(row("doc:2", ALICE, "slack"));
    assertCode(() -> pending.drop(storeId, "no source"), ErrorCode.VALIDATION_ERROR);
  }

  @Test
  void identities_areListedOnceAcrossStores_sorted_andStoresHoldingThemAreFound() {
    String other = store.storeCatalog().createStore("other").id();
    pending.hold(storeId, List.of(row("doc:1", BOB, "drive"), row("doc:2", ALICE, "drive")));
    pending.hold(other, List.of(row("doc:1", SLACK, "slack"), row("doc:2", ALICE, "drive")));
    List<Identity> all = new ArrayList<>();
    String token = "";
    do {
      Page<Identity> page = pending.identities(new PageRequest(2, token));
      all.addAll(page.items());
      token = page.continuationToken();
    } while (!token.isEmpty());
    assertThat(all).containsExactly(ALICE, BOB, SLACK);
    assertThat(pending.storesHolding(ALICE)).containsExactlyInAnyOrder(storeId, other);
    assertThat(pending.storesHolding(SLACK)).containsExactly(other);
    assertThat(pending.storesHolding(Identity.email("carol@example.com"))).isEmpty();
  }

  @Test
  void apply_writesTheIdentitysRowsAsTuples_removesThem_andLeavesOthers() {
    long before = store.tupleStore().revision(storeId);
    pending.hold(
        storeId,
        List.of(
            row("doc:1", ALICE, "drive"),
            new PendingTuple("doc:2", "viewer", "office", Map.of("ip", "10.0.0.1"), ALICE, "drive"),
            row("doc:3", BOB, "drive")));
    PendingStore.Applied applied =
        pending.apply(storeId, ALICE, "user:01ALICE", PendingStoreContract::none);
    assertThat(applied.applied()).hasSize(2);
    assertThat(applied.written()).isEqualTo(2);
    assertThat(applied.refused()).isEmpty();
    assertThat(applied.revision()).isEqualTo(before + 1);
    assertThat(all(storeId))
        .containsExactlyInAnyOrder(
            tuple("doc:1", "viewer", "user:01ALICE"),
            Tuple.conditional(
                "doc:2", "viewer", "user:01ALICE", "office", Map.of("ip", "10.0.0.1")));
    assertThat(heldRows(storeId)).containsExactly(row("doc:3", BOB, "drive"));
    // The changelog has the write, as any write's.
    assertThat(store.tupleStore().changesAfter(storeId, before, 10)).hasSize(2);
    // Applied once: a second claim finds nothing and writes nothing.
    PendingStore.Applied again =
        pending.apply(storeId, ALICE, "user:01ALICE", PendingStoreContract::none);
    assertThat(again.isEmpty()).isTrue();
    assertThat(again.revision()).isEqualTo(before + 1);
  }

  @Test
  void apply_dropsRefusedRows_andKeepsTuplesStoredAlready() {
    store.tupleStore().write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:01A")));
    pending.hold(
        storeId,
        List.of(
            row("doc:1", ALICE, "drive"), row("doc:2", ALICE, "drive"), row("doc:3", ALICE, "x")));
    PendingStore.Applied applied =
        pending.apply(
            storeId,
            ALICE,
            "user:01A",
            t ->
                t.key().object().equals("doc:3")
                    ? Optional.of("type 'doc' has no relation 'viewer'")
                    : Optional.empty());
    assertThat(applied.applied())
        .extracting(h -> h.tuple().object())
        .containsExactlyInAnyOrder("doc:1", "doc:2");
    assertThat(applied.written()).isEqualTo(1);
    assertThat(applied.refused())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.row().tuple().object()).isEqualTo("doc:3");
              assertThat(r.reason()).contains("no relation");
            });
    assertThat(all(storeId))
        .containsExactlyInAnyOrder(
            tuple("doc:1", "viewer", "user:01A"), tuple("doc:2", "viewer", "user:01A"));
    assertThat(pending.count(storeId)).isZero();
  }

  @Test
  void apply_allRefused_removesTheRows_withoutARevision() {
    long before = store.tupleStore().revision(storeId);
    pending.hold(storeId, List.of(row("doc:1", ALICE, "drive")));
    PendingStore.Applied applied =
        pending.apply(storeId, ALICE, "user:01A", t -> Optional.of("no"));
    assertThat(applied.refused()).hasSize(1);
    assertThat(applied.revision()).isEqualTo(before);
    assertThat(store.tupleStore().revision(storeId)).isEqualTo(before);
    assertThat(pending.count(storeId)).isZero();
  }

  @Test
  void apply_fromManyThreadsAtOnce_writesEveryRowExactlyOnce() throws Exception {
    List<PendingTuple> rows = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      rows.add(row("doc:" + i, ALICE, "drive"));
    }
    pending.hold(storeId, rows);
    long before = store.tupleStore().revision(storeId);
    int threads = 4;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<PendingStore.Applied>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  return pending.apply(storeId, ALICE, "user:01A", PendingStoreContract::none);
                }));
      }
      start.countDown();
      int applied = 0;
      int written = 0;
      for (Future<PendingStore.Applied> result : results) {
        applied += result.get().applied().size();
        written += result.get().written();
      }
      assertThat(applied).isEqualTo(200);
      assertThat(written).isEqualTo(200);
    } finally {
      pool.shutdownNow();
    }
    assertThat(all(storeId)).hasSize(200);
    // One write: one revision, and each tuple in the changelog once.
    assertThat(store.tupleStore().revision(storeId)).isEqualTo(before + 1);
    assertThat(store.tupleStore().changesAfter(storeId, before, 1_000)).hasSize(200);
    assertThat(pending.count(storeId)).isZero();
  }

  @Test
  void deletingAStore_dropsItsRows() {
    String doomed = store.storeCatalog().createStore("doomed").id();
    pending.hold(doomed, List.of(row("doc:1", ALICE, "drive")));
    pending.hold(storeId, List.of(row("doc:1", BOB, "drive")));
    store.storeCatalog().deleteStore(doomed);
    assertThat(pending.storesHolding(ALICE)).isEmpty();
    assertThat(pending.identities(PageRequest.first(10)).items()).containsExactly(BOB);
    assertCode(() -> pending.count(doomed), ErrorCode.STORE_ID_NOT_FOUND);
  }
}
