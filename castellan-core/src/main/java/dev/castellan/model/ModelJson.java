package dev.castellan.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * OpenFGA's JSON form of a model, as {@code WriteAuthorizationModel} takes it and {@code fga model
 * transform} prints it. Reading accepts both the snake_case and camelCase field names protobuf's
 * JSON mapping allows; writing uses the spelling OpenFGA's API answers with.
 */
public final class ModelJson {

  /** Rewrites nested deeper than this are refused (the DSL has the same bound). */
  static final int MAX_REWRITE_DEPTH = DslParser.MAX_NESTING + 2;

  private static final ObjectMapper MAPPER =
      JsonMapper.builder(
              JsonFactory.builder()
                  .streamReadConstraints(
                      StreamReadConstraints.builder()
                          .maxNestingDepth(200)
                          .maxStringLength(DslParser.MAX_SOURCE_CHARS)
                          .build())
                  .build())
          .build();

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private ModelJson() {}

  /**
   * Reads a model from JSON text.
   *
   * @throws InvalidModelException for malformed JSON or a structure that is not a model
   */
  public static AuthorizationModel read(String json) {
    if (json.length() > 2 * DslParser.MAX_SOURCE_CHARS) {
      throw invalid(
          "invalid-json", "the model JSON has " + json.length() + " characters; too large");
    }
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw invalid("invalid-json", "malformed JSON: " + e.getOriginalMessage());
    }
    return read(root);
  }

  /** Reads a model from an already parsed JSON tree (e.g. the body of an API request). */
  public static AuthorizationModel read(JsonNode root) {
    if (root == null || !root.isObject()) {
      throw invalid("invalid-json", "a model must be a JSON object");
    }
    String schema = text(field(root, "schema_version", "schemaVersion"), "schema_version");
    List<TypeDefinition> types = new ArrayList<>();
    JsonNode typeNodes = field(root, "type_definitions", "typeDefinitions");
    for (JsonNode typeNode : array(typeNodes, "type_definitions")) {
      types.add(typeDefinition(typeNode));
    }
    Map<String, Condition> conditions = new LinkedHashMap<>();
    JsonNode conditionNodes = root.get("conditions");
    if (conditionNodes != null && !conditionNodes.isNull()) {
      if (!conditionNodes.isObject()) {
        throw invalid("invalid-json", "'conditions' must be an object");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = conditionNodes.properties().iterator();
          it.hasNext(); ) {
        Map.Entry<String, JsonNode> entry = it.next();
        conditions.put(entry.getKey(), condition(entry.getKey(), entry.getValue()));
      }
    }
    return new AuthorizationModel(schema == null ? "" : schema, types, conditions);
  }

  /** Prints {@code model} as indented JSON. */
  public static String write(AuthorizationModel model) {
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(toTree(model));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree always serializes", e);
    }
  }

  /** The JSON tree of {@code model}, for embedding in API responses. */
  public static ObjectNode toTree(AuthorizationModel model) {
    ObjectNode root = NODES.objectNode();
    root.put("schema_version", model.schemaVersion());
    ArrayNode types = root.putArray("type_definitions");
    for (TypeDefinition type : model.typeDefinitions()) {
      ObjectNode typeNode = types.addObject();
      typeNode.put("type", type.name());
      ObjectNode relations = typeNode.putObject("relations");
      ObjectNode metadata = NODES.objectNode();
      ObjectNode metadataRelations = metadata.putObject("relations");
      for (RelationDefinition relation : type.relations().values()) {
        relations.set(relation.name(), rewrite(relation.rewrite()));
        ObjectNode relationMetadata = metadataRelations.putObject(relation.name());
        ArrayNode direct = relationMetadata.putArray("directly_related_user_types");
        for (TypeRestriction restriction : relation.directlyRelatedTypes()) {
          ObjectNode node = direct.addObject();
          node.put("type", restriction.type());
          if (restriction.isUserset()) {
            node.put("relation", restriction.relation());
          }
          if (restriction.wildcard()) {
            node.putObject("wildcard");
          }
          if (restriction.isConditional()) {
            node.put("condition", restriction.condition());
          }
        }
        putSource(relationMetadata, relation.source());
      }
      putSource(metadata, type.source());
      if (type.relations().isEmpty()) {
        metadata.remove("relations");
      }
      if (!metadata.isEmpty()) {
        typeNode.set("metadata", metadata);
      }
    }
    if (!model.conditions().isEmpty()) {
      ObjectNode conditions = root.putObject("conditions");
      for (Condition condition : model.conditions().values()) {
        ObjectNode node = conditions.putObject(condition.name());
        node.put("name", condition.name());
        node.put("expression", condition.expression());
        ObjectNode parameters = node.putObject("parameters");
        condition.parameters().forEach((name, type) -> parameters.set(name, paramType(type)));
        if (condition.source().isPresent()) {
          putSource(node.putObject("metadata"), condition.source());
        }
      }
    }
    return root;
  }

  /** OpenFGA's {@code module} and {@code source_info.file} metadata, where there is a source. */
  private static void putSource(ObjectNode metadata, ModuleSource source) {
    if (!source.module().isEmpty()) {
      metadata.put("module", source.module());
    }
    if (!source.file().isEmpty()) {
      metadata.putObject("source_info").put("file", source.file());
    }
  }

  // ------------------------------------------------------------------ reading

  /** The {@code module} and {@code source_info.file} of a metadata object; NONE without them. */
  private static ModuleSource source(JsonNode metadata) {
    if (metadata == null || !metadata.isObject()) {
      return ModuleSource.NONE;
    }
    String module = text(metadata.get("module"), "module");
    JsonNode info = field(metadata, "source_info", "sourceInfo");
    String file = null;
    if (info != null && info.isObject()) {
      file = text(info.get("file"), "source_info.file");
    }
    return new ModuleSource(module == null ? "" : module, file == null ? "" : file);
  }

  private static TypeDefinition typeDefinition(JsonNode node) {
    if (!node.isObject()) {
      throw invalid("invalid-json", "each type definition must be an object");
    }
    String name = text(node.get("type"), "type");
    if (name == null || name.isEmpty()) {
      throw invalid("invalid-json", "a type definition needs a 'type' name");
    }
    Map<String, List<TypeRestriction>> direct = new LinkedHashMap<>();
    Map<String, ModuleSource> relationSources = new LinkedHashMap<>();
    JsonNode metadata = node.get("metadata");
    if (metadata != null && metadata.isObject()) {
      JsonNode relationMetadata = metadata.get("relations");
      if (relationMetadata != null && relationMetadata.isObject()) {
        for (Iterator<Map.Entry<String, JsonNode>> it = relationMetadata.properties().iterator();
            it.hasNext(); ) {
          Map.Entry<String, JsonNode> entry = it.next();
          JsonNode list =
              field(entry.getValue(), "directly_related_user_types", "directlyRelatedUserTypes");
          List<TypeRestriction> restrictions = new ArrayList<>();
          for (JsonNode reference : array(list, "directly_related_user_types")) {
            restrictions.add(restriction(reference));
          }
          direct.put(entry.getKey(), restrictions);
          relationSources.put(entry.getKey(), source(entry.getValue()));
        }
      }
    }
    Map<String, RelationDefinition> relations = new LinkedHashMap<>();
    JsonNode relationNodes = node.get("relations");
    if (relationNodes != null && !relationNodes.isNull()) {
      if (!relationNodes.isObject()) {
        throw invalid("invalid-json", "'relations' of type '" + name + "' must be an object");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = relationNodes.properties().iterator();
          it.hasNext(); ) {
        Map.Entry<String, JsonNode> entry = it.next();
        Rewrite rewrite = rewrite(entry.getValue(), 0);
        relations.put(
            entry.getKey(),
            new RelationDefinition(
                entry.getKey(),
                rewrite,
                direct.getOrDefault(entry.getKey(), List.of()),
                relationSources.getOrDefault(entry.getKey(), ModuleSource.NONE)));
      }
    }
    return new TypeDefinition(name, relations, source(metadata));
  }

  private static TypeRestriction restriction(JsonNode node) {
    if (!node.isObject()) {
      throw invalid("invalid-json", "a directly related user type must be an object");
    }
    String type = text(node.get("type"), "type");
    if (type == null || type.isEmpty()) {
      throw invalid("invalid-json", "a directly related user type needs a 'type'");
    }
    String relation = text(node.get("relation"), "relation");
    boolean wildcard = node.hasNonNull("wildcard");
    String condition = text(node.get("condition"), "condition");
    if (wildcard && relation != null && !relation.isEmpty()) {
      throw invalid("invalid-json", "'" + type + "' cannot have both a relation and a wildcard");
    }
    return new TypeRestriction(
        type, relation == null ? "" : relation, wildcard, condition == null ? "" : condition);
  }

  private static Rewrite rewrite(JsonNode node, int depth) {
    if (depth > MAX_REWRITE_DEPTH) {
      throw invalid(
          "invalid-json", "relation rewrites are nested deeper than " + MAX_REWRITE_DEPTH);
    }
    if (node == null || !node.isObject()) {
      throw invalid("invalid-json", "a relation rewrite must be an object");
    }
    List<String> kinds = new ArrayList<>();
    node.fieldNames().forEachRemaining(kinds::add);
    if (kinds.size() != 1) {
      throw invalid(
          "invalid-json",
          "a relation rewrite must have exactly one of this, computedUserset, tupleToUserset, "
              + "union, intersection, difference; found "
              + kinds);
    }
    String kind = kinds.get(0);
    JsonNode value = node.get(kind);
    return switch (kind) {
      case "this" -> new Rewrite.This();
      case "computedUserset", "computed_userset" ->
          new Rewrite.ComputedUserset(required(value.get("relation"), "computedUserset.relation"));
      case "tupleToUserset", "tuple_to_userset" -> {
        JsonNode tupleset = value.get("tupleset");
        JsonNode computed = field(value, "computedUserset", "computed_userset");
        if (tupleset == null || computed == null) {
          throw invalid("invalid-json", "tupleToUserset needs 'tupleset' and 'computedUserset'");
        }
        yield new Rewrite.TupleToUserset(
            required(tupleset.get("relation"), "tupleset.relation"),
            required(computed.get("relation"), "computedUserset.relation"));
      }
      case "union" -> new Rewrite.Union(children(value, depth));
      case "intersection" -> new Rewrite.Intersection(children(value, depth));
      case "difference" -> {
        if (value == null || !value.has("base") || !value.has("subtract")) {
          throw invalid("invalid-json", "difference needs 'base' and 'subtract'");
        }
        yield new Rewrite.Difference(
            rewrite(value.get("base"), depth + 1), rewrite(value.get("subtract"), depth + 1));
      }
      default -> throw invalid("invalid-json", "unknown relation rewrite '" + kind + "'");
    };
  }

  private static List<Rewrite> children(JsonNode value, int depth) {
    JsonNode child = value == null ? null : value.get("child");
    List<Rewrite> children = new ArrayList<>();
    for (JsonNode node : array(child, "child")) {
      children.add(rewrite(node, depth + 1));
    }
    if (children.size() < 2) {
      throw invalid("invalid-json", "union and intersection need at least two children");
    }
    return children;
  }

  private static Condition condition(String key, JsonNode node) {
    if (!node.isObject()) {
      throw invalid("invalid-json", "condition '" + key + "' must be an object");
    }
    String name = text(node.get("name"), "name");
    if (name != null && !name.isEmpty() && !name.equals(key)) {
      throw new InvalidModelException(
          List.of(
              new ModelError(
                  "different-nested-condition-name",
                  "condition key is `" + key + "` but nested name property is " + name,
                  name,
                  SourceSpan.NONE)));
    }
    String expression = text(node.get("expression"), "expression");
    if (expression == null || expression.isBlank()) {
      throw invalid("invalid-json", "condition '" + key + "' needs an 'expression'");
    }
    Map<String, ConditionParamType> parameters = new LinkedHashMap<>();
    JsonNode params = node.get("parameters");
    if (params != null && !params.isNull()) {
      if (!params.isObject()) {
        throw invalid("invalid-json", "parameters of condition '" + key + "' must be an object");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = params.properties().iterator();
          it.hasNext(); ) {
        Map.Entry<String, JsonNode> entry = it.next();
        parameters.put(entry.getKey(), paramType(entry.getValue(), 0));
      }
    }
    return new Condition(key, parameters, expression, source(node.get("metadata")));
  }

  private static ConditionParamType paramType(JsonNode node, int depth) {
    if (node == null || !node.isObject() || depth > 1) {
      throw invalid("invalid-json", "a condition parameter type must be an object with type_name");
    }
    String typeName = text(field(node, "type_name", "typeName"), "type_name");
    if (typeName == null || !typeName.startsWith("TYPE_NAME_")) {
      throw invalid("invalid-json", "unknown condition parameter type '" + typeName + "'");
    }
    ConditionParamType.Kind kind;
    try {
      kind = ConditionParamType.Kind.valueOf(typeName.substring("TYPE_NAME_".length()));
    } catch (IllegalArgumentException e) {
      throw invalid("invalid-json", "unknown condition parameter type '" + typeName + "'");
    }
    List<ConditionParamType> generics = new ArrayList<>();
    for (JsonNode generic : array(field(node, "generic_types", "genericTypes"), "generic_types")) {
      generics.add(paramType(generic, depth + 1));
    }
    try {
      return new ConditionParamType(kind, generics);
    } catch (IllegalArgumentException e) {
      throw invalid("invalid-json", String.valueOf(e.getMessage()));
    }
  }

  // ------------------------------------------------------------------ writing

  private static ObjectNode rewrite(Rewrite rewrite) {
    ObjectNode node = NODES.objectNode();
    switch (rewrite) {
      case Rewrite.This t -> node.putObject("this");
      case Rewrite.ComputedUserset c ->
          node.putObject("computedUserset").put("relation", c.relation());
      case Rewrite.TupleToUserset t -> {
        ObjectNode ttu = node.putObject("tupleToUserset");
        ttu.putObject("tupleset").put("relation", t.tupleset());
        ttu.putObject("computedUserset").put("relation", t.computedRelation());
      }
      case Rewrite.Union u -> {
        ArrayNode child = node.putObject("union").putArray("child");
        u.children().forEach(c -> child.add(rewrite(c)));
      }
      case Rewrite.Intersection i -> {
        ArrayNode child = node.putObject("intersection").putArray("child");
        i.children().forEach(c -> child.add(rewrite(c)));
      }
      case Rewrite.Difference d -> {
        ObjectNode difference = node.putObject("difference");
        difference.set("base", rewrite(d.base()));
        difference.set("subtract", rewrite(d.subtract()));
      }
    }
    return node;
  }

  private static ObjectNode paramType(ConditionParamType type) {
    ObjectNode node = NODES.objectNode();
    node.put("type_name", "TYPE_NAME_" + type.kind().name().toUpperCase(Locale.ROOT));
    if (!type.generics().isEmpty()) {
      ArrayNode generics = node.putArray("generic_types");
      type.generics().forEach(g -> generics.add(paramType(g)));
    }
    return node;
  }

  // ------------------------------------------------------------------ helpers

  private static JsonNode field(JsonNode node, String snake, String camel) {
    JsonNode value = node.get(snake);
    return value != null ? value : node.get(camel);
  }

  private static Iterable<JsonNode> array(@Nullable JsonNode node, String name) {
    if (node == null || node.isNull()) {
      return List.of();
    }
    if (!node.isArray()) {
      throw invalid("invalid-json", "'" + name + "' must be an array");
    }
    return node;
  }

  private static @Nullable String text(@Nullable JsonNode node, String name) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isTextual()) {
      throw invalid("invalid-json", "'" + name + "' must be a string");
    }
    return node.asText();
  }

  private static String required(JsonNode node, String name) {
    String value = text(node, name);
    if (value == null || value.isEmpty()) {
      throw invalid("invalid-json", "'" + name + "' is required");
    }
    return value;
  }

  private static InvalidModelException invalid(String kind, String message) {
    return new InvalidModelException(List.of(new ModelError(kind, message, "", SourceSpan.NONE)));
  }
}
