package dev.castellan.engine;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Does {@code user} have {@code relation} on {@code object}?
 *
 * @param contextualTuples tuples that count for this request only, as if written
 * @param context request context for conditions; tuple context wins on conflicts
 * @param explain when true the result carries an {@link Explanation}
 */
public record CheckRequest(
    String object,
    String relation,
    String user,
    List<Tuple> contextualTuples,
    Map<String, Object> context,
    boolean explain) {

  public CheckRequest {
    Objects.requireNonNull(object, "object");
    Objects.requireNonNull(relation, "relation");
    Objects.requireNonNull(user, "user");
    contextualTuples = List.copyOf(contextualTuples);
    // Most checks carry no context: no copy for them.
    context =
        context.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(context));
  }

  public static CheckRequest of(String object, String relation, String user) {
    return new CheckRequest(object, relation, user, List.of(), Map.of(), false);
  }

  public CheckRequest withContextualTuples(List<Tuple> tuples) {
    return new CheckRequest(object, relation, user, tuples, context, explain);
  }

  public CheckRequest withContext(Map<String, Object> values) {
    return new CheckRequest(object, relation, user, contextualTuples, values, explain);
  }

  public CheckRequest withExplain(boolean value) {
    return new CheckRequest(object, relation, user, contextualTuples, context, value);
  }
}
