package dev.castellan.server.metrics;

import dev.castellan.store.TupleStore;
import java.time.Duration;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * Whether this node can serve ({@code /readyz}): the system store (which authorizes every request)
 * is loaded, the change feed that keeps loaded stores current runs, and the store's database
 * answers a small query within the limit. Other stores load on first use, so a node with many
 * stores is ready as soon as a node with one. Liveness ({@code /healthz}) is only "the process
 * answers"; a node that lost its database is alive but not ready.
 */
public final class Readiness {
  /**
   * The answer of one probe.
   *
   * @param reason why not ready, for the operator (never internals); empty when ready
   */
  public record Status(boolean ready, String reason) {
    public Status {
      Objects.requireNonNull(reason, "reason");
    }
  }

  private static final Status READY = new Status(true, "");

  private final Probe<Long> ping;
  private final BooleanSupplier feedRunning;
  private volatile boolean loaded;

  /**
   * @param store the store to ping
   * @param pingStoreId a store that always exists (the system store), read to prove the database
   *     answers
   * @param limit how long a probe waits for the database
   * @param feedRunning whether the node's change feed runs
   */
  public Readiness(
      TupleStore store, String pingStoreId, Duration limit, BooleanSupplier feedRunning) {
    this.ping = new Probe<>(() -> store.revision(pingStoreId), limit);
    this.feedRunning = Objects.requireNonNull(feedRunning, "feedRunning");
  }

  /** The system store is loaded: from now on the node is ready while its feed and store are. */
  public void loaded() {
    loaded = true;
  }

  public Status check() {
    if (!loaded) {
      return new Status(false, "loading the system store into memory");
    }
    if (!feedRunning.getAsBoolean()) {
      return new Status(false, "the change feed is not running");
    }
    if (ping.get().isEmpty()) {
      return new Status(false, "the store's database does not answer");
    }
    return READY;
  }
}
