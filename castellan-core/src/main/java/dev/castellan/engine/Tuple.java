package dev.castellan.engine;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A relationship tuple, optionally guarded by a condition of the model with its stored context.
 *
 * @param condition the condition name, or {@code ""} for an unconditional tuple
 * @param conditionContext JSON-like values (String, Boolean, Number, List, Map) the condition sees
 */
public record Tuple(TupleKey key, String condition, Map<String, Object> conditionContext) {

  public Tuple {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(condition, "condition");
    conditionContext = Collections.unmodifiableMap(new LinkedHashMap<>(conditionContext));
    if (condition.isEmpty() && !conditionContext.isEmpty()) {
      throw new IllegalArgumentException("condition context given without a condition: " + key);
    }
  }

  public static Tuple of(String object, String relation, String user) {
    return new Tuple(new TupleKey(object, relation, user), "", Map.of());
  }

  public static Tuple conditional(
      String object, String relation, String user, String condition, Map<String, Object> context) {
    return new Tuple(new TupleKey(object, relation, user), condition, context);
  }

  public boolean isConditional() {
    return !condition.isEmpty();
  }

  @Override
  public String toString() {
    return isConditional() ? key + " with " + condition + conditionContext : key.toString();
  }
}
