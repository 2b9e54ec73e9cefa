package dev.castellan.server.metrics;

import dev.castellan.server.StoreRuntime;
import dev.castellan.store.IndexFeed;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Gauges of this node's indexes, read at scrape time, over all its stores together: stores loaded,
 * loaded and let go since start, tuples held, estimated heap against the budget, and the largest
 * lag behind a store's latest committed revision (what another node has written and this one has
 * not applied yet). No series per store: a node may hold thousands; the largest are listed by
 * {@code GET /api/admin/stores/largest}.
 */
final class IndexGauges {
  private final StoreRuntime runtime;
  private final AtomicLong loaded = new AtomicLong();
  private final AtomicLong tuples = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong maxLag = new AtomicLong();
  private final AtomicLong storeUp = new AtomicLong(1);
  private final Probe<Map<String, Long>> latest;

  IndexGauges(StoreRuntime runtime, MeterRegistry registry) {
    this.runtime = runtime;
    Gauge.builder("castellan.stores.loaded", loaded, AtomicLong::get)
        .description("Stores whose index this node holds in memory now")
        .register(registry);
    FunctionCounter.builder("castellan.store.loads", runtime, r -> r.loadedStores().loads())
        .description(
            "Stores loaded into memory since start (on first use, and again after eviction)")
        .register(registry);
    FunctionCounter.builder("castellan.store.evictions", runtime, r -> r.loadedStores().evictions())
        .description(
            "Stores let go, least recently used first, to keep the indexes within the budget")
        .register(registry);
    Gauge.builder("castellan.index.bytes", bytes, AtomicLong::get)
        .description(
            "Estimated heap held by the stores this node has loaded: indexes, engines, entries")
        .baseUnit("bytes")
        .register(registry);
    Gauge.builder("castellan.index.memory.budget", runtime, r -> r.loadedStores().budget())
        .description("The estimated heap the indexes may hold before stores are let go")
        .baseUnit("bytes")
        .register(registry);
    Gauge.builder("castellan.node.index.tuples", tuples, AtomicLong::get)
        .description("Tuples in all of this node's indexes")
        .register(registry);
    Gauge.builder("castellan.index.revision.lag.max", maxLag, AtomicLong::get)
        .description(
            "The most revisions committed to one loaded store (by any node) that this node has"
                + " not applied yet")
        .register(registry);
    Gauge.builder("castellan.store.up", storeUp, AtomicLong::get)
        .description("1 when the store's database answered the last scrape within 2 s, else 0")
        .register(registry);
    latest = new Probe<>(this::latestRevisions, Duration.ofSeconds(2));
  }

  /** Reads every gauge now; called before each scrape. */
  synchronized void refresh() {
    StoreRuntime.LoadedStores stores = runtime.loadedStores();
    loaded.set(stores.loaded());
    tuples.set(stores.tuples());
    bytes.set(stores.bytes());
    Optional<Map<String, Long>> committed = latest.get();
    storeUp.set(committed.isPresent() ? 1 : 0);
    long lag = 0;
    if (committed.isPresent()) {
      for (Map.Entry<String, IndexFeed> entry : runtime.loadedFeeds().entrySet()) {
        Long head = committed.get().get(entry.getKey());
        if (head != null) {
          lag = Math.max(lag, head - entry.getValue().revision());
        }
      }
    }
    maxLag.set(lag);
  }

  /** The latest committed revision of every store this node holds, in one look. */
  private Map<String, Long> latestRevisions() {
    return runtime.store().revisions(List.copyOf(runtime.loadedFeeds().keySet()));
  }
}
