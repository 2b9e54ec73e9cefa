package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.store.MemoryStore;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every response of the OpenFGA API against the shape OpenFGA's server gives it: the exact set of
 * field names and the JSON type of each, as OpenFGA's OpenAPI and protobuf definitions describe
 * them and its grpc-gateway writes them (every field present, unset messages as {@code null}, only
 * the unset alternatives of a oneof left out). Run against a server with Castellan's extensions
 * (the default) and one with strict responses, where the extensions must be gone.
 *
 * <p>An expected shape is JSON: a string names a type ({@code string}, {@code timestamp} (RFC 3339
 * in UTC, as protojson writes it), {@code boolean}, {@code number}, {@code null}, {@code object}:
 * any object); an object lists its fields exactly, or {@code {"*": shape}} for a map; an array of
 * one shape is a non-empty list whose every item has it, of several shapes a list item by item, and
 * {@code []} an empty list.
 */
class OpenFgaResponseShapeTest {
  static final String TOKEN = "shape-test-token-0123456789";
  static final ObjectMapper JSON = new ObjectMapper();
  static final Pattern TIMESTAMP =
      Pattern.compile("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{3}|\\.\\d{6}|\\.\\d{9})?Z");

  static final String DSL =
      """
      model
        schema 1.1

      type user

      type folder
        relations
          define viewer: [user]

      type doc
        relations
          define parent: [folder]
          define owner: [user]
          define viewer: [user, user with level_ok] or owner or viewer from parent

      condition level_ok(level: int) {
        level >= 1
      }
      """;

  static final String OBJECT_RELATION = "{\"object\":\"string\",\"relation\":\"string\"}";
  static final String REFERENCE = "{\"type\":\"string\",\"condition\":\"string\"}";
  static final String RELATION_METADATA =
      "{\"directly_related_user_types\":[%s],\"module\":\"string\",\"source_info\":\"null\"}";

  /** The test model as OpenFGA's {@code AuthorizationModel}. */
  static final String MODEL =
      """
      {"id":"string","schema_version":"string","type_definitions":[
        {"type":"string","relations":{},"metadata":"null"},
        {"type":"string","relations":{"viewer":{"this":{}}},
         "metadata":{"relations":{"viewer":%s},"module":"string","source_info":"null"}},
        {"type":"string",
         "relations":{"parent":{"this":{}},"owner":{"this":{}},
           "viewer":{"union":{"child":[{"this":{}},{"computedUserset":%s},
             {"tupleToUserset":{"tupleset":%s,"computedUserset":%s}}]}}},
         "metadata":{"relations":{"parent":%s,"owner":%s,"viewer":%s},
           "module":"string","source_info":"null"}}],
       "conditions":{"level_ok":{"name":"string","expression":"string",
         "parameters":{"level":{"type_name":"string","generic_types":[]}},"metadata":"null"}}}
      """
          .formatted(
              RELATION_METADATA.formatted(REFERENCE),
              OBJECT_RELATION,
              OBJECT_RELATION,
              OBJECT_RELATION,
              RELATION_METADATA.formatted(REFERENCE),
              RELATION_METADATA.formatted(REFERENCE),
              RELATION_METADATA.formatted(REFERENCE + "," + REFERENCE));

  static final String STORE =
      "{\"id\":\"string\",\"name\":\"string\",\"created_at\":\"timestamp\","
          + "\"updated_at\":\"timestamp\"%s}";
  static final String TUPLE_KEY =
      "{\"user\":\"string\",\"relation\":\"string\",\"object\":\"string\",\"condition\":%s}";
  static final String PLAIN_KEY = TUPLE_KEY.formatted("\"null\"");
  static final String CONDITIONAL_KEY =
      TUPLE_KEY.formatted("{\"name\":\"string\",\"context\":\"object\"}");

  static CastellanServer extended;
  static CastellanServer strict;
  static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() {
    CastellanServer.Options options = ServerHttp.loopback().withBootstrapToken(TOKEN);
    extended = CastellanServer.start(options, new MemoryStore());
    strict = CastellanServer.start(options.withStrictResponses(true), new MemoryStore());
  }

  @AfterAll
  static void stop() {
    extended.close();
    strict.close();
  }

