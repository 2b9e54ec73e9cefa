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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a node holds per store: its index feed (loaded on first use) and one compiled engine per
 * model. Requests get their engine here after any consistency wait. One {@link ChangeFeed} (one
 * thread) keeps every loaded store up to date, woken by the database's notifications where it sends
 * them ({@link Store#listen}) and polling otherwise; an application that embeds the server gets it
 * with the runtime.
 */
public final class StoreRuntime implements AutoCloseable {

  /**
   * How long the id of a store's latest model is trusted before it is asked for again. The asking
   * is done off the request path (the request that finds the id older goes on with it), so a model
   * written on another node is used from about this long after.
   */
  private static final long LATEST_MODEL_TTL_MILLIS = 1_000;

  /**
   * How old a latest model id may be and still be used while it is asked for again: a store idle
   * for longer asks on its next request's path, so that no request uses a model older than this.
   */
  private static final long LATEST_MODEL_MAX_AGE_MILLIS = 60_000;

  private final Store store;
  private final Duration consistencyTimeout;
  private final Clock clock;
  private final ChangeFeed changes;
  private final AutoCloseable notifications;
  private final Map<String, IndexFeed> feeds = new ConcurrentHashMap<>();
  private final Map<String, Engine> engines = new ConcurrentHashMap<>();
  private final Map<String, Latest> latest = new ConcurrentHashMap<>();
  private final java.util.Set<String> refreshing = ConcurrentHashMap.newKeySet();

  private record Latest(String modelId, long fetchedAt) {}

  public StoreRuntime(
      Store store, IndexFeed.Options feedOptions, Duration consistencyTimeout, Clock clock) {
    this(store, feedOptions, consistencyTimeout, clock, true);
  }

  /**
   * @param notifications whether to listen to the database's change notifications; without them the
   *     feed converges by polling alone, within {@code feedOptions.pollInterval()}
   */
  public StoreRuntime(
      Store store,
      IndexFeed.Options feedOptions,
      Duration consistencyTimeout,
      Clock clock,
      boolean notifications) {
    this.store = store;
    this.consistencyTimeout = consistencyTimeout;
    this.clock = clock;
    this.changes = ChangeFeed.start(store, feedOptions, clock);
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
   * The feed of {@code storeId}, loading the store's tuples the first time. A loaded store is
   * answered from memory: the change feed lets go of a store deleted elsewhere, and then the store
   * is asked again.
   */
  public IndexFeed feed(String storeId) {
    IndexFeed feed = feeds.get(storeId);
    if (feed != null) {
      if (changes.follows(storeId)) {
        return feed;
      }
      feeds.remove(storeId, feed);
      forget(storeId);
    }
    if (store.getStore(storeId).isEmpty()) {
      throw storeNotFound(storeId);
    }
    return feeds.computeIfAbsent(storeId, id -> changes.follow(id, 0));
  }

  /**
   * Throws {@code STORE_ID_NOT_FOUND} unless {@code storeId} exists: from memory for a store this
   * node holds, from the database otherwise (without loading it).
   */
  public void requireStore(String storeId) {
    if (feeds.containsKey(storeId) && changes.follows(storeId)) {
      return;
    }
    if (store.getStore(storeId).isEmpty()) {
      throw storeNotFound(storeId);
    }
  }

  /** The feeds this node holds now, by store id: what its metrics report on. */
  public Map<String, IndexFeed> loadedFeeds() {
    return Map.copyOf(feeds);
  }

  /** Wakes the feed of {@code storeId} if this node follows it (a notification from elsewhere). */
  public void wake(String storeId) {
    changes.wake(storeId);
  }

  /** After a write on this node: apply it here now, so the writer reads its own write. */
  public void afterWrite(String storeId) {
    IndexFeed feed = feeds.get(storeId);
    if (feed != null) {
      feed.catchUp();
    }
  }

  /**
   * The engine for a request: waits for {@code consistencyToken} (or the latest revision when
   * {@code higherConsistency}), then resolves the model (the latest when {@code modelId} is empty).
   */
  public Engine engine(
      String storeId, String modelId, String consistencyToken, boolean higherConsistency) {
    IndexFeed feed = feed(storeId);
    if (consistencyToken != null && !consistencyToken.isEmpty()) {
      feed.awaitRevision(ConsistencyToken.decode(consistencyToken, storeId), consistencyTimeout);
    } else if (higherConsistency) {
      feed.awaitLatest(consistencyTimeout);
    }
    String id = modelId == null || modelId.isEmpty() ? latestModelId(storeId) : modelId;
    String key = storeId + "/" + id;
    Engine engine = engines.get(key);
    if (engine != null) {
      return engine;
    }
    StoredModel model =
        store
            .readModel(storeId, id)
            .orElseThrow(
                () ->
                    new CastellanException(
                        ErrorCode.AUTHORIZATION_MODEL_NOT_FOUND,
                        "authorization model " + id + " not found"));
    return engines.computeIfAbsent(key, k -> Engine.create(model.model(), feed.index(), clock));
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
    remember(storeId, modelId, clock.millis());
  }

  /** Forgets everything held for a deleted store. */
  public void storeDeleted(String storeId) {
    IndexFeed feed = feeds.remove(storeId);
    if (feed != null) {
      feed.close();
    }
    forget(storeId);
  }

  private void forget(String storeId) {
    latest.remove(storeId);
    engines.keySet().removeIf(key -> key.startsWith(storeId + "/"));
  }

  /**
   * The id of the store's latest model. A known id is used at once; when it is older than {@link
   * #LATEST_MODEL_TTL_MILLIS}, one background virtual thread asks the store again (the request path
   * makes no database call for it), unless it is older than {@link #LATEST_MODEL_MAX_AGE_MILLIS}.
   */
  private String latestModelId(String storeId) {
    Latest cached = latest.get(storeId);
    long now = clock.millis();
    if (cached != null) {
      long age = now - cached.fetchedAt();
      if (age < LATEST_MODEL_TTL_MILLIS) {
        return cached.modelId();
      }
      if (age < LATEST_MODEL_MAX_AGE_MILLIS) {
        if (refreshing.add(storeId)) {
          Thread.ofVirtual()
              .name("castellan-latest-model")
              .start(
                  () -> {
                    try {
                      fetchLatestModelId(storeId);
                    } catch (RuntimeException e) {
                      // The known id stays in use; the next request past the TTL asks again, and
                      // one past the maximum age asks on its own path and sees the error.
                    } finally {
                      refreshing.remove(storeId);
                    }
                  });
        }
        return cached.modelId();
      }
    }
    return fetchLatestModelId(storeId);
  }

  private String fetchLatestModelId(String storeId) {
    long asked = clock.millis();
    String id =
        store
            .latestModel(storeId)
            .map(StoredModel::id)
            .orElseThrow(
                () ->
                    new CastellanException(
                        ErrorCode.LATEST_AUTHORIZATION_MODEL_NOT_FOUND,
                        "no authorization model found for store " + storeId));
    return remember(storeId, id, asked);
  }

  /**
   * Keeps the newer of {@code modelId} and the id known: model ids grow with time (ULIDs), so an
   * answer read before a write on this node cannot replace that write's model.
   */
  private String remember(String storeId, String modelId, long at) {
    return latest
        .merge(
            storeId,
            new Latest(modelId, at),
            (old, fresh) ->
                fresh.modelId().compareTo(old.modelId()) >= 0
                    ? fresh
                    : new Latest(old.modelId(), Math.max(old.fetchedAt(), fresh.fetchedAt())))
        .modelId();
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
    feeds.clear();
  }
}
