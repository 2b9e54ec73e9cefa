package dev.castellan.store.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelDsl;
import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.Change;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.GroupDraft;
import dev.castellan.store.Identity;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.UserDraft;
import dev.castellan.store.WriteResult;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the JDBC store does beyond the store contracts ({@link
 * dev.castellan.store.TupleStoreContract} and its siblings), on each database: the revision and
 * changelog discipline under concurrency, rollback of failed writes, paging, bulk import and the
 * error mapping.
 */
abstract class JdbcStoreTest {

  /** A new store on an empty database. */
  protected abstract JdbcStore open() throws SQLException;

  /**
   * A store on a database that an earlier version made: migrated up to schema {@code version} only,
   * given {@code before} (which writes rows as that version would have), then opened as now.
   */
  protected abstract JdbcStore openUpgradedFrom(String version, Transactions.SqlWork<Void> before)
      throws SQLException;

  /** Schema 8 had API keys without expiry, rotation or last use (issue 16 point 8 added them). */
  @Test
  void aDatabaseOfSchema8_opens_andItsKeysNeitherExpireNorHaveARecordedUse() throws SQLException {
    Instant created = Instant.parse("2030-01-01T00:00:00Z");
    try (JdbcStore upgraded =
        openUpgradedFrom(
            "8",
            connection -> {
              try (java.sql.PreparedStatement insert =
                  connection.prepareStatement(
                      "INSERT INTO api_keys (id, name, principal, secret_hash, created_at)"
                          + " VALUES ('old', 'ci', 'key:old', ?, ?)")) {
                insert.setString(1, "a".repeat(64));
                insert.setObject(2, created.atOffset(java.time.ZoneOffset.UTC));
                insert.executeUpdate();
              }
              return null;
            })) {
      ApiKeyRecord old = upgraded.apiKey("old").orElseThrow();
      assertThat(old).isEqualTo(new ApiKeyRecord("old", "ci", "key:old", "a".repeat(64), created));
      assertThat(old.check("a".repeat(64), created.plusSeconds(3_650L * 86_400)))
          .isEqualTo(ApiKeyRecord.SecretCheck.VALID);
      upgraded.recordApiKeyUses(Map.of("old", created.plusSeconds(5)));
      assertThat(upgraded.apiKey("old").orElseThrow().lastUsedAt())
          .isEqualTo(created.plusSeconds(5));
    }
  }

  protected JdbcStore store;
  protected String storeId;

