package dev.castellan.server;

import static dev.castellan.server.ServerHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.store.MemoryStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RBAC over real HTTP: seed 002's roles API, authorize, the policy file and forward-auth. */
class RbacHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String SECRET = "a-development-secret-of-32-bytes-or-more";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /**
   * Seed 000's roles, the system roles among them replaced on purpose (as written in the seed, the
   * file is refused: see {@link #seed000sFileAsWritten_isRefused_namingTheRoleAndWhatItWouldDrop}).
   */
  static final String SEED_POLICY =
      """
      roles:
        admin: {replace_system_role: true, permissions: [create, read, run, delete, share]}
        developer: {replace_system_role: true, permissions: [create, read, run]}
        analyst: [read, run]
        viewer: {replace_system_role: true, permissions: [read]}
      routes:
        - {method: POST, path: /workflows, permission: create}
        - {method: GET, path: /workflows, permission: read}
        - {method: POST, path: "/workflows/{id}/run", permission: run}
        - {method: DELETE, path: "/workflows/{id}", permission: delete}
        - {method: POST, path: "/workflows/{id}/share", permission: share}
      """;

  @TempDir Path dir;
  Path policyFile;
  CastellanServer server;

  @BeforeEach
  void start() throws Exception {
    policyFile = dir.resolve("rbac.yaml");
    Files.writeString(policyFile, SEED_POLICY);
    server =
        CastellanServer.start(
            ServerHttp.loopback()
                .withBootstrapToken(ADMIN)
                .withJwt(JwtSettings.hs256(SECRET))
                .withRbacFile(policyFile)
                .withRbacReloadInterval(Duration.ofMillis(100)),
            new MemoryStore());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  // ------------------------------------------------------------------ seed 002: roles API

  @Test
  void listRoles_showsSystemRolesWithCounts_andTheSeedFilesRoles() throws Exception {
    JsonNode roles = json(send(ADMIN, "GET", "/api/roles", null), 200).get("roles");
    Map<String, JsonNode> byId = new java.util.HashMap<>();
    roles.forEach(r -> byId.put(r.get("id").asText(), r));
    assertThat(byId).containsKeys("admin", "developer", "viewer", "analyst");
    assertThat(byId.get("viewer").get("system").asBoolean()).isTrue();
    assertThat(byId.get("viewer").get("name").asText()).isEqualTo("Viewer");
    assertThat(byId.get("analyst").get("system").asBoolean()).isFalse();
    assertThat(byId.get("analyst").get("source").asText()).isEqualTo("file");
    // The file defines viewer as [read]: the file wins for the roles it names.
    assertThat(byId.get("viewer").get("permission_count").asInt()).isEqualTo(1);
    assertThat(byId.get("admin").get("permission_count").asInt()).isEqualTo(5);
    assertThat(roles.get(0).get("system").asBoolean()).isTrue();
  }

  @Test
  void withoutAPolicyFile_systemRolesHoldSeed002sCounts() throws Exception {
    server.close();
    server =
        CastellanServer.start(ServerHttp.loopback().withBootstrapToken(ADMIN), new MemoryStore());
    JsonNode roles = json(send(ADMIN, "GET", "/api/roles", null), 200).get("roles");
    Map<String, Integer> counts = new java.util.HashMap<>();
    roles.forEach(r -> counts.put(r.get("id").asText(), r.get("permission_count").asInt()));
    JsonNode catalog = json(send(ADMIN, "GET", "/api/permissions", null), 200);
    int total = catalog.get("permissions").size();
    assertThat(counts.get("admin")).isEqualTo(total);
    // Viewer: View on seed 002's 14 resources, Read on workflows and models.
    assertThat(counts.get("viewer")).isEqualTo(16);
    int gateway = 0;
    for (JsonNode p : catalog.get("permissions")) {
      if (p.get("id").asInt() < 100) {
        gateway++;
      }
    }
    assertThat(gateway).isEqualTo(42);
  }

  @Test
  void createRole_isCustom_duplicatesAreRejected_andSystemRolesCannotBeDeleted() throws Exception {
    HttpResponse<String> created =
        send(
            ADMIN,
            "POST",
            "/api/roles",
            "{\"name\":\"Auditor\",\"description\":\"Read-only access for compliance auditing\"}");
    JsonNode role = json(created, 201);
    assertThat(role.get("id").asText()).isEqualTo("auditor");
    assertThat(role.get("system").asBoolean()).isFalse();
    assertThat(role.get("permission_count").asInt()).isZero();
    JsonNode duplicate = json(send(ADMIN, "POST", "/api/roles", "{\"name\":\"AUDITOR\"}"), 409);
    assertThat(duplicate.get("code").asText()).isEqualTo("already_exists");
    json(send(ADMIN, "POST", "/api/roles", "{\"name\":\"  \"}"), 400);
    json(send(ADMIN, "POST", "/api/roles", "{\"name\":\"x\",\"colour\":\"red\"}"), 400);

    JsonNode refused = json(send(ADMIN, "DELETE", "/api/roles/developer", null), 400);
    assertThat(refused.get("message").asText()).contains("system role");
    assertThat(send(ADMIN, "GET", "/api/roles/developer", null).statusCode()).isEqualTo(200);

    assertThat(send(ADMIN, "DELETE", "/api/roles/auditor", null).statusCode()).isEqualTo(204);
    assertThat(json(send(ADMIN, "GET", "/api/roles/auditor", null), 404).get("code").asText())
        .isEqualTo("not_found");
  }

  @Test
  void replacePermissions_isWhole_andUnknownIdsChangeNothing() throws Exception {
    json(send(ADMIN, "POST", "/api/roles", "{\"name\":\"QA Team\"}"), 201);
    JsonNode put =
        json(
            send(ADMIN, "PUT", "/api/roles/qa-team/permissions", "{\"permission_ids\":[1,2,3]}"),
            200);
    assertThat(put.get("permission_count").asInt()).isEqualTo(3);
    JsonNode bad =
        json(
            send(ADMIN, "PUT", "/api/roles/qa-team/permissions", "{\"permission_ids\":[1,99999]}"),
            400);
    assertThat(bad.get("message").asText()).contains("99999");
    JsonNode now = json(send(ADMIN, "GET", "/api/roles/qa-team/permissions", null), 200);
    assertThat(ids(now.get("permissions"))).containsExactly(1, 2, 3);
    JsonNode replaced =
        json(
            send(ADMIN, "PUT", "/api/roles/qa-team/permissions", "{\"permission_ids\":[2,101]}"),
            200);
    assertThat(ids(replaced.get("permissions"))).containsExactly(2, 101);
    assertThat(replaced.at("/permissions/1/name").asText()).isEqualTo("Workflows.Create");
    json(send(ADMIN, "PUT", "/api/roles/qa-team/permissions", "{\"permission_ids\":[\"1\"]}"), 400);
    json(send(ADMIN, "PUT", "/api/roles/nope/permissions", "{\"permission_ids\":[]}"), 404);
  }

  @Test
  void catalog_listsIdNameResourceOperation() throws Exception {
    JsonNode catalog = json(send(ADMIN, "GET", "/api/permissions", null), 200);
    JsonNode first = catalog.get("permissions").get(0);
    assertThat(first.get("id").asInt()).isEqualTo(1);
    assertThat(first.get("name").asText()).isEqualTo("Logs.View");
    assertThat(first.get("resource").asText()).isEqualTo("Logs");
    assertThat(first.get("operation").asText()).isEqualTo("View");
    assertThat(catalog.at("/resources/AuditLogs").toString()).isEqualTo("[\"View\"]");
    assertThat(catalog.at("/resources/Workflows").size()).isEqualTo(5);
  }

  @Test
  void members_grantTheRolesPermissions_untilRemoved() throws Exception {
    json(send(ADMIN, "POST", "/api/roles", "{\"name\":\"Runner\"}"), 201);
    json(send(ADMIN, "PUT", "/api/roles/runner/permissions", "{\"permission_ids\":[103]}"), 200);
    assertThat(authorizeAs(ADMIN, "user:carol", "run").get("allowed").asBoolean()).isFalse();
    assertThat(
            send(ADMIN, "POST", "/api/roles/runner/members", "{\"subject\":\"user:carol\"}")
                .statusCode())
        .isEqualTo(204);
    JsonNode members = json(send(ADMIN, "GET", "/api/roles/runner/members", null), 200);
    // The alias named nobody yet: carol is provisioned, and listed by her one subject (ADR 0023).
    assertThat(members.get("members").toString()).isEqualTo("[\"" + subjectOf("carol") + "\"]");
    assertThat(members.get("member_details").get(0).get("user_name").asText()).isEqualTo("carol");
    JsonNode allowed = authorizeAs(ADMIN, "user:carol", "Workflows.Run");
    assertThat(allowed.get("allowed").asBoolean()).isTrue();
    assertThat(authorizeAs(ADMIN, "user:carol", "delete").get("allowed").asBoolean()).isFalse();
    // A group member gets the group's roles.
    send(ADMIN, "POST", "/api/roles/runner/members", "{\"subject\":\"group:ops\"}");
    String dave = token("dave", Map.of("groups", List.of("ops")));
    assertThat(authorize(dave, "run").get("allowed").asBoolean()).isTrue();

    assertThat(send(ADMIN, "DELETE", "/api/roles/runner/members/user:carol", null).statusCode())
        .isEqualTo(204);
    assertThat(authorizeAs(ADMIN, "user:carol", "run").get("allowed").asBoolean()).isFalse();
    json(send(ADMIN, "DELETE", "/api/roles/runner/members/user:carol", null), 404);
    json(send(ADMIN, "POST", "/api/roles/runner/members", "{\"subject\":\"robot:x\"}"), 400);
  }

  @Test
  void rolesApi_isForAdminsOnly() throws Exception {
    String alice = token("alice", Map.of("role", "admin"));
    assertThat(json(send(alice, "GET", "/api/roles", null), 403).get("code").asText())
        .isEqualTo("forbidden");
    json(send(alice, "POST", "/api/roles", "{\"name\":\"Sneaky\"}"), 403);
    json(send(alice, "GET", "/api/permissions", null), 403);
    HttpResponse<String> anonymous = send(null, "GET", "/api/roles", null);
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(anonymous.headers().firstValue("WWW-Authenticate")).isPresent();
  }

  // ------------------------------------------------------------------ seed 000: tokens and roles

  @Test
  void tokenRoles_decide_unknownRolesGrantNothing_andCallersAskOnlyAboutThemselves()
      throws Exception {
    String admin = token("alice", Map.of("role", "admin"));
    String viewer = token("vera", Map.of("roles", List.of("viewer")));
    String stranger = token("sam", Map.of("role", "superuser"));
    String none = token("nora", Map.of());
    JsonNode decision = authorize(admin, "create");
    assertThat(decision.get("allowed").asBoolean()).isTrue();
    assertThat(decision.get("subject").asText()).isEqualTo(subjectOf("alice"));
    assertThat(decision.get("permission").asText()).isEqualTo("Workflows.Create");
    assertThat(decision.get("reason").asText()).contains("admin");
    assertThat(authorize(viewer, "read").get("allowed").asBoolean()).isTrue();
    JsonNode denied = authorize(viewer, "create");
    assertThat(denied.get("allowed").asBoolean()).isFalse();
    assertThat(denied.get("reason").asText()).contains("viewer");
    assertThat(authorize(stranger, "read").get("allowed").asBoolean()).isFalse();
    assertThat(authorize(none, "read").get("allowed").asBoolean()).isFalse();
    json(send(viewer, "POST", "/api/authorize", "{\"permission\":\"launch\"}"), 400);
    json(
        send(
            viewer,
            "POST",
            "/api/authorize",
            "{\"permission\":\"read\",\"subject\":\"user:alice\"}"),
        403);
    json(
        send(viewer, "POST", "/api/authorize", "{\"permission\":\"read\",\"roles\":[\"admin\"]}"),
        403);
    // An admin key may ask about anyone, with any roles.
    JsonNode asked =
        json(
            send(
                ADMIN,
                "POST",
                "/api/authorize",
                "{\"permission\":\"share\",\"subject\":\"user:zoe\",\"roles\":[\"admin\"]}"),
            200);
    assertThat(asked.get("allowed").asBoolean()).isTrue();
  }

  @Test
  void expiredOrForgedTokens_are401() throws Exception {
    String expired = token("alice", Map.of("role", "admin"), -120, SECRET);
    String forged =
        token("alice", Map.of("role", "admin"), 300, "another-secret-of-32-bytes-or-more!!");
    for (String t : List.of(expired, forged, "not.a.jwt")) {
      HttpResponse<String> response =
          send(t, "POST", "/api/authorize", "{\"permission\":\"read\"}");
      assertThat(response.statusCode()).isEqualTo(401);
      assertThat(response.headers().firstValue("WWW-Authenticate"))
          .get()
          .asString()
          .startsWith("Bearer");
    }
  }

  // ------------------------------------------------------------------ policy file

  @Test
  void policyEdits_applyWithoutRestart_andABadFileKeepsTheLastGoodPolicy() throws Exception {
    String analyst = token("ann", Map.of("role", "analyst"));
    assertThat(authorize(analyst, "run").get("allowed").asBoolean()).isTrue();
    assertThat(authorize(analyst, "share").get("allowed").asBoolean()).isFalse();

    long start = System.nanoTime();
    Files.writeString(
        policyFile, SEED_POLICY.replace("analyst: [read, run]", "analyst: [read, share]"));
    Poll.until(
        "the reloaded policy",
        Duration.ofSeconds(5),
        () -> authorize(analyst, "share").get("allowed").asBoolean());
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertThat(millis).as("applied within 2 s").isLessThan(2_000);
    assertThat(authorize(analyst, "run").get("allowed").asBoolean()).isFalse();

    Files.writeString(policyFile, "roles:\n  analyst: [read, fly]\n");
    Poll.until(
        "the policy's error in /api/rbac/status",
        Duration.ofSeconds(5),
        () ->
            !json(send(ADMIN, "GET", "/api/rbac/status", null), 200)
                .get("error")
                .asText()
                .isEmpty());
    JsonNode status = json(send(ADMIN, "GET", "/api/rbac/status", null), 200);
    assertThat(status.get("error").asText()).contains("fly");
    assertThat(status.get("loaded").asBoolean()).isTrue();
    assertThat(authorize(analyst, "share").get("allowed").asBoolean()).isTrue();

    Files.writeString(policyFile, "roles: [this is not a mapping\n");
    Poll.until(
        "the YAML error in /api/rbac/status",
        Duration.ofSeconds(5),
        () ->
            json(send(ADMIN, "GET", "/api/rbac/status", null), 200)
                .get("error")
                .asText()
                .contains("YAML"));
    assertThat(authorize(analyst, "share").get("allowed").asBoolean()).isTrue();

    // Dropping a role from the file deletes it; the file's other roles stay.
    Files.writeString(
        policyFile, "roles:\n  admin: {replace_system_role: true, permissions: [create, read]}\n");
    Poll.until(
        "the dropped role's removal",
        Duration.ofSeconds(5),
        () -> send(ADMIN, "GET", "/api/roles/analyst", null).statusCode() == 404);
    assertThat(authorize(analyst, "read").get("allowed").asBoolean()).isFalse();
    JsonNode fixed = json(send(ADMIN, "GET", "/api/rbac/status", null), 200);
    assertThat(fixed.get("error").asText()).isEmpty();
  }

  /** Regression: /api/whoami said admin:false to a token with role admin, and no more. */
  @Test
  void whoami_namesTheRbacRoles_fromTheTokenAndTheStore_apartFromCastellanAdministration()
      throws Exception {
    assertThat(
            send(ADMIN, "POST", "/api/roles/analyst/members", "{\"subject\":\"user:alice\"}")
                .statusCode())
        .isEqualTo(204);
    String alice = token("alice", Map.of("role", "admin"));
    JsonNode whoami = json(send(alice, "GET", "/api/whoami", null), 200);
    assertThat(whoami.get("castellan_admin").asBoolean()).isFalse();
    assertThat(whoami.get("admin").asBoolean()).isFalse();
    assertThat(whoami.get("rbac_subject").asText()).isEqualTo(subjectOf("alice"));
    assertThat(whoami.get("rbac_roles").toString()).isEqualTo("[\"admin\",\"analyst\"]");
    // The RBAC role admin does grant the admin role's permissions.
    assertThat(authorize(alice, "delete").get("allowed").asBoolean()).isTrue();
    JsonNode operator = json(send(ADMIN, "GET", "/api/whoami", null), 200);
    assertThat(operator.get("castellan_admin").asBoolean()).isTrue();
  }

  /** Seed 000's rbac.yaml, word for word: its admin, developer and viewer are its own roles. */
  static final String SEED_000_FILE =
      """
      roles:
        admin: [create, read, run, delete, share]
        developer: [create, read, run]
        analyst: [read, run]
        viewer: [read]
      """;

  /** Regression: seed 000's file silently cut Admin from every permission down to five. */
  @Test
  void seed000sFileAsWritten_isRefused_namingTheRoleAndWhatItWouldDrop() throws Exception {
    int adminBefore = permissionCount("admin");
    String analyst = token("ann", Map.of("role", "analyst"));
    Files.writeString(policyFile, SEED_000_FILE.replace("analyst: [read, run]", "analyst: [read]"));
    Poll.until(
        "the policy's error in /api/rbac/status",
        Duration.ofSeconds(5),
        () ->
            !json(send(ADMIN, "GET", "/api/rbac/status", null), 200)
                .get("error")
                .asText()
                .isEmpty());
    String error = json(send(ADMIN, "GET", "/api/rbac/status", null), 200).get("error").asText();
    assertThat(error)
        .contains("'admin' is a system role")
        .contains("replace_system_role: true")
        .contains("permissions: [create, read, run, delete, share]");
    // The last good policy stays: nothing of the refused file applies, not even analyst's edit.
    assertThat(permissionCount("admin")).isEqualTo(adminBefore);
    assertThat(authorize(analyst, "run").get("allowed").asBoolean()).isTrue();
  }

  @Test
  void aSystemRoleReplacement_isRefusedOnAFreshServer_withEveryPermissionItWouldDrop()
      throws Exception {
    server.close();
    Path fresh = dir.resolve("fresh.yaml");
    Files.writeString(fresh, SEED_000_FILE);
    assertThatThrownBy(
            () ->
                CastellanServer.start(
                    ServerHttp.loopback().withBootstrapToken(ADMIN).withRbacFile(fresh),
                    new MemoryStore()))
        .hasMessageContaining("roles.admin: 'admin' is a system role")
        .hasMessageContaining("would replace its 53 permissions with 5, dropping 48: Logs.View")
        .hasMessageContaining("and 36 more");
    // Renaming the file's roles, or saying so, is accepted.
    Files.writeString(
        fresh,
        SEED_000_FILE
            .replace("  admin: [create, read, run, delete, share]", "  workflow-admin: [create]")
            .replace("developer:", "app-developer:")
            .replace("viewer: [read]", "viewer: {replace_system_role: true, permissions: [read]}"));
    server =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN).withRbacFile(fresh), new MemoryStore());
    assertThat(permissionCount("admin")).isEqualTo(53);
    assertThat(permissionCount("viewer")).isEqualTo(1);
  }

  private int permissionCount(String role) throws Exception {
    return json(send(ADMIN, "GET", "/api/roles/" + role, null), 200)
        .get("permission_count")
        .asInt();
  }

  @Test
  void export_writesThePolicyInForceBackOut() throws Exception {
    HttpResponse<String> export = send(ADMIN, "GET", "/api/rbac/policy", null);
    assertThat(export.statusCode()).isEqualTo(200);
    var reparsed = dev.castellan.server.rbac.RbacPolicy.parse(export.body());
    assertThat(reparsed.roles().get("analyst")).containsExactly("read", "run");
    assertThat(reparsed.roles().get("admin"))
        .containsExactly("create", "read", "run", "delete", "share");
    assertThat(reparsed.routes()).hasSize(5);
  }

  // ------------------------------------------------------------------ gateway

  @Test
  void forwardAuth_mapsRoutes_andDeniesUnmappedAndTrickyPaths() throws Exception {
    String developer = token("dan", Map.of("role", "developer"));
    HttpResponse<String> ok = forward(developer, "POST", "/workflows/42/run?x=1");
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.headers().firstValue("X-Castellan-Subject")).contains(subjectOf("dan"));
    assertThat(forward(developer, "DELETE", "/workflows/42").statusCode()).isEqualTo(403);
    assertThat(forward(developer, "GET", "/workflows").statusCode()).isEqualTo(200);
    assertThat(forward(developer, "GET", "/workflows/").statusCode()).isEqualTo(200);
    assertThat(forward(developer, "GET", "/admin").statusCode()).isEqualTo(403);
    for (String tricky :
        List.of(
            "/workflows/42/../42/run",
            "/workflows/42/./run",
            "/workflows/42%2frun",
            "/workflows/42%2Frun",
            "/workflows//42/run",
            "/workflows/42/run.",
            "/workflows/42/run;x=1",
            "/workflows/42%2e%2e/run",
            "/workflows\\42\\run")) {
      assertThat(forward(developer, "POST", tricky).statusCode()).as(tricky).isEqualTo(403);
    }
    HttpResponse<String> anonymous = forward(null, "GET", "/workflows");
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(anonymous.headers().firstValue("WWW-Authenticate")).isPresent();
    // Without the headers too: forward-auth answers only 200, 401 or 403 (nginx: anything else
    // is a 500).
    assertThat(send(developer, "GET", "/authz/forward", null).statusCode()).isEqualTo(403);
  }

  @Test
  void envoyExtAuthz_usesTheRequestsOwnMethodAndPath() throws Exception {
    String analyst = token("ann", Map.of("role", "analyst"));
    assertThat(send(analyst, "POST", "/authz/envoy/workflows/7/run", "").statusCode())
        .isEqualTo(200);
    assertThat(send(analyst, "POST", "/authz/envoy/workflows", "").statusCode()).isEqualTo(403);
    assertThat(send(analyst, "GET", "/authz/envoy/workflows", null).statusCode()).isEqualTo(200);
  }

  @Test
  void forwardAuthDenials_areCounted_whetherByRoleOrByRoute() throws Exception {
    String viewer = token("vera", Map.of("role", "viewer"));
    assertThat(forward(viewer, "GET", "/workflows").statusCode()).isEqualTo(200);
    assertThat(forward(viewer, "DELETE", "/workflows/1").statusCode()).isEqualTo(403);
    assertThat(forward(viewer, "GET", "/admin").statusCode()).isEqualTo(403);
    assertThat(forward(viewer, "GET", "/workflows/../admin").statusCode()).isEqualTo(403);
    String scrape = send(ADMIN, "GET", "/metrics", null).body();
    assertThat(scrape)
        .contains("castellan_decisions_total{api=\"forward-auth\",outcome=\"allow\"} 1.0")
        .contains("castellan_decisions_total{api=\"forward-auth\",outcome=\"deny\"} 3.0");
  }

  // ------------------------------------------------------------------ gateway: strictness

  /**
   * Regression, issue 12 ("Forward-auth accepts '#'"): {@code POST /workflows/#/run} was decided as
   * Run, while a backend that receives the raw target may route it as {@code POST /workflows/}
   * (Create). An analyst may run but not create.
   */
  @Test
  void forwardAuth_refusesAFragment_insteadOfDecidingWorkflowsHashRunAsRun() throws Exception {
    String analyst = token("ann", Map.of("role", "analyst"));
    Raw refused = forwardRaw(analyst, "POST", "/workflows/#/run");
    assertThat(refused.status()).as(refused.body()).isEqualTo(403);
    assertThat(refused.body()).contains("fragment");
    assertThat(forwardRaw(analyst, "POST", "/workflows/7/run").status()).isEqualTo(200);
    assertThat(deniedReasons(subjectOf("ann"))).anySatisfy(r -> assertThat(r).contains("fragment"));
  }

  /** The same over Envoy, where Jetty dropped the fragment and the rest was decided as Create. */
  @Test
  void envoyExtAuthz_refusesAFragment_thatJettyWouldDropSilently() throws Exception {
    String developer = token("dan", Map.of("role", "developer"));
    Raw refused = raw(developer, "POST /authz/envoy/workflows/#/run", Map.of());
    assertThat(refused.status()).as(refused.body()).isEqualTo(403);
    assertThat(refused.body()).contains("fragment");
    assertThat(raw(developer, "POST /authz/envoy/workflows/", Map.of()).status()).isEqualTo(200);
    assertThat(deniedReasons(subjectOf("dan"))).anySatisfy(r -> assertThat(r).contains("fragment"));
  }

  /**
   * Regression, issue 12: with two {@code X-Forwarded-Uri} or {@code X-Forwarded-Method} headers
   * the first one won, so a client's own copy, sent before the one the gateway appends, decided.
   */
  @Test
  void forwardAuth_refusesDuplicateForwardedHeaders_insteadOfTakingTheFirst() throws Exception {
    String analyst = token("ann", Map.of("role", "analyst"));
    String viewer = token("vera", Map.of("role", "viewer"));
    // The client's copy first, the gateway's second.
    Raw uri =
        raw(
            analyst,
            "GET /authz/forward",
            headers(
                "X-Forwarded-Method", "POST",
                "X-Forwarded-Uri", "/workflows/1/run",
                "X-Forwarded-Uri", "/workflows"));
    assertThat(uri.status()).as(uri.body()).isEqualTo(403);
    assertThat(uri.body()).contains("X-Forwarded-Uri header is sent 2 times");
    Raw method =
        raw(
            viewer,
            "GET /authz/forward",
            headers(
                "X-Forwarded-Method", "GET",
                "X-Forwarded-Method", "POST",
                "X-Forwarded-Uri", "/workflows"));
    assertThat(method.status()).as(method.body()).isEqualTo(403);
    assertThat(method.body()).contains("X-Forwarded-Method header is sent 2 times");
    // Joined into one line by a proxy on the way: the client's part first.
    Raw joined =
        raw(
            analyst,
            "GET /authz/forward",
            headers(
                "X-Forwarded-Method", "POST", "X-Forwarded-Uri", "/workflows/1/run?x=,/workflows"));
    assertThat(joined.status()).as(joined.body()).isEqualTo(403);
    assertThat(joined.body()).contains("comma-joined");
    Raw methods =
        raw(
            viewer,
            "GET /authz/forward",
            headers("X-Forwarded-Method", "GET, POST", "X-Forwarded-Uri", "/workflows"));
    assertThat(methods.status()).as(methods.body()).isEqualTo(403);
    // A comma inside one target is fine.
    assertThat(
            raw(
                    viewer,
                    "GET /authz/forward",
                    headers("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/workflows?ids=1,2"))
                .status())
        .isEqualTo(200);
    assertThat(deniedReasons(subjectOf("ann")))
        .anySatisfy(r -> assertThat(r).contains("sent 2 times"))
        .anySatisfy(r -> assertThat(r).contains("comma-joined"));
  }

  /** X-Forwarded-Host and X-Forwarded-Proto too, on both endpoints. */
  @Test
  void forwardAuthAndEnvoy_refuseDuplicateOrJoinedHostAndProto() throws Exception {
    String viewer = token("vera", Map.of("role", "viewer"));
    Map<String, Map<String, List<String>>> cases =
        Map.of(
            "X-Forwarded-Host header is sent 2 times",
            headers("X-Forwarded-Host", "app.example", "X-Forwarded-Host", "admin.example"),
            "X-Forwarded-Proto header is sent 2 times",
            headers("X-Forwarded-Proto", "https", "X-Forwarded-Proto", "http"),
            "X-Forwarded-Host header holds a comma-joined list",
            headers("X-Forwarded-Host", "app.example,admin.example"),
            "X-Forwarded-Proto header holds a comma-joined list",
            headers("X-Forwarded-Proto", "https, http"));
    for (var c : cases.entrySet()) {
      Map<String, List<String>> forwarded = new java.util.LinkedHashMap<>(c.getValue());
      forwarded.put("X-Forwarded-Method", List.of("GET"));
      forwarded.put("X-Forwarded-Uri", List.of("/workflows"));
      Raw viaForward = raw(viewer, "GET /authz/forward", forwarded);
      assertThat(viaForward.status()).as(c.getKey()).isEqualTo(403);
      assertThat(viaForward.body()).contains(c.getKey());
      Raw viaEnvoy = raw(viewer, "GET /authz/envoy/workflows", c.getValue());
      assertThat(viaEnvoy.status()).as(c.getKey()).isEqualTo(403);
      assertThat(viaEnvoy.body()).contains(c.getKey());
    }
    // Once each is fine.
    assertThat(
            raw(
                    viewer,
                    "GET /authz/envoy/workflows",
                    headers("X-Forwarded-Host", "app.example", "X-Forwarded-Proto", "https"))
                .status())
        .isEqualTo(200);
  }

  /**
   * Every refusal over real HTTP, through both endpoints: the target in {@code X-Forwarded-Uri}
   * (nginx, Traefik) and on the request line after {@code /authz/envoy} (Envoy). An analyst may run
   * workflow 7, so each 403 is the refusal, never the role.
   */
  @Test
  void forwardAuthAndEnvoy_refuseEveryAmbiguousTarget_with403AndAnAuditEntry() throws Exception {
    String analyst = token("ann", Map.of("role", "analyst"));
    Map<String, String> cases = new java.util.LinkedHashMap<>();
    cases.put("/workflows/7/run#x", "fragment");
    cases.put("/workflows/7/run?x#y", "fragment");
    cases.put("//workflows/7/run", "starts with '//'");
    cases.put("/workflows//7/run", "empty segment");
    cases.put("/workflows/7/run;x=1", "';'");
    cases.put("/workflows/7/ru%6E", "never needs encoding");
    cases.put("/workflows/%37/run", "never needs encoding");
    cases.put("/workflows/%252e%252e/run", "double encoding");
    cases.put("/workflows/7%2F/run", "encoded '/'");
    cases.put("/workflows/7%3F/run", "encoded '?'");
    cases.put("/workflows/7%0a/run", "control character");
    cases.put("/workflows/%EF%BC%8F/run", "NFKC");
    cases.put("/workflows/%E2%80%8B7/run", "U+200B");
    cases.put("/workflows/7./run", "ends with '.'");
    cases.put("/workflows/../workflows/7/run", "dot segment");
    for (var c : cases.entrySet()) {
      Raw viaForward = forwardRaw(analyst, "POST", c.getKey());
      assertThat(viaForward.status()).as("forward " + c.getKey()).isEqualTo(403);
      assertThat(viaForward.body()).as("forward " + c.getKey()).contains(c.getValue());
      Raw viaEnvoy = raw(analyst, "POST /authz/envoy" + c.getKey(), Map.of());
      assertThat(viaEnvoy.status()).as("envoy " + c.getKey()).isEqualTo(403);
      assertThat(viaEnvoy.body()).as("envoy " + c.getKey()).contains("refused request");
    }
    // Only through X-Forwarded-Uri: Jetty itself would not take these on a request line, or they
    // are not a path at all.
    Map<String, String> forwardOnly = new java.util.LinkedHashMap<>();
    forwardOnly.put("http://evil.example/workflows/7/run", "absolute form");
    forwardOnly.put("*", "must start with '/'");
    forwardOnly.put("/workflows/7%00/run", "NUL");
    forwardOnly.put("/workflows/%C0%AF/run", "not valid UTF-8");
    forwardOnly.put("/workflows/7 /run", "space");
    forwardOnly.put("/workflows/\\7/run", "backslash");
    for (var c : forwardOnly.entrySet()) {
      Raw viaForward = forwardRaw(analyst, "POST", c.getKey());
      assertThat(viaForward.status()).as("forward " + c.getKey()).isEqualTo(403);
      assertThat(viaForward.body()).as("forward " + c.getKey()).contains(c.getValue());
    }
    // Where Jetty's parser refuses the request line before Castellan's code runs, the answer is
    // still 403 (an invalid UTF-8 sequence, a raw non-ASCII byte, a backslash).
    for (String target :
        List.of("/workflows/%C0%AF/run", "/workflows/\u00e9/run", "/workflows/\\7/run")) {
      Raw viaEnvoy = raw(analyst, "POST /authz/envoy" + target, Map.of());
      assertThat(viaEnvoy.status()).as("envoy " + target).isEqualTo(403);
      assertThat(viaEnvoy.body()).as("envoy " + target).contains("Jetty's URI parser rejects");
    }
    // Only forward-auth: elsewhere Jetty's 400 stands.
    assertThat(raw(analyst, "GET /api/roles/%C0%AF", Map.of()).status()).isEqualTo(400);
    // Legitimate encodings pass: a space, a euro sign, braces.
    for (String target :
        List.of("/workflows/a%20b/run", "/workflows/%E2%82%AC/run", "/workflows/%7B7%7D/run")) {
      assertThat(forwardRaw(analyst, "POST", target).status()).as(target).isEqualTo(200);
      assertThat(raw(analyst, "POST /authz/envoy" + target, Map.of()).status())
          .as(target)
          .isEqualTo(200);
    }
    List<String> reasons = deniedReasons(subjectOf("ann"));
    for (String reason : cases.values()) {
      assertThat(reasons)
          .anySatisfy(r -> assertThat(r).startsWith("refused request: ").contains(reason));
    }
    // Jetty's own refusals come before authentication: audited without a subject.
    List<String> anonymous = deniedReasons("");
    assertThat(anonymous).anySatisfy(r -> assertThat(r).contains("Jetty's URI parser rejects"));
  }

  @Test
  void forwardAuthAndEnvoy_refuseEmptyLowerCaseAndUnknownMethods() throws Exception {
    String developer = token("dan", Map.of("role", "developer"));
    Map<String, String> forwarded =
        Map.of(
            "",
            "the method is empty",
            "post",
            "not upper-case",
            "PROPFIND",
            "not one",
            "TRACE",
            "not one");
    for (var c : forwarded.entrySet()) {
      Raw viaForward = forwardRaw(developer, c.getKey(), "/workflows/1/run");
      assertThat(viaForward.status()).as("'" + c.getKey() + "'").isEqualTo(403);
      assertThat(viaForward.body()).contains(c.getValue());
    }
    for (String method : List.of("post", "PROPFIND", "TRACE", "QUERY")) {
      for (String path : List.of("/authz/envoy/workflows/1/run", "/authz/forward")) {
        Raw refused =
            raw(
                developer,
                method + " " + path,
                headers("X-Forwarded-Method", "POST", "X-Forwarded-Uri", "/workflows/1/run"));
        assertThat(refused.status()).as(method + " " + path).isEqualTo(403);
        assertThat(refused.body()).contains("the method '" + method + "'");
      }
    }
    // Unauthenticated, whatever the method: 401 first.
    assertThat(raw(null, "PROPFIND /authz/forward", Map.of()).status()).isEqualTo(401);
    assertThat(deniedReasons(subjectOf("dan")))
        .anySatisfy(r -> assertThat(r).contains("not upper-case"));
  }

  // ------------------------------------------------------------------ audit

  @Test
  void denialsAndRoleChanges_areInTheAuditTrail() throws Exception {
    String viewer = token("vera", Map.of("role", "viewer"));
    assertThat(authorize(viewer, "create").get("allowed").asBoolean()).isFalse();
    assertThat(forward(viewer, "DELETE", "/workflows/1").statusCode()).isEqualTo(403);
    assertThat(forward(viewer, "GET", "/workflows/..").statusCode()).isEqualTo(403);
    JsonNode denials =
        json(send(ADMIN, "GET", "/api/audit?outcome=deny&subject=" + subjectOf("vera"), null), 200)
            .get("entries");
    List<String> apis = new ArrayList<>();
    denials.forEach(e -> apis.add(e.get("api").asText()));
    assertThat(apis).containsExactlyInAnyOrder("authorize", "forward-auth", "forward-auth");
    JsonNode first = null;
    for (JsonNode e : denials) {
      if (e.get("api").asText().equals("authorize")) {
        first = e;
      }
    }
    assertThat(first.get("action").asText()).isEqualTo("Workflows.Create");
    assertThat(first.get("roles").toString()).isEqualTo("[\"viewer\"]");
    assertThat(first.get("caller").asText()).isEqualTo(subjectOf("vera"));

    json(send(ADMIN, "POST", "/api/roles", "{\"name\":\"Ops\"}"), 201);
    send(ADMIN, "POST", "/api/roles/ops/members", "{\"subject\":\"user:olga\"}");
    JsonNode changes =
        json(send(ADMIN, "GET", "/api/audit?resource=role:ops", null), 200).get("entries");
    List<String> changeApis = new ArrayList<>();
    changes.forEach(e -> changeApis.add(e.get("api").asText()));
    assertThat(changeApis).contains("role-create", "role-member-add");
    // The policy file's load at start is a change too.
    JsonNode loads =
        json(send(ADMIN, "GET", "/api/audit?resource=" + policyFile, null), 200).get("entries");
    assertThat(loads.get(0).get("api").asText()).isEqualTo("policy-reload");
    // Only admins and auditors read the trail.
    json(send(viewer, "GET", "/api/audit", null), 403);
  }

  // ------------------------------------------------------------------ helpers

  private JsonNode authorize(String token, String permission) throws Exception {
    return json(
        send(token, "POST", "/api/authorize", "{\"permission\":\"" + permission + "\"}"), 200);
  }

  private JsonNode authorizeAs(String token, String subject, String permission) throws Exception {
    return json(
        send(
            token,
            "POST",
            "/api/authorize",
            "{\"permission\":\"" + permission + "\",\"subject\":\"" + subject + "\"}"),
        200);
  }

  private HttpResponse<String> forward(String token, String method, String uri) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/authz/forward"))
            .header("X-Forwarded-Method", method)
            .header("X-Forwarded-Uri", uri)
            .GET();
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  record Raw(int status, String body) {}

  /** Header name -> values, in order; a name given twice is sent as two header lines. */
  private static Map<String, List<String>> headers(String... pairs) {
    Map<String, List<String>> out = new java.util.LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      out.computeIfAbsent(pairs[i], k -> new ArrayList<>()).add(pairs[i + 1]);
    }
    return out;
  }

  private Raw forwardRaw(String token, String method, String uri) throws Exception {
    return raw(
        token, "GET /authz/forward", headers("X-Forwarded-Method", method, "X-Forwarded-Uri", uri));
  }

  /**
   * One request written byte for byte (UTF-8) on a socket: {@code requestLine} is method and
   * target; no client library normalizes, joins or drops anything.
   */
  private Raw raw(String token, String requestLine, Map<String, List<String>> headers)
      throws Exception {
    StringBuilder request = new StringBuilder(requestLine).append(" HTTP/1.1\r\n");
    request.append("Host: 127.0.0.1:").append(server.port()).append("\r\n");
    if (token != null) {
      request.append("Authorization: Bearer ").append(token).append("\r\n");
    }
    headers.forEach(
        (name, values) ->
            values.forEach(v -> request.append(name).append(": ").append(v).append("\r\n")));
    request.append("Content-Length: 0\r\nConnection: close\r\n\r\n");
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      socket
          .getOutputStream()
          .write(request.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      socket.getOutputStream().flush();
      String response =
          new String(
              socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      int status = Integer.parseInt(response.substring(9, 12));
      int body = response.indexOf("\r\n\r\n");
      return new Raw(status, body < 0 ? "" : response.substring(body + 4));
    }
  }

  /** The one subject (ADR 0023) of the person whose token's {@code sub} is {@code name}. */
  private String subjectOf(String name) throws Exception {
    return json(send(token(name, Map.of()), "GET", "/api/whoami", null), 200)
        .get("subject")
        .asText();
  }

  /** The reasons of the forward-auth denials audited for {@code subject} ("" for none). */
  private List<String> deniedReasons(String subject) throws Exception {
    JsonNode entries =
        json(send(ADMIN, "GET", "/api/audit?outcome=deny&limit=1000", null), 200).get("entries");
    List<String> reasons = new ArrayList<>();
    entries.forEach(
        e -> {
          if (e.get("api").asText().equals("forward-auth")
              && e.get("subject").asText().equals(subject)) {
            reasons.add(e.get("reason").asText());
          }
        });
    return reasons;
  }

  static List<Integer> ids(JsonNode permissions) {
    List<Integer> out = new ArrayList<>();
    permissions.forEach(p -> out.add(p.get("id").asInt()));
    return out;
  }

  static String token(String subject, Map<String, Object> claims) throws Exception {
    return token(subject, claims, 300, SECRET);
  }

  static String token(String subject, Map<String, Object> claims, long expiresIn, String secret)
      throws Exception {
    return ServerHttp.hs256(secret, subject, claims, Duration.ofSeconds(expiresIn));
  }

  private HttpResponse<String> send(String token, String method, String path, String body)
      throws Exception {
    return ServerHttp.send(server, token, method, path, body);
  }
}
