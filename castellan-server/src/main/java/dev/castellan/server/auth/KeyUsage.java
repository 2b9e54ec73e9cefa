package dev.castellan.server.auth;

import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.CredentialStore;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last use of each API key, kept in memory and written to the store in one batch per flush: a
 * request costs a map read (and, at most once a second per key, a map write), never a database
 * write. What the store shows lags by up to the flush interval; what this node lists does not. A
 * node that dies loses at most one interval of last uses, never a key.
 */
final class KeyUsage implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KeyUsage.class);

  private final CredentialStore credentials;
  private final Map<String, Instant> pending = new ConcurrentHashMap<>();
  private final Object flushing = new Object();
  private @Nullable ScheduledExecutorService flusher; // under flushing

  KeyUsage(CredentialStore credentials) {
    this.credentials = credentials;
  }

  /** Key {@code id} authenticated a request at {@code now}. */
  void used(String id, Instant now) {
    Instant at = now.truncatedTo(ChronoUnit.SECONDS);
    Instant seen = pending.get(id);
    if (seen == null || seen.isBefore(at)) {
      pending.merge(id, at, (a, b) -> a.isAfter(b) ? a : b);
    }
  }

  /** {@code key} with this node's unwritten last use, when that is later than the stored one. */
  ApiKeyRecord latest(ApiKeyRecord key) {
    Instant seen = pending.get(key.id());
    return seen != null && (key.lastUsedAt() == null || key.lastUsedAt().isBefore(seen))
        ? key.withLastUsedAt(seen)
        : key;
  }

  /** A revoked key's use is not worth writing. */
  void forget(String id) {
    pending.remove(id);
  }

  /** Starts writing every {@code interval} on a daemon thread (once; later calls do nothing). */
  void flushEvery(Duration interval) {
    synchronized (flushing) {
      if (flusher != null) {
        return;
      }
      flusher =
          Executors.newSingleThreadScheduledExecutor(
              Thread.ofPlatform().name("castellan-key-usage").daemon().factory());
      long millis = Math.max(1, interval.toMillis());
      flusher.scheduleWithFixedDelay(this::flushQuietly, millis, millis, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Writes the last uses seen since the previous flush, in one call. A use that arrives meanwhile
   * stays for the next flush; a failed write puts its uses back.
   */
  void flush() {
    Map<String, Instant> batch = new HashMap<>(pending);
    if (batch.isEmpty()) {
      return;
    }
    credentials.recordApiKeyUses(batch); // a throw leaves every use pending
    // Only what was written goes: a later use of the same key stays for the next flush.
    batch.forEach(pending::remove);
  }

  private void flushQuietly() {
    try {
      flush();
    } catch (RuntimeException e) {
      // The store is down: the uses stay in memory and the next flush tries again.
      LOG.warn("could not record the last use of API keys ({}); will retry", e.getMessage());
    }
  }

  @Override
  public void close() {
    synchronized (flushing) {
      if (flusher != null) {
        flusher.shutdown();
        try {
          if (!flusher.awaitTermination(10, TimeUnit.SECONDS)) {
            LOG.warn("the key usage flush did not stop within 10 s");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        flusher = null;
      }
    }
    flushQuietly();
  }
}