  @BeforeEach
  void openStore() throws SQLException {
    store = open();
    storeId = store.createStore("jdbc").id();
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  static Tuple tuple(String object, String relation, String user) {
    return Tuple.of(object, relation, user);
  }

  static TupleKey key(String object, String relation, String user) {
    return new TupleKey(object, relation, user);
  }

  List<Tuple> all() {
    List<Tuple> out = new ArrayList<>();
    store.snapshot(storeId, t -> out.add(t.tuple()));
    return out;
  }

  static void assertCode(Runnable action, ErrorCode code) {
    assertThatThrownBy(action::run)
        .isInstanceOf(CastellanException.class)
        .satisfies(e -> assertThat(((CastellanException) e).code()).isEqualTo(code));
  }

  @Test
  void eachWriteIncrementsTheRevisionByOne() {
    for (int i = 1; i <= 5; i++) {
      WriteResult result = store.write(storeId, TupleWrite.writes(tuple("doc:" + i, "r", "u:a")));
      assertThat(result).isEqualTo(new WriteResult(i, 1, 0));
      assertThat(store.revision(storeId)).isEqualTo(i);
    }
  }

  @Test
  void concurrentWriters_commitGaplessRevisions_withTheChangelogInOrder() throws Exception {
    int threads = 8;
    int writesPerThread = 20;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        futures.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < writesPerThread; i++) {
                    store.write(
                        storeId,
                        TupleWrite.writes(
                            tuple("doc:" + thread + "-" + i, "viewer", "user:a"),
                            tuple("doc:" + thread + "-" + i, "editor", "user:a")));
                  }
                }));
      }
      for (Future<?> future : futures) {
        future.get();
      }
    } finally {
      pool.shutdownNow();
    }
    int total = threads * writesPerThread;
    assertThat(store.revision(storeId)).isEqualTo(total);
    List<Change> changes = store.changesAfter(storeId, 0, 100_000);
    assertThat(changes).hasSize(2 * total);
    for (int i = 0; i < changes.size(); i++) {
      assertThat(changes.get(i).revision()).isEqualTo(i / 2 + 1);
      assertThat(changes.get(i).sequence()).isEqualTo(i % 2);
    }
    assertThat(all()).hasSize(2 * total);
  }

  @Test
  void snapshot_isConsistentWithItsRevision_underConcurrentWrites() throws Exception {
    int writes = 150;
    Thread writer =
        Thread.ofPlatform()
            .start(
                () -> {
                  for (int i = 0; i < writes; i++) {
                    store.write(storeId, TupleWrite.writes(tuple("doc:" + i, "viewer", "user:a")));
                  }
                });
    int snapshots = 0;
    while (writer.isAlive() || snapshots == 0) {
      long[] count = new long[1];
      long revision = store.snapshot(storeId, t -> count[0]++);
      // Each write adds one tuple: a consistent snapshot at revision r holds exactly r tuples.
      assertThat(count[0]).isEqualTo(revision);
      snapshots++;
    }
    writer.join();
    assertThat(store.snapshot(storeId, t -> {})).isEqualTo(writes);
  }

  @Test
  void aFailedWrite_rollsBackItsDeletesToo() {
    store.write(storeId, TupleWrite.writes(tuple("doc:1", "r", "u:a"), tuple("doc:2", "r", "u:a")));
    assertCode(
        () ->
            store.write(
                storeId,
                TupleWrite.of(
                    List.of(tuple("doc:3", "r", "u:a"), tuple("doc:2", "r", "u:a")),
                    List.of(key("doc:1", "r", "u:a")))),
        ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT);
    assertThat(all())
        .containsExactlyInAnyOrder(tuple("doc:1", "r", "u:a"), tuple("doc:2", "r", "u:a"));
    assertThat(store.revision(storeId)).isEqualTo(1);
    assertThat(store.changesAfter(storeId, 1, 100)).isEmpty();
    // The next write takes revision 2: the failed one left no gap.
    assertThat(store.write(storeId, TupleWrite.writes(tuple("doc:3", "r", "u:a"))).revision())
        .isEqualTo(2);
  }

  @Test
  void ignoreDuplicates_acceptsAnIdenticalConditionalTuple() {
    Tuple conditional =
        Tuple.conditional("doc:1", "r", "u:a", "office", Map.of("ip", "10.0.0.1", "n", 3))
            .expiringAt(Instant.parse("2040-01-01T00:00:00.123456789Z"));
    store.write(storeId, TupleWrite.writes(conditional));
    Map<String, Object> reordered = new java.util.LinkedHashMap<>();
    reordered.put("n", 3);
    reordered.put("ip", "10.0.0.1");
    Tuple same = new Tuple(conditional.key(), "office", reordered, conditional.expiresAt());
    assertThat(store.write(storeId, new TupleWrite(List.of(same), List.of(), true, false)))
        .isEqualTo(new WriteResult(1, 0, 0));
    Tuple otherExpiry = conditional.expiringAt(Instant.parse("2041-01-01T00:00:00Z"));
    assertCode(
        () -> store.write(storeId, new TupleWrite(List.of(otherExpiry), List.of(), true, false)),
        ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT);
  }

  @Test
  void deletesAreLoggedWithTheDeletedTuple() {
    Tuple conditional = Tuple.conditional("doc:1", "r", "u:a", "office", Map.of("ip", "1.2.3.4"));
    store.write(storeId, TupleWrite.writes(conditional));
    store.write(storeId, TupleWrite.deletes(conditional.key()));
    List<Change> changes = store.changesAfter(storeId, 1, 10);
    assertThat(changes).hasSize(1);
    assertThat(changes.get(0).operation()).isEqualTo(Change.Operation.DELETE);
    assertThat(changes.get(0).tuple()).isEqualTo(conditional);
  }

  @Test
  void deleteMatching_logsEveryDeletionInOneRevision() {
    List<Tuple> tuples = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      tuples.add(tuple("doc:" + i, "viewer", i % 2 == 0 ? "user:even" : "user:odd"));
    }
    store.write(storeId, new TupleWrite(tuples, List.of(), false, false));
    WriteResult result = store.deleteMatching(storeId, TupleFilter.user("user:even"));
    assertThat(result).isEqualTo(new WriteResult(2, 0, 15));
    List<Change> changes = store.changesAfter(storeId, 1, 100);
    assertThat(changes).hasSize(15).allMatch(c -> c.revision() == 2);
    assertThat(changes).extracting(Change::sequence).containsExactlyElementsOf(range(15));
    assertThat(changes).allMatch(c -> c.operation() == Change.Operation.DELETE);
    assertThat(all()).hasSize(15).allMatch(t -> t.key().user().equals("user:odd"));
    assertThat(store.deleteMatching(storeId, new TupleFilter("doc:", "viewer", "")).deleted())
        .isEqualTo(15);
    assertThat(store.revision(storeId)).isEqualTo(3);
  }

  private static List<Integer> range(int n) {
    return IntStream.range(0, n).boxed().toList();
  }

  @Test
  void read_pagesInKeyOrder_withAndWithoutFilters() {
    List<Tuple> tuples = new ArrayList<>();
    for (int i = 0; i < 23; i++) {
      tuples.add(tuple("doc:" + (char) ('a' + i), "viewer", "user:" + (i % 3)));
      tuples.add(tuple("doc:" + (char) ('a' + i), "editor", "user:0"));
    }
    store.write(storeId, new TupleWrite(tuples, List.of(), false, false));
    assertThat(readAll(TupleFilter.ALL, 7)).hasSize(46).isSortedAccordingTo(JdbcStoreTest::compare);
    assertThat(readAll(TupleFilter.user("user:0"), 5)).hasSize(31);
    assertThat(readAll(new TupleFilter("doc:", "viewer", "user:1"), 2)).hasSize(8);
    assertThat(readAll(TupleFilter.object("doc:c"), 1))
        .containsExactly(tuple("doc:c", "editor", "user:0"), tuple("doc:c", "viewer", "user:2"));
    assertThat(readAll(TupleFilter.object("nothing:"), 3)).isEmpty();
  }

  private static int compare(Tuple a, Tuple b) {
    return a.key().toString().compareTo(b.key().toString());
  }

  List<Tuple> readAll(TupleFilter filter, int pageSize) {
    List<Tuple> out = new ArrayList<>();
    String token = "";
    do {
      Page<StoredTuple> page = store.read(storeId, filter, new PageRequest(pageSize, token));
      assertThat(page.items().size()).isLessThanOrEqualTo(pageSize);
      page.items().forEach(t -> out.add(t.tuple()));
      token = page.continuationToken();
    } while (!token.isEmpty());
    return out;
  }

  @Test
  void read_refusesTokensOfOtherListings() {
    store.createStore("b");
    String storesToken = store.listStores(PageRequest.first(1)).continuationToken();
    assertThat(storesToken).isNotEmpty();
    assertCode(
        () -> store.read(storeId, TupleFilter.ALL, new PageRequest(5, storesToken)),
        ErrorCode.INVALID_CONTINUATION_TOKEN);
    assertCode(
        () -> store.readChanges(storeId, "", null, new PageRequest(5, "%%%")),
        ErrorCode.INVALID_CONTINUATION_TOKEN);
  }

  @Test
  void read_reportsExpiredTuplesWithTheirExpiry() {
    Instant past = Instant.parse("2001-01-01T00:00:00Z");
    store.write(storeId, TupleWrite.writes(tuple("doc:1", "r", "u:a").expiringAt(past)));
    List<StoredTuple> page = store.read(storeId, TupleFilter.ALL, PageRequest.first(10)).items();
    assertThat(page).hasSize(1);
    assertThat(page.get(0).tuple().expiresAt()).isEqualTo(past);
  }

  @Test
  void changesAfter_stopsBeforeARevisionTheLimitWouldSplit() {
    store.write(storeId, TupleWrite.writes(tuple("doc:1", "r", "u:a"), tuple("doc:2", "r", "u:a")));
    store.write(
        storeId,
        TupleWrite.writes(
            tuple("doc:3", "r", "u:a"), tuple("doc:4", "r", "u:a"), tuple("doc:5", "r", "u:a")));
    store.write(storeId, TupleWrite.writes(tuple("doc:6", "r", "u:a")));
    assertThat(store.changesAfter(storeId, 0, 3))
        .extracting(Change::revision)
        .containsExactly(1L, 1L);
    assertThat(store.changesAfter(storeId, 0, 5)).hasSize(5);
    assertThat(store.changesAfter(storeId, 0, 6)).hasSize(6);
    assertThat(store.changesAfter(storeId, 1, 1)).hasSize(3).allMatch(c -> c.revision() == 2);
    assertThat(store.changesAfter(storeId, 2, 1)).hasSize(1);
  }

  @Test
  void readChanges_pagesOldestFirst() {
    for (int i = 0; i < 5; i++) {
      store.write(
          storeId,
          TupleWrite.writes(tuple("doc:" + i, "r", "u:a"), tuple("folder:" + i, "r", "u:a")));
    }
    List<String> seen = new ArrayList<>();
    String token = "";
    while (true) {
      Page<Change> page = store.readChanges(storeId, "folder", null, new PageRequest(2, token));
      if (page.items().isEmpty()) {
        break;
      }
      page.items().forEach(c -> seen.add(c.revision() + ":" + c.tuple().key().object()));
      token = page.continuationToken();
    }
    assertThat(seen)
        .containsExactly("1:folder:0", "2:folder:1", "3:folder:2", "4:folder:3", "5:folder:4");
  }

  @Test
  void purgeExpired_takesOneRevision() {
    Instant now = Instant.now();
    store.write(
        storeId,
        TupleWrite.writes(
            tuple("doc:1", "r", "u:a").expiringAt(now.minusSeconds(1)),
            tuple("doc:2", "r", "u:a").expiringAt(now.minusSeconds(2)),
            tuple("doc:3", "r", "u:a").expiringAt(now.plusSeconds(60))));
    assertThat(store.purgeExpired(storeId, now)).isEqualTo(2);
    assertThat(store.revision(storeId)).isEqualTo(2);
    assertThat(store.changesAfter(storeId, 1, 10))
        .extracting(c -> c.operation() + " " + c.tuple().key().object())
        .containsExactly("DELETE doc:1", "DELETE doc:2");
    assertThat(store.purgeExpired(storeId, now.plusSeconds(3600))).isEqualTo(1);
    assertThat(store.revision(storeId)).isEqualTo(3);
    assertThat(all()).isEmpty();
  }

  @Test
  void invalidTuples_areValidationErrors() {
    assertCode(
        () -> store.write(storeId, TupleWrite.writes(tuple("nocolon", "r", "u:a"))),
        ErrorCode.VALIDATION_ERROR);
    assertCode(
        () -> store.write(storeId, TupleWrite.writes(tuple("doc:" + "x".repeat(513), "r", "u:a"))),
        ErrorCode.VALIDATION_ERROR);
    assertThat(store.revision(storeId)).isZero();
  }

  @Test
  void deletedStores_areGoneEverywhere() {
    store.write(storeId, TupleWrite.writes(tuple("doc:1", "r", "u:a")));
    assertThat(store.deleteStore(storeId)).isTrue();
    assertThat(store.getStore(storeId)).isEmpty();
    assertCode(
        () -> store.read(storeId, TupleFilter.ALL, PageRequest.first(5)),
        ErrorCode.STORE_ID_NOT_FOUND);
    assertCode(() -> store.latestModel(storeId), ErrorCode.STORE_ID_NOT_FOUND);
    assertCode(() -> store.snapshot(storeId, t -> {}), ErrorCode.STORE_ID_NOT_FOUND);
    assertCode(() -> store.changesAfter(storeId, 0, 5), ErrorCode.STORE_ID_NOT_FOUND);
    assertCode(() -> store.purgeExpired(storeId, Instant.now()), ErrorCode.STORE_ID_NOT_FOUND);
    assertThat(store.listStores(PageRequest.first(10)).items()).isEmpty();
  }

  @Test
  void assertionsNeedAModel() {
    assertCode(
        () -> store.writeAssertions(storeId, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "[]"),
        ErrorCode.AUTHORIZATION_MODEL_NOT_FOUND);
    AuthorizationModel model =
        ModelDsl.parse(
            """
            model
              schema 1.1
            type user
            """);
    String id = store.writeModel(storeId, model);
    store.writeAssertions(storeId, id, "[{\"a\":1}]");
    store.writeAssertions(storeId, id, "[{\"a\":2}]");
    assertThat(store.readAssertions(storeId, id)).isEqualTo("[{\"a\":2}]");
  }

  @Test
  void deletingADirectoryUser_leavesNoRowsBehind() throws SQLException {
    DirectoryStore directory = store.directoryStore();
    DirectoryUser user =
        directory.createUser(
            new UserDraft("alice", "", "", true, List.of("a@example.com", "b@example.com"), "{}"));
    directory.createGroup(new GroupDraft("Admins", "", List.of(user.id())));
    directory.link(user.id(), Identity.email("a@example.com"));
    assertThat(rows("directory_user_emails")).isEqualTo(2);
    assertThat(directory.deleteUser(user.id())).isTrue();
    assertThat(rows("directory_users")).isZero();
    assertThat(rows("directory_user_emails")).isZero();
    assertThat(rows("directory_members")).isZero();
    assertThat(rows("directory_identities")).isZero();
    assertThat(rows("directory_groups")).isEqualTo(1);
  }

  @Test
  void aClosedStore_hasAnUnavailableDirectory() {
    DirectoryStore directory = store.directoryStore();
    store.close();
    assertCode(
        () -> directory.createUser(new UserDraft("alice", "", "", true, List.of(), "{}")),
        ErrorCode.STORE_UNAVAILABLE);
    assertCode(
        () -> directory.resolve(Identity.email("a@example.com")), ErrorCode.STORE_UNAVAILABLE);
  }

  private long rows(String table) throws SQLException {
    try (java.sql.Connection connection = store.dataSource().getConnection();
        java.sql.Statement statement = connection.createStatement();
        java.sql.ResultSet rs = statement.executeQuery("SELECT COUNT(*) FROM " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void aClosedStore_isUnavailable_withoutLeakingInternals() {
    store.close();
    assertThatThrownBy(() -> store.revision(storeId))
        .isInstanceOf(CastellanException.class)
        .satisfies(
            e -> {
              CastellanException ce = (CastellanException) e;
              assertThat(ce.code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE);
              assertThat(ce.getMessage())
                  .doesNotContainIgnoringCase("select")
                  .doesNotContain("Hikari");
              assertThat(ce.getCause()).isInstanceOf(SQLException.class);
            });
  }

  @Test
  void importTuples_commitsOneRevisionPerBatch_skippingExistingKeys() {
    store.write(storeId, TupleWrite.writes(tuple("doc:5", "viewer", "user:5")));
    int count = 12_345;
    Iterator<Tuple> tuples =
        IntStream.range(0, count)
            .mapToObj(
                i ->
                    i % 1000 == 7
                        ? Tuple.conditional(
                                "doc:" + i, "viewer", "user:" + i, "office", Map.of("i", i))
                            .expiringAt(Instant.parse("2050-01-01T00:00:00Z"))
                        : tuple("doc:" + i, "viewer", "user:" + i))
            .collect(java.util.stream.Collectors.toCollection(ArrayList::new))
            .iterator();
    List<Tuple> input = new ArrayList<>();
    tuples.forEachRemaining(input::add);
    input.add(tuple("doc:100", "viewer", "user:100")); // again, in a later batch
    input.add(tuple("doc:12344", "viewer", "user:12344")); // again, in the same batch
    List<Long> progress = new ArrayList<>();
    WriteResult result = store.importTuples(storeId, input.iterator(), 1_000, progress::add);
    int batches = (count + 2 + 999) / 1_000; // 13 batches of at most 1,000, each one revision
    assertThat(result).isEqualTo(new WriteResult(1 + batches, count - 1, 0));
    assertThat(progress).last().isEqualTo((long) count + 2);
    assertThat(progress).hasSizeGreaterThanOrEqualTo(12).isSorted();
    Map<TupleKey, Tuple> stored = new HashMap<>();
    long revision = store.snapshot(storeId, t -> stored.put(t.tuple().key(), t.tuple()));
    assertThat(revision).isEqualTo(1 + batches);
    assertThat(stored).hasSize(count);
    assertThat(stored.get(key("doc:7", "viewer", "user:7")).conditionContext())
        .containsEntry("i", 7);
    List<Change> firstBatch = store.changesAfter(storeId, 1, 100);
    // The first batch holds doc:0..doc:999, of which doc:5 was already there.
    assertThat(firstBatch).hasSize(999).allMatch(c -> c.revision() == 2);
    assertThat(firstBatch).extracting(Change::sequence).containsExactlyElementsOf(range(999));
    List<Change> changes = store.changesAfter(storeId, 1, 1_000_000);
    assertThat(changes).hasSize(count - 1).extracting(Change::revision).isSorted();
    assertThat(changes.get(changes.size() - 1).revision()).isEqualTo(1 + batches);

    // Importing only what exists takes no revision.
    WriteResult again =
        store.importTuples(
            storeId, List.of(tuple("doc:1", "viewer", "user:1")).iterator(), 10, n -> {});
    assertThat(again).isEqualTo(new WriteResult(1 + batches, 0, 0));
  }
}
