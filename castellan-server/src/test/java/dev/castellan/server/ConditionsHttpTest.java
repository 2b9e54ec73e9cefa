package dev.castellan.server;

import static dev.castellan.server.ServerHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.store.MemoryStore;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Conditions over HTTP as OpenFGA answers them: missing parameters and bad values are 400
 * validation errors on every endpoint, lists included, and a condition context that OpenFGA would
 * refuse is refused when written, in contextual tuples and in assertions.
 */
class ConditionsHttpTest {
  private static final String TOKEN = "conditions-http-test-token-0123456789";

  private static final String DSL =
      """
      model
        schema 1.1
      type user
      type group
        relations
          define member: [user]
      type document
        relations
          define viewer: [user with either, group#member]
      condition either(x: int, y: int) {
        x < 100 || y < 50
      }
      """;

  private static CastellanServer server;
  private String store;
  private String model;

  @BeforeAll
  static void start() {
    server =
        CastellanServer.start(ServerHttp.loopback().withBootstrapToken(TOKEN), new MemoryStore());
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static HttpResponse<String> post(String path, String body) throws Exception {
    return ServerHttp.send(server, TOKEN, "POST", path, body);
  }

  @BeforeEach
  void storeWithATuple() throws Exception {
    store = json(post("/stores", "{\"name\":\"conditions\"}"), 201).get("id").asText();
    model =
        json(
                post(
                    "/stores/" + store + "/authorization-models",
                    ModelJson.write(ModelDsl.parse(DSL))),
                201)
            .get("authorization_model_id")
            .asText();
    json(post("/stores/" + store + "/write", write("{\"x\":1}")), 200);
  }

  private static String write(String context) {
    return "{\"writes\":{\"tuple_keys\":[{\"object\":\"document:1\",\"relation\":\"viewer\","
        + "\"user\":\"user:anne\",\"condition\":{\"name\":\"either\",\"context\":"
        + context
        + "}}]}}";
  }

  private static void assertValidationError(HttpResponse<String> response, String message)
      throws Exception {
    JsonNode error = json(response, 400);
    assertThat(error.get("code").asText()).isEqualTo("validation_error");
    assertThat(error.get("message").asText()).isEqualTo(message);
  }

  /**
   * A streamed list-objects refused before its stream starts: OpenFGA's gateway answers with the
   * status and the error as a stream line, {@code code} being the gRPC code (3, invalid_argument).
   */
  private static void assertStreamValidationError(HttpResponse<String> response, String message)
      throws Exception {
    JsonNode line = json(response, 400);
    assertThat(line.fieldNames()).toIterable().containsExactly("error");
    JsonNode error = line.get("error");
    assertThat(error.fieldNames()).toIterable().containsExactly("code", "message", "details");
    assertThat(error.get("code").asInt()).isEqualTo(3);
    assertThat(error.get("message").asText()).isEqualTo(message);
    assertThat(error.get("details")).isEmpty();
  }

  private static final String MISSING_Y =
      "failed to evaluate relationship condition: 'either' - tuple"
          + " 'document:1#viewer@user:anne' is missing context parameters '[y]'";

  @Test
  void tupleContextLackingAParameter_isA400OnCheckAndEveryList() throws Exception {
    // x < 100 holds, but OpenFGA does not decide by short-circuit: y is missing.
    assertValidationError(
        post(
            "/stores/" + store + "/check",
            "{\"tuple_key\":{\"object\":\"document:1\",\"relation\":\"viewer\","
                + "\"user\":\"user:anne\"}}"),
        MISSING_Y);
    String listObjects = "{\"type\":\"document\",\"relation\":\"viewer\",\"user\":\"user:anne\"}";
    assertValidationError(post("/stores/" + store + "/list-objects", listObjects), MISSING_Y);
    assertStreamValidationError(
        post("/stores/" + store + "/streamed-list-objects", listObjects), MISSING_Y);
    assertValidationError(
        post(
            "/stores/" + store + "/list-users",
            "{\"object\":{\"type\":\"document\",\"id\":\"1\"},\"relation\":\"viewer\","
                + "\"user_filters\":[{\"type\":\"user\"}]}"),
        MISSING_Y);

    JsonNode batch =
        json(
            post(
                "/stores/" + store + "/batch-check",
                "{\"checks\":[{\"correlation_id\":\"a\",\"tuple_key\":{\"object\":\"document:1\","
                    + "\"relation\":\"viewer\",\"user\":\"user:anne\"}}]}"),
            200);
    assertThat(batch.at("/result/a/error/input_error").asText()).isEqualTo("validation_error");
    assertThat(batch.at("/result/a/error/message").asText()).isEqualTo(MISSING_Y);

    JsonNode allowed =
        json(
            post(
                "/stores/" + store + "/list-objects",
                "{\"type\":\"document\",\"relation\":\"viewer\",\"user\":\"user:anne\","
                    + "\"context\":{\"y\":99}}"),
            200);
    assertThat(allowed.get("objects")).extracting(JsonNode::asText).containsExactly("document:1");
  }

  @Test
  void doubleOutOfRange_isA400() throws Exception {
    store = json(post("/stores", "{\"name\":\"doubles\"}"), 201).get("id").asText();
    json(
        post(
            "/stores/" + store + "/authorization-models",
            ModelJson.write(
                ModelDsl.parse(
                    """
                    model
                      schema 1.1
                    type user
                    type document
                      relations
                        define viewer: [user with big]
                    condition big(d: double) {
                      d > 1.0
                    }
                    """))),
        201);
    json(
        post(
            "/stores/" + store + "/write",
            "{\"writes\":{\"tuple_keys\":[{\"object\":\"document:1\",\"relation\":\"viewer\","
                + "\"user\":\"user:anne\",\"condition\":{\"name\":\"big\"}}]}}"),
        200);

    assertValidationError(
        post(
            "/stores/" + store + "/check",
            "{\"tuple_key\":{\"object\":\"document:1\",\"relation\":\"viewer\","
                + "\"user\":\"user:anne\"},\"context\":{\"d\":\"1.8e+309\"}}"),
        "failed to evaluate relationship condition: parameter type error on condition 'big' -"
            + " failed to convert context parameter 'd': number cannot be represented as a"
            + " float64: 1.8e+309");
  }

  @Test
  void writeWithAContextOpenFgaRefuses_isA400AndNothingIsWritten() throws Exception {
    assertValidationError(
        post("/stores/" + store + "/write", write("{\"bogus\":1}").replace("anne", "bob")),
        "Invalid tuple 'document:1#viewer@user:bob (condition either)'. Reason: found invalid"
            + " context parameter: bogus");
    assertValidationError(
        post("/stores/" + store + "/write", write("{\"x\":\"xx\"}").replace("anne", "bob")),
        "Invalid tuple 'document:1#viewer@user:bob (condition either)'. Reason: parameter type"
            + " error on condition 'either' - failed to convert context parameter 'x': expected a"
            + " int64 value, but found invalid string value 'xx'");
    JsonNode read =
        json(
            post(
                "/stores/" + store + "/read",
                "{\"tuple_key\":{\"object\":\"document:1\",\"relation\":\"viewer\","
                    + "\"user\":\"user:bob\"}}"),
            200);
    assertThat(read.get("tuples")).isEmpty();
  }

  @Test
  void contextualTuplesAndAssertionsWithABadContext_areRefused() throws Exception {
    String contextual =
        "\"contextual_tuples\":{\"tuple_keys\":[{\"object\":\"document:2\",\"relation\":\"viewer\","
            + "\"user\":\"user:anne\",\"condition\":{\"name\":\"either\","
            + "\"context\":{\"bogus\":1}}}]}";
    String message =
        "Invalid tuple 'document:2#viewer@user:anne (condition either)'. Reason: found invalid"
            + " context parameter: bogus";
    assertValidationError(
        post(
            "/stores/" + store + "/list-objects",
            "{\"type\":\"document\",\"relation\":\"viewer\",\"user\":\"user:anne\","
                + contextual
                + "}"),
        message);
    JsonNode check =
        json(
            post(
                "/stores/" + store + "/check",
                "{\"tuple_key\":{\"object\":\"document:2\",\"relation\":\"viewer\","
                    + "\"user\":\"user:anne\"},"
                    + contextual
                    + "}"),
            400);
    assertThat(check.get("code").asText()).isEqualTo("invalid_tuple");

    HttpResponse<String> assertions =
        ServerHttp.send(
            server,
            TOKEN,
            "PUT",
            "/stores/" + store + "/assertions/" + model,
            "{\"assertions\":[{\"tuple_key\":{\"object\":\"document:2\",\"relation\":\"viewer\","
                + "\"user\":\"user:anne\"},\"expectation\":true,\"contextual_tuples\":[{"
                + "\"object\":\"document:2\",\"relation\":\"viewer\",\"user\":\"user:anne\","
                + "\"condition\":{\"name\":\"either\",\"context\":{\"bogus\":1}}}]}]}");
    assertValidationError(assertions, message);
  }

  @Test
  void usersetIsItsOwnMember_inCheckAndListObjects() throws Exception {
    JsonNode check =
        json(
            post(
                "/stores/" + store + "/check",
                "{\"tuple_key\":{\"object\":\"group:eng\",\"relation\":\"member\","
                    + "\"user\":\"group:eng#member\"}}"),
            200);
    assertThat(check.get("allowed").asBoolean()).isTrue();
    JsonNode list =
        json(
            post(
                "/stores/" + store + "/list-objects",
                "{\"type\":\"group\",\"relation\":\"member\",\"user\":\"group:eng#member\"}"),
            200);
    assertThat(list.get("objects")).extracting(JsonNode::asText).containsExactly("group:eng");
  }
}
