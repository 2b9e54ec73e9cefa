package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleIndex;
import dev.castellan.engine.TupleKey;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Keeps one store's in-memory index in step with the store: loads a snapshot at start, then follows
 * the changelog, applying each revision as one batch, in order. It polls, and can be woken early
 * ({@link #wake()}: a PostgreSQL notification, or a write made on this node).
 *
 * <p>Several nodes over one database each run a feed; a consistency token makes a node wait until
 * its feed has applied the token's revision.
 */
public final class IndexFeed implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(IndexFeed.class.getName());

  /**
   * How the feed runs.
   *
   * @param pollInterval longest wait between two looks at the changelog; bounds replication lag
   * @param batchLimit changes read per query
   * @param purgeInterval how often expired tuples are deleted from the store; zero: never
   */
  public record Options(Duration pollInterval, int batchLimit, Duration purgeInterval) {
    public static final Options DEFAULT =
        new Options(Duration.ofMillis(200), 10_000, Duration.ofMinutes(1));
  }

  private final TupleStore store;
  private final String storeId;
  private final Options options;
  private final Clock clock;
  private final TupleIndex index;
  private final ReentrantLock wakeLock = new ReentrantLock();
  private final Condition wakeSignal = wakeLock.newCondition();
  private final Object applyLock = new Object();
  private boolean woken;
  private volatile boolean closed;
  private volatile Thread follower;
  private long lastPurge;

  private IndexFeed(TupleStore store, String storeId, Options options, Clock clock, int expected) {
    this.store = store;
    this.storeId = storeId;
    this.options = options;
    this.clock = clock;
    this.index = TupleIndex.create(expected);
  }

  /**
   * Loads {@code storeId} into a new index and starts following its changelog.
   *
   * @param expectedTuples a sizing hint for the index (0 when unknown)
   */
  public static IndexFeed start(
      TupleStore store, String storeId, Options options, Clock clock, int expectedTuples) {
    IndexFeed feed = new IndexFeed(store, storeId, options, clock, expectedTuples);
    feed.load();
    feed.lastPurge = clock.millis();
    Thread thread =
        Thread.ofPlatform().daemon().name("castellan-feed-" + storeId).start(feed::follow);
    feed.follower = thread;
    return feed;
  }

  public static IndexFeed start(TupleStore store, String storeId) {
    return start(store, storeId, Options.DEFAULT, Clock.systemUTC(), 0);
  }

  private void load() {
    TupleIndex.Loader loader = index.loader();
    long revision = store.snapshot(storeId, stored -> loader.add(stored.tuple()));
    loader.finish(revision);
    LOG.log(
        Level.INFO,
        "store {0}: loaded {1} tuples at revision {2}",
        storeId,
        loader.loaded(),
        revision);
  }

  public TupleIndex index() {
    return index;
  }

  public String storeId() {
    return storeId;
  }

  /** The store revision the index reflects. */
  public long revision() {
    return index.revision();
  }

  /** Look at the changelog now instead of at the next poll. */
  public void wake() {
    wakeLock.lock();
    try {
      woken = true;
      wakeSignal.signalAll();
    } finally {
      wakeLock.unlock();
    }
  }

  /**
   * Applies every change committed so far, on the calling thread. A node calls this after its own
   * write, so the writer reads its write on this node without waiting for the poll.
   */
  public void catchUp() {
    synchronized (applyLock) {
      while (true) {
        List<Change> changes = store.changesAfter(storeId, index.revision(), options.batchLimit());
        if (changes.isEmpty()) {
          return;
        }
        apply(changes);
      }
    }
  }

  /**
   * Returns once the index has applied {@code revision}, waiting at most {@code timeout}.
   *
   * @throws CastellanException {@code CONSISTENCY_TIMEOUT} when it has not by then
   */
  public void awaitRevision(long revision, Duration timeout) {
    if (index.revision() >= revision) {
      return;
    }
    wake();
    try {
      if (!index.awaitRevision(revision, timeout)) {
        throw new CastellanException(
            ErrorCode.CONSISTENCY_TIMEOUT,
            "this node has applied revision "
                + index.revision()
                + " of the store, not yet "
                + revision
                + ", after waiting "
                + timeout.toMillis()
                + " ms; retry");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CastellanException(ErrorCode.CONSISTENCY_TIMEOUT, "interrupted while waiting");
    }
  }

  /** OpenFGA's HIGHER_CONSISTENCY: wait for the latest committed revision of the store. */
  public void awaitLatest(Duration timeout) {
    awaitRevision(store.revision(storeId), timeout);
  }

  /**
   * The feed thread's loop. It outlives any failure: a store error backs off and retries, and so
   * does anything else, an {@link OutOfMemoryError} included (issue 12: one explained check used up
   * the heap and the error surfaced here, which left the node's index stale for minutes). A batch
   * that failed half-applied is applied again whole: deletes and writes of the index are
   * idempotent, and its revision only moves once the batch is in.
   */
  private void follow() {
    long backoff = options.pollInterval().toMillis();
    while (!closed) {
      try {
        catchUp();
        purgeWhenDue();
        backoff = options.pollInterval().toMillis();
      } catch (CastellanException e) {
        if (e.code() == ErrorCode.STORE_ID_NOT_FOUND) {
          LOG.log(Level.INFO, "store {0} was deleted; its feed stops", storeId);
          return;
        }
        LOG.log(
            Level.WARNING,
            "store {0}: following the changelog failed: {1}",
            storeId,
            e.getMessage());
        backoff = Math.min(backoff * 2, 5_000);
      } catch (Throwable e) {
        unexpected(e);
        backoff = Math.min(backoff * 2, 5_000);
      }
      try {
        sleep(backoff);
      } catch (Throwable e) {
        // Waiting allocates a little; without memory, park instead, which does not.
        LockSupport.parkNanos(backoff * 1_000_000L);
      }
    }
  }

  /** Logs a failure the feed survives; logging itself may fail when the heap is exhausted. */
  private void unexpected(Throwable e) {
    try {
      LOG.log(Level.ERROR, "store " + storeId + ": unexpected failure in the index feed", e);
    } catch (Throwable ignored) {
      // Nothing more can be done without memory; the loop goes on.
    }
  }

  private void purgeWhenDue() {
    if (options.purgeInterval().isZero()) {
      return;
    }
    long now = clock.millis();
    if (now - lastPurge >= options.purgeInterval().toMillis()) {
      lastPurge = now;
      int purged = store.purgeExpired(storeId, clock.instant());
      if (purged > 0) {
        LOG.log(Level.INFO, "store {0}: purged {1} expired tuples", storeId, purged);
      }
    }
  }

  private void sleep(long millis) {
    wakeLock.lock();
    try {
      long nanos = Duration.ofMillis(millis).toNanos();
      while (!woken && !closed && nanos > 0) {
        nanos = wakeSignal.awaitNanos(nanos);
      }
      woken = false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    } finally {
      wakeLock.unlock();
    }
  }

  /** Applies changes revision by revision; each revision is one atomic batch in the index. */
  private void apply(List<Change> changes) {
    int start = 0;
    while (start < changes.size()) {
      long revision = changes.get(start).revision();
      List<Tuple> writes = new ArrayList<>();
      List<TupleKey> deletes = new ArrayList<>();
      int end = start;
      while (end < changes.size() && changes.get(end).revision() == revision) {
        Change change = changes.get(end);
        if (change.operation() == Change.Operation.WRITE) {
          writes.add(change.tuple());
        } else {
          deletes.add(change.tuple().key());
        }
        end++;
      }
      index.apply(revision, writes, deletes);
      start = end;
    }
  }

  @Override
  public void close() {
    closed = true;
    wake();
    Thread thread = follower;
    if (thread != null) {
      try {
        thread.join(2_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
