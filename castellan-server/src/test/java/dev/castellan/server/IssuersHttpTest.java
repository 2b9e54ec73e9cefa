package dev.castellan.server;

import static dev.castellan.server.ServerHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.auth.IssuerSettings;
import dev.castellan.server.auth.IssuerSettings.ClaimValues;
import dev.castellan.server.auth.IssuerSettings.GroupMatch;
import dev.castellan.server.auth.IssuerSettings.Provisioning;
import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.Identity;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Several OIDC issuers at once (ADR 0020), against a real provider (navikt's mock-oauth2-server,
 * three issuers on one HTTP server, each with its own keys) and the SCIM service: namespaced
 * subjects, group claims matched to directory groups, role mappings, administrators and auditors by
 * claim, just-in-time users and SCIM-only issuers.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(
    value = StoreKind.class,
    names = {"MEMORY", "POSTGRES"})
class IssuersHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String AUDIENCE = "castellan";

  @Parameter StoreKind kind;

  private static StoreKind.TestStore testStore;
  private static CastellanServer server;
  private static MockOAuth2Server provider;
  private static String scimKey;

  @BeforeParameterizedClassInvocation
  static void start(StoreKind kind) throws Exception {
    provider = new MockOAuth2Server();
    provider.start();
    // The provider's first answers are slow on a busy machine (class loading, key generation);
    // served once here, they do not eat into the server's 5 s timeout for the first token.
    java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
    for (String name : List.of("corp", "okta", "entra")) {
      client.send(
          java.net.http.HttpRequest.newBuilder(provider.jwksUrl(name).uri()).build(),
          HttpResponse.BodyHandlers.discarding());
      provider.issueToken(name, "warm-up", AUDIENCE, Map.of(), 60L);
    }
    testStore = kind.create();
    server =
        testStore.startServer(
            ServerHttp.loopback()
                .withBootstrapToken(ADMIN)
                .withIssuers(
                    List.of(
                        // The issuer of before: its subjects keep their un-prefixed ids.
                        issuer("corp", true, GroupMatch.NAME, Provisioning.NONE),
                        issuer("okta", false, GroupMatch.DISPLAY_NAME, Provisioning.JIT),
                        issuer("entra", false, GroupMatch.EXTERNAL_ID, Provisioning.SCIM_ONLY))));
    // The first fetch of each issuer's keys (the server's HTTP client starting, the provider
    // making its keys) can exceed the 5 s timeout on a busy machine: wait until each issuer's
    // tokens are accepted, so that no test measures start-up. A failed first fetch is retried
    // after 5 s (JwtAuthenticator.FIRST_LOAD_RETRY_SECONDS).
    // (entra answers 403 to a user SCIM did not provision, once its keys are loaded.)
    for (String name : List.of("corp", "okta", "entra")) {
      String probe = token(name, "probe", Map.of());
      Poll.until(
          "the keys of issuer " + name,
          java.time.Duration.ofSeconds(60),
          () -> send(probe, "GET", "/api/whoami", null).statusCode() != 401);
    }
    scimKey =
        json(
                ServerHttp.send(
                    server, ADMIN, "POST", "/api/keys", "{\"name\":\"idp\",\"scim\":true}"),
                201)
            .get("key")
            .asText();
  }

  private static IssuerSettings issuer(
      String name, boolean defaultNamespace, GroupMatch match, Provisioning provisioning) {
    return new IssuerSettings(
        name,
        provider.issuerUrl(name).toString(),
        AUDIENCE,
        "",
        defaultNamespace,
        "sub",
        "groups",
        match,
        "roles",
        Map.of("Castellan.Developer", "developer"),
        new ClaimValues("groups", List.of("castellan-admins")),
        new ClaimValues("groups", List.of("compliance")),
        provisioning);
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
    provider.shutdown();
  }

  private static String token(String issuer, String subject, Map<String, Object> claims) {
    return provider.issueToken(issuer, subject, AUDIENCE, claims, 3600L).serialize();
  }

  private static HttpResponse<String> send(String token, String method, String path, String body)
      throws Exception {
    return ServerHttp.send(server, token, method, path, body);
  }

  private static JsonNode whoami(String token) throws Exception {
    return json(send(token, "GET", "/api/whoami", null), 200);
  }

  private static boolean allowed(String token, String permission) throws Exception {
    return json(
            send(token, "POST", "/api/authorize", "{\"permission\":\"" + permission + "\"}"), 200)
        .get("allowed")
        .asBoolean();
  }

  private static JsonNode scim(String method, String path, String body) throws Exception {
    HttpResponse<String> response =
        ServerHttp.send(
            server,
            scimKey,
            method,
            "/scim/v2" + path,
            body,
            Map.of("Content-Type", "application/scim+json"));
    assertThat(response.statusCode()).as(response.body()).isBetween(200, 299);
    return ServerHttp.JSON.readTree(response.body());
  }

  private static String scimGroup(String displayName, String externalId) throws Exception {
    return scim(
            "POST",
            "/Groups",
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\""
                + displayName
                + "\",\"externalId\":\""
                + externalId
                + "\"}")
        .get("id")
        .asText();
  }

  private static void bind(String role, String subject) throws Exception {
    assertThat(
            send(
                    ADMIN,
                    "POST",
                    "/api/roles/" + role + "/members",
                    "{\"subject\":\"" + subject + "\"}")
                .statusCode())
        .isBetween(200, 204);
  }

  private static DirectoryStore directory() {
    return testStore.store().directoryStore();
  }

  // ------------------------------------------------------------------ subjects

  @Test
  void theSameSub_fromTwoIssuers_isTwoPrincipals_andTheDefaultNamespaceIsUnprefixed()
      throws Exception {
    JsonNode corp = whoami(token("corp", "same-sub", Map.of()));
    JsonNode okta = whoami(token("okta", "same-sub", Map.of()));
    // Two directory users (ADR 0023), each with one subject for RBAC and store rights alike.
    assertThat(corp.get("subject").asText()).matches("user:[0-9A-Z]{26}");
    assertThat(corp.get("rbac_subject").asText()).isEqualTo(corp.get("subject").asText());
    assertThat(corp.get("user_name").asText()).isEqualTo("same-sub");
    assertThat(okta.get("subject").asText()).matches("user:[0-9A-Z]{26}");
    assertThat(okta.get("subject").asText()).isNotEqualTo(corp.get("subject").asText());
    assertThat(okta.get("rbac_subject").asText()).isEqualTo(okta.get("subject").asText());
    assertThat(okta.get("user_name").asText()).isEqualTo("okta/same-sub");
    assertThat(okta.get("issuer").asText()).isEqualTo("okta");

    // A store right granted to one is not the other's.
    String store =
        json(send(ADMIN, "POST", "/stores", "{\"name\":\"namespaces\"}"), 201).get("id").asText();
    assertThat(
            send(
                    ADMIN,
                    "POST",
                    "/api/stores/" + store + "/access",
                    "{\"subject\":\"jwt:okta/same-sub\",\"role\":\"reader\"}")
                .statusCode())
        .isEqualTo(204);
    assertThat(
            send(token("okta", "same-sub", Map.of()), "GET", "/stores/" + store, null).statusCode())
        .isEqualTo(200);
    assertThat(
            send(token("corp", "same-sub", Map.of()), "GET", "/stores/" + store, null).statusCode())
        .isEqualTo(403);
  }

  @Test
  void theSameSub_fromTwoIssuers_isOnePerson_onceLinked() throws Exception {
    String sub = "linked-" + java.util.UUID.randomUUID().toString().substring(0, 8);
    JsonNode corp = whoami(token("corp", sub, Map.of()));
    String subject = corp.get("subject").asText();
    directory()
        .link(
            subject.substring("user:".length()),
            new Identity("oidc", provider.issuerUrl("okta").toString(), sub));
    assertThat(whoami(token("okta", sub, Map.of())).get("subject").asText()).isEqualTo(subject);

    // A right granted through one issuer's alias is the person's, whichever token it shows.
    String store =
        json(send(ADMIN, "POST", "/stores", "{\"name\":\"linked\"}"), 201).get("id").asText();
    assertThat(
            send(
                    ADMIN,
                    "POST",
                    "/api/stores/" + store + "/access",
                    "{\"subject\":\"jwt:okta/" + sub + "\",\"role\":\"reader\"}")
                .statusCode())
        .isEqualTo(204);
    assertThat(send(token("corp", sub, Map.of()), "GET", "/stores/" + store, null).statusCode())
        .isEqualTo(200);
  }

  @Test
  void anIssuerNotConfigured_andAWrongAudience_are401() throws Exception {
    String stranger =
        provider.issueToken("stranger", "alice", AUDIENCE, Map.of(), 3600L).serialize();
    HttpResponse<String> response = send(stranger, "GET", "/api/whoami", null);
    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(response.body()).contains("unauthenticated").contains("issuer is not accepted");

    String otherAudience =
        provider.issueToken("corp", "alice", "someone-else", Map.of(), 3600L).serialize();
    HttpResponse<String> wrong = send(otherAudience, "GET", "/api/whoami", null);
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).contains("audience is not accepted");
  }

  // ------------------------------------------------------------------ groups and roles

  @Test
  void groupClaims_matchDirectoryGroups_byDisplayNameOrExternalId_andTheirRolesApply()
      throws Exception {
    String platform = scimGroup("Platform", "ext-platform");
    bind("developer", "group:" + platform);

    // okta matches display names, exactly.
    String byName = token("okta", "gina", Map.of("groups", List.of("Platform")));
    assertThat(allowed(byName, "Workflows.Create")).isTrue();
    assertThat(
            allowed(
                token("okta", "gino", Map.of("groups", List.of("platform"))), "Workflows.Create"))
        .isFalse();
    // An externalId is not a display name to okta.
    assertThat(
            allowed(
                token("okta", "gia", Map.of("groups", List.of("ext-platform"))),
                "Workflows.Create"))
        .isFalse();

    // entra matches external ids (and needs the user provisioned first).
    scim(
        "POST",
        "/Users",
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"hal\","
            + "\"emails\":[{\"value\":\"hal@example.com\",\"primary\":true}]}");
    Map<String, Object> hal = new HashMap<>();
    hal.put("email", "hal@example.com");
    hal.put("email_verified", true);
    hal.put("groups", List.of("ext-platform"));
    assertThat(allowed(token("entra", "hal-sub", hal), "Workflows.Create")).isTrue();
    hal.put("groups", List.of("Platform"));
    assertThat(allowed(token("entra", "hal-sub", hal), "Workflows.Create")).isFalse();
  }

  @Test
  void roleMappings_mapAppRoles_exactly_andUnmappedValuesNameNoRole() throws Exception {
    String mapped = token("okta", "dora", Map.of("roles", List.of("Castellan.Developer")));
    assertThat(allowed(mapped, "Workflows.Create")).isTrue();
    // Without mappings "developer" would name the role itself; with them only mapped values count.
    String raw =
        token("okta", "dino", Map.of("roles", List.of("developer", "castellan.developer")));
    assertThat(allowed(raw, "Workflows.Create")).isFalse();
  }

  @Test
  void aGroupNamedInTheDefaultIssuer_isTheGroupOfThatName_andAnotherIssuersIsNamespaced()
      throws Exception {
    bind("viewer", "group:readers");
    assertThat(
            allowed(token("corp", "ria", Map.of("groups", List.of("readers"))), "Workflows.Read"))
        .isTrue();
    // okta matches directory groups: "readers" names none, and never corp's group:readers.
    assertThat(
            allowed(token("okta", "rio", Map.of("groups", List.of("readers"))), "Workflows.Read"))
        .isFalse();
    bind("viewer", "group:okta/readers"); // a namespaced subject is accepted by the grant API
  }

  // ------------------------------------------------------------------ administrators and auditors

  @Test
  void adminAndAuditorClaimValues_giveCastellanRights_forAsLongAsTheTokenSaysSo() throws Exception {
    String admin = token("okta", "ada", Map.of("groups", List.of("castellan-admins")));
    JsonNode who = whoami(admin);
    assertThat(who.get("castellan_admin").asBoolean()).isTrue();
    assertThat(who.get("castellan_auditor").asBoolean()).isTrue();
    assertThat(send(admin, "GET", "/api/keys", null).statusCode()).isEqualTo(200);

    String auditor = token("okta", "aud", Map.of("groups", List.of("compliance")));
    assertThat(whoami(auditor).get("castellan_admin").asBoolean()).isFalse();
    assertThat(send(auditor, "GET", "/api/audit", null).statusCode()).isEqualTo(200);
    assertThat(send(auditor, "GET", "/api/keys", null).statusCode()).isEqualTo(403);

    // The same person without the claim value: no right, and none was stored.
    String plain = token("okta", "ada", Map.of("groups", List.of("staff")));
    assertThat(send(plain, "GET", "/api/keys", null).statusCode()).isEqualTo(403);
    assertThat(send(plain, "GET", "/api/audit", null).statusCode()).isEqualTo(403);
    // A claim value of another claim does not count: admin-values read groups only.
    String inRoles = token("okta", "ari", Map.of("roles", List.of("castellan-admins")));
    assertThat(send(inRoles, "GET", "/api/keys", null).statusCode()).isEqualTo(403);
  }

  // ------------------------------------------------------------------ provisioning

  @Test
  void justInTime_theFirstTokenCreatesTheDirectoryUser_andLaterTokensFindIt() throws Exception {
    String issuer = provider.issuerUrl("okta").toString();
    Identity identity = new Identity("oidc", issuer, "jit-carol");
    assertThat(directory().resolve(identity)).isEmpty();

    Map<String, Object> claims = Map.of("preferred_username", "carol@example.com", "name", "Carol");
    JsonNode first = whoami(token("okta", "jit-carol", claims));
    String userId = directory().resolve(identity).orElseThrow();
    assertThat(first.get("directory_user").asText()).isEqualTo(userId);
    assertThat(directory().user(userId).orElseThrow().userName()).isEqualTo("carol@example.com");
    assertThat(directory().user(userId).orElseThrow().displayName()).isEqualTo("Carol");

    JsonNode second = whoami(token("okta", "jit-carol", claims));
    assertThat(second.get("directory_user").asText()).isEqualTo(userId);
    assertThat(
            directory()
                .findUsers(
                    new DirectoryQuery.Compare(
                        DirectoryQuery.Attribute.USER_NAME,
                        DirectoryQuery.Operator.EQ,
                        "carol@example.com"),
                    1,
                    10)
                .items())
        .hasSize(1);
    // The user is the SCIM service's like any other.
    assertThat(scim("GET", "/Users/" + userId, null).get("userName").asText())
        .isEqualTo("carol@example.com");
  }

  /** ADR 0024: rows held for a person's OIDC subject are written once a first token creates it. */
  @Test
  void justInTime_appliesTheRowsImportsHeldForThePerson() throws Exception {
    String store =
        json(ServerHttp.send(server, ADMIN, "POST", "/stores", "{\"name\":\"jit\"}"), 201)
            .get("id")
            .asText();
    json(
        ServerHttp.send(
            server,
            ADMIN,
            "POST",
            "/stores/" + store + "/authorization-models",
            "{\"schema_version\":\"1.1\",\"type_definitions\":[{\"type\":\"user\"},"
                + "{\"type\":\"doc\",\"relations\":{\"viewer\":{\"this\":{}}},"
                + "\"metadata\":{\"relations\":{\"viewer\":{\"directly_related_user_types\":"
                + "[{\"type\":\"user\"}]}}}}]}"),
        201);
    Identity subject = new Identity("oidc", provider.issuerUrl("okta").toString(), "jit-pat");
    testStore
        .store()
        .pendingStore()
        .hold(
            store,
            List.of(dev.castellan.store.PendingTuple.of("doc:pat", "viewer", subject, "okta")));
    String userId =
        whoami(token("okta", "jit-pat", Map.of("preferred_username", "pat@example.com")))
            .get("directory_user")
            .asText();
    JsonNode check =
        json(
            ServerHttp.send(
                server,
                ADMIN,
                "POST",
                "/stores/" + store + "/check",
                "{\"tuple_key\":{\"object\":\"doc:pat\",\"relation\":\"viewer\",\"user\":\"user:"
                    + userId
                    + "\"}}"),
            200);
    assertThat(check.get("allowed").asBoolean()).isTrue();
    assertThat(testStore.store().pendingStore().count(store)).isZero();
  }

  @Test
  void concurrentFirstTokens_ofOnePerson_makeOneDirectoryUser() throws Exception {
    String token = token("okta", "jit-dan", Map.of("preferred_username", "dan@example.com"));
    int callers = 6;
    java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
    List<java.util.concurrent.Future<String>> answers = new java.util.ArrayList<>();
    try (var pool = java.util.concurrent.Executors.newFixedThreadPool(callers)) {
      for (int i = 0; i < callers; i++) {
        answers.add(
            pool.submit(
                () -> {
                  go.await();
                  return whoami(token).get("directory_user").asText();
                }));
      }
      go.countDown();
      java.util.Set<String> users = new java.util.HashSet<>();
      for (var answer : answers) {
        users.add(answer.get());
      }
      assertThat(users).hasSize(1);
      String userId = users.iterator().next();
      assertThat(
              directory()
                  .resolve(new Identity("oidc", provider.issuerUrl("okta").toString(), "jit-dan")))
          .contains(userId);
      assertThat(
              directory()
                  .findUsers(
                      // A loser of the race may have tried the fallback name: neither survives.
                      new DirectoryQuery.Or(
                          new DirectoryQuery.Compare(
                              DirectoryQuery.Attribute.USER_NAME,
                              DirectoryQuery.Operator.EQ,
                              "dan@example.com"),
                          new DirectoryQuery.Compare(
                              DirectoryQuery.Attribute.USER_NAME,
                              DirectoryQuery.Operator.EQ,
                              "okta/jit-dan")),
                      1,
                      10)
                  .totalResults())
          .isEqualTo(1);
    }
  }

  @Test
  void scimOnly_refusesAnUnknownUser_andAcceptsItOnceProvisioned_untilDeactivated()
      throws Exception {
    Map<String, Object> claims = new HashMap<>();
    claims.put("email", "ivy@example.com");
    claims.put("email_verified", true);
    String ivy = token("entra", "ivy-sub", claims);
    HttpResponse<String> refused = send(ivy, "GET", "/api/whoami", null);
    assertThat(refused.statusCode()).isEqualTo(403);
    assertThat(ServerHttp.JSON.readTree(refused.body()).get("code").asText())
        .isEqualTo("identity_not_provisioned");
    assertThat(
            directory()
                .findUsers(
                    new DirectoryQuery.Compare(
                        DirectoryQuery.Attribute.EMAIL,
                        DirectoryQuery.Operator.EQ,
                        "ivy@example.com"),
                    1,
                    10)
                .totalResults())
        .isZero();

    // An unverified address is not enough, even once the user exists.
    String userId =
        scim(
                "POST",
                "/Users",
                "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"ivy\","
                    + "\"emails\":[{\"value\":\"Ivy@Example.com\",\"primary\":true}]}")
            .get("id")
            .asText();
    Map<String, Object> unverified = new HashMap<>(claims);
    unverified.put("email_verified", false);
    assertThat(send(token("entra", "ivy-sub", unverified), "GET", "/api/whoami", null).statusCode())
        .isEqualTo(403);

    JsonNode who = whoami(ivy);
    assertThat(who.get("directory_user").asText()).isEqualTo(userId);
    assertThat(who.get("subject").asText()).isEqualTo("user:" + userId);
    // The subject is linked now: a later token needs no email.
    assertThat(
            directory()
                .resolve(new Identity("oidc", provider.issuerUrl("entra").toString(), "ivy-sub")))
        .contains(userId);
    assertThat(whoami(token("entra", "ivy-sub", Map.of())).get("directory_user").asText())
        .isEqualTo(userId);

    scim(
        "PATCH",
        "/Users/" + userId,
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
            + "\"Operations\":[{\"op\":\"replace\",\"value\":{\"active\":false}}]}");
    HttpResponse<String> inactive = send(ivy, "GET", "/api/whoami", null);
    assertThat(inactive.statusCode()).isEqualTo(401);
    assertThat(ServerHttp.JSON.readTree(inactive.body()).get("code").asText())
        .isEqualTo("user_deactivated");
  }
}
