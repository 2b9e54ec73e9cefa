package dev.castellan.server.metrics;

import dev.castellan.CastellanException;
import dev.castellan.server.StoreRuntime;
import dev.castellan.store.IndexFeed;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Per-store gauges of this node's indexes, read at scrape time: tuples held, estimated heap, the
 * revision applied, and the lag behind the store's latest committed revision (what another node has
 * written and this one has not applied yet). Stores appear when this node loads them and disappear
 * when they are deleted.
 */
final class IndexGauges {
  /**
   * Estimating an index's heap walks all of it under its read lock (about 25 ms per million
   * tuples), which holds up the feed's next write; a changed index is walked again at most this
   * often, and scaled by its tuple count in between.
   */
  private static final long MEMORY_REFRESH_MILLIS = 5 * 60_000;

  private final StoreRuntime runtime;
  private final MultiGauge tuples;
  private final MultiGauge memory;
  private final MultiGauge revision;
  private final MultiGauge lag;
  private final AtomicLong totalTuples = new AtomicLong();
  private final AtomicLong totalMemory = new AtomicLong();
  private final AtomicLong storeUp = new AtomicLong(1);
  private final Probe<Map<String, Long>> latest;
  private final Map<String, Estimate> estimates = new ConcurrentHashMap<>();

  private record Estimate(long revision, int tuples, long bytes, long madeAt) {}

  IndexGauges(StoreRuntime runtime, MeterRegistry registry) {
    this.runtime = runtime;
    tuples =
        MultiGauge.builder("castellan.index.tuples")
            .description("Tuples in this node's index of a store")
            .register(registry);
    memory =
        MultiGauge.builder("castellan.index.memory")
            .description("Estimated heap held by this node's index of a store")
            .baseUnit("bytes")
            .register(registry);
    revision =
        MultiGauge.builder("castellan.index.revision")
            .description("The store revision this node's index has applied")
            .register(registry);
    lag =
        MultiGauge.builder("castellan.index.revision.lag")
            .description(
                "Revisions committed to a store (by any node) that this node has not applied yet")
            .register(registry);
    Gauge.builder("castellan.node.index.tuples", totalTuples, AtomicLong::get)
        .description("Tuples in all of this node's indexes")
        .register(registry);
    Gauge.builder("castellan.node.index.memory", totalMemory, AtomicLong::get)
        .description("Estimated heap held by all of this node's indexes")
        .baseUnit("bytes")
        .register(registry);
    Gauge.builder("castellan.store.up", storeUp, AtomicLong::get)
        .description("1 when the store's database answered the last scrape within 2 s, else 0")
        .register(registry);
    latest = new Probe<>(this::latestRevisions, Duration.ofSeconds(2));
  }

  /** Reads every gauge now; called before each scrape. */
  synchronized void refresh() {
    Map<String, IndexFeed> feeds = runtime.loadedFeeds();
    Optional<Map<String, Long>> committed = latest.get();
    storeUp.set(committed.isPresent() ? 1 : 0);
    List<MultiGauge.Row<?>> tupleRows = new ArrayList<>();
    List<MultiGauge.Row<?>> memoryRows = new ArrayList<>();
    List<MultiGauge.Row<?>> revisionRows = new ArrayList<>();
    List<MultiGauge.Row<?>> lagRows = new ArrayList<>();
    long allTuples = 0;
    long allMemory = 0;
    long now = System.currentTimeMillis();
    for (Map.Entry<String, IndexFeed> entry : feeds.entrySet()) {
      String storeId = entry.getKey();
      IndexFeed feed = entry.getValue();
      Tags tags = Tags.of("store", storeId);
      long applied = feed.revision();
      int size = feed.index().size();
      long bytes = estimate(storeId, feed, applied, size, now);
      tupleRows.add(MultiGauge.Row.of(tags, size));
      memoryRows.add(MultiGauge.Row.of(tags, bytes));
      revisionRows.add(MultiGauge.Row.of(tags, applied));
      Long head = committed.map(m -> m.get(storeId)).orElse(null);
      if (head != null) {
        lagRows.add(MultiGauge.Row.of(tags, Math.max(0, head - applied)));
      }
      allTuples += size;
      allMemory += bytes;
    }
    estimates.keySet().retainAll(feeds.keySet());
    tuples.register(tupleRows, true);
    memory.register(memoryRows, true);
    revision.register(revisionRows, true);
    lag.register(lagRows, true);
    totalTuples.set(allTuples);
    totalMemory.set(allMemory);
  }

  private long estimate(String storeId, IndexFeed feed, long applied, int size, long now) {
    Estimate last = estimates.get(storeId);
    if (last != null && last.revision() == applied) {
      return last.bytes();
    }
    if (last != null && now - last.madeAt() < MEMORY_REFRESH_MILLIS) {
      return last.tuples() == 0 ? last.bytes() : last.bytes() * size / last.tuples();
    }
    long bytes = feed.index().estimatedBytes();
    estimates.put(storeId, new Estimate(applied, size, bytes, now));
    return bytes;
  }

  /** The latest committed revision of every store this node holds; one query per store. */
  private Map<String, Long> latestRevisions() {
    Map<String, Long> out = new HashMap<>();
    for (String storeId : runtime.loadedFeeds().keySet()) {
      try {
        out.put(storeId, runtime.store().revision(storeId));
      } catch (CastellanException e) {
        if (e.code() != dev.castellan.ErrorCode.STORE_ID_NOT_FOUND) {
          throw e; // the database is down: no lag is known for any store
        }
      }
    }
    return out;
  }
}
