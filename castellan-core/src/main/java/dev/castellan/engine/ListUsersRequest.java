package dev.castellan.engine;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Which users have {@code relation} on {@code object}?
 *
 * @param userFilters user types to return: {@code user} for objects and wildcards, {@code
 *     group#member} for usersets
 */
public record ListUsersRequest(
    String object,
    String relation,
    List<String> userFilters,
    List<Tuple> contextualTuples,
    Map<String, Object> context) {

  public ListUsersRequest {
    Objects.requireNonNull(object, "object");
    Objects.requireNonNull(relation, "relation");
    userFilters = List.copyOf(userFilters);
    contextualTuples = List.copyOf(contextualTuples);
    context = Collections.unmodifiableMap(new LinkedHashMap<>(context));
  }

  public static ListUsersRequest of(String object, String relation, String... userFilters) {
    return new ListUsersRequest(object, relation, List.of(userFilters), List.of(), Map.of());
  }

  public ListUsersRequest withContextualTuples(List<Tuple> tuples) {
    return new ListUsersRequest(object, relation, userFilters, tuples, context);
  }

  public ListUsersRequest withContext(Map<String, Object> values) {
    return new ListUsersRequest(object, relation, userFilters, contextualTuples, values);
  }
}
