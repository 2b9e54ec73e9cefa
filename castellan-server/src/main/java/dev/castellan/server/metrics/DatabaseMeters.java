package dev.castellan.server.metrics;

import dev.castellan.store.ReplicaStats;
import dev.castellan.store.Store;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.function.ToLongFunction;

/**
 * Meters of the node's database, read at scrape time: transactions run again after a serialization
 * failure or deadlock, and, on a node with a read replica ({@code --pg-read-url}, ADR 0018), where
 * its reads went and how far the replica was behind. Aggregate over every store: no series per
 * store.
 */
final class DatabaseMeters {
  private DatabaseMeters() {}

  static void register(Store store, MeterRegistry registry) {
    FunctionCounter.builder("castellan.transaction.retries", store, Store::retriedTransactions)
        .description(
            "Transactions run again because the database aborted them for a serialization failure"
                + " or a deadlock (SQLSTATE 40001, 40P01)")
        .register(registry);
    if (store.readReplicaStats().isEmpty()) {
      return;
    }
    FunctionCounter.builder(
            "castellan.replica.reads", store, s -> stat(s, ReplicaStats::replicaReads))
        .description("Reads answered by the read replica")
        .register(registry);
    primaryReads(store, registry, "lag_bound", ReplicaStats::lagBound);
    primaryReads(store, registry, "replica_down", ReplicaStats::replicaDown);
    primaryReads(store, registry, "not_replayed", ReplicaStats::notReplayed);
    primaryReads(store, registry, "higher_consistency", ReplicaStats::latest);
    Gauge.builder(
            "castellan.replica.lag.revisions", store, s -> stat(s, ReplicaStats::lagRevisions))
        .description(
            "Revisions the read replica was behind the last consistency token it was asked for")
        .register(registry);
  }

  private static void primaryReads(
      Store store, MeterRegistry registry, String reason, ToLongFunction<ReplicaStats> count) {
    FunctionCounter.builder("castellan.replica.primary.reads", store, s -> stat(s, count))
        .description(
            "Reads a node with a read replica sent to the primary instead, by reason: the replica"
                + " had not replayed a token within the bound, was down, did not know the store"
                + " yet, or the request asked for HIGHER_CONSISTENCY")
        .tag("reason", reason)
        .register(registry);
  }

  private static double stat(Store store, ToLongFunction<ReplicaStats> field) {
    return store.readReplicaStats().map(field::applyAsLong).orElse(0L);
  }
}
