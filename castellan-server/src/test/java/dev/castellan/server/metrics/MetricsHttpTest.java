package dev.castellan.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.engine.Tuple;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.TupleWrite;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} over real HTTP: counters move by exactly what the requests did, latency is
 * recorded by route template (never a raw path), the index gauges follow writes, and the endpoint
 * needs a global admin unless made public.
 */
class MetricsHttpTest {
  private static final String ADMIN = "metrics-admin-token-0123456789";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String MODEL =
      ModelJson.write(
          ModelDsl.parse(
              """
              model
                schema 1.1
              type user
              type doc
                relations
                  define viewer: [user]
              """));

  private static CastellanServer server;

  private String storeId;

  record Response(int status, String body, HttpResponse<String> raw) {
    JsonNode json() throws Exception {
      return JSON.readTree(body);
    }
  }

  @BeforeAll
  static void start() {
    server =
        CastellanServer.start(ServerHttp.loopback().withBootstrapToken(ADMIN), new MemoryStore());
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @BeforeEach
  void storeWithModelAndOneTuple() throws Exception {
    storeId = newStore(server, "metrics");
  }

  private static String newStore(CastellanServer server, String name) throws Exception {
    Response created = call(server, ADMIN, "POST", "/stores", "{\"name\":\"" + name + "\"}");
    assertThat(created.status()).isEqualTo(201);
    String id = created.json().get("id").asText();
    String path = "/stores/" + id;
    assertThat(call(server, ADMIN, "POST", path + "/authorization-models", MODEL).status())
        .isEqualTo(201);
    assertThat(
            call(server, ADMIN, "POST", path + "/write", writeBody("doc:1", "user:anne")).status())
        .isEqualTo(200);
    return id;
  }

  private static String writeBody(String object, String user) {
    return "{\"writes\":{\"tuple_keys\":[" + key(object, user) + "]}}";
  }

  private static String key(String object, String user) {
    return "{\"object\":\"" + object + "\",\"relation\":\"viewer\",\"user\":\"" + user + "\"}";
  }

  private static Response call(
      CastellanServer server, String token, String method, String path, String body)
      throws Exception {
    return callWith(server, token == null ? null : "Bearer " + token, method, path, body);
  }

  /** A request with this {@code Authorization} header, verbatim (none when null). */
  private static Response callWith(
      CastellanServer server, String authorization, String method, String path, String body)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    HttpResponse<String> response =
        HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    return new Response(response.statusCode(), response.body(), response);
  }

  private Response post(String action, String body) throws Exception {
    return call(server, ADMIN, "POST", "/stores/" + storeId + "/" + action, body);
  }

  private static Scrape scrape(CastellanServer server) throws Exception {
    Response response = call(server, ADMIN, "GET", "/metrics", null);
    assertThat(response.status()).isEqualTo(200);
    return Scrape.parse(response.body());
  }

  private static double decisions(Scrape scrape, String api, String outcome) {
    return scrape.value("castellan_decisions_total", "api", api, "outcome", outcome);
  }

  // ------------------------------------------------------------------ decisions

