package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.audit.AuditVerification;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The audit trail over HTTP: decisions of every query API and every change show up in {@code GET
 * /api/audit} for admins and auditors, with caller, request id and address; everyone else is
 * refused; paging, filters and the JSON-lines export work; authentication failures and refused API
 * calls are recorded too.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class AuditHttpTest {
  private static final String ADMIN = "audit-admin-token-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
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

  /** The store this run of the suite is on; JUnit sets it, and hands it to start. */
  @Parameter StoreKind kind;

  private static StoreKind.TestStore testStore;
  private static CastellanServer server;
  private static String storeId;
  private static String auditor;
  private static String reader;

  record Response(int status, JsonNode body, String text) {}

  @BeforeParameterizedClassInvocation
  static void start(StoreKind kind) throws Exception {
    testStore = kind.create();
    server =
        testStore.startServer(
            ServerHttp.loopback()
                .withBootstrapToken(ADMIN)
                // Lets a test act as a client of its own address (the first refusal of an address
                // in a minute is recorded on its own, the rest summed up).
                .withTrustedProxies(dev.castellan.server.auth.TrustedProxies.parse("127.0.0.1")));
    storeId = call(ADMIN, "POST", "/stores", "{\"name\":\"audited\"}").body().get("id").asText();
    assertThat(call(ADMIN, "POST", "/stores/" + storeId + "/authorization-models", MODEL).status())
        .isEqualTo(201);
    assertThat(
            call(ADMIN, "POST", "/stores/" + storeId + "/write", write("doc:1", "user:anne"))
                .status())
        .isEqualTo(200);
    auditor = key("{\"name\":\"auditor\",\"auditor\":true}");
    reader = key("{\"name\":\"reader\",\"store_id\":\"" + storeId + "\",\"role\":\"reader\"}");
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
  }

  private static String key(String body) throws Exception {
    Response created = call(ADMIN, "POST", "/api/keys", body);
    assertThat(created.status()).as(created.text()).isEqualTo(201);
    return created.body().get("key").asText();
  }

  private static String write(String object, String user) {
    return "{\"writes\":{\"tuple_keys\":[{\"object\":\""
        + object
        + "\",\"relation\":\"viewer\",\"user\":\""
        + user
        + "\"}]}}";
  }

  private static String check(String object, String user) {
    return "{\"tuple_key\":{\"object\":\""
        + object
        + "\",\"relation\":\"viewer\",\"user\":\""
        + user
        + "\"}}";
  }

  static Response call(String token, String method, String path, String body) throws Exception {
    return call(token, method, path, body, Map.of());
  }

  static Response call(
      String token, String method, String path, String body, Map<String, String> headers)
      throws Exception {
    HttpResponse<String> response = ServerHttp.send(server, token, method, path, body, headers);
    JsonNode json;
    try {
      json = response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
    } catch (java.io.IOException e) {
      json = JSON.createObjectNode(); // JSON lines
    }
    return new Response(response.statusCode(), json, response.body());
  }

  private static List<JsonNode> audit(String token, Map<String, String> query) throws Exception {
    Response response = call(token, "GET", "/api/audit" + query(query), null);
    assertThat(response.status()).as(response.text()).isEqualTo(200);
    List<JsonNode> out = new ArrayList<>();
    response.body().get("entries").forEach(out::add);
    return out;
  }

  private static String query(Map<String, String> query) {
    return query.isEmpty()
        ? ""
        : "?"
            + query.entrySet().stream()
                .map(
                    e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
  }

  @Test
  void aDenialThroughEveryDecisionApi_isShownToAnAdminAndAnAuditor_andAReaderIsRefused()
      throws Exception {
    String base = "/stores/" + storeId;
    Response denied =
        call(
            ADMIN,
            "POST",
            base + "/check",
            check("doc:1", "user:bob"),
            Map.of("X-Request-Id", "deny-1"));
    assertThat(denied.body().get("allowed").asBoolean()).isFalse();
    assertThat(call(ADMIN, "POST", base + "/check", check("doc:1", "user:anne")).status())
        .isEqualTo(200);
    call(
        ADMIN,
        "POST",
        base + "/batch-check",
        "{\"checks\":[{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:bob\"},\"correlation_id\":\"b1\"},"
            + "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:anne\"},\"correlation_id\":\"a1\"}]}");
    call(
        ADMIN,
        "POST",
        base + "/list-objects",
        "{\"type\":\"doc\",\"relation\":\"viewer\",\"user\":\"user:bob\"}");
    call(
        ADMIN,
        "POST",
        base + "/list-users",
        "{\"object\":{\"type\":\"doc\",\"id\":\"2\"},\"relation\":\"viewer\",\"user_filters\":[{\"type\":\"user\"}]}");

    for (String token : List.of(ADMIN, auditor)) {
      List<JsonNode> bob = audit(token, Map.of("subject", "user:bob", "outcome", "deny"));
      assertThat(bob)
          .extracting(e -> e.get("api").asText())
          .containsExactly("check", "batch-check", "list-objects");
      JsonNode first = bob.getFirst();
      assertThat(first.get("kind").asText()).isEqualTo("decision");
      assertThat(first.get("action").asText()).isEqualTo("viewer");
      assertThat(first.get("resource").asText()).isEqualTo("doc:1");
      assertThat(first.get("caller").asText()).startsWith("key:");
      assertThat(first.get("request_id").asText()).isEqualTo("deny-1");
      assertThat(first.get("client_address").asText()).isEqualTo("127.0.0.1");
      assertThat(first.get("store_id").asText()).isEqualTo(storeId);
      assertThat(first.get("revision").asLong()).isEqualTo(1);
      assertThat(first.get("hash").asText()).hasSize(64);
    }
    assertThat(audit(ADMIN, Map.of("resource", "doc:2", "outcome", "deny")))
        .extracting(e -> e.get("api").asText())
        .containsExactly("list-users");
    assertThat(audit(ADMIN, Map.of("subject", "user:anne", "outcome", "allow")))
        .extracting(e -> e.get("api").asText())
        .contains("check", "batch-check");

    Response refused = call(reader, "GET", "/api/audit", null);
    assertThat(refused.status()).isEqualTo(403);
    assertThat(refused.body().get("code").asText()).isEqualTo("forbidden");
    assertThat(call(reader, "GET", "/api/audit/export", null).status()).isEqualTo(403);
    assertThat(call(null, "GET", "/api/audit", null).status()).isEqualTo(401);
    assertThat(call(auditor, "GET", "/api/whoami", null).body().get("auditor").asBoolean())
        .isTrue();
    // An auditor reads; it does not administer.
    assertThat(call(auditor, "GET", "/api/keys", null).status()).isEqualTo(403);
  }

  @Test
  void changes_areRecordedWithWhatChanged() throws Exception {
    String store =
        call(ADMIN, "POST", "/stores", "{\"name\":\"changes\"}").body().get("id").asText();
    call(ADMIN, "POST", "/stores/" + store + "/authorization-models", MODEL);
    call(ADMIN, "POST", "/stores/" + store + "/write", write("doc:9", "user:zoe"));
    call(
        ADMIN,
        "POST",
        "/stores/" + store + "/write",
        "{\"deletes\":{\"tuple_keys\":[{\"object\":\"doc:9\",\"relation\":\"viewer\",\"user\":\"user:zoe\"}]}}");
    call(
        ADMIN,
        "POST",
        "/api/stores/" + store + "/access",
        "{\"subject\":\"jwt:zed\",\"role\":\"writer\"}");

    List<JsonNode> zoe = audit(auditor, Map.of("subject", "user:zoe", "outcome", "ok"));
    assertThat(zoe).extracting(e -> e.get("api").asText()).containsExactly("write", "delete");
    assertThat(zoe.getFirst().get("kind").asText()).isEqualTo("change");
    assertThat(zoe.getFirst().get("resource").asText()).isEqualTo("doc:9");
    assertThat(zoe.get(1).get("revision").asLong()).isEqualTo(2);

    // The grant named an alias; the audit names the subject it resolved to (ADR 0023).
    String zed =
        "user:"
            + call(ADMIN, "GET", "/api/users?user_name=zed", null)
                .body()
                .get("users")
                .get(0)
                .get("id")
                .asText();
    // The alias named nobody: the user it provisioned has its own creation entry first.
    List<JsonNode> grants = audit(auditor, Map.of("subject", zed));
    assertThat(grants)
        .extracting(e -> e.get("api").asText())
        .containsExactly("directory-user-create", "access-grant");
    assertThat(grants.getLast().get("action").asText()).isEqualTo("writer");
    assertThat(grants.getLast().get("resource").asText()).isEqualTo("store:" + store);

    assertThat(audit(auditor, Map.of("resource", "store:" + store, "action", "create")))
        .extracting(e -> e.get("api").asText())
        .containsExactly("store-create");
    assertThat(audit(auditor, Map.of("action", "auditor")))
        .extracting(e -> e.get("api").asText())
        .containsExactly("access-grant");
  }

  @Test
  void failedAuthentication_andRefusedCalls_areRecordedDenials() throws Exception {
    assertThat(
            call(
                    "cst_nope_nothing",
                    "GET",
                    "/stores",
                    null,
                    Map.of("X-Request-Id", "bad-key-1", "X-Forwarded-For", "192.0.2.55"))
                .status())
        .isEqualTo(401);
    List<JsonNode> failures = audit(ADMIN, Map.of("action", "authenticate"));
    JsonNode failure =
        failures.stream()
            .filter(e -> e.get("request_id").asText().equals("bad-key-1"))
            .findFirst()
            .orElseThrow();
    assertThat(failure.get("api").asText()).isEqualTo("auth-failure");
    assertThat(failure.get("outcome").asText()).isEqualTo("deny");
    assertThat(failure.get("client_address").asText()).isEqualTo("192.0.2.55");
    assertThat(failure.get("reason").asText()).contains("not valid").doesNotContain("nothing");
    assertThat(failure.has("count")).as("an entry for one event carries no count").isFalse();

    assertThat(
            call(reader, "POST", "/stores/" + storeId + "/write", write("doc:5", "user:x"))
                .status())
        .isEqualTo(403);
    // An API key's audit actor is its principal id (key:<id>), beside its subject.
    String readerId = call(reader, "GET", "/api/whoami", null).body().get("principal").asText();
    List<JsonNode> refused = audit(ADMIN, Map.of("subject", readerId, "outcome", "deny"));
    assertThat(refused).isNotEmpty();
    assertThat(refused.getLast().get("api").asText()).isEqualTo("api-access");
    assertThat(refused.getLast().get("resource").asText())
        .isEqualTo("/stores/" + storeId + "/write");
  }

  @Test
  void pages_followTheContinuationToken_andBadFiltersAreRefused() throws Exception {
    for (int i = 0; i < 5; i++) {
      call(ADMIN, "POST", "/stores/" + storeId + "/check", check("doc:p", "user:pager"));
    }
    List<Long> seqs = new ArrayList<>();
    String token = "";
    int pages = 0;
    do {
      Map<String, String> query =
          new java.util.HashMap<>(Map.of("subject", "user:pager", "limit", "2"));
      if (!token.isEmpty()) {
        query.put("continuation_token", token);
      }
      Response page = call(ADMIN, "GET", "/api/audit" + query(query), null);
      page.body().get("entries").forEach(e -> seqs.add(e.get("seq").asLong()));
      token = page.body().get("continuation_token").asText();
      pages++;
    } while (!token.isEmpty());
    assertThat(seqs).hasSize(5).isSorted().doesNotHaveDuplicates();
    assertThat(pages).isEqualTo(3);

    assertThat(audit(ADMIN, Map.of("subject", "user:pager", "since", "2999-01-01T00:00:00Z")))
        .isEmpty();
    assertThat(audit(ADMIN, Map.of("subject", "user:pager", "until", "2999-01-01T00:00:00Z")))
        .hasSize(5);
    assertThat(call(ADMIN, "GET", "/api/audit?outcome=maybe", null).status()).isEqualTo(400);
    assertThat(call(ADMIN, "GET", "/api/audit?limit=1001", null).status()).isEqualTo(400);
    assertThat(call(ADMIN, "GET", "/api/audit?since=yesterday", null).status()).isEqualTo(400);
    assertThat(call(ADMIN, "GET", "/api/audit?continuation_token=zzz", null).status())
        .isEqualTo(400);
  }

  @Test
  void aSubjectWithALoneSurrogate_isRefusedAtTheBody_andTheTrailGoesOn() throws Exception {
    // JSON lets a request carry half a UTF-16 pair; hashing such an entry once threw, and the
    // writer retried it for ever while the trail stood still. Such a body is now refused before
    // any decision (UTF-8 cannot hold it); AuditEntry still replaces one with U+FFFD.
    Response refused =
        call(ADMIN, "POST", "/stores/" + storeId + "/check", check("doc:1", "user:\\ud800half"));
    assertThat(refused.status()).isEqualTo(400);
    call(ADMIN, "POST", "/stores/" + storeId + "/check", check("doc:1", "user:after-half"));
    assertThat(audit(auditor, Map.of("subject", "user:after-half"))).hasSize(1);
    assertThat(AuditVerification.of(server.audit().records()).intact()).isTrue();
  }

  @Test
  void theExport_isJsonLines_ofTheWholeVerifiedChain() throws Exception {
    call(ADMIN, "POST", "/stores/" + storeId + "/check", check("doc:1", "user:exporter"));
    Response export = call(auditor, "GET", "/api/audit/export", null);
    assertThat(export.status()).isEqualTo(200);
    List<JsonNode> lines = new ArrayList<>();
    for (String line : export.text().split("\n")) {
      lines.add(JSON.readTree(line));
    }
    assertThat(lines).extracting(l -> l.get("seq").asLong()).isSorted();
    assertThat(lines.getFirst().get("seq").asLong()).isEqualTo(1);
    for (int i = 1; i < lines.size(); i++) {
      assertThat(lines.get(i).get("previous_hash")).isEqualTo(lines.get(i - 1).get("hash"));
    }
    assertThat(lines).anyMatch(l -> l.get("subject").asText().equals("user:exporter"));
    Response jsonl = call(auditor, "GET", "/api/audit?format=jsonl&subject=user:exporter", null);
    assertThat(jsonl.text().lines()).hasSize(1);
    assertThat(AuditVerification.of(server.audit().records()).intact()).isTrue();
  }
}