  // ------------------------------------------------------------------ stores and models

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void stores_haveOpenFgaFields_withDeletedAtNull_butNotOnCreate(boolean strictResponses)
      throws Exception {
    Api api = new Api(strictResponses);
    JsonNode created = api.call("POST", "/stores", "{\"name\":\"shapes\"}", 201);
    assertShape(created, STORE.formatted(""));
    String id = created.get("id").asText();
    assertShape(
        api.call("GET", "/stores/" + id, null, 200), STORE.formatted(",\"deleted_at\":\"null\""));
    assertShape(
        api.call("GET", "/stores", null, 200),
        "{\"stores\":["
            + STORE.formatted(",\"deleted_at\":\"null\"")
            + "],"
            + "\"continuation_token\":\"string\"}");
    assertThat(api.send("DELETE", "/stores/" + id, null).body()).isEmpty();
  }

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void models_haveEveryFieldOfOpenFgasAuthorizationModel(boolean strictResponses) throws Exception {
    Api api = new Api(strictResponses).withStore();
    assertShape(
        api.call(
            "POST", api.store("/authorization-models"), ModelJson.write(ModelDsl.parse(DSL)), 201),
        "{\"authorization_model_id\":\"string\"}");
    assertShape(
        api.call("GET", api.store("/authorization-models/" + api.modelId), null, 200),
        "{\"authorization_model\":" + MODEL + "}");
    assertShape(
        api.call("GET", api.store("/authorization-models"), null, 200),
        "{\"authorization_models\":[" + MODEL + "],\"continuation_token\":\"string\"}");
  }

  // ------------------------------------------------------------------ writes and reads

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void write_isEmptyInOpenFga_andCarriesTheTokenAndCountsAsExtensions(boolean strictResponses)
      throws Exception {
    Api api = new Api(strictResponses).withStore();
    assertShape(
        api.call("POST", api.store("/write"), writes(tuple("doc:1", "owner", "user:u")), 200),
        strictResponses
            ? "{}"
            : "{\"consistency_token\":\"string\",\"written\":\"number\",\"deleted\":\"number\"}");
  }

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void read_givesEachTupleKeyItsCondition_nullWhenItHasNone(boolean strictResponses)
      throws Exception {
    Api api = new Api(strictResponses).withTuples();
    String tuples =
        "{\"tuples\":[{\"key\":%s,\"timestamp\":\"timestamp\"}],"
            + "\"continuation_token\":\"string\"}";
    assertShape(
        api.call("POST", api.store("/read"), "{\"tuple_key\":{\"object\":\"folder:f\"}}", 200),
        tuples.formatted(PLAIN_KEY));
    assertShape(
        api.call(
            "POST",
            api.store("/read"),
            "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\"}}",
            200),
        tuples.formatted(CONDITIONAL_KEY));
    // A tuple that expires (Castellan's extension) carries its expiry unless strict.
    assertShape(
        api.call(
            "POST",
            api.store("/read"),
            "{\"tuple_key\":{\"object\":\"doc:2\",\"relation\":\"owner\"}}",
            200),
        tuples.formatted(
            strictResponses
                ? PLAIN_KEY
                : PLAIN_KEY.replace("}", ",\"expires_at\":\"timestamp\"}")));
  }

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void changes_haveOpenFgasTupleChange_withOperationAsItsEnumName(boolean strictResponses)
      throws Exception {
    Api api = new Api(strictResponses).withTuples();
    JsonNode changes = api.call("GET", api.store("/changes?type=folder"), null, 200);
    assertShape(
        changes,
        "{\"changes\":[{\"tuple_key\":"
            + PLAIN_KEY
            + ",\"operation\":\"string\",\"timestamp\":\"timestamp\"}],"
            + "\"continuation_token\":\"string\"}");
    assertThat(changes.get("changes").get(0).get("operation").asText())
        .isEqualTo("TUPLE_OPERATION_WRITE");
    JsonNode conditional = api.call("GET", api.store("/changes?type=doc"), null, 200);
    List<String> keys = new ArrayList<>();
    conditional
        .get("changes")
        .forEach(c -> keys.add(c.get("tuple_key").get("condition").toString()));
    assertThat(keys).contains("null").anyMatch(k -> k.contains("\"level_ok\""));
  }

