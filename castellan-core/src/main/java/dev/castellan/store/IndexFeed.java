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

/**
 * Keeps one store's in-memory index in step with the store: loads a snapshot at start, then follows
 * the changelog, applying each revision as one batch, in order. It has no thread of its own: the
 * node's {@link ChangeFeed} applies its changes when a poll or a notification says the store
 * changed ({@link #wake()} asks for that at once), and a node applies its own writes on the
 * writer's thread ({@link #catchUp()}).
 *
 * <p>Several nodes over one database each run a feed; a consistency token makes a node wait until
 * its feed has applied the token's revision.
 */
public final class IndexFeed implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(IndexFeed.class.getName());

  /**
   * How the feed runs.
   *
   * @param pollInterval longest wait between two polls of the node's {@link ChangeFeed} for the
   *     revisions of its stores; bounds replication lag when notifications are lost or off
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
  private final ChangeFeed changes;
  private final boolean ownsChanges;
  private final TupleIndex index;
  private final Object applyLock = new Object();

  private IndexFeed(
      TupleStore store,
      String storeId,
      Options options,
      ChangeFeed changes,
      boolean ownsChanges,
      int expected) {
    this.store = store;
    this.storeId = storeId;
    this.options = options;
    this.changes = changes;
    this.ownsChanges = ownsChanges;
    this.index = TupleIndex.create(expected);
  }

  /** Loads a store for {@code changes}, which follows it from then on. */
  static IndexFeed load(
      TupleStore store,
      String storeId,
      Options options,
      ChangeFeed changes,
      boolean ownsChanges,
      int expected) {
    IndexFeed feed = new IndexFeed(store, storeId, options, changes, ownsChanges, expected);
    feed.load();
    return feed;
  }

  /**
   * Loads {@code storeId} into a new index and follows its changelog with a {@link ChangeFeed} of
   * its own (one thread): for a single store, in tools and tests. A node with many stores follows
   * them all with one {@link ChangeFeed#follow}.
   *
   * @param expectedTuples a sizing hint for the index (0 when unknown)
   */
  public static IndexFeed start(
      TupleStore store, String storeId, Options options, Clock clock, int expectedTuples) {
    ChangeFeed own = ChangeFeed.start(store, options, clock);
    try {
      return own.follow(storeId, expectedTuples, true);
    } catch (RuntimeException e) {
      own.close();
      throw e;
    }
  }

  public static IndexFeed start(TupleStore store, String storeId) {
    return start(store, storeId, Options.DEFAULT, Clock.systemUTC(), 0);
  }

  private void load() {
    TupleIndex.Loader loader = index.loader();
    // From the read replica when there is one: a snapshot behind the primary is caught up from the
    // changelog like any other lag, and a token waits for its revision in awaitRevision.
    long revision =
        store.readReplica().orElse(store).snapshot(storeId, stored -> loader.add(stored.tuple()));
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
    changes.wake(storeId);
  }

  /**
   * Applies every change committed so far, on the calling thread. A node calls this after its own
   * write, so the writer reads its write on this node without waiting for the poll.
   */
  public void catchUp() {
    catchUp(store);
  }

  /**
   * The change feed's catch-up after a poll or a notification: from the read replica when there is
   * one (a notification of a commit the replica has not replayed yet finds nothing there; the next
   * poll of the replica's revisions finds it).
   */
  void follow() {
    catchUp(store.readReplica().orElse(store));
  }

  private void catchUp(TupleStore source) {
    synchronized (applyLock) {
      while (true) {
        List<Change> changes = source.changesAfter(storeId, index.revision(), options.batchLimit());
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
    if (store.readReplica().isPresent()) {
      // The feed reads a replica, which may lag behind the token: wait for the replica here, within
      // its bound, else catch up from the primary on this thread (ADR 0018).
      catchUp(store.readReplica(storeId, revision).orElse(store));
      if (index.revision() >= revision) {
        return;
      }
    }
    awaitFeed(revision, timeout);
  }

  /** Wakes the feed and waits for it to apply {@code revision}, at most {@code timeout}. */
  private void awaitFeed(long revision, Duration timeout) {
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

  /**
   * OpenFGA's HIGHER_CONSISTENCY: wait for the latest committed revision of the store. With a read
   * replica, the latest is read where it is, on the primary, and the index caught up from there on
   * this thread: such a request never waits for the replica, which may lag (ADR 0018).
   */
  public void awaitLatest(Duration timeout) {
    TupleStore latestReads = store.latestReads();
    long latest = latestReads.revision(storeId);
    if (index.revision() >= latest) {
      return;
    }
    if (store.readReplica().isPresent()) {
      catchUp(latestReads);
      if (index.revision() >= latest) {
        return;
      }
    }
    awaitFeed(latest, timeout);
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

  /** Stops following the store; with a feed started on its own, stops its thread too. */
  @Override
  public void close() {
    changes.unfollow(this);
    if (ownsChanges) {
      changes.close();
    }
  }
}
