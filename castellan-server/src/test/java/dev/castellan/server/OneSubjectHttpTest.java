package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.server.auth.Subjects;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One subject per person (ADR 0023), over real HTTP on every store: a token, a SCIM record and the
 * aliases grants name resolve to {@code user:<directory id>}, which holds RBAC roles and store
 * rights alike; an API key is {@code service_account:<key id>} for both; {@code /api/authorize}
 * never creates anyone.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class OneSubjectHttpTest {
  private static final String ADMIN = "one-subject-admin-token-0123456789abcdef";
  private static final String SECRET = "one-subject-test-secret-0123456789abcdef";

  @Parameter StoreKind kind;

  private static StoreKind.TestStore testStore;
  private static CastellanServer server;
  private static String scimKey;
  private static String storeId;

  @BeforeParameterizedClassInvocation
  static void start(StoreKind kind) throws Exception {
    testStore = kind.create();
    server =
        testStore.startServer(
            ServerHttp.loopback().withBootstrapToken(ADMIN).withJwt(JwtSettings.hs256(SECRET)));
    scimKey =
        ServerHttp.json(admin("POST", "/api/keys", "{\"name\":\"okta\",\"scim\":true}"), 201)
            .get("key")
            .asText();
    storeId =
        ServerHttp.json(admin("POST", "/stores", "{\"name\":\"app\"}"), 201).get("id").asText();
    ServerHttp.json(admin("POST", "/api/roles", "{\"name\":\"Runner\"}"), 201);
    ServerHttp.json(
        admin("PUT", "/api/roles/runner/permissions", "{\"permission_ids\":[103]}"), 200);
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
  }

  @Test
  void aTokenAScimRecordAndAliases_nameOnePerson_whoseRoleAndStoreRightAreBothHonoured()
      throws Exception {
    String name = unique("hana");
    String email = name + "@example.com";
    String id =
        ServerHttp.json(
                scim(
                    "POST",
                    "/Users",
                    "{\"userName\":\""
                        + name
                        + "\",\"emails\":[{\"value\":\""
                        + email
                        + "\",\"primary\":true}]}"),
                201)
            .get("id")
            .asText();
    // Three aliases of the same person: an email, the userName, and the token subject.
    grant("email:" + email, "reader");
    bind("user:" + name);
    grant("jwt:" + name, "writer");

    String token = token(name);
    JsonNode me = ServerHttp.json(call(token, "GET", "/api/whoami", null), 200);
    assertThat(me.get("subject").asText()).isEqualTo("user:" + id);
    assertThat(me.get("rbac_subject").asText()).isEqualTo("user:" + id);
    assertThat(me.get("user_name").asText()).isEqualTo(name);
    assertThat(call(token, "GET", "/stores/" + storeId, null).statusCode()).isEqualTo(200);
    assertThat(selfAllowed(token)).isTrue();
    JsonNode members = ServerHttp.json(admin("GET", "/api/roles/runner/members", null), 200);
    assertThat(members.get("members").toString()).contains("\"user:" + id + "\"");
    assertThat(members.get("member_details").toString())
        .contains("{\"subject\":\"user:" + id + "\",\"user_name\":\"" + name + "\"}");
    // One user: no alias made another.
    assertThat(users(name)).isEqualTo(1);
    JsonNode user = ServerHttp.json(admin("GET", "/api/users/" + id, null), 200);
    assertThat(user.get("roles").toString()).contains("runner");
  }

  @Test
  void aGrantBeforeTheFirstLogin_provisionsTheUser_whoseFirstTokenHoldsIt() throws Exception {
    String name = unique("newbie");
    assertThat(users(name)).isZero();
    grant("jwt:" + name, "reader");
    assertThat(users(name)).isEqualTo(1);
    String token = token(name);
    assertThat(call(token, "GET", "/stores/" + storeId, null).statusCode()).isEqualTo(200);
    // A stranger's token is not that user.
    assertThat(call(token(unique("stranger")), "GET", "/stores/" + storeId, null).statusCode())
        .isEqualTo(403);
  }

  @Test
  void authorize_withAnUnknownAlias_deniesAndCreatesNobody() throws Exception {
    String name = unique("ghost");
    for (String subject :
        new String[] {"user:" + name, "jwt:" + name, "email:" + name + "@example.com"}) {
      JsonNode decision =
          ServerHttp.json(
              admin(
                  "POST",
                  "/api/authorize",
                  "{\"permission\":\"run\",\"subject\":\"" + subject + "\"}"),
              200);
      assertThat(decision.get("allowed").asBoolean()).as(subject).isFalse();
    }
    assertThat(users(name)).isZero();
    assertThat(users(name + "@example.com")).isZero();
  }

  @Test
  void aKey_holdsStoreRightsAndRoles_asItsServiceAccount() throws Exception {
    JsonNode created = ServerHttp.json(admin("POST", "/api/keys", "{\"name\":\"ci\"}"), 201);
    String key = created.get("key").asText();
    String subject = "service_account:" + created.get("id").asText();
    assertThat(created.get("subject").asText()).isEqualTo(subject);
    assertThat(call(key, "GET", "/stores/" + storeId, null).statusCode()).isEqualTo(403);
    assertThat(selfAllowed(key)).isFalse();

    grant(subject, "reader");
    bind("key:" + created.get("id").asText()); // an alias of the same subject
    assertThat(call(key, "GET", "/stores/" + storeId, null).statusCode()).isEqualTo(200);
    assertThat(selfAllowed(key)).isTrue();
    JsonNode me = ServerHttp.json(call(key, "GET", "/api/whoami", null), 200);
    assertThat(me.get("subject").asText()).isEqualTo(subject);
    assertThat(me.get("rbac_subject").asText()).isEqualTo(subject);
    assertThat(
            ServerHttp.json(admin("GET", "/api/roles/runner/members", null), 200)
                .get("members")
                .toString())
        .contains("\"" + subject + "\"");
    // Revoking by the alias reaches the same tuple.
    assertThat(
            admin(
                    "DELETE",
                    "/api/roles/runner/members/"
                        + URLEncoder.encode(subject, StandardCharsets.UTF_8),
                    null)
                .statusCode())
        .isEqualTo(204);
    assertThat(selfAllowed(key)).isFalse();
  }

  @Test
  void aGrantToAnUnknownAlias_andAFirstToken_eachAuditOneCreation_aKnownAliasNone()
      throws Exception {
    // A grant naming nobody provisions a user: one creation entry, naming the alias and caller.
    String name = unique("audited");
    grant("jwt:" + name, "reader");
    String provisioned = userId(name);
    JsonNode created = onlyCreation(provisioned);
    assertThat(created.get("reason").asText())
        .startsWith("grant alias jwt:" + name + " by key:")
        .contains("linked to its oidc identity");
    assertThat(created.get("caller").asText()).startsWith("key:");
    assertThat(created.get("action").asText()).isEqualTo("create");
    // That person's first token finds the user: no second creation.
    assertThat(call(token(name), "GET", "/stores/" + storeId, null).statusCode()).isEqualTo(200);
    assertThat(creations(provisioned)).hasSize(1);

    // A first token of someone unknown creates the user just in time: one entry, no claims.
    String jit = unique("firsttoken");
    String subject =
        ServerHttp.json(call(token(jit), "GET", "/api/whoami", null), 200).get("subject").asText();
    JsonNode first = onlyCreation(subject.substring(5));
    assertThat(first.get("reason").asText()).startsWith("jit: first token of issuer default;");
    assertThat(first.get("caller").asText()).isEmpty();
    ServerHttp.json(call(token(jit), "GET", "/api/whoami", null), 200);
    assertThat(creations(subject.substring(5))).hasSize(1);

    // A grant to a known alias creates no one.
    String known = unique("known");
    String id =
        ServerHttp.json(scim("POST", "/Users", "{\"userName\":\"" + known + "\"}"), 201)
            .get("id")
            .asText();
    grant("user:" + known, "reader");
    awaitEntry("user:" + id, "access-grant");
    assertThat(creations(id)).isEmpty();
  }

  // ------------------------------------------------------------------ helpers

  private static String unique(String prefix) {
    return prefix + UUID.randomUUID().toString().replace("-", "").substring(0, 8);
  }

  private static String token(String subject) throws Exception {
    return ServerHttp.hs256(SECRET, subject, Map.of(), Duration.ofMinutes(5));
  }

  private static void grant(String subject, String role) throws Exception {
    HttpResponse<String> response =
        admin(
            "POST",
            "/api/stores/" + storeId + "/access",
            "{\"subject\":\"" + subject + "\",\"role\":\"" + role + "\"}");
    assertThat(response.statusCode()).as(response.body()).isEqualTo(204);
  }

  private static void bind(String subject) throws Exception {
    HttpResponse<String> response =
        admin("POST", "/api/roles/runner/members", "{\"subject\":\"" + subject + "\"}");
    assertThat(response.statusCode()).as(response.body()).isEqualTo(204);
  }

  private static boolean selfAllowed(String credential) throws Exception {
    return ServerHttp.json(
            call(credential, "POST", "/api/authorize", "{\"permission\":\"run\"}"), 200)
        .get("allowed")
        .asBoolean();
  }

  private static int users(String userName) throws Exception {
    return ServerHttp.json(
            admin(
                "GET",
                "/api/users?user_name=" + URLEncoder.encode(userName, StandardCharsets.UTF_8),
                null),
            200)
        .get("users")
        .size();
  }

  private static String userId(String userName) throws Exception {
    JsonNode users =
        ServerHttp.json(
                admin(
                    "GET",
                    "/api/users?user_name=" + URLEncoder.encode(userName, StandardCharsets.UTF_8),
                    null),
                200)
            .get("users");
    assertThat(users).hasSize(1);
    return users.get(0).get("id").asText();
  }

  /** The audit entries about {@code user:<userId>}, oldest first. */
  private static List<JsonNode> entries(String subject) throws Exception {
    JsonNode page =
        ServerHttp.json(
            admin(
                "GET",
                "/api/audit?limit=100&subject="
                    + URLEncoder.encode(subject, StandardCharsets.UTF_8),
                null),
            200);
    List<JsonNode> out = new ArrayList<>();
    page.get("entries").forEach(out::add);
    return out;
  }

  private static List<JsonNode> creations(String userId) throws Exception {
    return entries("user:" + userId).stream()
        .filter(e -> e.get("api").asText().equals(Subjects.CREATED_API))
        .toList();
  }

  private static JsonNode onlyCreation(String userId) throws Exception {
    awaitEntry("user:" + userId, Subjects.CREATED_API);
    List<JsonNode> found = creations(userId);
    assertThat(found).hasSize(1);
    return found.get(0);
  }

  /** Waits (up to 5 s) for an entry of {@code api} about {@code subject}: the trail may lag. */
  private static void awaitEntry(String subject, String api) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (entries(subject).stream().noneMatch(e -> e.get("api").asText().equals(api))) {
      assertThat(System.nanoTime())
          .as("an audit entry " + api + " of " + subject)
          .isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  private static HttpResponse<String> scim(String method, String path, String body)
      throws Exception {
    return ServerHttp.send(
        server,
        scimKey,
        method,
        "/scim/v2" + path,
        body,
        body == null ? Map.of() : Map.of("Content-Type", "application/scim+json"));
  }

  private static HttpResponse<String> admin(String method, String path, String body)
      throws Exception {
    return ServerHttp.send(server, ADMIN, method, path, body);
  }

  private static HttpResponse<String> call(
      String credential, String method, String path, String body) throws Exception {
    return ServerHttp.send(server, credential, method, path, body);
  }
}
