package dev.castellan.server.metrics;

import dev.castellan.store.TupleStore;
import java.time.Duration;
import java.util.Objects;

/**
 * Whether this node should get traffic ({@code /readyz}): every store present at start is loaded
 * into memory, and the store's database answers a small query within the limit. Liveness ({@code
 * /healthz}) is only "the process answers"; a node that lost its database is alive but not ready.
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
  private volatile boolean loaded;

  /**
   * @param store the store to ping
   * @param pingStoreId a store that always exists (the system store), read to prove the database
   *     answers
   * @param limit how long a probe waits for the database
   */
  public Readiness(TupleStore store, String pingStoreId, Duration limit) {
    this.ping = new Probe<>(() -> store.revision(pingStoreId), limit);
  }

  /** Every store present at start is loaded: from now on the node is ready while its store is. */
  public void loaded() {
    loaded = true;
  }

  public Status check() {
    if (!loaded) {
      return new Status(false, "loading stores into memory");
    }
    if (ping.get().isEmpty()) {
      return new Status(false, "the store's database does not answer");
    }
    return READY;
  }
}
