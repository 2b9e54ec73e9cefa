package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.engine.Tuple;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** One {@link ChangeFeed} per node: one thread for every store, waking only the changed ones. */
class ChangeFeedTest {
  private static final IndexFeed.Options FAST =
      new IndexFeed.Options(Duration.ofMillis(10), 100, Duration.ZERO);

  private final MemoryStore memory = new MemoryStore();
  private final Queue<String> caughtUp = new ConcurrentLinkedQueue<>();
  private final List<AutoCloseable> closing = new ArrayList<>();

  /** The memory store, recording which stores' changelogs are read. */
  private final Store store =
      (Store)
          Proxy.newProxyInstance(
              Store.class.getClassLoader(),
              new Class<?>[] {Store.class},
              (proxy, method, args) -> {
                if (method.getName().equals("changesAfter")) {
                  caughtUp.add((String) args[0]);
                }
                try {
                  return method.invoke(memory, args);
                } catch (InvocationTargetException e) {
                  throw e.getCause();
                }
              });

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
  }

  private ChangeFeed start(IndexFeed.Options options) {
    ChangeFeed feed = ChangeFeed.start(store, options, Clock.systemUTC());
    closing.add(feed);
    return feed;
  }

  /**
   * Issue 14: a node with one store per customer ran a platform thread per store. Measured here
   * with 1,000 stores: the old way (a feed started per store, which {@link IndexFeed#start} still
   * does for a lone store) against the node's one change feed.
   */
  @Test
  void aThousandStores_shareOneThread() throws Exception {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      String id = memory.createStore("s" + i).id();
      memory.write(id, TupleWrite.writes(Tuple.of("doc:" + i, "viewer", "user:a")));
      ids.add(id);
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();

    int before = threads.getThreadCount();
    List<IndexFeed> perStore = new ArrayList<>();
    for (String id : ids) {
      perStore.add(
          IndexFeed.start(
              store,
              id,
              new IndexFeed.Options(Duration.ofSeconds(1), 100, Duration.ZERO),
              Clock.systemUTC(),
              0));
    }
    int withThreadPerStore = threads.getThreadCount();
    perStore.forEach(IndexFeed::close);

    int beforeShared = threads.getThreadCount();
    ChangeFeed feed = start(FAST);
    List<IndexFeed> shared = new ArrayList<>();
    for (String id : ids) {
      shared.add(feed.follow(id, 0));
    }
    int withOneFeed = threads.getThreadCount();
    System.out.printf(
        "live threads with 1,000 stores: a feed thread per store %d -> %d; one change feed %d ->"
            + " %d%n",
        before, withThreadPerStore, beforeShared, withOneFeed);

    assertThat(withThreadPerStore - before).isGreaterThanOrEqualTo(1_000);
    assertThat(withOneFeed - beforeShared).isLessThanOrEqualTo(1);
    assertThat(feed.followedStores()).isEqualTo(1_000);

    // And the one thread follows all of them: a write to the last store arrives by polling.
    String last = ids.getLast();
    long revision =
        memory.write(last, TupleWrite.writes(Tuple.of("doc:x", "viewer", "user:b"))).revision();
    awaitUntil(() -> shared.getLast().revision() == revision, "the last store's write applied");
    assertThat(shared.getLast().index().size()).isEqualTo(2);
  }

  /**
   * Between two polls the loop waits: it waited the time to the next poll rounded down to a
   * millisecond, and so spun through the last millisecond before each poll, hundreds of turns.
   */
  @Test
  void betweenPolls_theLoopWaitsInsteadOfSpinning() throws Exception {
    ChangeFeed feed = start(FAST);
    feed.follow(memory.createStore("quiet").id(), 0);
    long firstPoll = feed.polls() + 1;
    awaitUntil(() -> feed.polls() >= firstPoll, "a poll");
    long polls = feed.polls();
    long turns = feed.turns();
    awaitUntil(() -> feed.polls() >= polls + 10, "ten more polls");
    // One turn per poll, and a few more for a wait cut short.
    assertThat(feed.turns() - turns).isLessThanOrEqualTo(2 * (feed.polls() - polls) + 5);
  }

  @Test
  void aChangeInOneStore_wakesOnlyThatStore() throws Exception {
    ChangeFeed feed = start(FAST);
    List<IndexFeed> feeds = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      feeds.add(feed.follow(memory.createStore("s" + i).id(), 0));
    }
    // Following marks each store once, to apply what came between its snapshot and now.
    long settled = feed.polls() + 2;
    awaitUntil(() -> feed.polls() >= settled, "two polls after following");
    caughtUp.clear();

    IndexFeed changed = feeds.get(7);
    long revision =
        memory
            .write(changed.storeId(), TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:a")))
            .revision();
    awaitUntil(() -> changed.revision() == revision, "the changed store applied its write");
    long later = feed.polls() + 3;
    awaitUntil(() -> feed.polls() >= later, "three more polls");

    assertThat(caughtUp).containsOnly(changed.storeId());
    assertThat(feeds).filteredOn(f -> f != changed).allMatch(f -> f.revision() == 0);
  }

  /** A consistency token is honoured at once, without waiting for a poll that is an hour away. */
  @Test
  void aTokenWait_wakesItsStoreAtOnce_whenTheNextPollIsFarAway() {
    ChangeFeed feed = start(new IndexFeed.Options(Duration.ofHours(1), 100, Duration.ZERO));
    String id = memory.createStore("tokens").id();
    IndexFeed followed = feed.follow(id, 0);
    long revision =
        memory.write(id, TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:a"))).revision();
    String token = ConsistencyToken.encode(id, revision);

    followed.awaitRevision(ConsistencyToken.decode(token, id), Duration.ofSeconds(5));

    assertThat(followed.revision()).isEqualTo(revision);
    assertThat(followed.index().size()).isEqualTo(1);
  }

  @Test
  void aDeletedStore_isNoLongerFollowed_andTheOthersGoOn() throws Exception {
    ChangeFeed feed = start(FAST);
    String gone = memory.createStore("gone").id();
    String kept = memory.createStore("kept").id();
    feed.follow(gone, 0);
    IndexFeed keptFeed = feed.follow(kept, 0);

    memory.deleteStore(gone);
    awaitUntil(() -> feed.followedStores() == 1, "the deleted store let go");
    long revision =
        memory.write(kept, TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:a"))).revision();
    awaitUntil(() -> keptFeed.revision() == revision, "the other store still followed");
  }

  @Test
  void closingAStoresFeed_stopsFollowingOnlyIt() {
    ChangeFeed feed = start(FAST);
    IndexFeed a = feed.follow(memory.createStore("a").id(), 0);
    feed.follow(memory.createStore("b").id(), 0);
    a.close();
    assertThat(feed.followedStores()).isEqualTo(1);
  }

  /** Waits, up to ten seconds, for {@code condition}; fails naming {@code what} otherwise. */
  private static void awaitUntil(BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out waiting for: " + what);
      }
      Thread.sleep(5);
    }
  }
}