  // ------------------------------------------------------------------ queries

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void check_isAllowedAndResolution_theTokenAndExplanationAreExtensions(boolean strictResponses)
      throws Exception {
    Api api = new Api(strictResponses).withTuples();
    String body =
        "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"owner\",\"user\":\"user:u\"}";
    assertShape(
        api.call("POST", api.store("/check"), body + "}", 200),
        strictResponses
            ? "{\"allowed\":\"boolean\",\"resolution\":\"string\"}"
            : "{\"allowed\":\"boolean\",\"resolution\":\"string\",\"consistency_token\":\"string\"}");
    JsonNode explained = api.call("POST", api.store("/check"), body + ",\"explain\":true}", 200);
    if (strictResponses) {
      assertShape(explained, "{\"allowed\":\"boolean\",\"resolution\":\"string\"}");
    } else {
      assertThat(explained.get("explanation").isObject()).isTrue();
    }
  }

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void batchCheck_mapsCorrelationIdsToOneOfAllowedOrError(boolean strictResponses)
      throws Exception {
    Api api = new Api(strictResponses).withTuples();
    JsonNode answer =
        api.call(
            "POST",
            api.store("/batch-check"),
            """
            {"checks":[
              {"tuple_key":{"object":"doc:1","relation":"owner","user":"user:u"},
               "correlation_id":"a"},
              {"tuple_key":{"object":"doc:1","relation":"no_such_relation","user":"user:v"},
               "correlation_id":"b"}]}
            """,
            200);
    String results =
        "\"result\":{\"a\":{\"allowed\":\"boolean\"},"
            + "\"b\":{\"error\":{\"input_error\":\"string\",\"message\":\"string\"}}}";
    assertShape(
        answer,
        strictResponses
            ? "{" + results + "}"
            : "{" + results + ",\"consistency_token\":\"string\"}");
  }

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void expand_isATreeOfNodesWithOneAlternativeEach(boolean strictResponses) throws Exception {
    Api api = new Api(strictResponses).withTuples();
    assertShape(
        api.call(
            "POST",
            api.store("/expand"),
            "{\"tuple_key\":{\"object\":\"folder:f\",\"relation\":\"viewer\"}}",
            200),
        "{\"tree\":{\"root\":{\"name\":\"string\",\"leaf\":{\"users\":{\"users\":[\"string\"]}}}}}");
  }

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void lists_haveOnlyTheirResults_pagingAndTokenAreExtensions(boolean strictResponses)
      throws Exception {
    Api api = new Api(strictResponses).withTuples();
    String extensions =
        strictResponses
            ? ""
            : ",\"continuation_token\":\"string\",\"consistency_token\":\"string\"";
    assertShape(
        api.call(
            "POST",
            api.store("/list-objects"),
            "{\"type\":\"folder\",\"relation\":\"viewer\",\"user\":\"user:u\"}",
            200),
        "{\"objects\":[\"string\"]" + extensions + "}");
    assertShape(
        api.call(
            "POST",
            api.store("/list-users"),
            """
            {"object":{"type":"folder","id":"f"},"relation":"viewer",
             "user_filters":[{"type":"user"}]}
            """,
            200),
        "{\"users\":[{\"object\":{\"type\":\"string\",\"id\":\"string\"}}]" + extensions + "}");
    HttpResponse<String> streamed =
        api.send(
            "POST",
            api.store("/streamed-list-objects"),
            "{\"type\":\"folder\",\"relation\":\"viewer\",\"user\":\"user:u\"}");
    assertThat(streamed.statusCode()).isEqualTo(200);
    List<String> lines = streamed.body().lines().toList();
    assertThat(lines).isNotEmpty();
    for (String line : lines) {
      assertShape(JSON.readTree(line), "{\"result\":{\"object\":\"string\"}}");
    }
  }