  @Test
  void decisions_areCountedByApiAndOutcome_exactlyOncePerAnswer() throws Exception {
    Scrape before = scrape(server);

    assertThat(post("check", "{\"tuple_key\":" + key("doc:1", "user:anne") + "}").body())
        .contains("\"allowed\":true");
    assertThat(post("check", "{\"tuple_key\":" + key("doc:1", "user:anne") + "}").status())
        .isEqualTo(200);
    assertThat(post("check", "{\"tuple_key\":" + key("doc:1", "user:bob") + "}").body())
        .contains("\"allowed\":false");
    assertThat(post("check", "{\"tuple_key\":{\"object\":\"doc:1\"}}").status()).isEqualTo(400);
    assertThat(
            call(
                    server,
                    ADMIN,
                    "POST",
                    "/stores/01JNOSUCHSTORE0000000000000/check",
                    "{\"tuple_key\":" + key("doc:1", "user:anne") + "}")
                .status())
        .isEqualTo(404);
    Response batch =
        post(
            "batch-check",
            "{\"checks\":[{\"tuple_key\":"
                + key("doc:1", "user:anne")
                + ",\"correlation_id\":\"a\"},{\"tuple_key\":"
                + key("doc:1", "user:bob")
                + ",\"correlation_id\":\"b\"},{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":"
                + "\"viewer\"},\"correlation_id\":\"c\"}]}");
    assertThat(batch.status()).isEqualTo(200);
    assertThat(batch.json().get("result").get("c").has("error")).isTrue();
    String listAnne = "{\"type\":\"doc\",\"relation\":\"viewer\",\"user\":\"user:anne\"}";
    String listBob = "{\"type\":\"doc\",\"relation\":\"viewer\",\"user\":\"user:bob\"}";
    assertThat(post("list-objects", listAnne).body()).contains("doc:1");
    assertThat(post("list-objects", listBob).body()).contains("\"objects\":[]");
    assertThat(post("streamed-list-objects", listAnne).body()).contains("doc:1");
    assertThat(
            post(
                    "list-users",
                    "{\"object\":{\"type\":\"doc\",\"id\":\"1\"},\"relation\":\"viewer\","
                        + "\"user_filters\":[{\"type\":\"user\"}]}")
                .body())
        .contains("anne");

    Scrape after = scrape(server);
    String[][] expected = {
      {"check", "allow", "2"},
      {"check", "deny", "1"},
      {"check", "error", "2"},
      {"batch-check", "allow", "1"},
      {"batch-check", "deny", "1"},
      {"batch-check", "error", "1"},
      {"list-objects", "allow", "1"},
      {"list-objects", "deny", "1"},
      {"list-objects", "error", "0"},
      {"streamed-list-objects", "allow", "1"},
      {"list-users", "allow", "1"},
      {"list-users", "deny", "0"},
      {"authorize", "allow", "0"},
    };
    for (String[] row : expected) {
      assertThat(decisions(after, row[0], row[1]) - decisions(before, row[0], row[1]))
          .as(row[0] + " " + row[1])
          .isEqualTo(Double.parseDouble(row[2]));
    }
  }

  @Test
  void requestLatency_isRecordedPerRouteTemplate_andStatusClass_neverPerRawPath() throws Exception {
    Scrape before = scrape(server);
    for (int i = 0; i < 3; i++) {
      assertThat(post("check", "{\"tuple_key\":" + key("doc:1", "user:anne") + "}").status())
          .isEqualTo(200);
    }
    assertThat(post("check", "{}").status()).isEqualTo(400);
    assertThat(call(server, ADMIN, "GET", "/no/such/" + storeId, null).status()).isEqualTo(404);

    Scrape after = scrape(server);
    String name = "castellan_http_requests_seconds_count";
    String route = "/stores/{store_id}/check";
    assertThat(
            after.value(name, "method", "POST", "route", route, "status", "2xx")
                - before.value(name, "method", "POST", "route", route, "status", "2xx"))
        .isEqualTo(3);
    assertThat(
            after.value(name, "method", "POST", "route", route, "status", "4xx")
                - before.value(name, "method", "POST", "route", route, "status", "4xx"))
        .isEqualTo(1);
    assertThat(
            after.value(name, "method", "GET", "route", "unmatched", "status", "4xx")
                - before.value(name, "method", "GET", "route", "unmatched", "status", "4xx"))
        .isEqualTo(1);
    // Histogram buckets, cumulative: every check fits under 10 s.
    assertThat(
            after.value(
                "castellan_http_requests_seconds_bucket",
                "method",
                "POST",
                "route",
                route,
                "status",
                "2xx",
                "le",
                "10.0"))
        .isEqualTo(after.value(name, "method", "POST", "route", route, "status", "2xx"));
    for (Scrape.Sample sample : after.samples()) {
      if (sample.name().startsWith("castellan_http_")) {
        assertThat(sample.labels().values()).noneMatch(value -> value.contains(storeId));
      }
    }
  }

