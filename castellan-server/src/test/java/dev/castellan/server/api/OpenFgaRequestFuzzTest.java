package dev.castellan.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.store.MemoryStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * Fuzz target for request bodies: what the OpenFGA API reads from a body ({@link Body}, tuples,
 * contextual tuples, condition contexts, pages, consistency) and what the engine then does with it,
 * conditions included. An input is {@code api\nbody}: the first line names the API (check,
 * batch-check, write, list-objects, streamed-list-objects, list-users, expand, read, assertions,
 * import; anything else picks one by its hash), the rest is the body, sent over HTTP to a server in
 * this JVM as a global admin. {@code {{model}}} in the body stands for the model's id.
 *
 * <p>Every answer is a success or a 4xx with OpenFGA's {@code {"code","message"}} body (for
 * streamed-list-objects its stream error line, {@code {"error":{"code","message","details"}}}),
 * never a 5xx, and never a message showing Castellan's or the JDK's classes; every request is
 * answered within {@link #TIME_LIMIT}. The model has a condition of every parameter type, and the
 * tuples use them, so that context values reach the conversions.
 *
 * <p>The build fuzzes this in its own JVM ({@code fuzz-request-bodies} in this module's POM);
 * without {@code JAZZER_FUZZ} it replays the inputs under {@code
 * OpenFgaRequestFuzzTestInputs/request}. Writes and imports go to a store of their own, so checks
 * and lists see the same tuples whatever ran before them.
 */
class OpenFgaRequestFuzzTest {

  /**
   * Wall time one request may take: the server's own deadlines are 1 s (check) and 3 s (lists), so
   * only work outside any budget (reading, converting) or a stuck request reaches it.
   */
  static final Duration TIME_LIMIT = Duration.ofSeconds(8);

  private static final String TOKEN = "fuzz-token-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();

  static final String MODEL =
      """
      model
        schema 1.1
      type user
      type group
        relations
          define member: [user, user with in_range, group#member]
      type folder
        relations
          define viewer: [user, user:*, user:* with on_time, group#member]
      type doc
        relations
          define parent: [folder]
          define owner: [user with small]
          define editor: [user with near, user with rich]
          define blocked: [user]
          define viewer: [user, group#member] or owner or editor or viewer from parent
          define can_view: viewer but not blocked
          define can_edit: editor and viewer
      condition small(x: uint) {
        x < 10u
      }
      condition in_range(n: int, lo: int, hi: int) {
        n >= lo && n <= hi
      }
      condition near(d: double, ratio: double) {
        d * ratio < 100.0
      }
      condition on_time(now: timestamp, start: timestamp, ttl: duration) {
        now < start + ttl
      }
      condition rich(tags: list<string>, limits: map<uint>, addr: ipaddress, flag: bool, name: string) {
        flag && name in tags && limits[name] > 1u && addr.in_cidr("10.0.0.0/8")
      }
      """;

  private static final List<String> TUPLES =
      List.of(
          tuple("doc:1", "owner", "user:a", "small", "{}"),
          tuple("doc:1", "owner", "user:b", "small", "{\"x\":3}"),
          tuple("doc:1", "parent", "folder:f", "", ""),
          tuple("folder:f", "viewer", "user:*", "on_time", "{\"start\":\"2026-01-01T00:00:00Z\"}"),
          tuple("group:g", "member", "user:c", "in_range", "{\"lo\":1,\"hi\":5}"),
          tuple("group:h", "member", "group:g#member", "", ""),
          tuple("doc:2", "viewer", "group:h#member", "", ""),
          tuple("doc:2", "editor", "user:d", "near", "{\"ratio\":0.5}"),
          tuple(
              "doc:3",
              "editor",
              "user:e",
              "rich",
              "{\"tags\":[\"a\",\"b\"],\"limits\":{\"a\":2},\"addr\":\"10.1.2.3\"}"),
          tuple("doc:3", "viewer", "user:e", "", ""),
          tuple("doc:3", "blocked", "user:f", "", ""));

  private enum Api {
    CHECK("check"),
    BATCH_CHECK("batch-check"),
    WRITE("write"),
    LIST_OBJECTS("list-objects"),
    STREAMED_LIST_OBJECTS("streamed-list-objects"),
    LIST_USERS("list-users"),
    EXPAND("expand"),
    READ("read"),
    ASSERTIONS("assertions"),
    IMPORT("import");

    final String path;

    Api(String path) {
      this.path = path;
    }

    boolean writes() {
      return this == WRITE || this == IMPORT || this == ASSERTIONS;
    }
  }

  /** The server and its stores, started once per JVM: the fuzzer calls the target many times. */
  private static final class Server {
    static final CastellanServer SERVER =
        CastellanServer.start(ServerHttp.loopback().withBootstrapToken(TOKEN), new MemoryStore());
    static final HttpClient CLIENT =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    static final String READS = createStore("reads");
    static final String WRITES = createStore("writes");
    static final String MODEL_ID = writeModel(READS);
    static final String WRITES_MODEL_ID = writeModel(WRITES);

    static {
      Runtime.getRuntime().addShutdownHook(new Thread(SERVER::close));
    }

    private static String createStore(String name) {
      return call("POST", "/stores", "{\"name\":\"fuzz-" + name + "\"}", 201).get("id").asText();
    }

    private static String writeModel(String storeId) {
      String id =
          call(
                  "POST",
                  "/stores/" + storeId + "/authorization-models",
                  ModelJson.write(ModelDsl.parse(MODEL)),
                  201)
              .get("authorization_model_id")
              .asText();
      call(
          "POST",
          "/stores/" + storeId + "/write",
          "{\"writes\":{\"tuple_keys\":[" + String.join(",", TUPLES) + "]}}",
          200);
      return id;
    }

    private static JsonNode call(String method, String path, String body, int status) {
      HttpResponse<String> response = send(method, path, body);
      assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
      try {
        return JSON.readTree(response.body());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  @FuzzTest(maxDuration = "40s")
  @DictionaryEntries({
    "check",
    "batch-check",
    "write",
    "list-objects",
    "list-users",
    "expand",
    "\"tuple_key\":{",
    "\"object\":\"doc:1\"",
    "\"relation\":\"viewer\"",
    "\"user\":\"user:b\"",
    "\"contextual_tuples\":{\"tuple_keys\":[",
    "\"condition\":{\"name\":\"",
    "\"context\":{",
    "\"x\":",
    "\"now\":\"2026-06-01T00:00:00Z\"",
    "\"ttl\":\"1h30m\"",
    "\"tags\":[",
    "\"limits\":{",
    "\"addr\":\"",
    "\"authorization_model_id\":\"{{model}}\"",
    "\"consistency\":\"HIGHER_CONSISTENCY\"",
    "\"page_size\":",
    "\"continuation_token\":\"",
    "\"user_filters\":[{\"type\":\"user\"}]",
    "\"checks\":[{",
    "\"correlation_id\":\"",
    "\"writes\":{\"tuple_keys\":[",
    "\"deletes\":{\"tuple_keys\":[",
    "\"expires_at\":\"",
    "e99999999",
    "E-99999999",
    "1e99999999",
    "e-400",
    "18446744073709551616",
    "\\ud800"
  })
  void request(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    int newline = text.indexOf('\n');
    String name = newline < 0 ? "" : text.substring(0, newline);
    String body = (newline < 0 ? text : text.substring(newline + 1)).replace("{{model}}", model());
    Api api = api(name);
    String store = api.writes() ? Server.WRITES : Server.READS;
    String path =
        "/stores/"
            + store
            + "/"
            + api.path
            + (api == Api.ASSERTIONS ? "/" + Server.WRITES_MODEL_ID : "");

    long start = System.nanoTime();
    HttpResponse<String> response = send(api == Api.ASSERTIONS ? "PUT" : "POST", path, body);
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    int status = response.statusCode();
    String answer = response.body();
    assertThat(took).as("%s took %s", api, took).isLessThan(TIME_LIMIT);
    assertThat(status).as("%s answered %s", api, answer).isBetween(200, 499).isNotIn(401, 403);
    if (status >= 400) {
      JsonNode error = read(answer);
      if (api == Api.STREAMED_LIST_OBJECTS) {
        // OpenFGA's gateway shape for a stream refused before it starts: the gRPC code.
        error = error.path("error");
        assertThat(error.path("code").isInt()).as(answer).isTrue();
        assertThat(error.path("details").isArray()).as(answer).isTrue();
      } else {
        assertThat(error.path("code").isTextual()).as(answer).isTrue();
      }
      assertThat(error.path("message").isTextual()).as(answer).isTrue();
      for (String internal : List.of("dev.castellan.", "java.", "com.fasterxml.", "\tat ")) {
        if (!body.contains(internal)) {
          assertThat(error.get("message").asText()).as(answer).doesNotContain(internal);
        }
      }
    } else if (api == Api.STREAMED_LIST_OBJECTS) {
      answer.lines().forEach(OpenFgaRequestFuzzTest::read);
    } else if (api != Api.ASSERTIONS) {
      read(answer);
    }
  }

  private static Api api(String name) {
    for (Api api : Api.values()) {
      if (api.path.equals(name)) {
        return api;
      }
    }
    return Api.values()[Math.floorMod(name.hashCode(), Api.values().length)];
  }

  private static String model() {
    return Server.MODEL_ID;
  }

  private static JsonNode read(String json) {
    try {
      return JSON.readTree(json);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + json, e);
    }
  }

  private static HttpResponse<String> send(String method, String path, String body) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + Server.SERVER.port() + path))
            .timeout(TIME_LIMIT.multipliedBy(2))
            .header("Authorization", "Bearer " + TOKEN)
            .header("Content-Type", "application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body))
            .build();
    try {
      return Server.CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String tuple(
      String object, String relation, String user, String condition, String context) {
    return "{\"object\":\""
        + object
        + "\",\"relation\":\""
        + relation
        + "\",\"user\":\""
        + user
        + "\""
        + (condition.isEmpty()
            ? ""
            : ",\"condition\":{\"name\":\"" + condition + "\",\"context\":" + context + "}")
        + "}";
  }
}