  // ------------------------------------------------------------------ assertions and errors

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void assertions_comeBackAsOpenFgasAssertion_withEveryField(boolean strictResponses)
      throws Exception {
    Api api = new Api(strictResponses).withTuples();
    String path = api.store("/assertions/" + api.modelId);
    HttpResponse<String> written =
        api.send(
            "PUT",
            path,
            """
            {"assertions":[
              {"tuple_key":{"object":"doc:1","relation":"owner","user":"user:u"},
               "expectation":true},
              {"tuple_key":{"object":"doc:1","relation":"viewer","user":"user:v"},
               "expectation":false,
               "contextual_tuples":[
                 {"object":"doc:1","relation":"owner","user":"user:w"},
                 {"object":"doc:1","relation":"viewer","user":"user:v",
                  "condition":{"name":"level_ok"}}],
               "context":{"level":0}}]}
            """);
    assertThat(written.statusCode()).as(written.body()).isEqualTo(204);
    assertThat(written.body()).isEmpty();
    String assertionKey = "{\"object\":\"string\",\"relation\":\"string\",\"user\":\"string\"}";
    assertShape(
        api.call("GET", path, null, 200),
        ("{\"authorization_model_id\":\"string\",\"assertions\":["
                + "{\"tuple_key\":%s,\"expectation\":\"boolean\",\"contextual_tuples\":[],"
                + "\"context\":\"null\"},"
                + "{\"tuple_key\":%s,\"expectation\":\"boolean\","
                + "\"contextual_tuples\":[%s,%s],\"context\":\"object\"}]}")
            .formatted(
                assertionKey,
                assertionKey,
                PLAIN_KEY,
                // Sent without a context, which OpenFGA keeps unset.
                TUPLE_KEY.formatted("{\"name\":\"string\",\"context\":\"null\"}")));
  }

  @ParameterizedTest(name = "strict responses: {0}")
  @ValueSource(booleans = {false, true})
  void errors_areCodeAndMessage(boolean strictResponses) throws Exception {
    Api api = new Api(strictResponses);
    assertShape(
        api.call("GET", "/stores/01ARZ3NDEKTSV4RRFFQ69G5FAV", null, 404),
        "{\"code\":\"string\",\"message\":\"string\"}");
    Api withStore = api.withStore();
    assertShape(
        withStore.call("POST", withStore.store("/check"), "{\"tuple_key\":{}}", 400),
        "{\"code\":\"string\",\"message\":\"string\"}");

    // A stream refused before it starts: OpenFGA's gateway writes the error as a stream line, with
    // the HTTP status and the gRPC code (3 invalid_argument, 5 not_found).
    String streamError = "{\"error\":{\"code\":\"number\",\"message\":\"string\",\"details\":[]}}";
    JsonNode invalid =
        withStore.call(
            "POST", withStore.store("/streamed-list-objects"), "{\"type\":\"doc\"}", 400);
    assertShape(invalid, streamError);
    assertThat(invalid.get("error").get("code").asInt()).isEqualTo(3);
    JsonNode unknownStore =
        api.call(
            "POST",
            "/stores/01ARZ3NDEKTSV4RRFFQ69G5FAV/streamed-list-objects",
            "{\"type\":\"doc\",\"relation\":\"viewer\",\"user\":\"user:u\"}",
            404);
    assertShape(unknownStore, streamError);
    assertThat(unknownStore.get("error").get("code").asInt()).isEqualTo(5);
  }

  // ------------------------------------------------------------------ the comparison

  @org.junit.jupiter.api.Test
  void theShapeComparison_catchesAnExtraAMissingAndAMistypedField() throws Exception {
    String shape = "{\"a\":\"string\",\"b\":[\"number\"]}";
    assertShape(JSON.readTree("{\"a\":\"x\",\"b\":[1,2]}"), shape);
    for (String wrong :
        List.of(
            "{\"a\":\"x\",\"b\":[1],\"c\":1}",
            "{\"a\":\"x\"}",
            "{\"a\":1,\"b\":[1]}",
            "{\"a\":\"x\",\"b\":[]}",
            "{\"a\":\"x\",\"b\":[\"1\"]}")) {
      List<String> problems = new ArrayList<>();
      compare(JSON.readTree(shape), JSON.readTree(wrong), "$", problems);
      assertThat(problems).as(wrong).isNotEmpty();
    }
  }

  static void assertShape(JsonNode actual, String expectedShape) throws IOException {
    List<String> problems = new ArrayList<>();
    compare(JSON.readTree(expectedShape), actual, "$", problems);
    if (!problems.isEmpty()) {
      fail(
          "the response "
              + actual
              + " differs from OpenFGA's shape:\n  "
              + String.join("\n  ", problems));
    }
  }