  // ------------------------------------------------------------------ authentication failures

  @Test
  void authenticationFailures_areCountedByReason_andTheCredentialAppearsNowhere() throws Exception {
    Scrape before = scrape(server);
    String secret = "cst_AbCdEf_thisIsTheSecretPartOfAKey42";
    assertThat(callWith(server, null, "GET", "/stores", null).status()).isEqualTo(401);
    assertThat(callWith(server, "Basic YWxpY2U6c2VjcmV0", "GET", "/stores", null).status())
        .isEqualTo(401);
    assertThat(callWith(server, "Bearer " + secret, "GET", "/stores", null).status())
        .isEqualTo(401);
    assertThat(callWith(server, "Bearer " + secret, "POST", "/stores/x/check", "{}").status())
        .isEqualTo(401);
    assertThat(callWith(server, "Bearer aaa.bbb.ccc", "GET", "/stores", null).status())
        .isEqualTo(401);

    Response response = call(server, ADMIN, "GET", "/metrics", null);
    Scrape after = Scrape.parse(response.body());
    String name = "castellan_authentication_failures_total";
    String[][] expected = {{"missing", "1"}, {"malformed", "1"}, {"api_key", "2"}, {"jwt", "1"}};
    for (String[] row : expected) {
      assertThat(after.value(name, "reason", row[0]) - before.value(name, "reason", row[0]))
          .as(row[0])
          .isEqualTo(Double.parseDouble(row[1]));
    }
    assertThat(response.body()).doesNotContain("thisIsTheSecret").doesNotContain(ADMIN);
    // Refused before routing, yet counted under their routes.
    String http = "castellan_http_requests_seconds_count";
    assertThat(
            after.value(http, "method", "GET", "route", "/stores", "status", "4xx")
                - before.value(http, "method", "GET", "route", "/stores", "status", "4xx"))
        .isEqualTo(4);
    String check = "/stores/{store_id}/check";
    assertThat(
            after.value(http, "method", "POST", "route", check, "status", "4xx")
                - before.value(http, "method", "POST", "route", check, "status", "4xx"))
        .isEqualTo(1);
    // A refused caller is not a decision error.
    assertThat(decisions(after, "check", "error")).isEqualTo(decisions(before, "check", "error"));
  }

  // ------------------------------------------------------------------ who may read /metrics

  @Test
  void metrics_needsAGlobalAdmin_byDefault() throws Exception {
    Response anonymous = call(server, null, "GET", "/metrics", null);
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(anonymous.raw().headers().firstValue("WWW-Authenticate")).isPresent();

    Response created =
        call(
            server,
            ADMIN,
            "POST",
            "/api/keys",
            "{\"name\":\"reader\",\"store_id\":\"" + storeId + "\",\"role\":\"admin\"}");
    assertThat(created.status()).isEqualTo(201);
    String storeAdmin = created.json().get("key").asText();
    assertThat(call(server, storeAdmin, "GET", "/metrics", null).status()).isEqualTo(403);

    Response admin = call(server, ADMIN, "GET", "/metrics", null);
    assertThat(admin.status()).isEqualTo(200);
    assertThat(admin.raw().headers().firstValue("Content-Type").orElseThrow())
        .startsWith("text/plain; version=0.0.4");
    assertThat(admin.body()).contains("jvm_memory_used_bytes").contains("process_uptime_seconds");
  }

