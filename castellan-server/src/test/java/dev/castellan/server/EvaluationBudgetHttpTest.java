package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.engine.Pathological;
import dev.castellan.engine.Tuple;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.store.MemoryStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 12 over real HTTP: "no work budget or deadline on a check" and "{@code explain: true} is
 * unbounded". A legal model of unions 16-24 levels deep, a writer's 130-tuple parent graph and a
 * reader's 94 contextual tuples each made single checks run for seconds (the ladder for minutes);
 * an explained check answered megabytes. Every test here ran on for minutes or answered far more
 * than the cap before the budgets.
 */
@Timeout(120)
class EvaluationBudgetHttpTest {
  static final String TOKEN = "budget-test-token-0123456789abcdef";
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** Defaults: 1 s for a check, 3 s for the rest, 1,000,000 steps, 256 KiB of explanation. */
  static final Server STANDARD = new Server(EvaluationLimits.DEFAULT);

  /** A 200 ms check deadline and no step budget: for what time alone stops. */
  static final Server QUICK =
      new Server(
          EvaluationLimits.DEFAULT
              .withCheckTimeout(Duration.ofMillis(200))
              .withMaxSteps(Long.MAX_VALUE));

  /** The smallest step budget: lists are cut after a few hundred results. */
  static final Server SMALL = new Server(EvaluationLimits.DEFAULT.withMaxSteps(1_000));

  @AfterAll
  static void stop() {
    STANDARD.close();
    QUICK.close();
    SMALL.close();
  }

  // ------------------------------------------------------------------ checks

  @Test
  void check_onAUnionLadder24LevelsDeep_answersResolutionTooComplex_andIsCountedAndAudited()
      throws Exception {
    String store = STANDARD.store(Pathological.unionLadder(24));
    STANDARD.write(store, List.of(Tuple.of("doc:1", "r0", "user:bob")));
    double before = STANDARD.stopped("check", "steps");

    Answer answer = STANDARD.send("POST", "/stores/" + store + "/check", check("doc:1", "r23"));

    assertThat(answer.status()).as(answer.text()).isEqualTo(400);
    assertThat(answer.json().get("code").asText())
        .isEqualTo("authorization_model_resolution_too_complex");
    assertThat(STANDARD.stopped("check", "steps")).isEqualTo(before + 1);
    assertThat(STANDARD.send("GET", "/metrics", null).text())
        .contains("castellan_evaluations_stopped_total{api=\"check\",limit=\"steps\"}");
    JsonNode entries =
        STANDARD
            .send("GET", "/api/audit?outcome=error&resource=doc:1&subject=user:anne", null)
            .json()
            .get("entries");
    assertThat(entries).isNotEmpty();
    JsonNode entry = entries.get(entries.size() - 1);
    assertThat(entry.get("api").asText()).isEqualTo("check");
    assertThat(entry.get("store_id").asText()).isEqualTo(store);
    assertThat(entry.get("reason").asText())
        .startsWith("authorization_model_resolution_too_complex: steps limit reached after");
    // An ordinary check on the same model still answers.
    Answer bob =
        STANDARD.send(
            "POST", "/stores/" + store + "/check", check("doc:1", "r23").replace("anne", "bob"));
    assertThat(bob.json().get("allowed").asBoolean()).as(bob.text()).isTrue();
  }

