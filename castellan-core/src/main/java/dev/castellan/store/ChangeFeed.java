package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One node's change feed: a single thread keeps every {@link IndexFeed} of the node in step with
 * the database, however many stores it holds (issue 14: a thread per store ran a node with one
 * store per customer out of threads).
 *
 * <p>Each poll asks the database for the latest revision of every followed store in one look
 * ({@link TupleStore#revisions}) and marks the stores whose index is behind; {@link #wake} marks
 * one store at once (a PostgreSQL notification, or a reader waiting for a consistency token). The
 * thread then applies the changelog of the marked stores only, each revision as one batch. A
 * notification is only a hint: when it is lost or notifications are off, the next poll finds the
 * change.
 */
public final class ChangeFeed implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(ChangeFeed.class.getName());
  private static final long MAX_BACKOFF_MILLIS = 5_000;

  private final TupleStore store;
  private final IndexFeed.Options options;
  private final Clock clock;
  private final Map<String, IndexFeed> followed = new ConcurrentHashMap<>();
  private final Set<String> dirty = ConcurrentHashMap.newKeySet();
  private final ReentrantLock wakeLock = new ReentrantLock();
  private final Condition wakeSignal = wakeLock.newCondition();
  private boolean woken;
  private volatile boolean closed;
  private final Thread thread;
  private volatile long polls;
  private volatile long turns;
  private long lastPurge;

  private ChangeFeed(TupleStore store, IndexFeed.Options options, Clock clock) {
    this.store = Objects.requireNonNull(store, "store");
    this.options = Objects.requireNonNull(options, "options");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.lastPurge = clock.millis();
    // Created here so that the field is final; started by start(), once the object is built.
    this.thread = Thread.ofPlatform().daemon().name("castellan-change-feed").unstarted(this::run);
  }

  /** Starts the node's feed thread; it follows the stores given to {@link #follow}. */
  public static ChangeFeed start(TupleStore store, IndexFeed.Options options, Clock clock) {
    ChangeFeed feed = new ChangeFeed(store, options, clock);
    feed.thread.start();
    return feed;
  }

  /**
   * Loads {@code storeId} into a new index and follows its changelog from then on.
   *
   * @param expectedTuples a sizing hint for the index (0 when unknown)
   */
  public IndexFeed follow(String storeId, int expectedTuples) {
    return follow(storeId, expectedTuples, false);
  }

  IndexFeed follow(String storeId, int expectedTuples, boolean owned) {
    if (closed) {
      throw new IllegalStateException("the change feed is closed; store " + storeId);
    }
    IndexFeed feed = IndexFeed.load(store, storeId, options, this, owned, expectedTuples);
    followed.put(storeId, feed);
    // A write committed between the snapshot and the registration is found by the next poll;
    // marking the store now finds it sooner.
    wake(storeId);
    return feed;
  }

  /** Stops following {@code feed}'s store (the store was deleted, or the node let it go). */
  void unfollow(IndexFeed feed) {
    followed.remove(feed.storeId(), feed);
    dirty.remove(feed.storeId());
  }

  /** Applies {@code storeId}'s new changes now instead of at the next poll, if it is followed. */
  public void wake(String storeId) {
    if (!followed.containsKey(storeId)) {
      return;
    }
    dirty.add(storeId);
    signal();
  }

  /** Whether this feed follows {@code storeId} (it lets go of a store deleted elsewhere). */
  public boolean follows(String storeId) {
    return followed.containsKey(storeId);
  }

  /** Whether the feed's thread runs: it has started and is not closed. */
  public boolean running() {
    return !closed && thread.isAlive();
  }

  /** How many stores this feed follows. */
  public int followedStores() {
    return followed.size();
  }

  /** How many times the feed has looked at the revisions of its stores: for tests. */
  long polls() {
    return polls;
  }

  /** How many times the feed's loop has run: for tests. */
  long turns() {
    return turns;
  }

  private void signal() {
    wakeLock.lock();
    try {
      woken = true;
      wakeSignal.signalAll();
    } finally {
      wakeLock.unlock();
    }
  }

  /**
   * The feed thread's loop. It outlives any failure: a store error backs off and retries, and so
   * does anything else, an {@link OutOfMemoryError} included (issue 12: one explained check used up
   * the heap and the error surfaced in the feed, which left the node's index stale for minutes). A
   * store whose catch-up failed stays marked and is tried again; a batch that failed half-applied
   * is applied again whole (deletes and writes of the index are idempotent, and its revision only
   * moves once the batch is in).
   */
  private void run() {
    long interval = options.pollInterval().toMillis();
    long backoff = interval;
    long nextPoll = System.nanoTime(); // nanoTime may be negative: never compare it with 0
    while (!closed) {
      turns++;
      boolean failed = false;
      try {
        long now = System.nanoTime();
        if (now - nextPoll >= 0) {
          poll();
          nextPoll = now + options.pollInterval().toNanos();
        }
      } catch (Throwable e) {
        failed = true;
        failure("polling the revisions of " + followed.size() + " stores", e);
      }
      failed |= applyMarked();
      try {
        failed |= purgeWhenDue();
      } catch (Throwable e) {
        failed = true;
        failure("purging expired tuples", e);
      }
      backoff = failed ? Math.min(Math.max(backoff, 1) * 2, MAX_BACKOFF_MILLIS) : interval;
      // Rounded up: rounded down, the last millisecond before each poll was a busy loop.
      long waitMillis =
          failed ? backoff : Math.max(0, Math.ceilDiv(nextPoll - System.nanoTime(), 1_000_000L));
      try {
        sleep(waitMillis);
      } catch (Throwable e) {
        // Waiting allocates a little; without memory, park instead, which does not.
        LockSupport.parkNanos(Math.max(waitMillis, 1) * 1_000_000L);
      }
    }
  }

  private void poll() {
    if (followed.isEmpty()) {
      return;
    }
    Map<String, Long> revisions =
        store.readReplica().orElse(store).revisions(List.copyOf(followed.keySet()));
    polls++;
    for (IndexFeed feed : followed.values()) {
      Long latest = revisions.get(feed.storeId());
      if (latest == null) {
        // Gone from the database; confirm with the store's own answer before letting it go, so a
        // store created after the look above is not dropped.
        dirty.add(feed.storeId());
      } else if (latest > feed.revision()) {
        dirty.add(feed.storeId());
      }
    }
  }

  /** Applies the changes of the marked stores; true when one of them failed. */
  private boolean applyMarked() {
    boolean failed = false;
    List<String> marked = new ArrayList<>(dirty);
    for (String storeId : marked) {
      if (closed) {
        break;
      }
      dirty.remove(storeId);
      IndexFeed feed = followed.get(storeId);
      if (feed == null) {
        continue;
      }
      try {
        feed.follow();
      } catch (CastellanException e) {
        if (e.code() == ErrorCode.STORE_ID_NOT_FOUND) {
          LOG.log(Level.INFO, "store {0} was deleted; the node stops following it", storeId);
          unfollow(feed);
          continue;
        }
        failed = true;
        dirty.add(storeId);
        LOG.log(
            Level.WARNING,
            "store {0}: following the changelog failed: {1}",
            storeId,
            e.getMessage());
      } catch (Throwable e) {
        failed = true;
        dirty.add(storeId);
        failure("store " + storeId + ": following the changelog", e);
      }
    }
    return failed;
  }

  /** Every purge interval, deletes the expired tuples of every followed store. */
  private boolean purgeWhenDue() {
    if (options.purgeInterval().isZero()) {
      return false;
    }
    long now = clock.millis();
    if (now - lastPurge < options.purgeInterval().toMillis()) {
      return false;
    }
    lastPurge = now;
    boolean failed = false;
    for (IndexFeed feed : followed.values()) {
      try {
        int purged = store.purgeExpired(feed.storeId(), clock.instant());
        if (purged > 0) {
          LOG.log(Level.INFO, "store {0}: purged {1} expired tuples", feed.storeId(), purged);
          dirty.add(feed.storeId());
        }
      } catch (CastellanException e) {
        if (e.code() != ErrorCode.STORE_ID_NOT_FOUND) {
          failed = true;
          LOG.log(
              Level.WARNING,
              "store {0}: purging expired tuples failed: {1}",
              feed.storeId(),
              e.getMessage());
        }
      }
    }
    if (!dirty.isEmpty()) {
      applyMarked();
    }
    return failed;
  }

  /** Logs a failure the feed survives; logging itself may fail when the heap is exhausted. */
  private static void failure(String what, Throwable e) {
    try {
      LOG.log(Level.ERROR, what + ": unexpected failure in the change feed", e);
    } catch (Throwable ignored) {
      // Nothing more can be done without memory; the loop goes on.
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

  /** Stops the thread; the indexes stay readable at the revision they reached. */
  @Override
  public void close() {
    closed = true;
    signal();
    if (thread != Thread.currentThread()) {
      try {
        thread.join(2_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    followed.clear();
    dirty.clear();
  }
}
