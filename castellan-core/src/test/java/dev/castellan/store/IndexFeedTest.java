package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.Engine;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.model.ModelDsl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class IndexFeedTest {
  private static final String MODEL =
      """
      model
        schema 1.1
      type user
      type doc
        relations
          define viewer: [user]
      """;

  private final MemoryStore store = new MemoryStore();
  private final String storeId = store.createStore("feed").id();
  private IndexFeed feed;

  @AfterEach
  void stop() {
    if (feed != null) {
      feed.close();
    }
  }

  private boolean allowed(IndexFeed feed, String object, String user) {
    Engine engine = Engine.create(ModelDsl.parse(MODEL), feed.index());
    return engine.check(CheckRequest.of(object, "viewer", user)).allowed();
  }

  /** Issue 12: an OutOfMemoryError in the feed thread killed it, and the index went stale. */
  @Test
  void theFeedThread_survivesAnOutOfMemoryError_andGoesOnFollowing() throws Exception {
    java.util.concurrent.CountDownLatch failed = new java.util.concurrent.CountDownLatch(2);
    Store failing =
        (Store)
            java.lang.reflect.Proxy.newProxyInstance(
                Store.class.getClassLoader(),
                new Class<?>[] {Store.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("changesAfter") && failed.getCount() > 0) {
                    failed.countDown();
                    throw new OutOfMemoryError("Java heap space (a test's)");
                  }
                  try {
                    return method.invoke(store, args);
                  } catch (java.lang.reflect.InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
    feed =
        IndexFeed.start(
            failing,
            storeId,
            new IndexFeed.Options(Duration.ofMillis(5), 100, Duration.ZERO),
            Clock.systemUTC(),
            0);
    assertThat(failed.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

    long revision =
        store.write(storeId, TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:a"))).revision();
    feed.awaitRevision(revision, Duration.ofSeconds(10));
    assertThat(allowed(feed, "doc:1", "user:a")).isTrue();
  }

  @Test
  void start_loadsTheSnapshotAtItsRevision() {
    store.write(storeId, TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:a")));
    store.write(storeId, TupleWrite.writes(Tuple.of("doc:2", "viewer", "user:a")));
    feed = IndexFeed.start(store, storeId);
    assertThat(feed.revision()).isEqualTo(2);
    assertThat(allowed(feed, "doc:2", "user:a")).isTrue();
  }

  @Test
  void aWrite_isVisibleOnceItsTokenIsAwaited_andARevokeLikewise() {
    feed =
        IndexFeed.start(
            store,
            storeId,
            new IndexFeed.Options(Duration.ofHours(1), 100, Duration.ZERO),
            Clock.systemUTC(),
            0);
    long grant =
        store.write(storeId, TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:a"))).revision();
    String token = ConsistencyToken.encode(storeId, grant);
    feed.awaitRevision(ConsistencyToken.decode(token, storeId), Duration.ofSeconds(2));
    assertThat(allowed(feed, "doc:1", "user:a")).isTrue();

    long revoke =
        store
            .write(storeId, TupleWrite.deletes(new TupleKey("doc:1", "viewer", "user:a")))
            .revision();
    feed.awaitRevision(revoke, Duration.ofSeconds(2));
    assertThat(allowed(feed, "doc:1", "user:a")).isFalse();
  }

  @Test
  void withoutAToken_theFeedConvergesWithinASecond() throws InterruptedException {
    feed = IndexFeed.start(store, storeId);
    store.write(storeId, TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:a")));
    long deadline = System.nanoTime() + Duration.ofSeconds(1).toNanos();
    while (feed.revision() < 1 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(feed.revision()).isEqualTo(1);
  }

  @Test
  void aRevisionThatNeverComes_isAConsistencyTimeout() {
    feed = IndexFeed.start(store, storeId);
    assertThatThrownBy(() -> feed.awaitRevision(99, Duration.ofMillis(100)))
        .isInstanceOf(CastellanException.class)
        .satisfies(
            e ->
                assertThat(((CastellanException) e).code())
                    .isEqualTo(ErrorCode.CONSISTENCY_TIMEOUT));
  }

  @Test
  void tokens_fromAnotherStoreOrForged_areRefused() {
    String token = ConsistencyToken.encode(storeId, 5);
    assertThat(ConsistencyToken.decode(token, storeId)).isEqualTo(5);
    for (String bad : List.of("", "c1.", "c1.!!!", "xyz", ConsistencyToken.encode("other", 5))) {
      assertThatThrownBy(() -> ConsistencyToken.decode(bad, storeId))
          .isInstanceOf(CastellanException.class)
          .satisfies(
              e ->
                  assertThat(((CastellanException) e).code())
                      .isEqualTo(ErrorCode.INVALID_CONSISTENCY_TOKEN));
    }
  }

  @Test
  void anExpiringGrant_stopsGrantingAtItsTime_withoutAWrite_andIsPurgedLater() throws Exception {
    Instant start = Instant.parse("2030-01-01T00:00:00Z");
    AtomicReference<Instant> now = new AtomicReference<>(start);
    Clock clock =
        new Clock() {
          @Override
          public ZoneOffset getZone() {
            return ZoneOffset.UTC;
          }

          @Override
          public Clock withZone(java.time.ZoneId zone) {
            return this;
          }

          @Override
          public Instant instant() {
            return now.get();
          }
        };
    store.write(
        storeId,
        TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:a").expiringAt(start.plusSeconds(60))));
    feed =
        IndexFeed.start(
            store,
            storeId,
            new IndexFeed.Options(Duration.ofMillis(20), 100, Duration.ofSeconds(30)),
            clock,
            0);
    Engine engine = Engine.create(ModelDsl.parse(MODEL), feed.index(), clock);
    CheckRequest request = CheckRequest.of("doc:1", "viewer", "user:a");
    assertThat(engine.check(request).allowed()).isTrue();
    now.set(start.plusSeconds(60));
    assertThat(engine.check(request).allowed()).isFalse();
    assertThat(store.revision(storeId)).isEqualTo(1); // no write made it stop

    now.set(start.plusSeconds(120)); // past the purge interval: the feed purges and applies it
    long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (feed.revision() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(feed.revision()).isEqualTo(2);
    assertThat(feed.index().size()).isZero();
  }
}
