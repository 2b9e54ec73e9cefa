package dev.castellan.engine;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Which objects of {@code type} does {@code user} have {@code relation} on? */
public record ListObjectsRequest(
    String type,
    String relation,
    String user,
    List<Tuple> contextualTuples,
    Map<String, Object> context) {

  public ListObjectsRequest {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(relation, "relation");
    Objects.requireNonNull(user, "user");
    contextualTuples = List.copyOf(contextualTuples);
    context = Collections.unmodifiableMap(new LinkedHashMap<>(context));
  }

  public static ListObjectsRequest of(String type, String relation, String user) {
    return new ListObjectsRequest(type, relation, user, List.of(), Map.of());
  }

  public ListObjectsRequest withContextualTuples(List<Tuple> tuples) {
    return new ListObjectsRequest(type, relation, user, tuples, context);
  }

  public ListObjectsRequest withContext(Map<String, Object> values) {
    return new ListObjectsRequest(type, relation, user, contextualTuples, values);
  }
}