  static void compare(JsonNode shape, JsonNode actual, String at, List<String> problems) {
    if (shape.isTextual()) {
      boolean fits =
          switch (shape.asText()) {
            case "string" -> actual.isTextual();
            case "timestamp" -> actual.isTextual() && TIMESTAMP.matcher(actual.asText()).matches();
            case "boolean" -> actual.isBoolean();
            case "number" -> actual.isNumber();
            case "null" -> actual.isNull();
            case "object" -> actual.isObject();
            default -> throw new IllegalArgumentException("unknown shape " + shape);
          };
      if (!fits) {
        problems.add(at + ": expected " + shape.asText() + ", got " + actual);
      }
    } else if (shape.isArray()) {
      if (!actual.isArray()) {
        problems.add(at + ": expected a list, got " + actual);
      } else if (shape.size() == 1) {
        if (actual.isEmpty()) {
          problems.add(at + ": expected a non-empty list");
        }
        for (int i = 0; i < actual.size(); i++) {
          compare(shape.get(0), actual.get(i), at + "[" + i + "]", problems);
        }
      } else if (shape.size() != actual.size()) {
        problems.add(at + ": expected " + shape.size() + " items, got " + actual.size());
      } else {
        for (int i = 0; i < actual.size(); i++) {
          compare(shape.get(i), actual.get(i), at + "[" + i + "]", problems);
        }
      }
    } else if (!actual.isObject()) {
      problems.add(at + ": expected an object, got " + actual);
    } else if (shape.has("*")) {
      actual
          .properties()
          .forEach(e -> compare(shape.get("*"), e.getValue(), at + "." + e.getKey(), problems));
    } else {
      TreeSet<String> expected = new TreeSet<>();
      shape.fieldNames().forEachRemaining(expected::add);
      TreeSet<String> got = new TreeSet<>();
      actual.fieldNames().forEachRemaining(got::add);
      if (!expected.equals(got)) {
        problems.add(at + ": expected the fields " + expected + ", got " + got);
      }
      for (String field : expected) {
        if (actual.has(field)) {
          compare(shape.get(field), actual.get(field), at + "." + field, problems);
        }
      }
    }
  }

  // ------------------------------------------------------------------ requests

  static String tuple(String object, String relation, String user) {
    return "{\"object\":\"%s\",\"relation\":\"%s\",\"user\":\"%s\"}"
        .formatted(object, relation, user);
  }

  static String writes(String... tuples) {
    return "{\"writes\":{\"tuple_keys\":[" + String.join(",", tuples) + "]}}";
  }

  /** Calls on one of the two servers, with a store and the test model once asked for. */
  static final class Api {
    final CastellanServer server;
    String storeId = "";
    String modelId = "";

    Api(boolean strictResponses) {
      this.server = strictResponses ? strict : extended;
    }

    String store(String path) {
      return "/stores/" + storeId + path;
    }

    Api withStore() throws Exception {
      storeId = call("POST", "/stores", "{\"name\":\"shapes\"}", 201).get("id").asText();
      modelId =
          call("POST", store("/authorization-models"), ModelJson.write(ModelDsl.parse(DSL)), 201)
              .get("authorization_model_id")
              .asText();
      return this;
    }

    /** A plain folder tuple, a conditional and a plain doc tuple, and one that expires. */
    Api withTuples() throws Exception {
      withStore();
      ObjectNode conditional = (ObjectNode) JSON.readTree(tuple("doc:1", "viewer", "user:v"));
      conditional
          .putObject("condition")
          .put("name", "level_ok")
          .putObject("context")
          .put("level", 2);
      ObjectNode expiring = (ObjectNode) JSON.readTree(tuple("doc:2", "owner", "user:u"));
      expiring.put("expires_at", Instant.now().plus(Duration.ofDays(1)).toString());
      call(
          "POST",
          store("/write"),
          writes(
              tuple("folder:f", "viewer", "user:u"),
              tuple("doc:1", "owner", "user:u"),
              conditional.toString(),
              expiring.toString()),
          200);
      return this;
    }

    JsonNode call(String method, String path, String body, int status) throws Exception {
      HttpResponse<String> response = send(method, path, body);
      assertThat(response.statusCode())
          .as(method + " " + path + ": " + response.body())
          .isEqualTo(status);
      return JSON.readTree(response.body());
    }

    HttpResponse<String> send(String method, String path, String body) throws Exception {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
              .timeout(Duration.ofSeconds(30))
              .header("Authorization", "Bearer " + TOKEN)
              .method(
                  method,
                  body == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofString(body));
      if (body != null) {
        request.header("Content-Type", "application/json");
      }
      return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
  }
}
