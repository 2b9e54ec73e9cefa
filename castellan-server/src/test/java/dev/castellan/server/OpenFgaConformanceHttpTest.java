package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.castellan.Conformance;
import dev.castellan.ErrorCode;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * OpenFGA's own server test suite ({@code consolidated_1_1_tests.yaml}) through the HTTP API, once
 * per kind of store, the way OpenFGA runs it against its server: each test gets a store of its own;
 * each stage writes its model and its tuples through {@code /write}, then asks {@code /check},
 * {@code /list-objects} and {@code /list-users}; lists compare as sets, every listed object or user
 * must also pass check, and an expected error must come back as the same OpenFGA code. The engine
 * alone runs the same data (with more variants) in {@code OpenFgaConformanceTest}; this suite adds
 * the request parsing, the stores' write and read paths and the index feed they fill.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class OpenFgaConformanceHttpTest {
  private static final String TOKEN = "conformance-token-0123456789abcdef";
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** The store this run of the suite is on; JUnit sets it, and hands it to startServer. */
  @Parameter StoreKind kind;

  static StoreKind.TestStore testStore;
  static CastellanServer server;

  @BeforeParameterizedClassInvocation
  static void startServer(StoreKind kind) {
    testStore = kind.create();
    server = testStore.startServer(ServerHttp.loopback().withBootstrapToken(TOKEN));
  }

  @AfterParameterizedClassInvocation
  static void stopServer() {
    testStore.close();
  }

  @TestFactory
  Stream<DynamicTest> consolidatedTests() throws IOException {
    JsonNode root =
        YAML.readTree(Conformance.dir().resolve("consolidated_1_1_tests.yaml").toFile());
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode test : root.get("tests")) {
      String name = test.get("name").asText();
      tests.add(
          DynamicTest.dynamicTest(
              name,
              () -> assertThat(run(name, test)).as("conformance failures of " + name).isEmpty()));
    }
    assertThat(tests).hasSizeGreaterThan(136);
    return tests.stream();
  }

  private static List<String> run(String name, JsonNode test) throws Exception {
    List<String> failures = new ArrayList<>();
    String storeId =
        ServerHttp.json(post("/stores", object().put("name", storeName(name))), 201)
            .get("id")
            .asText();
    int stageNumber = 0;
    for (JsonNode stage : test.get("stages")) {
      stageNumber++;
      String prefix = "stage " + stageNumber + ": ";
      String path = "/stores/" + storeId;
      String modelId =
          ServerHttp.json(
                  post(
                      path + "/authorization-models",
                      ServerHttp.JSON.readTree(
                          ModelJson.write(ModelDsl.parse(stage.get("model").asText())))),
                  201)
              .get("authorization_model_id")
              .asText();
      ArrayNode tuples = tupleKeys(stage.get("tuples"));
      if (!tuples.isEmpty()) {
        ObjectNode write = object().put("authorization_model_id", modelId);
        write.putObject("writes").set("tuple_keys", tuples);
        HttpResponse<String> written = post(path + "/write", write);
        if (written.statusCode() != 200) {
          failures.add(prefix + "writing the stage's tuples: " + written.body());
          return failures;
        }
      }
      for (JsonNode assertion : iterate(stage.get("checkAssertions"))) {
        check(path, modelId, assertion, prefix, failures);
      }
      for (JsonNode assertion : iterate(stage.get("listObjectsAssertions"))) {
        listObjects(path, modelId, assertion, prefix, failures);
      }
      for (JsonNode assertion : iterate(stage.get("listUsersAssertions"))) {
        listUsers(path, modelId, assertion, prefix, failures);
      }
    }
    return failures;
  }

  private static void check(
      String path, String modelId, JsonNode a, String prefix, List<String> failures)
      throws Exception {
    JsonNode t = a.get("tuple");
    ObjectNode request = object().put("authorization_model_id", modelId);
    request.set("tuple_key", tupleKey(t));
    request.putObject("contextual_tuples").set("tuple_keys", tupleKeys(a.get("contextualTuples")));
    putContext(request, a.get("context"));
    String what =
        prefix + "check " + text(t, "object") + "#" + text(t, "relation") + "@" + text(t, "user");
    HttpResponse<String> response = post(path + "/check", request);
    if (expectedError(a, response, what, failures)) {
      return;
    }
    boolean allowed = ServerHttp.JSON.readTree(response.body()).get("allowed").asBoolean();
    if (allowed != a.get("expectation").asBoolean()) {
      failures.add(what + ": expected " + a.get("expectation").asBoolean() + ", got " + allowed);
    }
  }

  private static void listObjects(
      String path, String modelId, JsonNode a, String prefix, List<String> failures)
      throws Exception {
    JsonNode r = a.get("request");
    ArrayNode contextual = tupleKeys(a.get("contextualTuples"));
    contextual.addAll(tupleKeys(r.get("contextualTuples")));
    JsonNode context = a.has("context") ? a.get("context") : r.get("context");
    ObjectNode request =
        object()
            .put("authorization_model_id", modelId)
            .put("type", text(r, "type"))
            .put("relation", text(r, "relation"))
            .put("user", text(r, "user"));
    request.putObject("contextual_tuples").set("tuple_keys", contextual);
    putContext(request, context);
    String what =
        prefix
            + "list-objects "
            + text(r, "type")
            + "#"
            + text(r, "relation")
            + "@"
            + text(r, "user");
    HttpResponse<String> response = post(path + "/list-objects", request);
    if (expectedError(a, response, what, failures)) {
      return;
    }
    JsonNode body = ServerHttp.JSON.readTree(response.body());
    List<String> objects = new ArrayList<>();
    body.get("objects").forEach(object -> objects.add(object.asText()));
    complete(body, what, failures);
    compare(strings(a.get("expectation")), objects, what, failures);
    for (String object : objects) {
      ObjectNode check = object().put("authorization_model_id", modelId);
      check
          .putObject("tuple_key")
          .put("object", object)
          .put("relation", text(r, "relation"))
          .put("user", text(r, "user"));
      check.putObject("contextual_tuples").set("tuple_keys", contextual);
      putContext(check, context);
      if (!allowed(path, check)) {
        failures.add(what + ": listed " + object + " but check denies it");
      }
    }
  }

  private static void listUsers(
      String path, String modelId, JsonNode a, String prefix, List<String> failures)
      throws Exception {
    JsonNode r = a.get("request");
    ArrayNode contextual = tupleKeys(a.get("contextualTuples"));
    contextual.addAll(tupleKeys(r.get("contextualTuples")));
    JsonNode context = a.has("context") ? a.get("context") : r.get("context");
    String object = text(r, "object");
    ObjectNode request =
        object().put("authorization_model_id", modelId).put("relation", text(r, "relation"));
    request
        .putObject("object")
        .put("type", object.substring(0, object.indexOf(':')))
        .put("id", object.substring(object.indexOf(':') + 1));
    ArrayNode filters = request.putArray("user_filters");
    for (String filter : strings(r.get("filters"))) {
      int hash = filter.indexOf('#');
      ObjectNode node = filters.addObject();
      if (hash < 0) {
        node.put("type", filter);
      } else {
        node.put("type", filter.substring(0, hash)).put("relation", filter.substring(hash + 1));
      }
    }
    // OpenFGA's list-users takes its contextual tuples as a plain array.
    request.set("contextual_tuples", contextual);
    putContext(request, context);
    String what =
        prefix
            + "list-users "
            + object
            + "#"
            + text(r, "relation")
            + " "
            + strings(r.get("filters"));
    HttpResponse<String> response = post(path + "/list-users", request);
    if (expectedError(a, response, what, failures)) {
      return;
    }
    JsonNode body = ServerHttp.JSON.readTree(response.body());
    List<String> users = new ArrayList<>();
    body.get("users").forEach(user -> users.add(userString(user)));
    complete(body, what, failures);
    compare(strings(a.get("expectation")), users, what, failures);
    for (String user : users) {
      ObjectNode check = object().put("authorization_model_id", modelId);
      check
          .putObject("tuple_key")
          .put("object", object)
          .put("relation", text(r, "relation"))
          .put("user", user);
      check.putObject("contextual_tuples").set("tuple_keys", contextual);
      putContext(check, context);
      if (!allowed(path, check)) {
        failures.add(what + ": listed " + user + " but check denies it");
      }
    }
  }

  /** A store name from the test's name, within the API's 64 characters. */
  private static String storeName(String testName) {
    return testName.length() <= 64 ? testName : testName.substring(0, 64);
  }

  /** {@code {"object":...}}, {@code {"userset":...}} or {@code {"wildcard":...}} as a string. */
  private static String userString(JsonNode user) {
    if (user.has("object")) {
      JsonNode o = user.get("object");
      return text(o, "type") + ":" + text(o, "id");
    }
    if (user.has("userset")) {
      JsonNode u = user.get("userset");
      return text(u, "type") + ":" + text(u, "id") + "#" + text(u, "relation");
    }
    return text(user.get("wildcard"), "type") + ":*";
  }

  private static boolean allowed(String path, ObjectNode check) throws Exception {
    return ServerHttp.json(post(path + "/check", check), 200).get("allowed").asBoolean();
  }

  /** A list must come back whole, in one page: legitimate models never meet the budget. */
  private static void complete(JsonNode body, String what, List<String> failures) {
    JsonNode next = body.get("continuation_token");
    if (next != null && !next.asText().isEmpty()) {
      failures.add(what + ": not complete in one page (continuation_token " + next + ")");
    }
  }

  private static void compare(
      Set<String> expected, List<String> found, String what, List<String> failures) {
    if (!expected.equals(new HashSet<>(found)) || found.size() != expected.size()) {
      failures.add(what + ": expected " + expected + ", got " + found);
    }
  }

  /**
   * Whether the assertion expects an error; if so, whether the answer carries the same OpenFGA code
   * (a failure is recorded when not). A successful answer to an assertion without an error is left
   * to the caller; any other status is a failure.
   */
  private static boolean expectedError(
      JsonNode a, HttpResponse<String> response, String what, List<String> failures)
      throws IOException {
    if (!a.has("errorCode")) {
      if (response.statusCode() != 200) {
        failures.add(what + ": unexpected " + response.statusCode() + " " + response.body());
        return true;
      }
      return false;
    }
    int expected = a.get("errorCode").asInt();
    if (response.statusCode() == 200) {
      failures.add(what + ": expected error " + expected + ", got " + response.body());
      return true;
    }
    String code = ServerHttp.JSON.readTree(response.body()).path("code").asText();
    boolean same =
        Stream.of(ErrorCode.values())
            .anyMatch(c -> c.number() == expected && c.wireName().equals(code));
    if (!same) {
      failures.add(
          what + ": expected error " + expected + ", got " + response.statusCode() + " " + code);
    }
    return true;
  }

  private static HttpResponse<String> post(String path, JsonNode body) throws Exception {
    return ServerHttp.send(server, TOKEN, "POST", path, body.toString());
  }

  private static ObjectNode object() {
    return ServerHttp.JSON.createObjectNode();
  }

  private static void putContext(ObjectNode request, JsonNode context) {
    if (context != null && !context.isNull()) {
      request.set("context", context);
    }
  }

  private static ArrayNode tupleKeys(JsonNode tuples) {
    ArrayNode out = ServerHttp.JSON.createArrayNode();
    for (JsonNode t : iterate(tuples)) {
      out.add(tupleKey(t));
    }
    return out;
  }

  private static ObjectNode tupleKey(JsonNode t) {
    ObjectNode key =
        object()
            .put("object", text(t, "object"))
            .put("relation", text(t, "relation"))
            .put("user", text(t, "user"));
    JsonNode condition = t.get("condition");
    if (condition != null && !condition.isNull()) {
      ObjectNode out = key.putObject("condition").put("name", text(condition, "name"));
      putContext(out, condition.get("context"));
    }
    return key;
  }

  private static Set<String> strings(JsonNode node) {
    Set<String> out = new HashSet<>();
    for (JsonNode value : iterate(node)) {
      out.add(value.asText());
    }
    return out;
  }

  private static Iterable<JsonNode> iterate(JsonNode node) {
    return node == null || node.isNull() ? List.of() : node::elements;
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null ? "" : value.asText();
  }
}