  @Test
  void check_onAWritersParentGraphOf130Tuples_isStoppedByItsBudget() throws Exception {
    String store = STANDARD.store(Pathological.FOLDERS);
    String writer = STANDARD.key(store, "writer");
    STANDARD.write(writer, store, Pathological.parentLadder(130));

    long started = System.nanoTime();
    Answer answer =
        STANDARD.send(
            "POST", "/stores/" + store + "/check", check(Pathological.top(130), "viewer"), writer);

    assertStopped(answer);
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void check_byAReaderWith94ContextualTuples_isStoppedByItsBudget() throws Exception {
    String store = STANDARD.store(Pathological.FOLDERS);
    String reader = STANDARD.key(store, "reader");
    List<Tuple> tuples = new ArrayList<>(Pathological.parentLadder(92));
    tuples.add(Tuple.of("folder:x", "parent", "folder:y"));
    tuples.add(Tuple.of("folder:y", "parent", "folder:z"));

    Answer answer =
        STANDARD.send(
            "POST",
            "/stores/" + store + "/check",
            withContextualTuples(check(Pathological.top(92), "viewer"), tuples),
            reader);

    assertStopped(answer);
  }

  private static void assertStopped(Answer answer) throws Exception {
    // Steps or the deadline, whichever comes first on this machine; never an answer.
    assertThat(answer.status()).as(answer.text()).isIn(400, 500);
    assertThat(answer.json().get("code").asText())
        .isIn("authorization_model_resolution_too_complex", "deadline_exceeded");
  }

  @Test
  void check_pastItsDeadline_answersOpenFgasDeadlineExceeded() throws Exception {
    String store = QUICK.store(Pathological.FOLDERS);
    QUICK.write(store, Pathological.parentLadder(130));
    double before = QUICK.stopped("check", "deadline");

    long started = System.nanoTime();
    Answer answer =
        QUICK.send("POST", "/stores/" + store + "/check", check(Pathological.top(130), "viewer"));
    Duration took = Duration.ofNanos(System.nanoTime() - started);

    // OpenFGA: InternalErrorCode deadline_exceeded (4004), served as 500 by its HTTP gateway.
    assertThat(answer.status()).as(answer.text()).isEqualTo(500);
    assertThat(answer.json().get("code").asText()).isEqualTo("deadline_exceeded");
    assertThat(answer.json().get("message").asText())
        .startsWith("Request Deadline Exceeded")
        .contains("200 ms");
    assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(200));
    assertThat(QUICK.stopped("check", "deadline")).isEqualTo(before + 1);
  }

  // ------------------------------------------------------------------ batch-check

  @Test
  void batchCheck_withOnePathologicalItem_failsThatItemOnly() throws Exception {
    String store = STANDARD.store(Pathological.unionLadder(24));
    STANDARD.write(store, List.of(Tuple.of("doc:1", "r0", "user:bob")));
    String body =
        "{\"checks\":["
            + item("slow", "doc:1", "r23", "user:anne")
            + ","
            + item("ordinary", "doc:1", "r23", "user:bob")
            + ","
            + item("denied", "doc:1", "r0", "user:anne")
            + "]}";

    Answer answer = STANDARD.send("POST", "/stores/" + store + "/batch-check", body);

    assertThat(answer.status()).as(answer.text()).isEqualTo(200);
    JsonNode result = answer.json().get("result");
    // OpenFGA's per-item CheckError: input_error for resolution too complex.
    assertThat(result.get("slow").get("error").get("input_error").asText())
        .isEqualTo("authorization_model_resolution_too_complex");
    assertThat(result.get("slow").has("allowed")).isFalse();
    assertThat(result.get("ordinary").get("allowed").asBoolean()).isTrue();
    assertThat(result.get("denied").get("allowed").asBoolean()).isFalse();
  }

  @Test
  void batchCheck_withAnItemPastItsDeadline_failsThatItemWithDeadlineExceeded() throws Exception {
    String store = QUICK.store(Pathological.FOLDERS);
    List<Tuple> tuples = new ArrayList<>(Pathological.parentLadder(130));
    tuples.add(Tuple.of("folder:0_0", "viewer", "user:bob"));
    QUICK.write(store, tuples);
    String body =
        "{\"checks\":["
            + item("slow", Pathological.top(130), "viewer", "user:anne")
            + ","
            + item("ordinary", "folder:0_0", "viewer", "user:bob")
            + "]}";

    Answer answer = QUICK.send("POST", "/stores/" + store + "/batch-check", body);

    JsonNode result = answer.json().get("result");
    assertThat(result.get("slow").get("error").get("internal_error").asText())
        .as(answer.text())
        .isEqualTo("deadline_exceeded");
    assertThat(result.get("slow").get("error").get("message").asText())
        .startsWith("Request Deadline Exceeded");
    assertThat(result.get("ordinary").get("allowed").asBoolean()).isTrue();
  }

