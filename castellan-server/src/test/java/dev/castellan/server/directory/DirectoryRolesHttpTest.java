package dev.castellan.server.directory;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.Poll;
import dev.castellan.server.ServerHttp;
import dev.castellan.server.StoreKind;
import dev.castellan.server.auth.JwtSettings;
import java.net.http.HttpResponse;
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
 * Groups drive roles, over real HTTP on every store: a role bound to a SCIM group's {@code
 * group:<id>} reaches its members, SCIM writes carry {@code Castellan-Consistency-Token}, and
 * {@code /api/authorize} with it sees exactly that change; the directory read API beside it.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class DirectoryRolesHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String SECRET = "directory-test-secret-0123456789abcdef";
  private static final String TOKEN_HEADER = "Castellan-Consistency-Token";
  private static final String PERMISSION = "Logs.View"; // held by the system role viewer

  @Parameter StoreKind kind;

  private static StoreKind.TestStore testStore;
  private static CastellanServer server;
  private static String scimKey;
  private static String auditorKey;

  @BeforeParameterizedClassInvocation
  static void start(StoreKind kind) throws Exception {
    testStore = kind.create();
    server =
        testStore.startServer(
            ServerHttp.loopback().withBootstrapToken(ADMIN).withJwt(JwtSettings.hs256(SECRET)));
    scimKey = key("{\"name\":\"okta\",\"scim\":true}");
    auditorKey = key("{\"name\":\"au\",\"auditor\":true}");
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
  }

  private static String key(String body) throws Exception {
    return ServerHttp.json(ServerHttp.send(server, ADMIN, "POST", "/api/keys", body), 201)
        .get("key")
        .asText();
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

  private static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static String createUser(String userName) throws Exception {
    HttpResponse<String> response =
        scim(
            "POST",
            "/Users",
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\""
                + userName
                + "\",\"displayName\":\"Dir "
                + userName
                + "\",\"emails\":[{\"value\":\""
                + userName
                + "@example.com\",\"primary\":true}]}");
    assertThat(response.headers().firstValue(TOKEN_HEADER)).isPresent();
    return ServerHttp.json(response, 201).get("id").asText();
  }

  private static String createGroup(String name) throws Exception {
    HttpResponse<String> response =
        scim(
            "POST",
            "/Groups",
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\""
                + name
                + "\",\"externalId\":\"ext-"
                + name
                + "\"}");
    return ServerHttp.json(response, 201).get("id").asText();
  }

  /** PATCHes group {@code id} as Okta does and returns the consistency token of the answer. */
  private static String patchMembers(String id, String op, String userId) throws Exception {
    String operation =
        op.equals("add")
            ? "{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"" + userId + "\"}]}"
            : "{\"op\":\"remove\",\"path\":\"members[value eq \\\"" + userId + "\\\"]\"}";
    HttpResponse<String> response =
        scim(
            "PATCH",
            "/Groups/" + id,
            "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["
                + operation
                + "]}");
    assertThat(response.statusCode()).as(response.body()).isIn(200, 204);
    return response.headers().firstValue(TOKEN_HEADER).orElseThrow();
  }

  private static void bind(String role, String subject) throws Exception {
    HttpResponse<String> response =
        ServerHttp.send(
            server,
            ADMIN,
            "POST",
            "/api/roles/" + role + "/members",
            "{\"subject\":\"" + subject + "\"}");
    assertThat(response.statusCode()).as(response.body()).isIn(200, 201, 204);
  }

  /** Whether {@code subject} holds the permission, asked by an administrator. */
  private static boolean allowed(String subject, String consistencyToken) throws Exception {
    String token =
        consistencyToken == null ? "" : ",\"consistency_token\":\"" + consistencyToken + "\"";
    return ServerHttp.json(
            ServerHttp.send(
                server,
                ADMIN,
                "POST",
                "/api/authorize",
                "{\"subject\":\""
                    + subject
                    + "\",\"permission\":\""
                    + PERMISSION
                    + "\""
                    + token
                    + "}"),
            200)
        .get("allowed")
        .asBoolean();
  }

  /** Whether the caller of a token with {@code sub} holds the permission, asking about itself. */
  private static boolean tokenAllowed(String sub) throws Exception {
    String jwt = ServerHttp.hs256(SECRET, sub, Map.of(), Duration.ofHours(1));
    return ServerHttp.json(
            ServerHttp.send(
                server, jwt, "POST", "/api/authorize", "{\"permission\":\"" + PERMISSION + "\"}"),
            200)
        .get("allowed")
        .asBoolean();
  }

  // ------------------------------------------------------------------ groups drive roles

  @Test
  void aRoleBoundToAScimGroup_reachesItsMembers_andARemovalsToken_isSeenByTheNextDecision()
      throws Exception {
    String userName = unique("ann");
    String user = createUser(userName);
    String group = createGroup(unique("Readers"));
    bind("viewer", "group:" + group);
    assertThat(allowed("user:dir/" + user, null)).isFalse();

    String added = patchMembers(group, "add", user);
    assertThat(allowed("user:dir/" + user, added)).isTrue();
    assertThat(tokenAllowed(userName)).as("a token whose sub is the userName").isTrue();

    String removed = patchMembers(group, "remove", user);
    assertThat(removed).isNotEqualTo(added);
    assertThat(allowed("user:dir/" + user, removed)).isFalse();
    assertThat(tokenAllowed(userName)).isFalse();
  }

  @Test
  void withoutAToken_aMembershipChange_takesEffectWithinOneSecond() throws Exception {
    String user = createUser(unique("bob"));
    String group = createGroup(unique("Viewers"));
    bind("viewer", "group:" + group);
    patchMembers(group, "add", user);
    Poll.until(
        "the membership to allow", Duration.ofSeconds(1), () -> allowed("user:dir/" + user, null));
    patchMembers(group, "remove", user);
    Poll.until(
        "the removal to deny", Duration.ofSeconds(1), () -> !allowed("user:dir/" + user, null));
  }

  @Test
  void groupPutAndDelete_andUserDelete_carryTheirChangeToDecisions() throws Exception {
    String user = createUser(unique("cy"));
    String other = createUser(unique("cz"));
    String name = unique("Team");
    String group = createGroup(name);
    bind("viewer", "group:" + group);
    HttpResponse<String> put =
        scim(
            "PUT",
            "/Groups/" + group,
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\""
                + name
                + "\",\"members\":[{\"value\":\""
                + user
                + "\"},{\"value\":\""
                + other
                + "\"}]}");
    ServerHttp.json(put, 200);
    String token = put.headers().firstValue(TOKEN_HEADER).orElseThrow();
    assertThat(allowed("user:dir/" + user, token)).isTrue();
    assertThat(allowed("user:dir/" + other, token)).isTrue();

    HttpResponse<String> deletedUser = scim("DELETE", "/Users/" + other, null);
    assertThat(deletedUser.statusCode()).isEqualTo(204);
    assertThat(
            allowed(
                "user:dir/" + other, deletedUser.headers().firstValue(TOKEN_HEADER).orElseThrow()))
        .isFalse();

    HttpResponse<String> deletedGroup = scim("DELETE", "/Groups/" + group, null);
    assertThat(deletedGroup.statusCode()).isEqualTo(204);
    assertThat(
            allowed(
                "user:dir/" + user, deletedGroup.headers().firstValue(TOKEN_HEADER).orElseThrow()))
        .isFalse();
  }

  @Test
  void aNewUserName_keepsTheMembershipsOfItsOneSubject() throws Exception {
    String oldName = unique("dee");
    String newName = unique("dora");
    String user = createUser(oldName);
    String group = createGroup(unique("Ops"));
    bind("viewer", "group:" + group);
    patchMembers(group, "add", user);
    assertThat(tokenAllowed(oldName)).isTrue();
    HttpResponse<String> renamed =
        scim(
            "PATCH",
            "/Users/" + user,
            "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
                + "[{\"op\":\"replace\",\"path\":\"userName\",\"value\":\""
                + newName
                + "\"}]}");
    assertThat(renamed.statusCode()).as(renamed.body()).isIn(200, 204);
    assertThat(renamed.headers().firstValue(TOKEN_HEADER)).isPresent();
    // The subject is the directory id (ADR 0023): a rename moves nothing. The old name's token was
    // linked to the user on first use, so it is still that person; the new name names it too.
    assertThat(tokenAllowed(oldName)).isTrue();
    assertThat(tokenAllowed(newName)).isTrue();
    assertThat(allowed("user:" + user, null)).isTrue();
  }

  @Test
  void aConsistencyTokenRbacDidNotIssue_isRefused() throws Exception {
    String store =
        ServerHttp.json(
                ServerHttp.send(server, ADMIN, "POST", "/stores", "{\"name\":\"rbac-token-test\"}"),
                201)
            .get("id")
            .asText();
    // A token a store issued is no token of RBAC's.
    String storeToken = dev.castellan.store.ConsistencyToken.encode(store, 1);
    for (String bad : List.of("nonsense", "c1.!!", storeToken)) {
      HttpResponse<String> response =
          ServerHttp.send(
              server,
              ADMIN,
              "POST",
              "/api/authorize",
              "{\"subject\":\"user:x\",\"permission\":\""
                  + PERMISSION
                  + "\",\"consistency_token\":\""
                  + bad
                  + "\"}");
      assertThat(ServerHttp.json(response, 400).get("code").asText())
          .as(bad)
          .isEqualTo("invalid_consistency_token");
    }
  }

  // ------------------------------------------------------------------ the directory API

  @Test
  void aUser_showsItsGroups_andItsRoles_directAndThroughGroups() throws Exception {
    String userName = unique("eve");
    String user = createUser(userName);
    String group = createGroup(unique("Devs"));
    bind("developer", "group:" + group);
    bind("viewer", "user:dir/" + user);
    patchMembers(group, "add", user);
    for (String caller : List.of(ADMIN, auditorKey)) {
      JsonNode body =
          ServerHttp.json(ServerHttp.send(server, caller, "GET", "/api/users/" + user, null), 200);
      assertThat(body.get("user_name").asText()).isEqualTo(userName);
      assertThat(body.get("subjects").toString()).isEqualTo("[\"user:" + user + "\"]");
      assertThat(body.get("subject").asText()).isEqualTo("user:" + user);
      assertThat(body.get("groups").get(0).get("id").asText()).isEqualTo(group);
      assertThat(body.get("roles").toString())
          .contains("{\"id\":\"viewer\",\"via\":[\"user:" + user + "\"]}")
          .contains("{\"id\":\"developer\",\"via\":[\"group:" + group + "\"]}");
    }
    JsonNode groupBody =
        ServerHttp.json(
            ServerHttp.send(server, auditorKey, "GET", "/api/groups/" + group, null), 200);
    assertThat(groupBody.get("roles").toString()).contains("developer");
    assertThat(groupBody.get("members").get(0).get("user_name").asText()).isEqualTo(userName);
    assertThat(groupBody.get("member_count").asInt()).isEqualTo(1);

    String jwt = ServerHttp.hs256(SECRET, userName, Map.of(), Duration.ofHours(1));
    assertThat(ServerHttp.send(server, jwt, "GET", "/api/users/" + user, null).statusCode())
        .isEqualTo(403);
    assertThat(
            ServerHttp.json(
                    ServerHttp.send(server, ADMIN, "GET", "/api/users/01NOSUCHUSER", null), 404)
                .get("code")
                .asText())
        .isEqualTo("not_found");
  }

  @Test
  void userSearch_pagesWithAContinuationToken() throws Exception {
    String tag = unique("pg");
    List<String> made = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      made.add(createUser(tag + "-" + i));
    }
    List<String> seen = new ArrayList<>();
    String token = "";
    int pages = 0;
    do {
      JsonNode page =
          ServerHttp.json(
              ServerHttp.send(
                  server,
                  ADMIN,
                  "GET",
                  "/api/users?q="
                      + tag
                      + "&page_size=2"
                      + (token.isEmpty() ? "" : "&continuation_token=" + token),
                  null),
              200);
      assertThat(page.get("total").asInt()).isEqualTo(5);
      page.get("users").forEach(u -> seen.add(u.get("id").asText()));
      token = page.get("continuation_token").asText();
      pages++;
    } while (!token.isEmpty() && pages < 10);
    assertThat(pages).isEqualTo(3);
    assertThat(seen).containsExactlyElementsOf(made);

    JsonNode exact =
        ServerHttp.json(
            ServerHttp.send(
                server, ADMIN, "GET", "/api/users?email=" + tag + "-3@example.com", null),
            200);
    assertThat(exact.get("users")).hasSize(1);
    assertThat(exact.get("users").get(0).get("id").asText()).isEqualTo(made.get(3));
  }

  @Test
  void groupLookup_byDisplayNameOrExternalId() throws Exception {
    String name = unique("Finance");
    String group = createGroup(name);
    for (String query :
        List.of(
            "display_name=" + name.toUpperCase(java.util.Locale.ROOT),
            "external_id=ext-" + name,
            "q=" + name.substring(2))) {
      JsonNode body =
          ServerHttp.json(
              ServerHttp.send(server, auditorKey, "GET", "/api/groups?" + query, null), 200);
      assertThat(body.get("groups")).as(query).hasSize(1);
      assertThat(body.get("groups").get(0).get("subject").asText()).isEqualTo("group:" + group);
    }
  }

  @Test
  void badQueryParameters_areValidationErrors_andForeignTokensInvalid() throws Exception {
    for (String query :
        List.of(
            "?nope=1",
            "?q=" + "x".repeat(257),
            "?page_size=0",
            "?page_size=1001",
            "?page_size=abc",
            "?q=a&q=b",
            "?q=%01")) {
      assertThat(
              ServerHttp.json(
                      ServerHttp.send(server, ADMIN, "GET", "/api/users" + query, null), 400)
                  .get("code")
                  .asText())
          .as(query)
          .isEqualTo("validation_error");
    }
    createUser(unique("tok-a"));
    createUser(unique("tok-b"));
    String token =
        ServerHttp.json(
                ServerHttp.send(server, ADMIN, "GET", "/api/users?q=tok-&page_size=1", null), 200)
            .get("continuation_token")
            .asText();
    assertThat(token).isNotEmpty();
    for (String path :
        List.of(
            "/api/users?q=other&continuation_token=" + token,
            "/api/groups?continuation_token=" + token,
            "/api/users?continuation_token=d1.garbage")) {
      assertThat(
              ServerHttp.json(ServerHttp.send(server, ADMIN, "GET", path, null), 400)
                  .get("code")
                  .asText())
          .as(path)
          .isEqualTo("invalid_continuation_token");
    }
  }
}
