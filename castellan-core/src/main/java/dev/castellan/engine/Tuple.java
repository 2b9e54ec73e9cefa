package dev.castellan.engine;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A relationship tuple, optionally guarded by a condition of the model with its stored context, and
 * optionally expiring.
 *
 * @param condition the condition name, or {@code ""} for an unconditional tuple
 * @param conditionContext JSON-like values (String, Boolean, Number, List, Map) the condition sees
 * @param expiresAt when the tuple stops granting, or {@code null} for never
 */
public record Tuple(
    TupleKey key,
    String condition,
    Map<String, Object> conditionContext,
    @Nullable Instant expiresAt) {

  public Tuple {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(condition, "condition");
    conditionContext = Collections.unmodifiableMap(new LinkedHashMap<>(conditionContext));
    if (condition.isEmpty() && !conditionContext.isEmpty()) {
      throw new IllegalArgumentException("condition context given without a condition: " + key);
    }
  }

  /** A tuple that never expires. */
  public Tuple(TupleKey key, String condition, Map<String, Object> conditionContext) {
    this(key, condition, conditionContext, null);
  }

  public static Tuple of(String object, String relation, String user) {
    return new Tuple(new TupleKey(object, relation, user), "", Map.of());
  }

  public static Tuple conditional(
      String object, String relation, String user, String condition, Map<String, Object> context) {
    return new Tuple(new TupleKey(object, relation, user), condition, context);
  }

  /** This tuple, stopping to grant at {@code time} ({@code null}: never). */
  public Tuple expiringAt(Instant time) {
    return new Tuple(key, condition, conditionContext, time);
  }

  public boolean isConditional() {
    return !condition.isEmpty();
  }

  public boolean expires() {
    return expiresAt != null;
  }

  /** True when the tuple has an expiry at or before {@code now}. */
  public boolean isExpiredAt(Instant now) {
    return expiresAt != null && !expiresAt.isAfter(now);
  }

  @Override
  public String toString() {
    String base = isConditional() ? key + " with " + condition + conditionContext : key.toString();
    return expires() ? base + " until " + expiresAt : base;
  }
}
