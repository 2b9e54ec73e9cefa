package dev.castellan.server;

import static dev.castellan.server.ServerHttp.JSON;
import static dev.castellan.server.ServerHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.store.MemoryStore;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Regressions for the finding "lossy subjects" of issue 12: token subjects that differ only in
 * characters outside {@code [A-Za-z0-9_.@|-]} were one caller, and group and role claims were
 * slugged, so {@code PLATFORM_ADMINS} held the roles of {@code group:platform-admins}. Over real
 * HTTP, with HS256 tokens.
 */
class SubjectsHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String SECRET = "a-development-secret-of-32-bytes-or-more";

  /** All five were {@code user:bob_smith} and {@code jwt:bob_smith}. */
  private static final List<String> BOBS =
      List.of("bob smith", "bob/smith", "bob:smith", "bob#smith", "bob_smith");

  private static final List<String> BOB_IDS =
      List.of("bob%20smith", "bob%2Fsmith", "bob%3Asmith", "bob%23smith", "bob_smith");

  /** Workflows' five operations, one per Bob. */
  private static final List<String> PERMISSIONS =
      List.of(
          "Workflows.Create",
          "Workflows.Read",
          "Workflows.Run",
          "Workflows.Delete",
          "Workflows.Share");

  private static final List<Integer> PERMISSION_IDS = List.of(101, 102, 103, 104, 105);

  CastellanServer server;

  @BeforeEach
  void start() {
    server = start(false);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private static CastellanServer start(boolean caseInsensitiveClaims) {
    CastellanServer.Options options =
        ServerHttp.loopback().withBootstrapToken(ADMIN).withJwt(JwtSettings.hs256(SECRET));
    if (caseInsensitiveClaims) {
      options = options.withCaseInsensitiveClaims(true);
    }
    return CastellanServer.start(options, new MemoryStore());
  }

  // ------------------------------------------------------------------ subjects

  @Test
  void fiveSubjectsTheOldSchemeFolded_areFiveCallers_eachWithOnlyItsOwnStoreAccess()
      throws Exception {
    List<String> stores = new ArrayList<>();
    for (int i = 0; i < BOBS.size(); i++) {
      stores.add(
          json(send(ADMIN, "POST", "/stores", "{\"name\":\"bob-" + i + "\"}"), 201)
              .get("id")
              .asText());
    }
    List<JsonNode> whoami = new ArrayList<>();
    for (String bob : BOBS) {
      whoami.add(json(send(token(bob, Map.of()), "GET", "/api/whoami", null), 200));
    }
    List<String> subjects = whoami.stream().map(w -> w.get("subject").asText()).toList();
    assertThat(new HashSet<>(subjects)).as("distinct callers").hasSize(BOBS.size());
    for (int i = 0; i < BOBS.size(); i++) {
      // Each is a directory user named after its subject (ADR 0023), one subject for everything.
      assertThat(subjects.get(i)).matches("user:[0-9A-Z]{26}");
      assertThat(whoami.get(i).get("name").asText()).isEqualTo(BOBS.get(i));
      assertThat(whoami.get(i).get("user_name").asText()).isEqualTo(BOBS.get(i));
      assertThat(whoami.get(i).get("rbac_subject").asText()).isEqualTo(subjects.get(i));
    }

    for (int i = 0; i < BOBS.size(); i++) {
      ObjectNode grant =
          JSON.createObjectNode().put("subject", subjects.get(i)).put("role", "reader");
      assertThat(
              send(ADMIN, "POST", "/api/stores/" + stores.get(i) + "/access", grant.toString())
                  .statusCode())
          .isEqualTo(204);
    }
    for (int i = 0; i < BOBS.size(); i++) {
      String bob = token(BOBS.get(i), Map.of());
      for (int j = 0; j < stores.size(); j++) {
        assertThat(send(bob, "GET", "/stores/" + stores.get(j), null).statusCode())
            .as("%s reads the store of %s", BOBS.get(i), BOBS.get(j))
            .isEqualTo(i == j ? 200 : 403);
      }
      JsonNode listed = json(send(bob, "GET", "/stores", null), 200).get("stores");
      assertThat(listed).hasSize(1);
      assertThat(listed.get(0).get("id").asText()).isEqualTo(stores.get(i));
    }
  }

  @Test
  void fiveSubjectsTheOldSchemeFolded_areFiveRbacSubjects_eachWithOnlyItsOwnRole()
      throws Exception {
    for (int i = 0; i < BOBS.size(); i++) {
      json(send(ADMIN, "POST", "/api/roles", "{\"name\":\"bob-" + i + "\"}"), 201);
      json(
          send(
              ADMIN,
              "PUT",
              "/api/roles/bob-" + i + "/permissions",
              "{\"permission_ids\":[" + PERMISSION_IDS.get(i) + "]}"),
          200);
      ObjectNode member = JSON.createObjectNode().put("subject", "user:" + BOB_IDS.get(i));
      assertThat(
              send(ADMIN, "POST", "/api/roles/bob-" + i + "/members", member.toString())
                  .statusCode())
          .isEqualTo(204);
    }
    JsonNode members = json(send(ADMIN, "GET", "/api/roles/bob-0/members", null), 200);
    String bob0 =
        json(send(token(BOBS.get(0), Map.of()), "GET", "/api/whoami", null), 200)
            .get("subject")
            .asText();
    assertThat(members.get("members").toString()).isEqualTo("[\"" + bob0 + "\"]");
    assertThat(members.get("member_details").get(0).get("user_name").asText())
        .isEqualTo("bob smith");
    for (int i = 0; i < BOBS.size(); i++) {
      String bob = token(BOBS.get(i), Map.of());
      String self = json(send(bob, "GET", "/api/whoami", null), 200).get("subject").asText();
      for (int j = 0; j < PERMISSIONS.size(); j++) {
        JsonNode decision = authorize(bob, PERMISSIONS.get(j));
        assertThat(decision.get("subject").asText()).isEqualTo(self);
        assertThat(decision.get("allowed").asBoolean())
            .as("%s holds %s", BOBS.get(i), PERMISSIONS.get(j))
            .isEqualTo(i == j);
      }
    }
    // The router decodes a path once: the subject user:bob%20smith is user:bob%2520smith there.
    String path =
        "/api/roles/bob-0/members/" + URLEncoder.encode("user:bob%20smith", StandardCharsets.UTF_8);
    assertThat(path).endsWith("user%3Abob%2520smith");
    assertThat(send(ADMIN, "DELETE", path, null).statusCode()).isEqualTo(204);
    assertThat(
            authorize(token("bob smith", Map.of()), "Workflows.Create").get("allowed").asBoolean())
        .isFalse();
  }

  @Test
  void grants_refuseEverySpellingButTheCanonicalOne_sayingHowToWriteIt() throws Exception {
    String store =
        json(send(ADMIN, "POST", "/stores", "{\"name\":\"spellings\"}"), 201).get("id").asText();
    for (String subject :
        List.of(
            "jwt:bob smith",
            "jwt:bob:smith",
            "jwt:bob%2fsmith",
            "jwt:%62ob",
            "jwt.bob",
            "robot:x",
            "jwt:")) {
      ObjectNode grant = JSON.createObjectNode().put("subject", subject).put("role", "reader");
      JsonNode refused =
          json(send(ADMIN, "POST", "/api/stores/" + store + "/access", grant.toString()), 400);
      assertThat(refused.get("message").asText()).as(subject).contains("user:bob%20smith");
    }
    json(send(ADMIN, "POST", "/api/roles", "{\"name\":\"team\"}"), 201);
    // "user:bob/smith" is the subject smith of the issuer named bob (ADR 0020); an issuer's name
    // is lower case, so "user:Bob/smith" is no subject.
    for (String subject :
        List.of("user:bob smith", "user:Bob/smith", "user:/smith", "group:a%2a", "user:*")) {
      ObjectNode member = JSON.createObjectNode().put("subject", subject);
      JsonNode refused =
          json(send(ADMIN, "POST", "/api/roles/team/members", member.toString()), 400);
      assertThat(refused.get("message").asText()).as(subject).contains("user:bob%20smith");
    }
  }

  @Test
  void aSubjectThatCannotBeRepresented_is401_withTheReason() throws Exception {
    HttpResponse<String> response =
        send(token("é".repeat(100), Map.of()), "GET", "/api/whoami", null);
    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(JSON.readTree(response.body()).get("message").asText())
        .contains("600 characters long")
        .contains("at most 256");
  }

  // ------------------------------------------------------------------ claims

  @Test
  void groupClaims_matchExactly_soOtherSpellingsDoNotInheritAGroupsRoles() throws Exception {
    role("platform", 104, "group:platform-admins");
    for (String spelling :
        List.of("PLATFORM_ADMINS", "platform.admins!", "Platform Admins", "PLATFORM-ADMINS")) {
      String caller = token("mallory", Map.of("groups", List.of(spelling)));
      assertThat(authorize(caller, "Workflows.Delete").get("allowed").asBoolean())
          .as(spelling)
          .isFalse();
    }
    String member = token("pat", Map.of("groups", List.of("platform-admins")));
    assertThat(authorize(member, "Workflows.Delete").get("allowed").asBoolean()).isTrue();

    // Each spelling is a group of its own, and can be given roles as such.
    role("upper", 105, "group:PLATFORM_ADMINS");
    role("punctuated", 103, "group:platform.admins%21");
    String upper = token("uma", Map.of("groups", List.of("PLATFORM_ADMINS")));
    String punctuated = token("pia", Map.of("groups", List.of("platform.admins!")));
    assertThat(authorize(upper, "Workflows.Share").get("allowed").asBoolean()).isTrue();
    assertThat(authorize(upper, "Workflows.Run").get("allowed").asBoolean()).isFalse();
    assertThat(authorize(punctuated, "Workflows.Run").get("allowed").asBoolean()).isTrue();
    assertThat(authorize(punctuated, "Workflows.Share").get("allowed").asBoolean()).isFalse();
    assertThat(authorize(member, "Workflows.Share").get("allowed").asBoolean()).isFalse();
  }

  @Test
  void roleClaims_matchARolesIdOrName_exactly() throws Exception {
    // The system role admin is named "Admin"; an app role "Castellan.Operator" names its role.
    role("Castellan.Operator", 103, "user:nobody");
    for (String spelling : List.of("admin", "Admin", "castellan-operator", "Castellan.Operator")) {
      String caller = token("ada", Map.of("role", spelling));
      String permission =
          spelling.toLowerCase(java.util.Locale.ROOT).startsWith("admin")
              ? "Workflows.Share"
              : "Workflows.Run";
      assertThat(authorize(caller, permission).get("allowed").asBoolean()).as(spelling).isTrue();
    }
    // The old slugging made each of these one of the roles above.
    for (String spelling :
        List.of(
            "ADMIN",
            " admin",
            "admin!",
            "ADMINS",
            "castellan.operator",
            "Castellan-Operator",
            "CASTELLAN_OPERATOR")) {
      String caller = token("mallory", Map.of("role", spelling));
      assertThat(authorize(caller, "Workflows.Share").get("allowed").asBoolean())
          .as(spelling)
          .isFalse();
      assertThat(authorize(caller, "Workflows.Run").get("allowed").asBoolean())
          .as(spelling)
          .isFalse();
    }
  }

  @Test
  void caseInsensitiveClaims_whenConfigured_matchAnyCase_andNothingElse() throws Exception {
    server.close();
    server = start(true);
    role("platform", 104, "group:platform-admins");
    for (String spelling : List.of("PLATFORM-ADMINS", "Platform-Admins", "platform-admins")) {
      String caller = token("pat", Map.of("groups", List.of(spelling)));
      assertThat(authorize(caller, "Workflows.Delete").get("allowed").asBoolean())
          .as(spelling)
          .isTrue();
    }
    for (String spelling : List.of("PLATFORM_ADMINS", "platform.admins!", "Platform Admins")) {
      String caller = token("mallory", Map.of("groups", List.of(spelling)));
      assertThat(authorize(caller, "Workflows.Delete").get("allowed").asBoolean())
          .as(spelling)
          .isFalse();
    }
    role("Castellan.Operator", 103, "user:nobody");
    assertThat(
            authorize(token("ops", Map.of("role", "CASTELLAN.OPERATOR")), "Workflows.Run")
                .get("allowed")
                .asBoolean())
        .isTrue();
    assertThat(
            authorize(token("mallory", Map.of("role", "CASTELLAN_OPERATOR")), "Workflows.Run")
                .get("allowed")
                .asBoolean())
        .isFalse();
    assertThat(
            authorize(token("ada", Map.of("role", "ADMIN")), "Workflows.Share")
                .get("allowed")
                .asBoolean())
        .isTrue();
    // A group bound in another case would never match a lower-cased claim: refused, with the fix.
    JsonNode refused =
        json(
            send(
                ADMIN,
                "POST",
                "/api/roles/platform/members",
                "{\"subject\":\"group:Platform-Admins\"}"),
            400);
    assertThat(refused.get("message").asText()).contains("group:platform-admins");
    // Subjects stay exact: case-insensitivity is for claim values only.
    JsonNode upper = json(send(token("Bob", Map.of()), "GET", "/api/whoami", null), 200);
    assertThat(upper.get("name").asText()).isEqualTo("Bob");
    assertThat(upper.get("subject").asText())
        .isNotEqualTo(
            json(send(token("bob", Map.of()), "GET", "/api/whoami", null), 200)
                .get("subject")
                .asText());
  }

  // ------------------------------------------------------------------ helpers

  private void role(String name, int permission, String member) throws Exception {
    String id =
        json(
                send(
                    ADMIN,
                    "POST",
                    "/api/roles",
                    JSON.createObjectNode().put("name", name).toString()),
                201)
            .get("id")
            .asText();
    json(
        send(
            ADMIN,
            "PUT",
            "/api/roles/" + id + "/permissions",
            "{\"permission_ids\":[" + permission + "]}"),
        200);
    ObjectNode body = JSON.createObjectNode().put("subject", member);
    assertThat(send(ADMIN, "POST", "/api/roles/" + id + "/members", body.toString()).statusCode())
        .isEqualTo(204);
  }

  private JsonNode authorize(String token, String permission) throws Exception {
    return json(
        send(token, "POST", "/api/authorize", "{\"permission\":\"" + permission + "\"}"), 200);
  }

  static String token(String subject, Map<String, Object> claims) throws Exception {
    return ServerHttp.hs256(SECRET, subject, claims, Duration.ofMinutes(5));
  }

  private HttpResponse<String> send(String token, String method, String path, String body)
      throws Exception {
    return ServerHttp.send(server, token, method, path, body);
  }
}
