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

  /** How long the id of a store's latest model is trusted before asking the store again. */
  private static final long LATEST_MODEL_TTL_MILLIS = 1_000;

  private final Store store;
  private final Duration consistencyTimeout;
  private final Clock clock;
  private final ChangeFeed changes;
  private final AutoCloseable notifications;
  private final Map<String, IndexFeed> feeds = new ConcurrentHashMap<>();
  private final Map<String, Engine> engines = new ConcurrentHashMap<>();
  private final Map<String, Latest> latest = new ConcurrentHashMap<>();

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

  /** The feed of {@code storeId}, loading the store's tuples the first time. */
  public IndexFeed feed(String storeId) {
    IndexFeed feed = feeds.get(storeId);
    if (feed != null) {
      return feed;
    }
    if (store.getStore(storeId).isEmpty()) {
      throw storeNotFound(storeId);
    }
    return feeds.computeIfAbsent(storeId, id -> changes.follow(id, 0));
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

  /** Records a model written on this node as the latest at once. */
  public void modelWritten(String storeId, String modelId) {
    latest.put(storeId, new Latest(modelId, clock.millis()));
  }

  /** Forgets everything held for a deleted store. */
  public void storeDeleted(String storeId) {
    IndexFeed feed = feeds.remove(storeId);
    if (feed != null) {
      feed.close();
    }
    latest.remove(storeId);
    engines.keySet().removeIf(key -> key.startsWith(storeId + "/"));
  }

  private String latestModelId(String storeId) {
    Latest cached = latest.get(storeId);
    long now = clock.millis();
    if (cached != null && now - cached.fetchedAt() < LATEST_MODEL_TTL_MILLIS) {
      return cached.modelId();
    }
    String id =
        store
            .latestModel(storeId)
            .map(StoredModel::id)
            .orElseThrow(
                () ->
                    new CastellanException(
                        ErrorCode.LATEST_AUTHORIZATION_MODEL_NOT_FOUND,
                        "no authorization model found for store " + storeId));
    latest.put(storeId, new Latest(id, now));
    return id;
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
