package dev.castellan.server;

import dev.castellan.engine.Engine;
import dev.castellan.store.ChangeFeed;
import dev.castellan.store.IndexFeed;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The stores a node holds in memory (issue 14 point 3): a store's index is loaded on first use,
 * once however many requests ask for it at the same time, and the least recently used stores are
 * let go when the estimated heap of all indexes exceeds the budget. A store kept loaded ({@link
 * #keep}, the system store) is never let go, nor is a store while a request holds it ({@link
 * #acquire} until {@link Entry#release}); a store let go is loaded again at its next use, and the
 * node's change feed stops following it.
 *
 * <p>The estimate of a store is everything a loaded store holds: its index, measured once when it
 * is loaded ({@link dev.castellan.engine.TupleIndex#estimatedBytes}, a walk of the index) and
 * scaled by its tuple count afterwards, so that the budget costs no walk per request; each engine
 * compiled over it ({@link Engine#estimatedBytes}, measured once when made); and a fixed {@link
 * #ENTRY_BYTES} for the rest.
 */
final class StoreCache implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(StoreCache.class.getName());

  /**
   * What a loaded store holds beyond its index and its engines: its entry here, the future and map
   * nodes that find it, its feed with its locks, the change feed's registration of it and the
   * latest model id with its store id. Measured with {@code StoreFootprint} (castellan-bench): the
   * live heap of 1,000 loaded stores against the sum of their other estimates.
   */
  static final long ENTRY_BYTES = 1_500;

  /**
   * What a tuple written after the load costs when the load's own measure cannot say: about 320
   * bytes with short names in {@code StoreFootprint}, rounded up.
   */
  static final long TUPLE_BYTES = 400;

  /** The fewest tuples whose measure is trusted per tuple (below, fixed parts dominate it). */
  static final int MEASURED_TUPLES_MIN = 64;

  /** An engine's place in its entry: a map node and the model id it is kept by. */
  static final long ENGINE_SLOT_BYTES = 32 + 72;

  /** One store's size and last use, for the admin endpoint of the largest stores. */
  record Usage(String storeId, int tuples, long estimatedBytes, Instant lastUsed) {}

  /** What the node holds now and has done, for {@code /metrics}. */
  record Stats(int loaded, long loads, long evictions, long bytes, long budget, long tuples) {}

  private final ChangeFeed changes;
  private final long budget;
  private final Clock clock;
  private final Predicate<String> exists;
  private final Consumer<String> letGo;
  private final Map<String, CompletableFuture<Entry>> entries = new ConcurrentHashMap<>();
  private final Set<String> kept = ConcurrentHashMap.newKeySet();
  private final AtomicLong loads = new AtomicLong();
  private final AtomicLong evictions = new AtomicLong();
  private final AtomicLong uses = new AtomicLong();
  private final Object trimLock = new Object();
  private volatile long lastOverBudgetWarning;

  /**
   * @param budget the estimated heap all indexes may hold together, in bytes
   * @param exists whether a store exists, asked before loading a store not held (so that an unknown
   *     id is "store not found", not an empty index)
   * @param letGo told the id of each store let go or forgotten, to drop what else is held for it
   */
  StoreCache(
      ChangeFeed changes,
      long budget,
      Clock clock,
      Predicate<String> exists,
      Consumer<String> letGo) {
    if (budget < 1) {
      throw new IllegalArgumentException("the index memory budget must be positive, not " + budget);
    }
    this.changes = changes;
    this.budget = budget;
    this.clock = clock;
    this.exists = exists;
    this.letGo = letGo;
  }

  /** One loaded store: its feed, the engines compiled over its index, its size and last use. */
  static final class Entry {
    private final IndexFeed feed;
    private final Map<String, Engine> engines = new ConcurrentHashMap<>();
    private final AtomicLong engineBytes = new AtomicLong();
    private final long measuredBytes;
    private final int measuredTuples;
    // >= 0: requests holding the entry; -1: let go, never to be held again.
    private final AtomicInteger users = new AtomicInteger();
    private volatile long lastUsed;
    // The order of uses: milliseconds tie when uses come quickly.
    private volatile long lastUse;

    private Entry(IndexFeed feed, long now) {
      this.feed = feed;
      this.measuredTuples = feed.index().size();
      this.measuredBytes = feed.index().estimatedBytes();
      this.lastUsed = now;
    }

    IndexFeed feed() {
      return feed;
    }

    /** Lets the store go again after a request; it may be evicted from now on. */
    void release() {
      users.decrementAndGet();
    }

    private boolean hold() {
      while (true) {
        int now = users.get();
        if (now < 0) {
          return false;
        }
        if (users.compareAndSet(now, now + 1)) {
          return true;
        }
      }
    }

    int tuples() {
      return feed.index().size();
    }

    /**
     * The estimated heap of everything this store holds: index, engines and the rest. Tuples
     * written since the load add what a tuple cost in the measure, or {@link #TUPLE_BYTES} when the
     * store was too small for its measure to say (an empty store's index is all fixed parts);
     * deletes keep the measure, as the index keeps its tables.
     */
    long bytes() {
      long grown = Math.max(0, tuples() - measuredTuples);
      long perTuple =
          measuredTuples >= MEASURED_TUPLES_MIN ? measuredBytes / measuredTuples : TUPLE_BYTES;
      return measuredBytes + grown * perTuple + engineBytes.get() + ENTRY_BYTES;
    }
  }

  /**
   * The loaded store, held for the caller until {@link Entry#release}: loads it the first time
   * (concurrent callers wait for the one load), and may evict others to stay within the budget.
   */
  Entry acquire(String storeId) {
    while (true) {
      CompletableFuture<Entry> pending = entries.get(storeId);
      if (pending == null) {
        if (!exists.test(storeId)) {
          throw StoreRuntime.storeNotFound(storeId);
        }
        CompletableFuture<Entry> mine = new CompletableFuture<>();
        pending = entries.putIfAbsent(storeId, mine);
        if (pending == null) {
          load(storeId, mine);
          pending = mine;
        }
      }
      Entry entry = join(pending);
      if (entry.hold()) {
        entry.lastUsed = clock.millis();
        entry.lastUse = uses.incrementAndGet();
        return entry;
      }
      // Evicted between the look-up and the hold: load it again.
      entries.remove(storeId, pending);
    }
  }

  /**
   * The engine of {@code modelId} over the index of {@code entry}, which the caller holds; kept
   * while the entry lives. Compiled outside the map's lock, since reading the model is a database
   * call; a new engine counts into the store's estimate, which may let other stores go.
   */
  Engine engine(Entry entry, String modelId, Function<String, Engine> compile) {
    Engine engine = entry.engines.get(modelId);
    if (engine != null) {
      return engine;
    }
    Engine made = compile.apply(modelId);
    Engine raced = entry.engines.putIfAbsent(modelId, made);
    if (raced != null) {
      return raced;
    }
    entry.engineBytes.addAndGet(ENGINE_SLOT_BYTES + made.estimatedBytes());
    trim();
    return made;
  }

  /** The entry of a loaded store, without loading it or marking it used; null when not loaded. */
  @Nullable Entry peek(String storeId) {
    CompletableFuture<Entry> pending = entries.get(storeId);
    return pending == null ? null : pending.getNow(null);
  }

  /** Loads {@code storeId} now and never evicts it (the system store). */
  void keep(String storeId) {
    kept.add(storeId);
    acquire(storeId).release();
  }

  private void load(String storeId, CompletableFuture<Entry> mine) {
    Entry entry;
    try {
      entry = new Entry(changes.follow(storeId, 0), clock.millis());
    } catch (Throwable e) {
      entries.remove(storeId, mine);
      mine.completeExceptionally(e);
      throw e;
    }
    loads.incrementAndGet();
    // Held while trimming, so that the entry just loaded is not the one let go.
    entry.hold();
    mine.complete(entry);
    try {
      trim();
    } finally {
      entry.release();
    }
  }

  /**
   * Lets the least recently used stores go until the estimate is within the budget; stores in use
   * and kept stores stay, so the estimate can exceed the budget while they alone do.
   */
  void trim() {
    synchronized (trimLock) {
      List<Map.Entry<String, Entry>> loaded = loaded();
      long total = 0;
      long[] bytes = new long[loaded.size()];
      // Read once: requests move an entry's last use while this sorts, and a sort whose keys
      // change under it breaks its comparator's contract (and threw, answering a check 500).
      long[] lastUse = new long[loaded.size()];
      for (int i = 0; i < loaded.size(); i++) {
        bytes[i] = loaded.get(i).getValue().bytes();
        lastUse[i] = loaded.get(i).getValue().lastUse;
        total += bytes[i];
      }
      if (total <= budget) {
        return;
      }
      Integer[] order = new Integer[loaded.size()];
      for (int i = 0; i < order.length; i++) {
        order[i] = i;
      }
      java.util.Arrays.sort(order, Comparator.comparingLong(i -> lastUse[i]));
      for (int i : order) {
        if (total <= budget) {
          break;
        }
        String storeId = loaded.get(i).getKey();
        Entry entry = loaded.get(i).getValue();
        if (kept.contains(storeId) || !entry.users.compareAndSet(0, -1)) {
          continue;
        }
        remove(storeId, entry);
        evictions.incrementAndGet();
        total -= bytes[i];
      }
      if (total > budget) {
        warnOverBudget(total);
      }
    }
  }

  private void warnOverBudget(long total) {
    long now = clock.millis();
    if (now - lastOverBudgetWarning > 60_000) {
      lastOverBudgetWarning = now;
      LOG.log(
          Level.WARNING,
          "the indexes in memory need an estimated {0} bytes, over the budget of {1} bytes, with"
              + " every store that could be let go let go (the system store and stores in use"
              + " stay); raise --index-memory-budget",
          total,
          budget);
    }
  }

  /** Forgets a deleted store at once. */
  void forget(String storeId) {
    kept.remove(storeId);
    CompletableFuture<Entry> pending = entries.get(storeId);
    Entry entry = pending == null ? null : pending.getNow(null);
    if (entry != null) {
      entry.users.set(-1);
      remove(storeId, entry);
    }
  }

  private void remove(String storeId, Entry entry) {
    entries.computeIfPresent(storeId, (id, f) -> f.getNow(null) == entry ? null : f);
    entry.feed.close();
    letGo.accept(storeId);
  }

  /** Every loaded store's feed, by store id. */
  Map<String, IndexFeed> feeds() {
    Map<String, IndexFeed> out = new java.util.HashMap<>();
    for (Map.Entry<String, Entry> e : loaded()) {
      out.put(e.getKey(), e.getValue().feed);
    }
    return out;
  }

  /** The {@code limit} largest loaded stores by estimated bytes, largest first. */
  List<Usage> largest(int limit) {
    List<Usage> all = new ArrayList<>();
    for (Map.Entry<String, Entry> e : loaded()) {
      Entry entry = e.getValue();
      all.add(
          new Usage(
              e.getKey(), entry.tuples(), entry.bytes(), Instant.ofEpochMilli(entry.lastUsed)));
    }
    all.sort(Comparator.comparingLong(Usage::estimatedBytes).reversed());
    return List.copyOf(all.subList(0, Math.min(limit, all.size())));
  }

  Stats stats() {
    int count = 0;
    long bytes = 0;
    long tuples = 0;
    for (Map.Entry<String, Entry> e : loaded()) {
      count++;
      bytes += e.getValue().bytes();
      tuples += e.getValue().tuples();
    }
    return new Stats(count, loads.get(), evictions.get(), bytes, budget, tuples);
  }

  long budget() {
    return budget;
  }

  private List<Map.Entry<String, Entry>> loaded() {
    List<Map.Entry<String, Entry>> out = new ArrayList<>(entries.size());
    entries.forEach(
        (id, pending) -> {
          Entry entry = pending.getNow(null);
          if (entry != null && entry.users.get() >= 0) {
            out.add(Map.entry(id, entry));
          }
        });
    return out;
  }

  private static Entry join(CompletableFuture<Entry> pending) {
    try {
      return pending.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      throw e;
    }
  }

  @Override
  public void close() {
    entries.clear();
    kept.clear();
  }
}
