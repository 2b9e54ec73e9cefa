package dev.castellan.server.scim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.server.StoreKind;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Users and Groups over real HTTP, in the request shapes Okta and Microsoft Entra ID send (as their
 * provisioning documentation shows them): create, group membership by PATCH, deactivation, removal,
 * deletion; filters, paging, ETags, and bad input that changes nothing.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(
    value = StoreKind.class,
    names = {"MEMORY", "POSTGRES"})
class ScimProvisioningHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";

  @Parameter StoreKind kind;

  private static StoreKind.TestStore testStore;
  private static CastellanServer server;
  private static String key;

  @BeforeParameterizedClassInvocation
  static void start(StoreKind kind) throws Exception {
    testStore = kind.create();
    server = testStore.startServer(ServerHttp.loopback().withBootstrapToken(ADMIN));
    key =
        ServerHttp.json(
                ServerHttp.send(
                    server, ADMIN, "POST", "/api/keys", "{\"name\":\"idp\",\"scim\":true}"),
                201)
            .get("key")
            .asText();
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
  }

  private static HttpResponse<String> scim(String method, String path, String body)
      throws Exception {
    return scim(method, path, body, Map.of());
  }

  private static HttpResponse<String> scim(
      String method, String path, String body, Map<String, String> headers) throws Exception {
    Map<String, String> all = new HashMap<>(headers);
    if (body != null) {
      all.put("Content-Type", "application/scim+json");
    }
    return ServerHttp.send(server, key, method, "/scim/v2" + path, body, all);
  }

  private static JsonNode ok(HttpResponse<String> response, int status) throws Exception {
    JsonNode body = ServerHttp.json(response, status);
    assertThat(response.headers().firstValue("Content-Type").orElseThrow())
        .startsWith("application/scim+json");
    return body;
  }

  private static JsonNode error(HttpResponse<String> response, int status, String scimType)
      throws Exception {
    JsonNode body = ok(response, status);
    assertThat(body.get("schemas").get(0).asText())
        .isEqualTo("urn:ietf:params:scim:api:messages:2.0:Error");
    assertThat(body.get("status").asText()).isEqualTo(Integer.toString(status));
    if (scimType != null) {
      assertThat(body.get("scimType").asText()).as(body.toString()).isEqualTo(scimType);
    }
    return body;
  }

  private static String q(String filter) {
    return URLEncoder.encode(filter, StandardCharsets.UTF_8);
  }

  private static String user(String userName, String externalId, String email) {
    return """
        {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
         "userName":"%s","externalId":"%s",
         "name":{"givenName":"Test","familyName":"User"},
         "emails":[{"primary":true,"value":"%s","type":"work"}],
         "displayName":"Test User","active":true,"password":"never-stored"}
        """
        .formatted(userName, externalId, email);
  }

  // ------------------------------------------------------------------ the IdPs' sequences

  /** Okta: filter by userName, create, add to group by PATCH, deactivate, remove member, delete. */
  @Test
  void oktaSequence() throws Exception {
    String name = "okta.user." + kind + "@example.com";
    JsonNode none =
        ok(
            scim(
                "GET",
                "/Users?filter=" + q("userName eq \"" + name + "\"") + "&startIndex=1&count=100",
                null),
            200);
    assertThat(none.get("totalResults").asInt()).isZero();
    HttpResponse<String> createdResponse = scim("POST", "/Users", user(name, "00u1okta", name));
    JsonNode created = ok(createdResponse, 201);
    String id = created.get("id").asText();
    assertThat(created.get("userName").asText()).isEqualTo(name);
    assertThat(created.has("password")).isFalse();
    assertThat(created.at("/meta/resourceType").asText()).isEqualTo("User");
    assertThat(created.at("/meta/version").asText()).isEqualTo("W/\"1\"");
    assertThat(created.at("/meta/location").asText()).endsWith("/scim/v2/Users/" + id);
    assertThat(createdResponse.headers().firstValue("Location"))
        .hasValue(created.at("/meta/location").asText());
    assertThat(createdResponse.headers().firstValue("ETag")).hasValue("W/\"1\"");
    assertThat(
            ok(
                    scim(
                        "GET",
                        "/Users?filter="
                            + q("userName eq \"" + name.toUpperCase(java.util.Locale.ROOT) + "\""),
                        null),
                    200)
                .get("totalResults")
                .asInt())
        .isEqualTo(1);

    JsonNode group =
        ok(
            scim(
                "POST",
                "/Groups",
                "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"Okta Eng "
                    + kind
                    + "\",\"members\":[]}"),
            201);
    String groupId = group.get("id").asText();
    String add =
        """
        {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations":[{"op":"add","path":"members","value":[{"value":"%s","display":"%s"}]}]}
        """
            .formatted(id, name);
    JsonNode added = ok(scim("PATCH", "/Groups/" + groupId, add), 200);
    assertThat(added.get("members").findValuesAsText("value")).containsExactly(id);
    JsonNode withGroups = ok(scim("GET", "/Users/" + id, null), 200);
    assertThat(withGroups.get("groups").findValuesAsText("value")).containsExactly(groupId);

    String deactivate =
        """
        {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations":[{"op":"replace","value":{"active":false}}]}
        """;
    JsonNode inactive = ok(scim("PATCH", "/Users/" + id, deactivate), 200);
    assertThat(inactive.get("active").asBoolean()).isFalse();
    assertThat(inactive.at("/name/givenName").asText()).isEqualTo("Test");

    String remove =
        """
        {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations":[{"op":"remove","path":"members","value":[{"value":"%s"}]}]}
        """
            .formatted(id);
    assertThat(ok(scim("PATCH", "/Groups/" + groupId, remove), 200).get("members")).isEmpty();

    assertThat(scim("DELETE", "/Users/" + id, null).statusCode()).isEqualTo(204);
    error(scim("GET", "/Users/" + id, null), 404, null);
    assertThat(scim("DELETE", "/Groups/" + groupId, null).statusCode()).isEqualTo(204);
  }

  /** Entra ID: "Replace" ops with string booleans, members[value eq] removal, enterprise fields. */
  @Test
  void entraSequence() throws Exception {
    String name = "entra." + kind + "@contoso.com";
    JsonNode none =
        ok(scim("GET", "/Users?filter=" + q("userName eq \"" + name + "\""), null), 200);
    assertThat(none.get("Resources")).isEmpty();
    String body =
        """
        {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
         "externalId":"0a21f0f2-8d2a","userName":"%s","active":true,
         "displayName":"Entra User","emails":[{"primary":true,"type":"work","value":"%s"}],
         "meta":{"resourceType":"User"},"name":{"formatted":"Entra User","familyName":"User","givenName":"Entra"},
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Finance"}}
        """
            .formatted(name, name);
    JsonNode created = ok(scim("POST", "/Users", body), 201);
    String id = created.get("id").asText();
    assertThat(created.get("schemas").toString()).contains("enterprise:2.0:User");
    assertThat(
            ok(scim("GET", "/Users?filter=" + q("externalId eq \"0a21f0f2-8d2a\""), null), 200)
                .get("totalResults")
                .asInt())
        .isEqualTo(1);

    JsonNode group =
        ok(
            scim(
                "POST",
                "/Groups",
                "{\"displayName\":\"Finance " + kind + "\",\"externalId\":\"g-1\"}"),
            201);
    String groupId = group.get("id").asText();
    String add =
        """
        {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations":[{"op":"Add","path":"members","value":[{"value":"%s"}]}]}
        """
            .formatted(id);
    ok(scim("PATCH", "/Groups/" + groupId, add), 200);
    JsonNode byMember =
        ok(
            scim(
                "GET",
                "/Groups?filter="
                    + q("members.value eq \"" + id + "\"")
                    + "&excludedAttributes=members",
                null),
            200);
    assertThat(byMember.get("totalResults").asInt()).isEqualTo(1);
    assertThat(byMember.at("/Resources/0").has("members")).isFalse();

    String update =
        """
        {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations":[
           {"op":"Replace","path":"active","value":"False"},
           {"op":"Replace","path":"emails[type eq \\"work\\"].value","value":"new.%s"},
           {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"}]}
        """
            .formatted(name);
    JsonNode patched = ok(scim("PATCH", "/Users/" + id, update), 200);
    assertThat(patched.get("active").asBoolean()).isFalse();
    assertThat(patched.at("/emails/0/value").asText()).isEqualTo("new." + name);
    assertThat(
            patched
                .at("/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/department")
                .asText())
        .isEqualTo("Sales");
    assertThat(
            ok(scim("GET", "/Users?filter=" + q("emails.value eq \"new." + name + "\""), null), 200)
                .get("totalResults")
                .asInt())
        .isEqualTo(1);

    String remove =
        """
        {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations":[{"op":"Remove","path":"members[value eq \\"%s\\"]"}]}
        """
            .formatted(id);
    assertThat(ok(scim("PATCH", "/Groups/" + groupId, remove), 200).get("members")).isEmpty();
    assertThat(scim("DELETE", "/Users/" + id, null).statusCode()).isEqualTo(204);
    assertThat(scim("DELETE", "/Groups/" + groupId, null).statusCode()).isEqualTo(204);
  }

  // ------------------------------------------------------------------ errors and versions

  @Test
  void aDuplicateUserName_isUniqueness409_andChangesNothing() throws Exception {
    String name = "dup." + kind + "@example.com";
    ok(scim("POST", "/Users", user(name, "e1", name)), 201);
    error(
        scim(
            "POST",
            "/Users",
            user(name.toUpperCase(java.util.Locale.ROOT), "e2", "other@example.com")),
        409,
        "uniqueness");
    JsonNode found =
        ok(
            scim(
                "GET",
                "/Users?filter=" + q("userName eq \"" + name + "\" or externalId eq \"e2\""),
                null),
            200);
    assertThat(found.get("totalResults").asInt()).isEqualTo(1);
    assertThat(found.at("/Resources/0/externalId").asText()).isEqualTo("e1");
  }

  @Test
  void badInput_answersTheScimError_andChangesNothing() throws Exception {
    String name = "bad." + kind + "@example.com";
    JsonNode created = ok(scim("POST", "/Users", user(name, "b1", name)), 201);
    String id = created.get("id").asText();
    error(scim("POST", "/Users", "{\"userName\":\"x\",\"shoeSize\":44}"), 400, "invalidValue");
    error(scim("POST", "/Users", "{\"displayName\":\"no userName\"}"), 400, "invalidValue");
    error(scim("POST", "/Users", "{\"userName\":\"x\",\"active\":\"maybe\"}"), 400, "invalidValue");
    error(scim("GET", "/Users?filter=" + q("userName eq"), null), 400, "invalidFilter");
    error(scim("GET", "/Users?filter=" + q("title eq \"x\""), null), 400, "invalidFilter");
    error(scim("GET", "/Users?filter=" + q("userName gt \"a\""), null), 400, "invalidFilter");
    error(scim("GET", "/Groups?filter=" + q("userName eq \"a\""), null), 400, "invalidFilter");
    String badPath =
        """
        {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations":[{"op":"replace","path":"displayName","value":"Changed"},
                       {"op":"replace","path":"shoeSize","value":44}]}
        """;
    error(scim("PATCH", "/Users/" + id, badPath), 400, "invalidPath");
    String badValue =
        """
        {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations":[{"op":"replace","path":"displayName","value":"Changed"},
                       {"op":"replace","path":"userName","value":7}]}
        """;
    error(scim("PATCH", "/Users/" + id, badValue), 400, "invalidValue");
    error(scim("POST", "/Users", "not json"), 400, "invalidSyntax");
    JsonNode after = ok(scim("GET", "/Users/" + id, null), 200);
    assertThat(after.get("displayName").asText()).isEqualTo("Test User");
    assertThat(after.at("/meta/version").asText()).isEqualTo("W/\"1\"");
    error(
        scim("POST", "/Groups", "{\"displayName\":\"g\",\"members\":[{\"value\":\"nobody\"}]}"),
        400,
        "invalidValue");
  }

  @Test
  void ifMatch_isHonoured_412OnAStaleVersion() throws Exception {
    String name = "etag." + kind + "@example.com";
    JsonNode created = ok(scim("POST", "/Users", user(name, "t1", name)), 201);
    String id = created.get("id").asText();
    String patch =
        """
        {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations":[{"op":"replace","path":"displayName","value":"%s"}]}
        """;
    JsonNode v2 =
        ok(
            scim("PATCH", "/Users/" + id, patch.formatted("Two"), Map.of("If-Match", "W/\"1\"")),
            200);
    assertThat(v2.at("/meta/version").asText()).isEqualTo("W/\"2\"");
    error(
        scim("PATCH", "/Users/" + id, patch.formatted("Stale"), Map.of("If-Match", "W/\"1\"")),
        412,
        null);
    error(scim("DELETE", "/Users/" + id, null, Map.of("If-Match", "W/\"1\"")), 412, null);
    String put = user(name, "t1", name).replace("Test User", "Put");
    JsonNode v3 = ok(scim("PUT", "/Users/" + id, put, Map.of("If-Match", "W/\"2\"")), 200);
    assertThat(v3.get("displayName").asText()).isEqualTo("Put");
    assertThat(ok(scim("GET", "/Users/" + id, null), 200).get("displayName").asText())
        .isEqualTo("Put");
  }

  @Test
  void listsPage_andProjectAttributes() throws Exception {
    String prefix = "page" + kind + ".";
    for (int i = 0; i < 5; i++) {
      ok(scim("POST", "/Users", user(prefix + i, "p" + i, prefix + i + "@example.com")), 201);
    }
    String filter = "&filter=" + q("userName sw \"" + prefix + "\" and emails pr");
    JsonNode page =
        ok(scim("GET", "/Users?startIndex=2&count=2&attributes=userName" + filter, null), 200);
    assertThat(page.get("totalResults").asInt()).isEqualTo(5);
    assertThat(page.get("itemsPerPage").asInt()).isEqualTo(2);
    assertThat(page.get("startIndex").asInt()).isEqualTo(2);
    assertThat(page.get("Resources").findValuesAsText("userName"))
        .containsExactly(prefix + 1, prefix + 2);
    JsonNode first = page.at("/Resources/0");
    assertThat(first.has("id")).isTrue();
    assertThat(first.has("emails")).isFalse();
    JsonNode excluded =
        ok(scim("GET", "/Users?count=1&excludedAttributes=emails,name" + filter, null), 200);
    assertThat(excluded.at("/Resources/0").has("emails")).isFalse();
    assertThat(excluded.at("/Resources/0").has("userName")).isTrue();
    JsonNode counted = ok(scim("GET", "/Users?count=0" + filter, null), 200);
    assertThat(counted.get("totalResults").asInt()).isEqualTo(5);
    assertThat(counted.get("Resources")).isEmpty();
    JsonNode co =
        ok(
            scim(
                "GET",
                "/Users?filter="
                    + q("userName co \"" + kind + ".3\" or userName eq \"" + prefix + "4\""),
                null),
            200);
    assertThat(co.get("Resources").findValuesAsText("userName"))
        .containsExactly(prefix + 3, prefix + 4);
  }

  @Test
  void writes_areAudited() throws Exception {
    String name = "audited." + kind + "@example.com";
    String id = ok(scim("POST", "/Users", user(name, "a1", name)), 201).get("id").asText();
    JsonNode audit =
        ServerHttp.json(ServerHttp.send(server, ADMIN, "GET", "/api/audit?limit=1000", null), 200);
    assertThat(audit.toString()).contains("scim-user-create").contains(id);
  }

  @Test
  void anOversizedBody_isRefused() throws Exception {
    String big = "{\"userName\":\"" + "x".repeat(ScimApi.MAX_BODY_BYTES) + "\"}";
    int status = scim("POST", "/Users", big).statusCode();
    assertThat(status).isEqualTo(413);
  }

  @Test
  void aBodyPastTheServersOwnLimit_isRefusedInTheScimSchema() throws Exception {
    // Larger than the server's general request limit (1 MiB): Jetty/Javalin refuse it before the
    // SCIM route runs, and the IdP still gets a SCIM error.
    String big = "{\"userName\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}";
    HttpResponse<String> response = scim("POST", "/Users", big);
    error(response, 413, null);
  }

  @Test
  void anUnknownEndpointAndAWrongMethod_answerInTheScimSchema() throws Exception {
    error(scim("GET", "/Nothing", null), 404, null);
    // Javalin answers a method a path does not take as an unknown endpoint (404).
    error(scim("PATCH", "/ServiceProviderConfig", "{}"), 404, null);
  }
}
