package dev.castellan.server.scim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.server.StoreKind;
import dev.castellan.server.auth.JwtSettings;
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
 * Deprovisioning over real HTTP on every store: a user with role bindings (as {@code
 * user:<userName>} and {@code user:dir/<directory id>}, aliases of {@code user:<id>}), a store
 * right ({@code jwt:<userName>}, another alias) and group memberships is deactivated (Okta's and
 * Entra's PATCH shapes, PUT) or deleted; everything is revoked at once, one audit action says what,
 * and the user's token is refused. Reactivation restores nothing.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class DeprovisioningHttpTest {
  private static final String ADMIN = "deprov-admin-token-0123456789abcdef";
  private static final String SECRET = "deprov-test-secret-0123456789abcdef-xyz";
  private static final String PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

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
        ServerHttp.json(
                ServerHttp.send(
                    server, ADMIN, "POST", "/api/keys", "{\"name\":\"okta\",\"scim\":true}"),
                201)
            .get("key")
            .asText();
    storeId =
        ServerHttp.json(
                ServerHttp.send(server, ADMIN, "POST", "/stores", "{\"name\":\"app\"}"), 201)
            .get("id")
            .asText();
    ServerHttp.json(
        ServerHttp.send(server, ADMIN, "POST", "/api/roles", "{\"name\":\"Runner\"}"), 201);
    ServerHttp.json(
        ServerHttp.send(
            server, ADMIN, "PUT", "/api/roles/runner/permissions", "{\"permission_ids\":[103]}"),
        200);
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
  }

  // ------------------------------------------------------------------ a provisioned user

  /** A user with every kind of access, and the names to check it by. */
  private record Person(String id, String userName, String group, String token) {}

  private static Person provisioned() throws Exception {
    String userName = "u" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    String id =
        ServerHttp.json(
                scim(
                    "POST",
                    "/Users",
                    "{\"userName\":\""
                        + userName
                        + "\",\"emails\":[{\"value\":\""
                        + userName
                        + "@example.com\"}]}"),
                201)
            .get("id")
            .asText();
    String group =
        ServerHttp.json(
                scim(
                    "POST",
                    "/Groups",
                    "{\"displayName\":\"g-"
                        + userName
                        + "\",\"members\":[{\"value\":\""
                        + id
                        + "\"}]}"),
                201)
            .get("id")
            .asText();
    for (String subject : List.of("user:" + userName, "user:dir/" + id)) {
      assertThat(
              admin("POST", "/api/roles/runner/members", "{\"subject\":\"" + subject + "\"}")
                  .statusCode())
          .isEqualTo(204);
    }
    // The group's binding is the group's: it stays when a member leaves.
    admin("POST", "/api/roles/runner/members", "{\"subject\":\"group:" + group + "\"}");
    assertThat(
            admin(
                    "POST",
                    "/api/stores/" + storeId + "/access",
                    "{\"subject\":\"jwt:" + userName + "\",\"role\":\"reader\"}")
                .statusCode())
        .isEqualTo(204);
    String token = ServerHttp.hs256(SECRET, userName, Map.of(), Duration.ofHours(1));
    Person person = new Person(id, userName, group, token);
    assertHasEverything(person);
    return person;
  }

  private static void assertHasEverything(Person p) throws Exception {
    assertThat(call(p.token(), "GET", "/stores/" + storeId).statusCode()).isEqualTo(200);
    assertThat(authorize("user:" + p.userName())).isTrue();
    assertThat(authorize("user:dir/" + p.id())).isTrue();
    assertThat(members(p.group())).contains(p.id());
  }

  /** Everything revoked, the token refused, one audit action naming what. */
  private static void assertDeprovisioned(Person p, HttpResponse<String> response)
      throws Exception {
    String consistency = response.headers().firstValue("Castellan-Consistency-Token").orElseThrow();
    // The header is RBAC's token: /api/authorize takes it and decides after the revocation.
    JsonNode waited =
        ServerHttp.json(
            admin(
                "POST",
                "/api/authorize",
                "{\"permission\":\"run\",\"subject\":\"user:dir/"
                    + p.id()
                    + "\",\"consistency_token\":\""
                    + consistency
                    + "\"}"),
            200);
    assertThat(waited.get("allowed").asBoolean()).isFalse();
    HttpResponse<String> refused = call(p.token(), "GET", "/stores/" + storeId);
    JsonNode error = ServerHttp.json(refused, 401);
    assertThat(error.get("code").asText()).isEqualTo("user_deactivated");
    assertThat(refused.headers().firstValue("WWW-Authenticate")).isPresent();
    assertThat(authorize("user:" + p.userName())).isFalse();
    assertThat(authorize("user:dir/" + p.id())).isFalse();
    JsonNode roleMembers =
        ServerHttp.json(admin("GET", "/api/roles/runner/members", null), 200).get("members");
    assertThat(roleMembers.toString())
        .doesNotContain("\"user:" + p.userName() + "\"")
        .doesNotContain("\"user:" + p.id() + "\"")
        .contains("\"group:" + p.group() + "\"");
    assertThat(members(p.group())).doesNotContain(p.id());

    JsonNode entries = audit(Deprovisioning.ACTION, "user:" + p.id());
    assertThat(entries).hasSize(1);
    JsonNode entry = entries.get(0);
    assertThat(entry.get("outcome").asText()).isEqualTo("ok");
    assertThat(entry.get("caller").asText()).startsWith("key:");
    assertThat(entry.get("reason").asText())
        .contains("group " + p.group())
        // The aliases the grants were made with all named the one subject (ADR 0023).
        .contains("role:runner#assignee@user:" + p.id())
        .contains("store:" + storeId + "#reader@user:" + p.id())
        .doesNotContain("@user:" + p.userName());
  }

  // ------------------------------------------------------------------ deactivation

  @Test
  void oktasPatch_activeFalseWithoutAPath_revokesEverything_andRefusesTheToken() throws Exception {
    Person p = provisioned();
    HttpResponse<String> response =
        scim(
            "PATCH",
            "/Users/" + p.id(),
            "{\"schemas\":[\""
                + PATCH_OP
                + "\"],\"Operations\":[{\"op\":\"replace\",\"value\":{\"active\":false}}]}");
    assertThat(ServerHttp.json(response, 200).get("active").asBoolean()).isFalse();
    assertDeprovisioned(p, response);
  }

  @Test
  void entrasPatch_capitalizedOpAndStringBoolean_revokesEverything() throws Exception {
    Person p = provisioned();
    HttpResponse<String> response =
        scim(
            "PATCH",
            "/Users/" + p.id(),
            "{\"schemas\":[\""
                + PATCH_OP
                + "\"],\"Operations\":[{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}]}");
    assertThat(ServerHttp.json(response, 200).get("active").asBoolean()).isFalse();
    assertDeprovisioned(p, response);
  }

  @Test
  void put_withActiveFalse_revokesEverything() throws Exception {
    Person p = provisioned();
    HttpResponse<String> response =
        scim("PUT", "/Users/" + p.id(), "{\"userName\":\"" + p.userName() + "\",\"active\":false}");
    ServerHttp.json(response, 200);
    assertDeprovisioned(p, response);
  }

  @Test
  void delete_revokesEverything_andTheIdentityStaysRefused_untilProvisionedAgain()
      throws Exception {
    Person p = provisioned();
    HttpResponse<String> response = scim("DELETE", "/Users/" + p.id(), null);
    assertThat(response.statusCode()).isEqualTo(204);
    // The token's identity link went with the user, yet it is not a new user just in time.
    assertDeprovisioned(p, response);
    assertThat(scim("GET", "/Users/" + p.id(), null).statusCode()).isEqualTo(404);
    assertThat(authorize("user:" + p.id())).isFalse();

    // The identity provider provisions the name again: its token is accepted, with no rights.
    String again =
        ServerHttp.json(scim("POST", "/Users", "{\"userName\":\"" + p.userName() + "\"}"), 201)
            .get("id")
            .asText();
    JsonNode me = ServerHttp.json(call(p.token(), "GET", "/api/whoami"), 200);
    assertThat(me.get("subject").asText()).isEqualTo("user:" + again);
    assertThat(call(p.token(), "GET", "/stores/" + storeId).statusCode()).isEqualTo(403);
  }

  @Test
  void reactivation_acceptsTheTokenAgain_butRestoresOnlyWhatScimSendsAgain() throws Exception {
    Person p = provisioned();
    String deactivate =
        "{\"schemas\":[\""
            + PATCH_OP
            + "\"],\"Operations\":[{\"op\":\"replace\",\"value\":{\"active\":false}}]}";
    ServerHttp.json(scim("PATCH", "/Users/" + p.id(), deactivate), 200);
    ServerHttp.json(
        scim(
            "PATCH",
            "/Users/" + p.id(),
            "{\"schemas\":[\""
                + PATCH_OP
                + "\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"active\",\"value\":true}]}"),
        200);
    assertThat(call(p.token(), "GET", "/api/whoami").statusCode()).isEqualTo(200);
    assertThat(call(p.token(), "GET", "/stores/" + storeId).statusCode()).isEqualTo(403);
    assertThat(authorize("user:" + p.userName())).isFalse();
    assertThat(members(p.group())).doesNotContain(p.id());
    assertThat(audit(Deprovisioning.REACTIVATED, "user:" + p.id())).hasSize(1);

    // The identity provider adds the membership again: that, and only that, comes back.
    ServerHttp.json(
        scim(
            "PATCH",
            "/Groups/" + p.group(),
            "{\"schemas\":[\""
                + PATCH_OP
                + "\"],\"Operations\":[{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\""
                + p.id()
                + "\"}]}]}"),
        200);
    assertThat(members(p.group())).contains(p.id());
    JsonNode roleMembers =
        ServerHttp.json(admin("GET", "/api/roles/runner/members", null), 200).get("members");
    assertThat(roleMembers.toString()).doesNotContain("\"user:" + p.id() + "\"");
  }

  // ------------------------------------------------------------------ refused requests change
  // nothing

  @Test
  void anInvalidPatch_orAStaleIfMatch_orAnUnknownUser_changesNothing() throws Exception {
    Person p = provisioned();
    JsonNode invalid =
        ServerHttp.json(
            scim(
                "PATCH",
                "/Users/" + p.id(),
                "{\"schemas\":[\""
                    + PATCH_OP
                    + "\"],\"Operations\":[{\"op\":\"replace\",\"value\":{\"active\":false}},"
                    + "{\"op\":\"replace\",\"path\":\"nope\",\"value\":1}]}"),
            400);
    assertThat(invalid.get("scimType").asText()).isEqualTo("invalidPath");
    assertHasEverything(p);

    HttpResponse<String> stale =
        ServerHttp.send(
            server,
            scimKey,
            "PATCH",
            "/scim/v2/Users/" + p.id(),
            "{\"schemas\":[\""
                + PATCH_OP
                + "\"],\"Operations\":[{\"op\":\"replace\",\"value\":{\"active\":false}}]}",
            Map.of("Content-Type", "application/scim+json", "If-Match", "W/\"999\""));
    assertThat(stale.statusCode()).isEqualTo(412);
    assertHasEverything(p);
    HttpResponse<String> staleDelete =
        ServerHttp.send(
            server,
            scimKey,
            "DELETE",
            "/scim/v2/Users/" + p.id(),
            null,
            Map.of("If-Match", "W/\"9\""));
    assertThat(staleDelete.statusCode()).isEqualTo(412);
    assertHasEverything(p);
    assertThat(scim("DELETE", "/Users/01NOSUCHUSER0000000000000", null).statusCode())
        .isEqualTo(404);
    assertThat(audit(Deprovisioning.ACTION, "user:" + p.id())).isEmpty();
    assertThat(call(p.token(), "GET", "/api/whoami").statusCode()).isEqualTo(200);
  }

  // ------------------------------------------------------------------ plumbing

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

  private static HttpResponse<String> call(String token, String method, String path)
      throws Exception {
    return ServerHttp.send(server, token, method, path, null);
  }

  private static boolean authorize(String subject) throws Exception {
    return ServerHttp.json(
            admin(
                "POST",
                "/api/authorize",
                "{\"permission\":\"run\",\"subject\":\"" + subject + "\"}"),
            200)
        .get("allowed")
        .asBoolean();
  }

  private static List<String> members(String group) throws Exception {
    List<String> out = new ArrayList<>();
    for (JsonNode member :
        ServerHttp.json(scim("GET", "/Groups/" + group, null), 200).path("members")) {
      out.add(member.get("value").asText());
    }
    return out;
  }

  private static JsonNode audit(String action, String subject) throws Exception {
    return ServerHttp.json(
            admin(
                "GET",
                "/api/audit?action="
                    + URLEncoder.encode(action, StandardCharsets.UTF_8)
                    + "&subject="
                    + URLEncoder.encode(subject, StandardCharsets.UTF_8),
                null),
            200)
        .get("entries");
  }
}