  @Test
  void publicMetrics_needNoCredentials_butEverythingElseStillDoes() throws Exception {
    try (CastellanServer open =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN).withMetricsPublic(true),
            new MemoryStore())) {
      Response metrics = call(open, null, "GET", "/metrics", null);
      assertThat(metrics.status()).isEqualTo(200);
      assertThat(metrics.body()).contains("castellan_decisions_total");
      assertThat(call(open, null, "GET", "/stores", null).status()).isEqualTo(401);
      assertThat(call(open, null, "GET", "/api/keys", null).status()).isEqualTo(401);
    }
  }

  // ------------------------------------------------------------------ index gauges

  @Test
  void indexGauges_followWrites_andLagCountsWhatAnotherNodeCommitted_inAggregateOnly()
      throws Exception {
    MemoryStore store = new MemoryStore();
    // The feed polls once an hour: what "another node" writes stays unapplied until woken.
    CastellanServer.Options options =
        ServerHttp.loopback()
            .withBootstrapToken(ADMIN)
            .withFeed(new IndexFeed.Options(Duration.ofHours(1), 10_000, Duration.ZERO));
    try (CastellanServer node = CastellanServer.start(options, store)) {
      Scrape started = scrape(node);
      assertThat(started.value("castellan_stores_loaded")).as("the system store").isEqualTo(1);
      double systemTuples = started.value("castellan_node_index_tuples");
      double systemBytes = started.value("castellan_index_bytes");
      assertThat(systemBytes).isPositive();
      assertThat(started.value("castellan_index_memory_budget_bytes"))
          .isEqualTo(node.runtime().loadedStores().budget());

      String id = newStore(node, "gauges");
      assertThat(
              call(node, ADMIN, "POST", "/stores/" + id + "/write", writeBody("doc:2", "user:bob"))
                  .status())
          .isEqualTo(200);
      Scrape written = scrape(node);
      assertThat(written.value("castellan_stores_loaded")).isEqualTo(2);
      assertThat(written.value("castellan_store_loads_total")).isEqualTo(2);
      assertThat(written.value("castellan_store_evictions_total")).isZero();
      assertThat(written.value("castellan_node_index_tuples")).isEqualTo(systemTuples + 2);
      assertThat(written.value("castellan_index_bytes")).isGreaterThan(systemBytes);
      assertThat(written.value("castellan_index_revision_lag_max")).isZero();
      assertThat(written.value("castellan_store_up")).isEqualTo(1);
      // Issue 14: a node may hold thousands of stores; no series is per store.
      assertThat(written.samples())
          .filteredOn(sample -> sample.name().startsWith("castellan_"))
          .allSatisfy(sample -> assertThat(sample.labels()).doesNotContainKey("store"));

      // Two revisions committed behind this node's back, as by another node on the database.
      for (String user : List.of("user:carl", "user:dora")) {
        store.write(
            id,
            new TupleWrite(List.of(Tuple.of("doc:3", "viewer", user)), List.of(), false, false));
      }
      Scrape behind = scrape(node);
      assertThat(behind.value("castellan_index_revision_lag_max")).isEqualTo(2);
      assertThat(behind.value("castellan_node_index_tuples")).isEqualTo(systemTuples + 2);

      node.runtime().afterWrite(id);
      Scrape caughtUp = scrape(node);
      assertThat(caughtUp.value("castellan_index_revision_lag_max")).isZero();
      assertThat(caughtUp.value("castellan_node_index_tuples")).isEqualTo(systemTuples + 4);

      assertThat(call(node, ADMIN, "DELETE", "/stores/" + id, null).status()).isEqualTo(204);
      assertThat(scrape(node).value("castellan_stores_loaded")).isEqualTo(1);
    }
  }

  // ------------------------------------------------------------------ registration

  @Test
  void gaugesAndCountersRegisteredByOtherParts_areScraped() throws Exception {
    AtomicInteger depth = new AtomicInteger(7);
    AtomicInteger dropped = new AtomicInteger(3);
    server.metrics().gauge("castellan.test.queue.depth", "entries waiting", depth::get);
    server.metrics().counter("castellan.test.dropped", "things dropped", dropped::get);
    Scrape first = scrape(server);
    assertThat(first.value("castellan_test_queue_depth")).isEqualTo(7);
    assertThat(first.value("castellan_test_dropped_total")).isEqualTo(3);
    depth.set(2);
    assertThat(scrape(server).value("castellan_test_queue_depth")).isEqualTo(2);
    // The server's own audit trail registers its queue the same way.
    assertThat(first.value("castellan_audit_queue_depth")).isGreaterThanOrEqualTo(0);
    assertThat(first.value("castellan_audit_dropped_allows_total")).isZero();
  }
}