  // ------------------------------------------------------------------ explain

  @Test
  void explain_onAGraphWithAHugeTrace_staysUnderTheCap_withAVisibleMarker() throws Exception {
    String store = STANDARD.store(Pathological.unionLadder(16));
    STANDARD.write(store, List.of(Tuple.of("doc:1", "r0", "user:bob")));
    String body = check("doc:1", "r15").replace("}}", "},\"explain\":true}");

    Answer answer = STANDARD.send("POST", "/stores/" + store + "/check", body);

    assertThat(answer.status()).as(answer.text()).isEqualTo(200);
    ObjectNode json = (ObjectNode) answer.json();
    assertThat(json.get("allowed").asBoolean()).isFalse();
    ObjectNode explanation = JSON.createObjectNode();
    explanation.set("resolution", json.get("resolution"));
    explanation.set("explanation", json.get("explanation"));
    assertThat(JSON.writeValueAsBytes(explanation).length)
        .isLessThanOrEqualTo(256 * 1024)
        .isGreaterThan(128 * 1024);
    assertThat(json.get("explanation_omitted_steps").asLong()).isGreaterThan(10_000);
    assertThat(answer.text()).contains("more steps not shown").contains("\"outcome\":\"omitted\"");
    assertThat(json.get("resolution").asText()).contains("-> omitted");
  }

  @Test
  void explain_byAReaderWith62ContextualTuples_isBoundedToo() throws Exception {
    // The reader got 89 MB for this; it is now cut by the cap or stopped by the budget.
    String store = STANDARD.store(Pathological.FOLDERS);
    String reader = STANDARD.key(store, "reader");
    List<Tuple> tuples = new ArrayList<>(Pathological.parentLadder(60));
    tuples.add(Tuple.of("folder:x", "parent", "folder:y"));
    tuples.add(Tuple.of("folder:y", "parent", "folder:z"));
    String body =
        withContextualTuples(check(Pathological.top(60), "viewer"), tuples)
            .replace("\"contextual_tuples\"", "\"explain\":true,\"contextual_tuples\"");

    Answer answer = STANDARD.send("POST", "/stores/" + store + "/check", body, reader);

    assertThat(answer.text().length()).isLessThan(300 * 1024);
    assertThat(answer.status()).as(answer.text()).isIn(200, 400, 500);
  }

  // ------------------------------------------------------------------ lists

  private static List<Tuple> folderTree(int children) {
    List<Tuple> tuples = new ArrayList<>();
    tuples.add(Tuple.of("folder:root", "viewer", "user:anne"));
    for (int i = 0; i < children; i++) {
      tuples.add(Tuple.of("folder:c" + i, "parent", "folder:root"));
    }
    return tuples;
  }

