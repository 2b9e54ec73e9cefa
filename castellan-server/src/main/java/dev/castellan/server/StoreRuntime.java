package dev.castellan.server;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Engine;
import dev.castellan.store.ChangeFeed;
import dev.castellan.store.ConsistencyToken;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.Store;
import dev.castellan.store.StoredModel;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * What a node holds per store: its index feed (loaded on first use, let go least recently used
 * under the index memory budget: {@link StoreCache}) and one compiled engine per model. Requests
 * get their engine here after any consistency wait. One {@link ChangeFeed} (one thread) keeps every
 * loaded store up to date, woken by the database's notifications where it sends them ({@link
 * Store#listen}) and polling otherwise; an application that embeds the server gets it with the
 * runtime.
 */
public final class StoreRuntime implements AutoCloseable {

  /**
   * How long the id of a store's latest model is trusted before it is asked for again. The asking
   * is done off the request path (the request that finds the id older goes on with it), so a model
   * written on another node is used from about this long after.
   */
  private static final Duration LATEST_MODEL_TTL = Duration.ofSeconds(1);

  /**
   * How old a latest model id may be and still be used while it is asked for again: a store idle
   * for longer asks on its next request's path, so that no request uses a model older than this.
   */
  private static final Duration LATEST_MODEL_MAX_AGE = Duration.ofSeconds(60);

  private final Store store;
  private final Duration consistencyTimeout;
  private final Clock clock;
  private final ChangeFeed changes;
  private final AutoCloseable notifications;
  private final StoreCache cache;
  private final RefreshingCache<String, String> latest;

  public StoreRuntime(
      Store store, IndexFeed.Options feedOptions, Duration consistencyTimeout, Clock clock) {
    this(store, feedOptions, consistencyTimeout, clock, true);
  }

  public StoreRuntime(
      Store store,
      IndexFeed.Options feedOptions,
      Duration consistencyTimeout,
      Clock clock,
      boolean notifications) {
    this(store, feedOptions, consistencyTimeout, clock, notifications, defaultIndexMemoryBudget());
  }

  /**
   * @param notifications whether to listen to the database's change notifications; without them the
   *     feed converges by polling alone, within {@code feedOptions.pollInterval()}
   * @param indexMemoryBudget the estimated heap, in bytes, all loaded stores (their indexes,
   *     engines and entries) may hold together before the least recently used are let go
   */
  public StoreRuntime(
      Store store,
      IndexFeed.Options feedOptions,
      Duration consistencyTimeout,
      Clock clock,
      boolean notifications,
      long indexMemoryBudget) {
    this.store = store;
    this.consistencyTimeout = consistencyTimeout;
    this.clock = clock;
    // Model ids grow with time (ULIDs): an answer read before a write on this node cannot replace
    // that write's model.
    this.latest =
        new RefreshingCache<>(
            clock,
            LATEST_MODEL_TTL,
            LATEST_MODEL_MAX_AGE,
            RefreshingCache.virtualThreads("castellan-latest-model"),
            this::fetchLatestModelId,
            (held, loaded) -> loaded.compareTo(held) >= 0);
    this.changes = ChangeFeed.start(store, feedOptions, clock);
    this.cache =
        new StoreCache(
            changes,
            indexMemoryBudget,
            clock,
            id -> store.getStore(id).isPresent(),
            // A store let go asks for its latest model again when it is loaded again; kept, the
            // ids of every store ever used would grow outside the budget.
            latest::remove);
    AutoCloseable listening = () -> {};
    if (notifications) {
      try {
        listening = store.listen(changes::wake);
      } catch (RuntimeException e) {
        changes.close();
        throw e;
      }
    }
    this.notifications = listening;
  }

  /** The node's change feed, which follows every loaded store. */
  public ChangeFeed changeFeed() {
    return changes;
  }

  public Store store() {
    return store;
  }

  /**
   * The default index memory budget: half of the JVM's maximum heap, leaving the other half to
   * requests and the server.
   */
  public static long defaultIndexMemoryBudget() {
    return Math.max(1, Runtime.getRuntime().maxMemory() / 2);
  }

  /**
   * The feed of {@code storeId}, loading the store's tuples if this node does not hold it. A loaded
   * store is answered from memory: the change feed lets go of a store deleted elsewhere, and then
   * the store is asked again.
   */
  public IndexFeed feed(String storeId) {
    StoreCache.Entry entry = cache.acquire(storeId);
    entry.release();
    if (changes.follows(storeId)) {
      return entry.feed();
    }
    forget(storeId);
    entry = cache.acquire(storeId); // refuses a store deleted elsewhere, reloads one let go
    entry.release();
    return entry.feed();
  }

  /**
   * Loads {@code storeId} now and never lets it go (the system store, which every request needs).
   */
  public void keepLoaded(String storeId) {
    cache.keep(storeId);
  }

  /**
   * Throws {@code STORE_ID_NOT_FOUND} unless {@code storeId} exists: from memory for a store this
   * node holds, from the database otherwise (without loading it).
   */
  public void requireStore(String storeId) {
    if (cache.peek(storeId) != null && changes.follows(storeId)) {
      return;
    }
    if (store.getStore(storeId).isEmpty()) {
      throw storeNotFound(storeId);
    }
  }

  /** The feeds this node holds now, by store id: what its metrics report on. */
  public Map<String, IndexFeed> loadedFeeds() {
    return cache.feeds();
  }

