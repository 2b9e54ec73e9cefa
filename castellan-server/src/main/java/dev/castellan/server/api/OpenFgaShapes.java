package dev.castellan.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * Response bodies as OpenFGA's HTTP gateway renders them, and the fields Castellan adds to them.
 *
 * <p>OpenFGA's grpc-gateway writes every field of a message even when it is empty ({@code
 * EmitUnpopulated}): a string as {@code ""}, a list as {@code []}, a map as {@code {}}, an unset
 * message (a tuple key's {@code condition}, a store's {@code deleted_at}, a type's {@code
 * metadata}) as {@code null}; only the unset alternatives of a {@code oneof} are left out.
 * Castellan's models and assertions are kept in their own form, so they are filled in here on the
 * way out.
 *
 * <p>{@link #EXTENSIONS} lists, per route, every field Castellan adds to OpenFGA's response; with
 * strict responses ({@code --strict-responses}) they are removed, for clients that refuse unknown
 * fields. docs/conformance.md lists the same fields and says what each is for.
 */
final class OpenFgaShapes {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /**
   * Castellan's additions to OpenFGA's responses, by route: a path of field names, {@code []}
   * stepping into each element of a list. Castellan's own routes (import, delete-tuples) are not
   * here: they have no OpenFGA counterpart and are left as they are.
   */
  static final Map<String, List<String>> EXTENSIONS =
      Map.of(
          "/stores/{store_id}/write",
          List.of("consistency_token", "written", "deleted"),
          "/stores/{store_id}/read",
          List.of("tuples[].expired", "tuples[].key.expires_at"),
          "/stores/{store_id}/changes",
          List.of("changes[].tuple_key.expires_at"),
          "/stores/{store_id}/check",
          List.of("explanation", "explanation_omitted_steps", "consistency_token"),
          "/stores/{store_id}/batch-check",
          List.of("consistency_token"),
          "/stores/{store_id}/streamed-list-objects",
          List.of("error.status"),
          "/stores/{store_id}/list-objects",
          List.of("continuation_token", "consistency_token"),
          "/stores/{store_id}/list-users",
          List.of("continuation_token", "consistency_token"));

  private OpenFgaShapes() {}

  /**
   * The gRPC status code OpenFGA's gateway writes in a stream's error line: its stream error
   * handler turns OpenFGA's code into an encoded error and writes that error's gRPC status, whose
   * code depends on the range of OpenFGA's code alone (pkg/server/errors/encoded_errors.go).
   */
  static int grpcCode(dev.castellan.ErrorCode code) {
    return switch (code.number() / 1000) {
      case 1 -> 16; // unauthenticated
      case 2 -> 3; // invalid_argument
      case 3 -> 8; // resource_exhausted
      case 4 -> 13; // internal, deadline_exceeded and cancelled included
      default -> 5; // not_found
    };
  }

  /** Removes {@code route}'s extensions from {@code body}, in place. */
  static void strip(String route, JsonNode body) {
    for (String path : EXTENSIONS.getOrDefault(route, List.of())) {
      remove(body, path.split("\\."), 0);
    }
  }

  private static void remove(JsonNode node, String[] steps, int at) {
    if (!(node instanceof ObjectNode object)) {
      return;
    }
    String step = steps[at];
    if (at == steps.length - 1) {
      object.remove(step);
    } else if (step.endsWith("[]")) {
      JsonNode list = object.get(step.substring(0, step.length() - 2));
      if (list != null && list.isArray()) {
        list.forEach(item -> remove(item, steps, at + 1));
      }
    } else {
      remove(object.get(step), steps, at + 1);
    }
  }

  /**
   * An authorization model as OpenFGA's server returns it: {@code metadata} on every type ({@code
   * null} when it has none), {@code module} and {@code source_info} in metadata, {@code object} in
   * each object relation, {@code condition} in each type reference, and a condition's {@code
   * metadata} and {@code generic_types}.
   */
  static ObjectNode model(ObjectNode model) {
    for (JsonNode type : model.withArrayProperty("type_definitions")) {
      ObjectNode typeNode = (ObjectNode) type;
      typeNode.withObjectProperty("relations").properties().forEach(e -> rewrite(e.getValue()));
      if (typeNode.get("metadata") instanceof ObjectNode metadata) {
        metadata
            .withObjectProperty("relations")
            .properties()
            .forEach(e -> relationMetadata(e.getValue()));
        putIfAbsent(metadata, "module", NODES.textNode(""));
        putIfAbsent(metadata, "source_info", NODES.nullNode());
      } else {
        typeNode.putNull("metadata");
      }
    }
    ObjectNode conditions = model.withObjectProperty("conditions");
    conditions
        .properties()
        .forEach(
            e -> {
              ObjectNode condition = (ObjectNode) e.getValue();
              condition
                  .withObjectProperty("parameters")
                  .properties()
                  .forEach(p -> paramType(p.getValue()));
              putIfAbsent(condition, "metadata", NODES.nullNode());
            });
    return model;
  }

  private static void rewrite(JsonNode node) {
    if (!(node instanceof ObjectNode userset)) {
      return;
    }
    objectRelation(userset.get("computedUserset"));
    if (userset.get("tupleToUserset") instanceof ObjectNode ttu) {
      objectRelation(ttu.get("tupleset"));
      objectRelation(ttu.get("computedUserset"));
    }
    for (String set : List.of("union", "intersection")) {
      if (userset.get(set) instanceof ObjectNode children) {
        children.withArrayProperty("child").forEach(OpenFgaShapes::rewrite);
      }
    }
    if (userset.get("difference") instanceof ObjectNode difference) {
      rewrite(difference.get("base"));
      rewrite(difference.get("subtract"));
    }
  }

  /** OpenFGA's {@code ObjectRelation}: {@code object} then {@code relation}, both always there. */
  private static void objectRelation(JsonNode node) {
    if (node instanceof ObjectNode relation) {
      JsonNode object = relation.remove("object");
      JsonNode name = relation.remove("relation");
      relation.set("object", object == null ? NODES.textNode("") : object);
      relation.set("relation", name == null ? NODES.textNode("") : name);
    }
  }

  private static void relationMetadata(JsonNode node) {
    if (!(node instanceof ObjectNode metadata)) {
      return;
    }
    for (JsonNode reference : metadata.withArrayProperty("directly_related_user_types")) {
      if (reference instanceof ObjectNode ref) {
        putIfAbsent(ref, "condition", NODES.textNode(""));
      }
    }
    putIfAbsent(metadata, "module", NODES.textNode(""));
    putIfAbsent(metadata, "source_info", NODES.nullNode());
  }

  private static void paramType(JsonNode node) {
    if (node instanceof ObjectNode type) {
      type.withArrayProperty("generic_types").forEach(OpenFgaShapes::paramType);
    }
  }

  private static void putIfAbsent(ObjectNode node, String field, JsonNode value) {
    if (!node.has(field)) {
      node.set(field, value);
    }
  }

  /**
   * Stored assertions as OpenFGA's {@code Assertion}s: {@code tuple_key} ({@code object}, {@code
   * relation}, {@code user}), {@code expectation}, {@code contextual_tuples} (a list of tuple keys,
   * each with its {@code condition} or {@code null}) and {@code context} ({@code null} when none
   * was given).
   */
  static ArrayNode assertions(JsonNode stored) {
    ArrayNode out = NODES.arrayNode();
    if (stored == null || !stored.isArray()) {
      return out;
    }
    for (JsonNode assertion : stored) {
      ObjectNode item = out.addObject();
      JsonNode key = assertion.path("tuple_key");
      ObjectNode tupleKey = item.putObject("tuple_key");
      for (String field : List.of("object", "relation", "user")) {
        tupleKey.put(field, key.path(field).asText(""));
      }
      item.put("expectation", assertion.path("expectation").asBoolean(false));
      JsonNode contextual = assertion.path("contextual_tuples");
      if (contextual.isObject()) {
        contextual = contextual.path("tuple_keys");
      }
      ArrayNode tuples = item.putArray("contextual_tuples");
      for (JsonNode tuple : contextual.isArray() ? contextual : NODES.arrayNode()) {
        tuples.add(tupleKey(tuple));
      }
      JsonNode context = assertion.get("context");
      item.set("context", context == null || !context.isObject() ? NODES.nullNode() : context);
    }
    return out;
  }

  /**
   * A stored request's tuple key as OpenFGA's {@code TupleKey}. OpenFGA keeps assertions as the
   * messages it was sent, so a condition sent without a context has {@code "context": null} here,
   * where a stored tuple's has {@code {}}.
   */
  private static ObjectNode tupleKey(JsonNode tuple) {
    ObjectNode key = NODES.objectNode();
    for (String field : List.of("user", "relation", "object")) {
      key.put(field, tuple.path(field).asText(""));
    }
    JsonNode condition = tuple.get("condition");
    if (condition != null && condition.isObject() && !condition.path("name").asText("").isEmpty()) {
      ObjectNode out = key.putObject("condition");
      out.put("name", condition.path("name").asText());
      JsonNode context = condition.get("context");
      out.set("context", context != null && context.isObject() ? context : NODES.nullNode());
    } else {
      key.putNull("condition");
    }
    return key;
  }
}
