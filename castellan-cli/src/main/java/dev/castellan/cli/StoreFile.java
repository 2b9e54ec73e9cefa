package dev.castellan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelDsl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * OpenFGA's store test file ({@code .fga.yaml}, the format of {@code fga model test}): a model,
 * tuples, and tests with check, list-objects and list-users assertions. Unknown keys are errors.
 */
record StoreFile(String name, AuthorizationModel model, List<Tuple> tuples, List<TestCase> tests) {

  /** Largest store file accepted, so a mistaken path cannot exhaust memory. */
  static final long MAX_BYTES = 64L * 1024 * 1024;

  record TestCase(
      String name,
      List<Tuple> tuples,
      List<CheckCase> checks,
      List<ListObjectsCase> listObjects,
      List<ListUsersCase> listUsers) {}

  record CheckCase(
      List<String> users,
      List<String> objects,
      Map<String, Object> context,
      List<Tuple> contextualTuples,
      Map<String, Boolean> assertions) {}

  record ListObjectsCase(
      String user,
      String type,
      Map<String, Object> context,
      List<Tuple> contextualTuples,
      Map<String, List<String>> assertions) {}

  record ListUsersCase(
      String object,
      List<String> userFilters,
      Map<String, Object> context,
      List<Tuple> contextualTuples,
      Map<String, List<String>> assertions) {}

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static StoreFile read(Path path) {
    try {
      if (Files.size(path) > MAX_BYTES) {
        throw invalid(path + " is larger than " + MAX_BYTES + " bytes");
      }
      JsonNode root = YAML.readTree(path.toFile());
      if (root == null || !root.isObject()) {
        throw invalid(path + ": expected a YAML mapping at the top level");
      }
      return parse(root, path.toAbsolutePath().getParent());
    } catch (java.nio.file.NoSuchFileException e) {
      throw new CliFailure(CliFailure.FILE_NOT_FOUND, "no such file or directory: " + path, e);
    } catch (IOException e) {
      throw invalid(path + ": cannot read: " + e.getMessage());
    }
  }

  private static StoreFile parse(JsonNode root, Path dir) throws IOException {
    allowOnly(
        root,
        "store file",
        Set.of("name", "model", "model_file", "tuples", "tuple_file", "tuple_files", "tests"));
    AuthorizationModel model;
    if (root.has("model")) {
      model = ModelDsl.parse(root.get("model").asText());
    } else if (root.has("model_file")) {
      Path modelFile = dir.resolve(root.get("model_file").asText());
      // A modular model's fga.mod is combined from its module files, as `fga model test` does.
      model =
          ModelFiles.isManifest(modelFile)
              ? ModelFiles.read(modelFile)
              : ModelDsl.parse(Files.readString(modelFile));
    } else {
      throw invalid("'model' or 'model_file' must be present keys");
    }
    List<Tuple> tuples = new ArrayList<>(tuples(root.get("tuples")));
    if (root.has("tuple_file")) {
      tuples.addAll(tupleFile(dir.resolve(root.get("tuple_file").asText())));
    }
    for (JsonNode file : iterate(root.get("tuple_files"))) {
      tuples.addAll(tupleFile(dir.resolve(file.asText())));
    }
    List<TestCase> tests = new ArrayList<>();
    for (JsonNode test : iterate(root.get("tests"))) {
      allowOnly(
          test,
          "test",
          Set.of("name", "description", "tuples", "check", "list_objects", "list_users"));
      tests.add(
          new TestCase(
              text(test, "name", "(unnamed test)"),
              tuples(test.get("tuples")),
              checks(test.get("check")),
              listObjects(test.get("list_objects")),
              listUsers(test.get("list_users"))));
    }
    return new StoreFile(text(root, "name", ""), model, tuples, tests);
  }

  private static List<Tuple> tupleFile(Path path) throws IOException {
    JsonNode node = YAML.readTree(path.toFile());
    return tuples(node);
  }

  private static List<CheckCase> checks(JsonNode node) {
    List<CheckCase> out = new ArrayList<>();
    for (JsonNode check : iterate(node)) {
      allowOnly(
          check,
          "check",
          Set.of(
              "user", "users", "object", "objects", "context", "contextual_tuples", "assertions"));
      Map<String, Boolean> assertions = new LinkedHashMap<>();
      fields(check.get("assertions"))
          .forEach((relation, value) -> assertions.put(relation, requireBoolean(value, relation)));
      out.add(
          new CheckCase(
              oneOrMany(check, "user", "users"),
              oneOrMany(check, "object", "objects"),
              context(check.get("context")),
              tuples(check.get("contextual_tuples")),
              assertions));
    }
    return out;
  }

