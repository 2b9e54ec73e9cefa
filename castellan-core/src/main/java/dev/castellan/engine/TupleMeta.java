package dev.castellan.engine;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a few tuples carry beyond their key: a condition with its context, an expiry, or both. Kept
 * beside the subject in {@link Postings}; plain tuples have none, so they cost nothing.
 *
 * @param condition the condition name, or {@code ""}
 * @param expiresAtMillis epoch millis at which the tuple stops granting; {@link Long#MAX_VALUE}:
 *     never
 */
record TupleMeta(String condition, Map<String, Object> context, long expiresAtMillis) {

  static final long NEVER = Long.MAX_VALUE;

  /** The meta a tuple needs, or null for a plain one. */
  static @Nullable TupleMeta of(Tuple tuple) {
    if (!tuple.isConditional() && !tuple.expires()) {
      return null;
    }
    Instant expiresAt = tuple.expiresAt();
    long expires = expiresAt != null ? expiresAt.toEpochMilli() : NEVER;
    return new TupleMeta(tuple.condition(), tuple.conditionContext(), expires);
  }

  /**
   * This record, its condition name and its context: a map entry per parameter with its name and a
   * value taken as a short string (context values are small by the write limits).
   */
  long estimatedBytes() {
    long bytes = 32 + HeapSizes.string(condition);
    if (!context.isEmpty()) {
      bytes += 56 + HeapSizes.hashTable(context.size());
      for (Map.Entry<String, Object> e : context.entrySet()) {
        Object value = e.getValue();
        bytes +=
            40
                + HeapSizes.string(e.getKey())
                + (value instanceof String s ? HeapSizes.string(s) : 24);
      }
    }
    return bytes;
  }

  boolean isExpiredAt(long nowMillis) {
    return expiresAtMillis <= nowMillis;
  }

  @Nullable Instant expiresAt() {
    return expiresAtMillis == NEVER ? null : Instant.ofEpochMilli(expiresAtMillis);
  }
}