  /**
   * What this node holds in memory and has loaded and let go since it started (counts, estimated
   * bytes, the budget): aggregates for {@code /metrics}.
   */
  public LoadedStores loadedStores() {
    StoreCache.Stats stats = cache.stats();
    return new LoadedStores(
        stats.loaded(),
        stats.loads(),
        stats.evictions(),
        stats.bytes(),
        stats.budget(),
        stats.tuples());
  }

  /** The {@code limit} loaded stores with the largest estimated heap, largest first. */
  public List<LoadedStore> largestStores(int limit) {
    return cache.largest(limit).stream()
        .map(u -> new LoadedStore(u.storeId(), u.tuples(), u.estimatedBytes(), u.lastUsed()))
        .toList();
  }

  /**
   * The stores a node holds.
   *
   * @param loaded stores in memory now
   * @param loads stores loaded since start (again after an eviction too)
   * @param evictions stores let go to stay within the budget since start
   * @param bytes the estimated heap of the loaded stores: indexes, engines and entries
   * @param budget the index memory budget
   * @param tuples tuples in the loaded indexes
   */
  public record LoadedStores(
      int loaded, long loads, long evictions, long bytes, long budget, long tuples) {}

  /** One loaded store's size and last use. */
  public record LoadedStore(String storeId, int tuples, long estimatedBytes, Instant lastUsed) {}

  /** Wakes the feed of {@code storeId} if this node follows it (a notification from elsewhere). */
  public void wake(String storeId) {
    changes.wake(storeId);
  }

  /** After a write on this node: apply it here now, so the writer reads its own write. */
  public void afterWrite(String storeId) {
    StoreCache.Entry entry = cache.peek(storeId);
    if (entry != null) {
      entry.feed().catchUp();
      cache.trim();
    }
  }

  /**
   * The engine for a request: waits for the latest revision when {@code higherConsistency}, else
   * for {@code consistencyToken} when there is one, then resolves the model (the latest when {@code
   * modelId} is empty).
   */
  public Engine engine(
      String storeId,
      @Nullable String modelId,
      @Nullable String consistencyToken,
      boolean higherConsistency) {
    // Held until the engine is made: the store is not let go while this request waits for its
    // token's revision (a feed let go stops following the changelog).
    StoreCache.Entry entry = cache.acquire(storeId);
    try {
      IndexFeed feed = entry.feed();
      String token = consistencyToken == null ? "" : consistencyToken;
      boolean hasToken = !token.isEmpty();
      // Decoded either way: a token of another store is refused even beside HIGHER_CONSISTENCY.
      long tokenRevision = hasToken ? ConsistencyToken.decode(token, storeId) : 0;
      if (higherConsistency) {
        // The latest revision is at or past any token's: waiting for the token first would wait
        // for a read replica that may lag, which HIGHER_CONSISTENCY never does (ADR 0018).
        feed.awaitLatest(consistencyTimeout);
      } else if (hasToken) {
        feed.awaitRevision(tokenRevision, consistencyTimeout);
      }
      String id = modelId == null || modelId.isEmpty() ? latestModelId(storeId) : modelId;
      return cache.engine(
          entry, id, k -> Engine.create(model(storeId, id).model(), feed.index(), clock));
    } finally {
      entry.release();
    }
  }

  /** The revision this node has applied for a store, as a token for responses. */
  public String token(String storeId) {
    return ConsistencyToken.encode(storeId, feed(storeId).revision());
  }

  /** The token naming {@code revision} of a store: the revision a decision was made at. */
  public static String token(String storeId, long revision) {
    return ConsistencyToken.encode(storeId, revision);
  }

  /** Records a model written on this node as the latest at once. */
  public void modelWritten(String storeId, String modelId) {
    latest.put(storeId, modelId);
  }

  /** Forgets everything held for a deleted store. */
  public void storeDeleted(String storeId) {
    forget(storeId);
  }

  private void forget(String storeId) {
    cache.forget(storeId);
    latest.remove(storeId);
  }

  /**
   * The id of the store's latest model. A known id is used at once; when it is older than {@link
   * #LATEST_MODEL_TTL}, one background virtual thread asks the store again (the request path makes
   * no database call for it), unless it is older than {@link #LATEST_MODEL_MAX_AGE}.
   */
  private String latestModelId(String storeId) {
    return latest.get(storeId).orElseThrow(() -> noModel(storeId));
  }

  private Optional<String> fetchLatestModelId(String storeId) {
    return Optional.of(
        store.latestModel(storeId).map(StoredModel::id).orElseThrow(() -> noModel(storeId)));
  }

  private static CastellanException noModel(String storeId) {
    return new CastellanException(
        ErrorCode.LATEST_AUTHORIZATION_MODEL_NOT_FOUND,
        "no authorization model found for store " + storeId);
  }

  /**
   * The stored model {@code modelId} of {@code storeId}, from the database.
   *
   * @throws CastellanException {@code AUTHORIZATION_MODEL_NOT_FOUND} when the store has none by
   *     that id
   */
  public StoredModel model(String storeId, String modelId) {
    return store
        .readModel(storeId, modelId)
        .orElseThrow(
            () ->
                new CastellanException(
                    ErrorCode.AUTHORIZATION_MODEL_NOT_FOUND,
                    "authorization model " + modelId + " not found"));
  }

  static CastellanException storeNotFound(String storeId) {
    return new CastellanException(ErrorCode.STORE_ID_NOT_FOUND, "store " + storeId + " not found");
  }

  @Override
  public void close() {
    try {
      notifications.close();
    } catch (Exception e) {
      // Closing anyway: the listener's connection goes with the store's pool.
    }
    changes.close();
    cache.close();
  }
}