  @Test
  void listObjects_cutByItsBudget_returnsWhatItFound_andATokenThatGoesOnWhereItStopped()
      throws Exception {
    String store = SMALL.store(Pathological.FOLDERS);
    SMALL.write(store, folderTree(600));
    Set<String> expected = new HashSet<>();
    expected.add("folder:root");
    for (int i = 0; i < 600; i++) {
      expected.add("folder:c" + i);
    }
    String request = "{\"type\":\"folder\",\"relation\":\"viewer\",\"user\":\"user:anne\"";

    List<String> all = new ArrayList<>();
    String token = "";
    int pages = 0;
    boolean resumed = false;
    do {
      String body = request + ",\"page_size\":100,\"continuation_token\":\"" + token + "\"}";
      Answer page = SMALL.send("POST", "/stores/" + store + "/list-objects", body);
      assertThat(page.status()).as(page.text()).isEqualTo(200);
      page.json().get("objects").forEach(o -> all.add(o.asText()));
      token = page.json().get("continuation_token").asText();
      if (!token.isEmpty()) {
        String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        resumed |= raw.startsWith("p1:");
        if (pages == 1) {
          // A retry of a page answers the same page; another request cannot use the token.
          Answer again = SMALL.send("POST", "/stores/" + store + "/list-objects", body);
          assertThat(again.json().get("objects")).isEqualTo(page.json().get("objects"));
          Answer other =
              SMALL.send(
                  "POST", "/stores/" + store + "/list-objects", body.replace("viewer", "parent"));
          assertThat(other.json().get("code").asText()).isEqualTo("invalid_continuation_token");
        }
      }
      pages++;
    } while (!token.isEmpty() && pages < 100);

    assertThat(resumed).as("the walk was cut and resumed").isTrue();
    assertThat(all).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(expected);
    assertThat(SMALL.stopped("list-objects", "steps")).isPositive();
  }

  @Test
  void listUsers_cutByItsBudget_goesOnWithItsToken() throws Exception {
    String store = SMALL.store(Pathological.FOLDERS);
    List<Tuple> tuples = new ArrayList<>();
    for (int i = 0; i < 700; i++) {
      tuples.add(Tuple.of("folder:root", "viewer", "user:u" + i));
    }
    SMALL.write(store, tuples);
    String request =
        "{\"object\":{\"type\":\"folder\",\"id\":\"root\"},\"relation\":\"viewer\","
            + "\"user_filters\":[{\"type\":\"user\"}]";

    Set<String> all = new HashSet<>();
    String token = "";
    int pages = 0;
    do {
      Answer page =
          SMALL.send(
              "POST",
              "/stores/" + store + "/list-users",
              request + ",\"continuation_token\":\"" + token + "\"}");
      assertThat(page.status()).as(page.text()).isEqualTo(200);
      for (JsonNode user : page.json().get("users")) {
        assertThat(all.add(user.get("object").get("id").asText())).isTrue();
      }
      token = page.json().get("continuation_token").asText();
      pages++;
    } while (!token.isEmpty() && pages < 100);

    assertThat(pages).isGreaterThan(1);
    assertThat(all).hasSize(700);
  }

  @Test
  void streamedListObjects_cutByItsBudget_endsWithAnErrorLine_notSilently() throws Exception {
    String store = SMALL.store(Pathological.FOLDERS);
    SMALL.write(store, folderTree(600));

    Answer answer =
        SMALL.send(
            "POST",
            "/stores/" + store + "/streamed-list-objects",
            "{\"type\":\"folder\",\"relation\":\"viewer\",\"user\":\"user:anne\"}");

    assertThat(answer.status()).isEqualTo(200);
    String[] lines = answer.text().split("\n");
    assertThat(lines.length).isGreaterThan(2);
    JsonNode last = JSON.readTree(lines[lines.length - 1]);
    // OpenFGA's gateway writes the gRPC code of resolution_too_complex (2002): invalid_argument.
    assertThat(last.get("error").get("code").asInt()).isEqualTo(3);
    assertThat(last.get("error").get("status").asText())
        .isEqualTo("authorization_model_resolution_too_complex");
    assertThat(last.get("error").get("details").isArray()).isTrue();
    assertThat(last.get("error").get("message").asText()).contains("partial");
    assertThat(JSON.readTree(lines[0]).get("result").get("object").asText()).startsWith("folder:");
  }

  // ------------------------------------------------------------------ helpers

  private static String check(String object, String relation) {
    return "{\"tuple_key\":{\"object\":\""
        + object
        + "\",\"relation\":\""
        + relation
        + "\",\"user\":\"user:anne\"}}";
  }