  private static List<ListObjectsCase> listObjects(JsonNode node) {
    List<ListObjectsCase> out = new ArrayList<>();
    for (JsonNode list : iterate(node)) {
      allowOnly(
          list,
          "list_objects",
          Set.of("user", "type", "context", "contextual_tuples", "assertions"));
      Map<String, List<String>> assertions = new LinkedHashMap<>();
      fields(list.get("assertions"))
          .forEach((relation, value) -> assertions.put(relation, strings(value)));
      out.add(
          new ListObjectsCase(
              text(list, "user", ""),
              text(list, "type", ""),
              context(list.get("context")),
              tuples(list.get("contextual_tuples")),
              assertions));
    }
    return out;
  }

  private static List<ListUsersCase> listUsers(JsonNode node) {
    List<ListUsersCase> out = new ArrayList<>();
    for (JsonNode list : iterate(node)) {
      allowOnly(
          list,
          "list_users",
          Set.of("object", "user_filter", "context", "contextual_tuples", "assertions"));
      List<String> filters = new ArrayList<>();
      for (JsonNode filter : iterate(list.get("user_filter"))) {
        String type = text(filter, "type", "");
        String relation = text(filter, "relation", "");
        filters.add(relation.isEmpty() ? type : type + "#" + relation);
      }
      Map<String, List<String>> assertions = new LinkedHashMap<>();
      fields(list.get("assertions"))
          .forEach((relation, value) -> assertions.put(relation, strings(value.get("users"))));
      out.add(
          new ListUsersCase(
              text(list, "object", ""),
              filters,
              context(list.get("context")),
              tuples(list.get("contextual_tuples")),
              assertions));
    }
    return out;
  }

  static List<Tuple> tuples(JsonNode node) {
    List<Tuple> out = new ArrayList<>();
    for (JsonNode t : iterate(node)) {
      allowOnly(t, "tuple", Set.of("user", "relation", "object", "condition"));
      String object = text(t, "object", "");
      String relation = text(t, "relation", "");
      String user = text(t, "user", "");
      JsonNode condition = t.get("condition");
      if (condition == null || condition.isNull()) {
        out.add(Tuple.of(object, relation, user));
      } else {
        out.add(
            Tuple.conditional(
                object,
                relation,
                user,
                text(condition, "name", ""),
                context(condition.get("context"))));
      }
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> context(JsonNode node) {
    if (node == null || node.isNull()) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw invalid("context must be a mapping, got: " + node);
    }
    return YAML.convertValue(node, LinkedHashMap.class);
  }

  private static List<String> oneOrMany(JsonNode node, String one, String many) {
    if (node.has(many)) {
      return strings(node.get(many));
    }
    return List.of(text(node, one, ""));
  }

  private static List<String> strings(JsonNode node) {
    List<String> out = new ArrayList<>();
    for (JsonNode value : iterate(node)) {
      out.add(value.asText());
    }
    return out;
  }

  private static boolean requireBoolean(JsonNode value, String relation) {
    if (!value.isBoolean()) {
      throw invalid("assertion for '" + relation + "' must be true or false, got: " + value);
    }
    return value.asBoolean();
  }

  private static Map<String, JsonNode> fields(JsonNode node) {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    if (node != null && node.isObject()) {
      node.properties().forEach(e -> out.put(e.getKey(), e.getValue()));
    }
    return out;
  }

  private static Iterable<JsonNode> iterate(JsonNode node) {
    if (node == null || node.isNull()) {
      return List.of();
    }
    if (!node.isArray()) {
      throw invalid("expected a list, got: " + node);
    }
    return node::elements;
  }

  private static String text(JsonNode node, String field, String fallback) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? fallback : value.asText();
  }

  private static void allowOnly(JsonNode node, String what, Set<String> allowed) {
    if (!node.isObject()) {
      throw invalid(what + " must be a mapping, got: " + node);
    }
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!allowed.contains(name)) {
        throw invalid(what + " has an unexpected key '" + name + "'; allowed: " + allowed);
      }
    }
  }

  private static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }
}
