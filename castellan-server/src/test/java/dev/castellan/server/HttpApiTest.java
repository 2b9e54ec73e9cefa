package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The HTTP API over real HTTP: authentication, hostile input, limits, paging and consistency. The
 * suite runs once per kind of store, against one server per kind.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class HttpApiTest {
  static final String TOKEN = "test-token-0123456789abcdef";
  static final ObjectMapper JSON = new ObjectMapper();

  static final String DSL =
      """
      model
        schema 1.1

      type user

      type group
        relations
          define member: [user]

      type folder
        relations
          define parent: [folder]
          define viewer: [user, group#member] or viewer from parent

      type doc
        relations
          define parent: [folder]
          define blocked: [user]
          define owner: [user]
          define viewer: [user, user:*, group#member, user with level_ok] or owner or viewer from parent
          define can_view: viewer but not blocked

      type secret
        relations
          define reader: [user with level_ok]

      condition level_ok(level: int, required: int) {
        level >= required
      }
      """;

  /** The store this run of the suite is on; JUnit sets it, and hands it to startServer. */
  @Parameter StoreKind kind;

  static StoreKind.TestStore testStore;
  static CastellanServer server;
  static HttpClient http;
  static String base;

  String storeId;
  String modelId;

  @BeforeParameterizedClassInvocation
  static void startServer(StoreKind kind) {
    testStore = kind.create();
    server = testStore.startServer(ServerHttp.loopback().withBootstrapToken(TOKEN));
    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    base = "http://127.0.0.1:" + server.port();
  }

  @AfterParameterizedClassInvocation
  static void stopServer() {
    testStore.close();
  }

  @BeforeEach
  void createStoreAndModel() throws Exception {
    HttpResponse<String> store = send("POST", "/stores", "{\"name\":\"http-test\"}");
    assertThat(store.statusCode()).isEqualTo(201);
    storeId = json(store).get("id").asText();
    HttpResponse<String> model =
        send(
            "POST",
            "/stores/" + storeId + "/authorization-models",
            ModelJson.write(ModelDsl.parse(DSL)));
    assertThat(model.statusCode()).as(model.body()).isEqualTo(201);
    modelId = json(model).get("authorization_model_id").asText();
  }

  // ------------------------------------------------------------------ import and expiry

  @Test
  void import_streamsJsonLines_checksEachTuple_andSkipsExistingOnes() throws Exception {
    assertThat(
            send("POST", "/stores/" + storeId + "/write", writeBody("doc:0", "owner", "user:u0"))
                .statusCode())
        .isEqualTo(200);
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < 12_000; i++) {
      lines
          .append("{\"object\":\"doc:")
          .append(i)
          .append("\",\"relation\":\"owner\",\"user\":\"user:u")
          .append(i)
          .append("\"}\n");
    }
    HttpResponse<String> imported =
        send("POST", "/stores/" + storeId + "/import", lines.toString());
    assertThat(imported.statusCode()).as(imported.body()).isEqualTo(200);
    assertThat(json(imported).get("written").asInt()).isEqualTo(11_999);
    String token = json(imported).get("consistency_token").asText();
    HttpResponse<String> check =
        send(
            "POST",
            "/stores/" + storeId + "/check",
            "{\"tuple_key\":{\"object\":\"doc:11999\",\"relation\":\"owner\",\"user\":\"user:u11999\"},"
                + "\"consistency_token\":\""
                + token
                + "\"}");
    assertThat(json(check).get("allowed").asBoolean()).isTrue();

    HttpResponse<String> bad =
        send(
            "POST",
            "/stores/" + storeId + "/import",
            "{\"object\":\"doc:x\",\"relation\":\"owner\",\"user\":\"user:x\"}\n"
                + "{\"object\":\"nosuchtype:1\",\"relation\":\"owner\",\"user\":\"user:x\"}\n");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(json(bad).get("code").asText()).isNotEmpty();
  }

  @Test
  void anExpiredTuple_grantsNothing_andReadReportsItAsExpired() throws Exception {
    String past = java.time.Instant.now().minusSeconds(60).toString();
    String future = java.time.Instant.now().plusSeconds(3600).toString();
    HttpResponse<String> write =
        send(
            "POST",
            "/stores/" + storeId + "/write",
            "{\"writes\":{\"tuple_keys\":["
                + "{\"object\":\"doc:old\",\"relation\":\"owner\",\"user\":\"user:anne\",\"expires_at\":\""
                + past
                + "\"},"
                + "{\"object\":\"doc:new\",\"relation\":\"owner\",\"user\":\"user:anne\",\"expires_at\":\""
                + future
                + "\"}]}}");
    assertThat(write.statusCode()).as(write.body()).isEqualTo(200);
    assertThat(allowed("doc:old", "owner", "user:anne")).isFalse();
    assertThat(allowed("doc:new", "owner", "user:anne")).isTrue();
    JsonNode read =
        json(
            send(
                "POST",
                "/stores/" + storeId + "/read",
                "{\"tuple_key\":{\"object\":\"doc:old\"}}"));
    assertThat(read.get("tuples").get(0).get("expired").asBoolean()).isTrue();
    assertThat(read.get("tuples").get(0).get("key").get("expires_at").asText()).isNotEmpty();
    JsonNode fresh =
        json(
            send(
                "POST",
                "/stores/" + storeId + "/read",
                "{\"tuple_key\":{\"object\":\"doc:new\"}}"));
    assertThat(fresh.get("tuples").get(0).has("expired")).isFalse();
  }

  private boolean allowed(String object, String relation, String user) throws Exception {
    HttpResponse<String> response =
        send(
            "POST",
            "/stores/" + storeId + "/check",
            "{\"tuple_key\":{\"object\":\""
                + object
                + "\",\"relation\":\""
                + relation
                + "\",\"user\":\""
                + user
                + "\"}}");
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return json(response).get("allowed").asBoolean();
  }

  // ------------------------------------------------------------------ authentication

  @Test
  void missingOrWrongToken_is401WithChallenge() throws Exception {
    for (String header : new String[] {null, "Bearer wrong-token-0123456789abcdef", "Basic abc"}) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(base + "/stores"))
              .timeout(Duration.ofSeconds(10))
              .GET();
      if (header != null) {
        request.header("Authorization", header);
      }
      HttpResponse<String> response =
          http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as(String.valueOf(header)).isEqualTo(401);
      assertThat(response.headers().firstValue("WWW-Authenticate"))
          .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
      JsonNode body = json(response);
      assertThat(body.get("code").asText()).isEqualTo("unauthenticated");
      assertThat(body.get("message").asText()).isNotEmpty();
    }
    // A protected write without credentials writes nothing.
    HttpResponse<String> write =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/stores/" + storeId + "/write"))
                .POST(HttpRequest.BodyPublishers.ofString(writeBody("doc:1", "owner", "user:anne")))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(write.statusCode()).isEqualTo(401);
    assertThat(readAll()).isEmpty();
  }

  @Test
  void health_needsNoCredentials() throws Exception {
    for (String path : new String[] {"/healthz", "/readyz"}) {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create(base + path)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(json(response).get("status").asText()).isEqualTo("SERVING");
    }
  }

  // ------------------------------------------------------------------ hostile input

  @Test
  void malformedJson_wrongTypes_unknownFields_are400WithoutInternals() throws Exception {
    String check = "/stores/" + storeId + "/check";
    String[][] cases = {
      {check, "{\"tuple_key\": "},
      {check, "not json at all"},
      {check, "[1,2,3]"},
      {check, "{\"tuple_key\": \"doc:1\"}"},
      {check, "{\"tuple_key\": {\"object\": 1, \"relation\": \"viewer\", \"user\": \"user:a\"}}"},
      {
        check,
        "{\"tuple_key\": {\"object\": \"doc:1\", \"relation\": \"viewer\", \"user\": \"user:a\"},"
            + " \"explain\": \"yes\"}"
      },
      {
        check,
        "{\"tuple_key\": {\"object\": \"doc:1\", \"relation\": \"viewer\", \"user\": \"user:a\"},"
            + " \"bogus\": 1}"
      },
      {
        check,
        "{\"tuple_key\": {\"object\": \"doc:1\", \"relation\": \"viewer\", \"user\": \"user:a\","
            + " \"extra\": true}}"
      },
      {
        check,
        "{\"tuple_key\": {\"object\": \"doc:1\", \"relation\": \"viewer\", \"user\": \"user:a\"},"
            + " \"context\": [1]}"
      },
      {
        check,
        "{\"tuple_key\": {\"object\": \"doc:1\", \"relation\": \"viewer\", \"user\": \"user:a\"},"
            + " \"contextual_tuples\": 7}"
      },
      {
        check,
        "{\"tuple_key\": {\"object\": \"doc:1\", \"relation\": \"nope\", \"user\": \"user:a\"}}"
      },
      {
        check,
        "{\"tuple_key\": {\"object\": \"nope:1\", \"relation\": \"viewer\", \"user\": \"user:a\"}}"
      },
      {"/stores/" + storeId + "/write", "{\"writes\": {\"tuple_keys\": {}}}"},
      {"/stores/" + storeId + "/write", "{\"writes\": []}"},
      {"/stores/" + storeId + "/write", "{}"},
      {"/stores/" + storeId + "/read", "{\"page_size\": \"ten\"}"},
      {"/stores/" + storeId + "/read", "{\"page_size\": 1.5}"},
      {"/stores/" + storeId + "/list-objects", "{\"type\": \"doc\", \"relation\": \"viewer\"}"},
      {"/stores", "{\"name\": 42}"},
      {"/stores/" + storeId + "/authorization-models", "{\"type_definitions\": 3}"},
      {
        "/stores/" + storeId + "/authorization-models",
        "{\"schema_version\":\"1.1\","
            + "\"type_definitions\":[{\"type\":\"doc\",\"relations\":{\"viewer\":{\"this\":{}}}}]}"
      },
      {"/stores/" + storeId + "/authorization-models", "{"},
      {"/stores/" + storeId + "/read", "[".repeat(5000)},
      {"/stores/" + storeId + "/read", "{\"tuple_key\":{\"object\":\"" + "{".repeat(100) + "\"}}"},
    };
    for (String[] c : cases) {
      HttpResponse<String> response = send("POST", c[0], c[1]);
      assertThat(response.statusCode())
          .as(c[0] + " " + c[1] + " -> " + response.body())
          .isEqualTo(400);
      assertErrorBody(response);
    }
  }

  @Test
  void tenMegabyteBody_is413AndServerKeepsServing() throws Exception {
    byte[] big =
        ("{\"writes\":{\"tuple_keys\":[{\"object\":\"doc:"
                + "y".repeat(10 * 1024 * 1024)
                + "\"}]}}")
            .getBytes(StandardCharsets.UTF_8);
    // Once with a Content-Length, once chunked (no length known up front).
    for (boolean chunked : new boolean[] {false, true}) {
      RawResponse response = rawPost("/stores/" + storeId + "/write", big, chunked);
      assertThat(response.status()).as(response.body()).isEqualTo(413);
      assertThat(response.body()).doesNotContain("Exception").doesNotContain("at dev.");
      JsonNode body = JSON.readTree(response.body());
      assertThat(body.get("code").asText()).isNotEmpty();
      assertThat(body.get("message").asText()).isNotEmpty();
    }
    assertThat(readAll()).isEmpty();
    HttpResponse<String> after = send("GET", "/stores/" + storeId, null);
    assertThat(after.statusCode()).isEqualTo(200);
    assertThat(json(after).get("id").asText()).isEqualTo(storeId);
    assertThat(
            send("POST", "/stores/" + storeId + "/write", writeBody("doc:1", "owner", "user:a"))
                .statusCode())
        .isEqualTo(200);
  }

  record RawResponse(int status, String body) {}

  /**
   * Posts {@code body} over a plain socket. The server may answer and close before the body is
   * sent; a client that stops at the first failed write (as java.net.http does) would then see no
   * response, so the body is written from another thread whose write errors are ignored.
   */
  static RawResponse rawPost(String path, byte[] body, boolean chunked) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      String head =
          "POST "
              + path
              + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
              + TOKEN
              + "\r\nContent-Type: application/json\r\nConnection: close\r\n"
              + (chunked
                  ? "Transfer-Encoding: chunked\r\n"
                  : "Content-Length: " + body.length + "\r\n")
              + "\r\n";
      Thread writer =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      out.write(head.getBytes(StandardCharsets.US_ASCII));
                      int step = 64 * 1024;
                      for (int at = 0; at < body.length; at += step) {
                        int n = Math.min(step, body.length - at);
                        if (chunked) {
                          out.write(
                              (Integer.toHexString(n) + "\r\n")
                                  .getBytes(StandardCharsets.US_ASCII));
                        }
                        out.write(body, at, n);
                        if (chunked) {
                          out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                        }
                      }
                      if (chunked) {
                        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                      }
                      out.flush();
                    } catch (IOException e) {
                      // The server refused the body and closed; its answer is read below.
                    }
                  });
      ByteArrayOutputStream received = new ByteArrayOutputStream();
      try {
        socket.getInputStream().transferTo(received);
      } catch (IOException e) {
        // A reset after the response arrived; what was received is checked below.
      }
      writer.join();
      String text = received.toString(StandardCharsets.UTF_8);
      int split = text.indexOf("\r\n\r\n");
      assertThat(split).as(text).isPositive();
      String headers = text.substring(0, split);
      String rest = text.substring(split + 4);
      if (headers.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
        StringBuilder decoded = new StringBuilder();
        int at = 0;
        while (true) {
          int eol = rest.indexOf("\r\n", at);
          int size = Integer.parseInt(rest.substring(at, eol).trim(), 16);
          if (size == 0) {
            break;
          }
          decoded.append(rest, eol + 2, eol + 2 + size);
          at = eol + 2 + size + 2;
        }
        rest = decoded.toString();
      }
      return new RawResponse(Integer.parseInt(headers.split(" ")[1]), rest);
    }
  }

  @Test
  void fiveThousandTuples_exceedTheLimit_andNothingIsWritten() throws Exception {
    ObjectNode body = JSON.createObjectNode();
    ArrayNode keys = body.putObject("writes").putArray("tuple_keys");
    for (int i = 0; i < 5000; i++) {
      keys.addObject().put("object", "doc:" + i).put("relation", "owner").put("user", "user:u" + i);
    }
    HttpResponse<String> response = send("POST", "/stores/" + storeId + "/write", body.toString());
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(json(response).get("code").asText()).isEqualTo("exceeded_entity_limit");
    assertErrorBody(response);
    assertThat(readAll()).isEmpty();
  }

  @Test
  void metacharacterIds_areStoredVerbatimOrRefused() throws Exception {
    for (String object :
        new String[] {"doc:../../etc", "doc:1';DROP_TABLE_tuples;--", "doc:%00x"}) {
      HttpResponse<String> write =
          send("POST", "/stores/" + storeId + "/write", writeBody(object, "owner", "user:anne"));
      assertThat(write.statusCode()).as(object + " " + write.body()).isEqualTo(200);
      HttpResponse<String> read =
          send(
              "POST",
              "/stores/" + storeId + "/read",
              "{\"tuple_key\":" + key(object, "", "") + "}");
      assertThat(read.statusCode()).isEqualTo(200);
      JsonNode tuples = json(read).get("tuples");
      assertThat(tuples).hasSize(1);
      assertThat(tuples.get(0).get("key").get("object").asText()).isEqualTo(object);
      assertThat(check(object, "viewer", "user:anne", "")).isTrue();
    }
    for (String object :
        new String[] {
          "doc:1'; DROP TABLE tuples;--", "doc:a#b", "doc:a:b", "doc:tab\there", "doc:", ":x", "doc"
        }) {
      HttpResponse<String> write =
          send("POST", "/stores/" + storeId + "/write", writeBody(object, "owner", "user:anne"));
      assertThat(write.statusCode()).as(object + " " + write.body()).isEqualTo(400);
      assertErrorBody(write);
      HttpResponse<String> check =
          send(
              "POST",
              "/stores/" + storeId + "/check",
              checkBody(object, "viewer", "user:anne", ""));
      assertThat(check.statusCode()).as(object + " " + check.body()).isEqualTo(400);
      assertErrorBody(check);
      HttpResponse<String> asUser =
          send(
              "POST",
              "/stores/" + storeId + "/write",
              writeBody("doc:ok", "owner", object.replaceFirst("^doc", "user")));
      assertThat(asUser.statusCode()).as(object + " " + asUser.body()).isEqualTo(400);
    }
    assertThat(readAll()).hasSize(3);
  }

  @Test
  void unknownStore_is404StoreIdNotFound() throws Exception {
    String[][] cases = {
      {"GET", "/stores/01ARZ3NDEKTSV4RRFFQ69G5FAV", null},
      {"DELETE", "/stores/01ARZ3NDEKTSV4RRFFQ69G5FAV", null},
      {
        "POST",
        "/stores/01ARZ3NDEKTSV4RRFFQ69G5FAV/check",
        checkBody("doc:1", "viewer", "user:a", "")
      },
      {"POST", "/stores/01ARZ3NDEKTSV4RRFFQ69G5FAV/write", writeBody("doc:1", "owner", "user:a")},
      {"GET", "/stores/01ARZ3NDEKTSV4RRFFQ69G5FAV/authorization-models", null},
      {"GET", "/stores/01ARZ3NDEKTSV4RRFFQ69G5FAV/changes", null},
    };
    for (String[] c : cases) {
      HttpResponse<String> response = send(c[0], c[1], c[2]);
      assertThat(response.statusCode()).as(c[0] + " " + c[1]).isEqualTo(404);
      assertThat(json(response).get("code").asText()).isEqualTo("store_id_not_found");
      assertErrorBody(response);
    }
  }

  @Test
  void unknownRoute_is404Json() throws Exception {
    for (String path : new String[] {"/nope", "/stores/" + storeId + "/nope", "/v1/stores"}) {
      HttpResponse<String> response = send("GET", path, null);
      assertThat(response.statusCode()).as(path).isEqualTo(404);
      assertThat(response.headers().firstValue("Content-Type").orElse(""))
          .as(response.body())
          .startsWith("application/json");
      assertErrorBody(response);
      assertThat(json(response).get("code").asText()).isEqualTo("undefined_endpoint");
    }
  }

  // ------------------------------------------------------------------ consistency and explain

  @Test
  void writeReturnsConsistencyToken_thatACheckAccepts() throws Exception {
    HttpResponse<String> write =
        send("POST", "/stores/" + storeId + "/write", writeBody("doc:1", "owner", "user:anne"));
    assertThat(write.statusCode()).isEqualTo(200);
    String token = json(write).get("consistency_token").asText();
    assertThat(token).isNotEmpty();
    HttpResponse<String> check =
        send(
            "POST",
            "/stores/" + storeId + "/check",
            "{\"tuple_key\":"
                + key("doc:1", "viewer", "user:anne")
                + ",\"consistency_token\":\""
                + token
                + "\"}");
    assertThat(check.statusCode()).as(check.body()).isEqualTo(200);
    assertThat(json(check).get("allowed").asBoolean()).isTrue();
    // A token of another store is refused.
    HttpResponse<String> other = send("POST", "/stores", "{\"name\":\"other\"}");
    String otherId = json(other).get("id").asText();
    HttpResponse<String> foreign =
        send("POST", "/stores/" + otherId + "/read", "{\"consistency_token\":\"" + token + "\"}");
    assertThat(foreign.statusCode()).isEqualTo(400);
    assertThat(json(foreign).get("code").asText()).isEqualTo("invalid_consistency_token");
  }

  @Test
  void higherConsistency_works() throws Exception {
    send("POST", "/stores/" + storeId + "/write", writeBody("doc:1", "owner", "user:anne"));
    HttpResponse<String> check =
        send(
            "POST",
            "/stores/" + storeId + "/check",
            "{\"tuple_key\":"
                + key("doc:1", "viewer", "user:anne")
                + ",\"consistency\":\"HIGHER_CONSISTENCY\"}");
    assertThat(check.statusCode()).as(check.body()).isEqualTo(200);
    assertThat(json(check).get("allowed").asBoolean()).isTrue();
    HttpResponse<String> list =
        send(
            "POST",
            "/stores/" + storeId + "/list-objects",
            "{\"type\":\"doc\",\"relation\":\"viewer\",\"user\":\"user:anne\","
                + "\"consistency\":\"HIGHER_CONSISTENCY\"}");
    assertThat(list.statusCode()).isEqualTo(200);
    assertThat(json(list).get("objects")).extracting(JsonNode::asText).containsExactly("doc:1");
    HttpResponse<String> bad =
        send(
            "POST",
            "/stores/" + storeId + "/check",
            "{\"tuple_key\":"
                + key("doc:1", "viewer", "user:anne")
                + ",\"consistency\":\"STRONG\"}");
    assertThat(bad.statusCode()).isEqualTo(400);
  }

  @Test
  void explain_returnsResolution() throws Exception {
    send("POST", "/stores/" + storeId + "/write", writeBody("doc:1", "owner", "user:anne"));
    HttpResponse<String> check =
        send(
            "POST",
            "/stores/" + storeId + "/check",
            "{\"tuple_key\":" + key("doc:1", "can_view", "user:anne") + ",\"explain\":true}");
    assertThat(check.statusCode()).isEqualTo(200);
    JsonNode body = json(check);
    assertThat(body.get("allowed").asBoolean()).isTrue();
    assertThat(body.get("resolution").asText()).isNotBlank();
    HttpResponse<String> plain =
        send(
            "POST",
            "/stores/" + storeId + "/check",
            checkBody("doc:1", "can_view", "user:anne", ""));
    assertThat(json(plain).path("resolution").asText()).isEmpty();
  }

  @Test
  void expand_countsContextualTuples_andWritesNothing() throws Exception {
    send("POST", "/stores/" + storeId + "/write", writeBody("doc:1", "owner", "user:anne"));
    HttpResponse<String> expand =
        send(
            "POST",
            "/stores/" + storeId + "/expand",
            "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"owner\"},"
                + "\"contextual_tuples\":{\"tuple_keys\":["
                + key("doc:1", "owner", "user:bob")
                + "]}}");
    assertThat(expand.statusCode()).as(expand.body()).isEqualTo(200);
    JsonNode users = json(expand).at("/tree/root/leaf/users/users");
    assertThat(users.toString()).isEqualTo("[\"user:anne\",\"user:bob\"]");
    HttpResponse<String> plain =
        send(
            "POST",
            "/stores/" + storeId + "/expand",
            "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"owner\"}}");
    assertThat(json(plain).at("/tree/root/leaf/users/users").toString())
        .isEqualTo("[\"user:anne\"]");
  }

  // ------------------------------------------------------------------ lists

  @Test
  void listObjects_pagesWithContinuationToken() throws Exception {
    Set<String> expected = new HashSet<>();
    ObjectNode body = JSON.createObjectNode();
    ArrayNode keys = body.putObject("writes").putArray("tuple_keys");
    for (int i = 0; i < 7; i++) {
      keys.addObject().put("object", "doc:d" + i).put("relation", "owner").put("user", "user:anne");
      expected.add("doc:d" + i);
    }
    keys.addObject().put("object", "doc:other").put("relation", "owner").put("user", "user:bob");
    assertThat(send("POST", "/stores/" + storeId + "/write", body.toString()).statusCode())
        .isEqualTo(200);
    List<String> seen = new ArrayList<>();
    String token = "";
    int pages = 0;
    do {
      HttpResponse<String> response =
          send(
              "POST",
              "/stores/" + storeId + "/list-objects",
              "{\"type\":\"doc\",\"relation\":\"viewer\",\"user\":\"user:anne\",\"page_size\":3"
                  + (token.isEmpty() ? "" : ",\"continuation_token\":\"" + token + "\"")
                  + "}");
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      JsonNode page = json(response);
      assertThat(page.get("objects").size()).isLessThanOrEqualTo(3);
      page.get("objects").forEach(o -> seen.add(o.asText()));
      token = page.get("continuation_token").asText();
      pages++;
    } while (!token.isEmpty() && pages < 10);
    assertThat(pages).isEqualTo(3);
    assertThat(seen).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(expected);
    HttpResponse<String> badToken =
        send(
            "POST",
            "/stores/" + storeId + "/list-objects",
            "{\"type\":\"doc\",\"relation\":\"viewer\",\"user\":\"user:anne\","
                + "\"continuation_token\":\"!!garbage!!\"}");
    assertThat(badToken.statusCode()).isEqualTo(400);
    assertThat(json(badToken).get("code").asText()).isEqualTo("invalid_continuation_token");
  }

  @Test
  void streamedListObjects_returnsNdjson() throws Exception {
    send("POST", "/stores/" + storeId + "/write", writeBody("doc:1", "owner", "user:anne"));
    send("POST", "/stores/" + storeId + "/write", writeBody("doc:2", "owner", "user:anne"));
    HttpResponse<String> response =
        send(
            "POST",
            "/stores/" + storeId + "/streamed-list-objects",
            "{\"type\":\"doc\",\"relation\":\"viewer\",\"user\":\"user:anne\"}");
    assertThat(response.statusCode()).isEqualTo(200);
    String[] lines = response.body().strip().split("\n");
    List<String> objects = new ArrayList<>();
    for (String line : lines) {
      JsonNode node = JSON.readTree(line);
      assertThat(node.fieldNames()).toIterable().containsExactly("result");
      objects.add(node.get("result").get("object").asText());
    }
    assertThat(objects).containsExactlyInAnyOrder("doc:1", "doc:2");
  }

  // ------------------------------------------------------------------ writes

  @Test
  void aWriteOutsideTheTypeRestrictions_isOpenFgasValidationError() throws Exception {
    // OpenFGA's write (commands/write.go) answers validateTypeRestrictions' errors with 2000.
    String path = "/stores/" + storeId + "/write";
    String[][] cases = {
      {"doc:1", "owner", "group:g", "type 'group'"},
      {"doc:1", "owner", "user:*", "the typed wildcard 'user:*'"},
      {"doc:1", "owner", "group:g#member", "'group#member'"},
    };
    for (String[] c : cases) {
      HttpResponse<String> refused = send("POST", path, writeBody(c[0], c[1], c[2]));
      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
      JsonNode error = json(refused);
      assertThat(error.get("code").asText()).isEqualTo("validation_error");
      assertThat(error.get("message").asText())
          .isEqualTo(
              "Invalid tuple '"
                  + c[0]
                  + "#"
                  + c[1]
                  + "@"
                  + c[2]
                  + "'. Reason: "
                  + c[3]
                  + " is not an allowed type restriction for 'doc#owner'");
    }
    assertThat(readAll()).isEmpty();
  }

  @Test
  void onDuplicateIgnore_makesARepeatedWriteSucceed() throws Exception {
    String path = "/stores/" + storeId + "/write";
    assertThat(send("POST", path, writeBody("doc:1", "owner", "user:anne")).statusCode())
        .isEqualTo(200);
    HttpResponse<String> again = send("POST", path, writeBody("doc:1", "owner", "user:anne"));
    assertThat(again.statusCode()).isEqualTo(400);
    assertErrorBody(again);
    String ignore =
        "{\"writes\":{\"on_duplicate\":\"ignore\",\"tuple_keys\":["
            + key("doc:1", "owner", "user:anne")
            + "]}}";
    HttpResponse<String> ignored = send("POST", path, ignore);
    assertThat(ignored.statusCode()).as(ignored.body()).isEqualTo(200);
    assertThat(readAll()).hasSize(1);
    String missing =
        "{\"deletes\":{\"on_missing\":\"ignore\",\"tuple_keys\":["
            + key("doc:9", "owner", "user:anne")
            + "]}}";
    assertThat(send("POST", path, missing).statusCode()).isEqualTo(200);
  }

  @Test
  void deleteTuplesByUser_removesAllOfThatUsersTuples() throws Exception {
    ObjectNode body = JSON.createObjectNode();
    ArrayNode keys = body.putObject("writes").putArray("tuple_keys");
    keys.addObject().put("object", "doc:1").put("relation", "owner").put("user", "user:anne");
    keys.addObject().put("object", "doc:2").put("relation", "viewer").put("user", "user:anne");
    keys.addObject().put("object", "group:g").put("relation", "member").put("user", "user:anne");
    keys.addObject().put("object", "doc:1").put("relation", "viewer").put("user", "user:bob");
    assertThat(send("POST", "/stores/" + storeId + "/write", body.toString()).statusCode())
        .isEqualTo(200);
    HttpResponse<String> delete =
        send(
            "POST",
            "/stores/" + storeId + "/delete-tuples",
            "{\"tuple_key\":{\"user\":\"user:anne\"}}");
    assertThat(delete.statusCode()).as(delete.body()).isEqualTo(200);
    assertThat(json(delete).get("deleted").asInt()).isEqualTo(3);
    assertThat(json(delete).get("consistency_token").asText()).isNotEmpty();
    List<JsonNode> left = readAll();
    assertThat(left).hasSize(1);
    assertThat(left.get(0).get("user").asText()).isEqualTo("user:bob");
    assertThat(check("doc:1", "viewer", "user:anne", "")).isFalse();
    assertThat(check("doc:1", "viewer", "user:bob", "")).isTrue();
  }

  @Test
  void deletes_areNotCheckedAgainstTheModel() throws Exception {
    String path = "/stores/" + storeId + "/write";
    // A tuple a relation admits only with a condition can be deleted by its key alone.
    HttpResponse<String> conditional =
        send(
            "POST",
            path,
            "{\"writes\":{\"tuple_keys\":[{\"object\":\"secret:s\",\"relation\":\"reader\","
                + "\"user\":\"user:anne\",\"condition\":{\"name\":\"level_ok\","
                + "\"context\":{\"required\":1}}}]}}");
    assertThat(conditional.statusCode()).as(conditional.body()).isEqualTo(200);
    HttpResponse<String> deleteConditional =
        send(
            "POST",
            path,
            "{\"deletes\":{\"tuple_keys\":[" + key("secret:s", "reader", "user:anne") + "]}}");
    assertThat(deleteConditional.statusCode()).as(deleteConditional.body()).isEqualTo(200);
    assertThat(readAll()).isEmpty();

    // A tuple the latest model no longer admits can still be deleted (cleanup after a change).
    assertThat(send("POST", path, writeBody("doc:1", "blocked", "user:anne")).statusCode())
        .isEqualTo(200);
    String withoutBlocked =
        DSL.replace("    define blocked: [user]\n", "").replace("viewer but not blocked", "viewer");
    assertThat(withoutBlocked).doesNotContain("blocked");
    HttpResponse<String> model =
        send(
            "POST",
            "/stores/" + storeId + "/authorization-models",
            ModelJson.write(ModelDsl.parse(withoutBlocked)));
    assertThat(model.statusCode()).as(model.body()).isEqualTo(201);
    assertThat(send("POST", path, writeBody("doc:2", "blocked", "user:anne")).statusCode())
        .isEqualTo(400);
    HttpResponse<String> deleteStale =
        send(
            "POST",
            path,
            "{\"deletes\":{\"tuple_keys\":[" + key("doc:1", "blocked", "user:anne") + "]}}");
    assertThat(deleteStale.statusCode()).as(deleteStale.body()).isEqualTo(200);
    assertThat(readAll()).isEmpty();
    // Deleting what does not exist is still an error, and a malformed key is refused.
    HttpResponse<String> missing =
        send(
            "POST",
            path,
            "{\"deletes\":{\"tuple_keys\":[" + key("doc:1", "blocked", "user:anne") + "]}}");
    assertThat(missing.statusCode()).isEqualTo(400);
    assertErrorBody(missing);
    HttpResponse<String> malformed =
        send("POST", path, "{\"deletes\":{\"tuple_keys\":[{\"object\":\"doc:1\"}]}}");
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertErrorBody(malformed);
  }

  @Test
  void read_withConsistency_needsNoModel() throws Exception {
    HttpResponse<String> created = send("POST", "/stores", "{\"name\":\"no-model\"}");
    String empty = json(created).get("id").asText();
    for (String body :
        new String[] {
          "{\"consistency\":\"HIGHER_CONSISTENCY\"}", "{\"consistency\":\"MINIMIZE_LATENCY\"}"
        }) {
      HttpResponse<String> read = send("POST", "/stores/" + empty + "/read", body);
      assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
      assertThat(json(read).get("tuples")).isEmpty();
    }
    HttpResponse<String> write =
        send("POST", "/stores/" + storeId + "/write", writeBody("doc:1", "owner", "user:anne"));
    String token = json(write).get("consistency_token").asText();
    HttpResponse<String> read =
        send(
            "POST",
            "/stores/" + storeId + "/read",
            "{\"consistency_token\":\"" + token + "\",\"consistency\":\"HIGHER_CONSISTENCY\"}");
    assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
    assertThat(json(read).get("tuples")).hasSize(1);
    HttpResponse<String> garbage =
        send("POST", "/stores/" + storeId + "/read", "{\"consistency_token\":\"c1.garbage\"}");
    assertThat(garbage.statusCode()).isEqualTo(400);
    assertThat(json(garbage).get("code").asText()).isEqualTo("invalid_consistency_token");
  }

  @Test
  void assertions_areCheckedAgainstTheModel() throws Exception {
    String path = "/stores/" + storeId + "/assertions/" + modelId;
    for (String tupleKey :
        new String[] {
          key("spaceship:1", "viewer", "user:anne"),
          key("doc:1", "pilot", "user:anne"),
          key("doc:1", "viewer", "alien:x"),
          key("doc:1", "viewer", "anne"),
          key("doc:1", "viewer", "group:g#boss"),
        }) {
      HttpResponse<String> response =
          send(
              "PUT",
              path,
              "{\"assertions\":[{\"tuple_key\":" + tupleKey + ",\"expectation\":true}]}");
      assertThat(response.statusCode()).as(tupleKey + " " + response.body()).isEqualTo(400);
      assertErrorBody(response);
    }
    HttpResponse<String> valid =
        send(
            "PUT",
            path,
            "{\"assertions\":[{\"tuple_key\":"
                + key("doc:1", "can_view", "group:g#member")
                + ",\"expectation\":false}]}");
    assertThat(valid.statusCode()).as(valid.body()).isEqualTo(204);
    HttpResponse<String> read = send("GET", path, null);
    assertThat(read.statusCode()).isEqualTo(200);
    JsonNode assertions = json(read).get("assertions");
    assertThat(assertions).hasSize(1);
    assertThat(assertions.get(0).get("tuple_key").get("user").asText()).isEqualTo("group:g#member");
    assertThat(assertions.get(0).get("expectation").asBoolean()).isFalse();
    HttpResponse<String> unknownModel =
        send("PUT", "/stores/" + storeId + "/assertions/nope", "{}");
    assertThat(unknownModel.statusCode()).isEqualTo(400);
    assertThat(json(unknownModel).get("code").asText()).isEqualTo("authorization_model_not_found");
  }

  // ------------------------------------------------------------------ helpers

  static void assertErrorBody(HttpResponse<String> response) throws IOException {
    JsonNode body = json(response);
    assertThat(body.isObject()).as(response.body()).isTrue();
    assertThat(body.get("code")).as(response.body()).isNotNull();
    assertThat(body.get("code").isTextual()).isTrue();
    assertThat(body.get("message")).as(response.body()).isNotNull();
    assertThat(response.body())
        .doesNotContain("Exception")
        .doesNotContain("at dev.")
        .doesNotContain("at com.")
        .doesNotContain("at io.");
  }

  boolean check(String object, String relation, String user, String extra) throws Exception {
    HttpResponse<String> response =
        send("POST", "/stores/" + storeId + "/check", checkBody(object, relation, user, extra));
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return json(response).get("allowed").asBoolean();
  }

  List<JsonNode> readAll() throws Exception {
    List<JsonNode> out = new ArrayList<>();
    String token = "";
    do {
      HttpResponse<String> response =
          send(
              "POST",
              "/stores/" + storeId + "/read",
              token.isEmpty() ? "{}" : "{\"continuation_token\":\"" + token + "\"}");
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      JsonNode body = json(response);
      body.get("tuples").forEach(t -> out.add(t.get("key")));
      token = body.get("continuation_token").asText();
    } while (!token.isEmpty());
    return out;
  }

  static String key(String object, String relation, String user) {
    ObjectNode node = JSON.createObjectNode();
    if (!object.isEmpty()) {
      node.put("object", object);
    }
    if (!relation.isEmpty()) {
      node.put("relation", relation);
    }
    if (!user.isEmpty()) {
      node.put("user", user);
    }
    return node.toString();
  }

  static String writeBody(String object, String relation, String user) {
    return "{\"writes\":{\"tuple_keys\":[" + key(object, relation, user) + "]}}";
  }

  static String checkBody(String object, String relation, String user, String extra) {
    return "{\"tuple_key\":" + key(object, relation, user) + extra + "}";
  }

  static JsonNode json(HttpResponse<String> response) throws IOException {
    return JSON.readTree(response.body());
  }

  static HttpResponse<String> send(String method, String path, String body)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(base + path))
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
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
