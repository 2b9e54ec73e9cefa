package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelDsl;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link Store} must have. Each implementation's test extends this class; the
 * in-memory, embedded and PostgreSQL stores all run it.
 */
public abstract class StoreContract {

  /** A fresh, empty store implementation for one test. */
  protected abstract Store newStore();

  protected Store store;
  protected String storeId;

  private static final AuthorizationModel MODEL =
      ModelDsl.parse(
          """
          model
            schema 1.1
          type user
          type doc
            relations
              define viewer: [user, user with office]
          condition office(ip: ipaddress) {
            ip.in_cidr("10.0.0.0/8")
          }
          """);

  @BeforeEach
  void open() {
    store = newStore();
    storeId = store.createStore("contract").id();
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  private static Tuple tuple(String object, String relation, String user) {
    return Tuple.of(object, relation, user);
  }

  private static TupleKey key(String object, String relation, String user) {
    return new TupleKey(object, relation, user);
  }

  private List<Tuple> all(String id) {
    List<Tuple> out = new ArrayList<>();
    store.snapshot(id, t -> out.add(t.tuple()));
    return out;
  }

  private static void assertCode(Runnable action, ErrorCode code) {
    assertThatThrownBy(action::run)
        .isInstanceOf(CastellanException.class)
        .satisfies(e -> assertThat(((CastellanException) e).code()).isEqualTo(code));
  }

  // ------------------------------------------------------------------ stores

  @Test
  void stores_areCreatedListedAndDeleted() {
    StoreInfo second = store.createStore("second");
    assertThat(Ulids.isValid(second.id())).isTrue();
    assertThat(store.getStore(second.id())).map(StoreInfo::name).contains("second");
    Page<StoreInfo> first = store.listStores(PageRequest.first(1));
    assertThat(first.items()).extracting(StoreInfo::id).containsExactly(storeId);
    Page<StoreInfo> rest = store.listStores(new PageRequest(10, first.continuationToken()));
    assertThat(rest.items()).extracting(StoreInfo::id).containsExactly(second.id());
    assertThat(rest.hasMore()).isFalse();

    assertThat(store.deleteStore(second.id())).isTrue();
    assertThat(store.getStore(second.id())).isEmpty();
    assertThat(store.deleteStore(second.id())).isFalse();
    assertCode(
        () -> store.write(second.id(), TupleWrite.writes(tuple("doc:1", "viewer", "user:a"))),
        ErrorCode.STORE_ID_NOT_FOUND);
    assertCode(() -> store.revision("01ARZ3NDEKTSV4RRFFQ69G5FAV"), ErrorCode.STORE_ID_NOT_FOUND);
  }

  @Test
  void stores_areIsolated() {
    String other = store.createStore("other").id();
    store.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    assertThat(all(other)).isEmpty();
    assertThat(store.revision(other)).isZero();
    assertThat(store.revision(storeId)).isEqualTo(1);
  }

  // ------------------------------------------------------------------ models

  @Test
  void models_roundTripAndTheLatestIsTheNewest() throws InterruptedException {
    assertThat(store.latestModel(storeId)).isEmpty();
    String first = store.writeModel(storeId, MODEL);
    String second = store.writeModel(storeId, MODEL);
    assertThat(second).isGreaterThan(first);
    assertThat(store.readModel(storeId, first)).map(StoredModel::model).contains(MODEL);
    assertThat(store.latestModel(storeId)).map(StoredModel::id).contains(second);
    Page<StoredModel> page = store.listModels(storeId, PageRequest.first(1));
    assertThat(page.items()).extracting(StoredModel::id).containsExactly(second);
    assertThat(store.listModels(storeId, new PageRequest(5, page.continuationToken())).items())
        .extracting(StoredModel::id)
        .containsExactly(first);
    assertThat(store.readModel(storeId, "01ARZ3NDEKTSV4RRFFQ69G5FAV")).isEmpty();
  }

  // ------------------------------------------------------------------ writes

  @Test
  void eachWrite_takesTheNextRevision_andLogsItsChanges() {
    WriteResult a = store.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    WriteResult b =
        store.write(
            storeId,
            TupleWrite.of(
                List.of(tuple("doc:2", "viewer", "user:b")),
                List.of(key("doc:1", "viewer", "user:a"))));
    assertThat(a.revision()).isEqualTo(1);
    assertThat(b).isEqualTo(new WriteResult(2, 1, 1));
    assertThat(store.revision(storeId)).isEqualTo(2);
    List<Change> changes = store.changesAfter(storeId, 0, 100);
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
    store.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    assertCode(
        () ->
            store.write(
                storeId,
                TupleWrite.writes(
                    tuple("doc:2", "viewer", "user:b"), tuple("doc:1", "viewer", "user:a"))),
        ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT);
    assertThat(all(storeId)).containsExactly(tuple("doc:1", "viewer", "user:a"));
    assertThat(store.revision(storeId)).isEqualTo(1);
  }

  @Test
  void deletingAMissingTuple_failsAndDeletesNothing() {
    store.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    assertCode(
        () ->
            store.write(
                storeId,
                TupleWrite.deletes(
                    key("doc:1", "viewer", "user:a"), key("doc:9", "viewer", "user:z"))),
        ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT);
    assertThat(all(storeId)).hasSize(1);
  }

  @Test
  void ignoreDuplicatesAndMissing_makeWritesIdempotent() {
    Tuple a = tuple("doc:1", "viewer", "user:a");
    store.write(storeId, TupleWrite.writes(a));
    WriteResult again = store.write(storeId, new TupleWrite(List.of(a), List.of(), true, false));
    assertThat(again).isEqualTo(new WriteResult(1, 0, 0));
    WriteResult missing =
        store.write(
            storeId,
            new TupleWrite(List.of(), List.of(key("doc:9", "viewer", "user:z")), false, true));
    assertThat(missing).isEqualTo(new WriteResult(1, 0, 0));
    WriteResult mixed =
        store.write(
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
    store.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    Tuple conditional =
        Tuple.conditional("doc:1", "viewer", "user:a", "office", Map.of("ip", "10.0.0.1"));
    assertCode(
        () -> store.write(storeId, new TupleWrite(List.of(conditional), List.of(), true, false)),
        ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT);
  }

  @Test
  void theSameTupleTwiceInOneRequest_isRefused() {
    assertCode(
        () ->
            store.write(
                storeId,
                TupleWrite.writes(
                    tuple("doc:1", "viewer", "user:a"), tuple("doc:1", "viewer", "user:a"))),
        ErrorCode.CANNOT_ALLOW_DUPLICATE_TUPLES_IN_ONE_REQUEST);
    assertThat(store.revision(storeId)).isZero();
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
    store.write(storeId, TupleWrite.writes(conditional));
    Tuple read = all(storeId).get(0);
    assertThat(read.condition()).isEqualTo("office");
    assertThat(read.conditionContext().get("ip")).isEqualTo("10.0.0.1");
    assertThat(read.conditionContext().get("tags")).isEqualTo(List.of("x", "y"));
    assertThat(((Map<?, ?>) read.conditionContext().get("limits")).get("n"))
        .satisfies(n -> assertThat(((Number) n).intValue()).isEqualTo(3));
    assertThat(read.expiresAt()).isEqualTo(expiry);
    assertThat(store.changesAfter(storeId, 0, 10).get(0).tuple().expiresAt()).isEqualTo(expiry);
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
      List<Change> changes = store.changesAfter(storeId, 0, 10_000);
      assertThat(changes).extracting(Change::revision).isSorted().hasSize(total);
      assertThat(changes.get(total - 1).revision()).isEqualTo(total);
    } finally {
      pool.shutdownNow();
    }
  }

  // ------------------------------------------------------------------ reads

  private void writeSample() {
    store.write(
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
      Page<StoredTuple> page = store.read(storeId, filter, new PageRequest(2, token));
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
        () -> store.read(storeId, TupleFilter.ALL, new PageRequest(2, "not-a-token")),
        ErrorCode.INVALID_CONTINUATION_TOKEN);
  }

  @Test
  void deleteMatching_removesByUserObjectOrRelationInOneRevision() {
    writeSample();
    WriteResult byUser = store.deleteMatching(storeId, new TupleFilter("doc:", "", "user:a"));
    assertThat(byUser).isEqualTo(new WriteResult(2, 0, 3));
    assertThat(all(storeId))
        .containsExactlyInAnyOrder(
            tuple("doc:1", "viewer", "user:b"), tuple("folder:1", "viewer", "user:a"));
    WriteResult none = store.deleteMatching(storeId, TupleFilter.object("doc:9"));
    assertThat(none).isEqualTo(new WriteResult(2, 0, 0));
    assertThat(store.deleteMatching(storeId, TupleFilter.object("folder:1")).deleted())
        .isEqualTo(1);
    assertCode(() -> store.deleteMatching(storeId, TupleFilter.ALL), ErrorCode.VALIDATION_ERROR);
  }

  @Test
  void changesAfter_neverSplitsARevision() {
    writeSample(); // revision 1: five changes
    store.write(storeId, TupleWrite.writes(tuple("doc:3", "viewer", "user:c")));
    List<Change> firstBatch = store.changesAfter(storeId, 0, 3);
    assertThat(firstBatch).hasSize(5).allMatch(c -> c.revision() == 1);
    assertThat(store.changesAfter(storeId, 1, 3)).hasSize(1);
    assertThat(store.changesAfter(storeId, 2, 3)).isEmpty();
  }

  @Test
  void readChanges_pagesByTypeFromAStartTime() {
    Instant before = Instant.now().minus(1, ChronoUnit.MINUTES);
    writeSample();
    List<Change> docs = new ArrayList<>();
    String token = "";
    while (true) {
      Page<Change> page = store.readChanges(storeId, "doc", before, new PageRequest(2, token));
      if (page.items().isEmpty()) {
        assertThat(page.continuationToken()).as("the poller keeps its place").isEqualTo(token);
        break;
      }
      docs.addAll(page.items());
      token = page.continuationToken();
      assertThat(token).isNotEmpty();
    }
    assertThat(docs).hasSize(4).allMatch(c -> c.tuple().key().object().startsWith("doc:"));
    store.write(storeId, TupleWrite.writes(tuple("doc:9", "viewer", "user:z")));
    assertThat(store.readChanges(storeId, "doc", before, new PageRequest(2, token)).items())
        .extracting(c -> c.tuple().key().object())
        .containsExactly("doc:9");
    assertThat(store.readChanges(storeId, "", null, PageRequest.first(100)).items()).hasSize(6);
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
    long revision = store.snapshot(storeId, seen::add);
    assertThat(revision).isEqualTo(1);
    assertThat(seen).hasSize(5).allMatch(t -> t.writtenAt() != null);
  }

  @Test
  void purgeExpired_deletesOnlyExpiredTuples_asLoggedDeletes() {
    Instant now = Instant.now();
    store.write(
        storeId,
        TupleWrite.writes(
            tuple("doc:1", "viewer", "user:a").expiringAt(now.minusSeconds(5)),
            tuple("doc:2", "viewer", "user:a").expiringAt(now.plusSeconds(3600)),
            tuple("doc:3", "viewer", "user:a")));
    assertThat(store.purgeExpired(storeId, now)).isEqualTo(1);
    assertThat(all(storeId))
        .extracting(t -> t.key().object())
        .containsExactlyInAnyOrder("doc:2", "doc:3");
    List<Change> changes = store.changesAfter(storeId, 1, 10);
    assertThat(changes)
        .extracting(c -> c.operation() + " " + c.tuple().key().object())
        .containsExactly("DELETE doc:1");
    assertThat(store.purgeExpired(storeId, now)).isZero();
    assertThat(store.revision(storeId)).isEqualTo(2);
  }

  // ------------------------------------------------------------------ assertions

  @Test
  void assertions_roundTripPerModel() {
    String model = store.writeModel(storeId, MODEL);
    assertThat(store.readAssertions(storeId, model)).isEqualTo("[]");
    String json =
        "[{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:a\"},\"expectation\":true}]";
    store.writeAssertions(storeId, model, json);
    assertThat(store.readAssertions(storeId, model)).isEqualTo(json);
    store.writeAssertions(storeId, model, "[]");
    assertThat(store.readAssertions(storeId, model)).isEqualTo("[]");
  }

  // ------------------------------------------------------------------ credentials

  @Test
  void apiKeys_areSavedListedAndRevoked() {
    Instant created = Instant.parse("2030-01-01T00:00:00Z");
    ApiKeyRecord first = new ApiKeyRecord("k1", "ci", "admin", "a".repeat(64), created);
    ApiKeyRecord second =
        new ApiKeyRecord("k2", "reader", "apikey:reader", "b".repeat(64), created.plusSeconds(1));
    store.saveApiKey(first);
    store.saveApiKey(second);
    assertThat(store.apiKey("k1")).contains(first);
    assertThat(store.apiKeys()).containsExactly(first, second);
    assertThat(store.revokeApiKey("k1")).isTrue();
    assertThat(store.revokeApiKey("k1")).isFalse();
    assertThat(store.apiKey("k1")).isEmpty();
    assertThat(store.apiKeys()).containsExactly(second);
  }

  // ------------------------------------------------------------------ documents

  @Test
  void documents_areCreatedOnceReplacedListedByKindAndDeleted() {
    assertThat(store.createDocument("role", "admin", "{\"name\":\"Admin\"}")).isTrue();
    assertThat(store.createDocument("role", "admin", "{\"name\":\"Other\"}")).isFalse();
    assertThat(store.document("role", "admin")).contains("{\"name\":\"Admin\"}");
    store.putDocument("role", "viewer", "{\"name\":\"Viewer\"}");
    store.putDocument("role", "admin", "{\"name\":\"Root\"}");
    store.putDocument("other", "x", "{}");
    assertThat(store.documents("role"))
        .containsExactly(
            java.util.Map.entry("admin", "{\"name\":\"Root\"}"),
            java.util.Map.entry("viewer", "{\"name\":\"Viewer\"}"));
    assertThat(store.deleteDocument("role", "admin")).isTrue();
    assertThat(store.deleteDocument("role", "admin")).isFalse();
    assertThat(store.document("role", "admin")).isEmpty();
    assertThat(store.documents("role")).containsOnlyKeys("viewer");
    assertThat(store.documents("none")).isEmpty();
  }
}