  private static String item(String id, String object, String relation, String user) {
    return "{\"correlation_id\":\""
        + id
        + "\",\"tuple_key\":{\"object\":\""
        + object
        + "\",\"relation\":\""
        + relation
        + "\",\"user\":\""
        + user
        + "\"}}";
  }

  private static String withContextualTuples(String body, List<Tuple> tuples) {
    return body.substring(0, body.length() - 1)
        + ",\"contextual_tuples\":{\"tuple_keys\":"
        + tupleKeys(tuples)
        + "}}";
  }

  private static String tupleKeys(List<Tuple> tuples) {
    ArrayNode keys = JSON.createArrayNode();
    for (Tuple tuple : tuples) {
      keys.addObject()
          .put("object", tuple.key().object())
          .put("relation", tuple.key().relation())
          .put("user", tuple.key().user());
    }
    return keys.toString();
  }

  record Answer(int status, String text) {
    JsonNode json() throws Exception {
      return JSON.readTree(text);
    }
  }

  /** A server of its own, started on first use. */
  static final class Server {
    private final EvaluationLimits limits;
    private CastellanServer server;

    Server(EvaluationLimits limits) {
      this.limits = limits;
    }

    private synchronized CastellanServer server() {
      if (server == null) {
        server =
            CastellanServer.start(
                ServerHttp.loopback().withBootstrapToken(TOKEN).withEvaluation(limits),
                new MemoryStore());
      }
      return server;
    }

    synchronized void close() {
      if (server != null) {
        server.close();
      }
    }

    Answer send(String method, String path, String body) throws Exception {
      return send(method, path, body, TOKEN);
    }

    Answer send(String method, String path, String body, String token) throws Exception {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server().port() + path))
              .header("Authorization", "Bearer " + token)
              .timeout(Duration.ofSeconds(60));
      request.method(
          method,
          body == null
              ? HttpRequest.BodyPublishers.noBody()
              : HttpRequest.BodyPublishers.ofString(body));
      HttpResponse<String> response =
          HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(response.statusCode(), response.body());
    }

    /** A new store with {@code dsl} as its model. */
    String store(String dsl) throws Exception {
      Answer store = send("POST", "/stores", "{\"name\":\"budgets\"}");
      String id = store.json().get("id").asText();
      Answer model =
          send(
              "POST",
              "/stores/" + id + "/authorization-models",
              ModelJson.write(ModelDsl.parse(dsl)));
      assertThat(model.status()).as(model.text()).isEqualTo(201);
      return id;
    }

    /** A key with {@code role} (reader, writer) on {@code store}. */
    String key(String store, String role) throws Exception {
      Answer created =
          send(
              "POST",
              "/api/keys",
              "{\"name\":\""
                  + role
                  + "\",\"store_id\":\""
                  + store
                  + "\",\"role\":\""
                  + role
                  + "\"}");
      assertThat(created.status()).as(created.text()).isEqualTo(201);
      return created.json().get("key").asText();
    }

    void write(String store, List<Tuple> tuples) throws Exception {
      write(TOKEN, store, tuples);
    }

    void write(String token, String store, List<Tuple> tuples) throws Exception {
      for (int from = 0; from < tuples.size(); from += 100) {
        List<Tuple> batch = tuples.subList(from, Math.min(tuples.size(), from + 100));
        Answer written =
            send(
                "POST",
                "/stores/" + store + "/write",
                "{\"writes\":{\"tuple_keys\":" + tupleKeys(batch) + "}}",
                token);
        assertThat(written.status()).as(written.text()).isEqualTo(200);
      }
    }

    /** {@code castellan_evaluations_stopped_total} for an API and a limit. */
    double stopped(String api, String limit) {
      return server()
          .metrics()
          .registry()
          .get("castellan.evaluations.stopped")
          .tag("api", api)
          .tag("limit", limit)
          .counter()
          .count();
    }
  }
}
