package dev.castellan.server.scim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.server.StoreKind;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The SCIM service over real HTTP: who may call it (only provisioning keys, which may call nothing
 * else), the discovery documents, and errors in the SCIM schema.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(
    value = StoreKind.class,
    names = {"MEMORY", "POSTGRES"})
class ScimHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String SECRET = "scim-test-secret-0123456789abcdef-xyz";

  @Parameter StoreKind kind;

  private static StoreKind.TestStore testStore;
  private static CastellanServer server;
  private static String scimKey;
  private static String scimKeyId;

  @BeforeParameterizedClassInvocation
  static void start(StoreKind kind) throws Exception {
    testStore = kind.create();
    server =
        testStore.startServer(
            ServerHttp.loopback()
                .withBootstrapToken(ADMIN)
                .withJwt(dev.castellan.server.auth.JwtSettings.hs256(SECRET)));
    JsonNode created =
        ServerHttp.json(
            ServerHttp.send(
                server, ADMIN, "POST", "/api/keys", "{\"name\":\"okta\",\"scim\":true}"),
            201);
    scimKey = created.get("key").asText();
    scimKeyId = created.get("id").asText();
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
  }

  private static HttpResponse<String> scim(String token, String method, String path, String body)
      throws Exception {
    return ServerHttp.send(
        server,
        token,
        method,
        "/scim/v2" + path,
        body,
        body == null ? Map.of() : Map.of("Content-Type", "application/scim+json"));
  }

  /** The SCIM error body of {@code response}, once its status is {@code status}. */
  private static JsonNode scimError(HttpResponse<String> response, int status) throws Exception {
    JsonNode body = ServerHttp.json(response, status);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("application/scim+json"));
    assertThat(body.get("schemas").get(0).asText())
        .isEqualTo("urn:ietf:params:scim:api:messages:2.0:Error");
    assertThat(body.get("status").asText()).isEqualTo(Integer.toString(status));
    assertThat(body.get("detail").asText()).isNotBlank();
    return body;
  }

  // ------------------------------------------------------------------ who may call

  @Test
  void withoutCredentials_isUnauthenticated_inTheScimErrorSchema() throws Exception {
    HttpResponse<String> response = scim(null, "GET", "/ServiceProviderConfig", null);
    scimError(response, 401);
    assertThat(response.headers().firstValue("WWW-Authenticate")).isPresent();
  }

  @Test
  void anAdminKey_orAToken_isForbidden_atScim() throws Exception {
    JsonNode admin = scimError(scim(ADMIN, "GET", "/ServiceProviderConfig", null), 403);
    assertThat(admin.get("detail").asText()).contains("provisioning key");
    String jwt = ServerHttp.hs256(SECRET, "alice", Map.of(), Duration.ofHours(1));
    scimError(scim(jwt, "GET", "/ResourceTypes", null), 403);
    String auditor =
        ServerHttp.json(
                ServerHttp.send(
                    server, ADMIN, "POST", "/api/keys", "{\"name\":\"au\",\"auditor\":true}"),
                201)
            .get("key")
            .asText();
    scimError(scim(auditor, "GET", "/Schemas", null), 403);
  }

  @Test
  void aProvisioningKey_isForbidden_everywhereElse() throws Exception {
    for (String[] call :
        new String[][] {
          {"GET", "/api/whoami"},
          {"GET", "/api/keys"},
          {"GET", "/stores"},
          {"GET", "/api/audit"},
          {"POST", "/api/authorize"}
        }) {
      HttpResponse<String> response =
          ServerHttp.send(server, scimKey, call[0], call[1], call[0].equals("POST") ? "{}" : null);
      assertThat(response.statusCode()).as(call[1] + " " + response.body()).isEqualTo(403);
      assertThat(response.body()).contains("provisioning key");
    }
    // Health stays public for everyone.
    assertThat(ServerHttp.send(server, scimKey, "GET", "/healthz", null).statusCode())
        .isEqualTo(200);
  }

  @Test
  void aProvisioningKey_takesNoOtherRight() throws Exception {
    for (String body :
        new String[] {
          "{\"name\":\"x\",\"scim\":true,\"admin\":true}",
          "{\"name\":\"x\",\"scim\":true,\"auditor\":true}"
        }) {
      HttpResponse<String> response = ServerHttp.send(server, ADMIN, "POST", "/api/keys", body);
      assertThat(response.statusCode()).as(body).isEqualTo(400);
      assertThat(response.body()).contains("provisioning key");
    }
    JsonNode keys = ServerHttp.json(ServerHttp.send(server, ADMIN, "GET", "/api/keys", null), 200);
    assertThat(keys.get("keys").findValuesAsText("name")).doesNotContain("x");
  }

  @Test
  void aProvisioningKey_isAuditedAsAGrant() throws Exception {
    JsonNode audit =
        ServerHttp.json(
            ServerHttp.send(server, ADMIN, "GET", "/api/audit?subject=key:" + scimKeyId, null),
            200);
    assertThat(audit.toString()).contains("scim");
  }

  // ------------------------------------------------------------------ discovery

  @Test
  void serviceProviderConfig_saysWhatIsSupported() throws Exception {
    HttpResponse<String> response = scim(scimKey, "GET", "/ServiceProviderConfig", null);
    JsonNode config = ServerHttp.json(response, 200);
    assertThat(response.headers().firstValue("Content-Type").orElseThrow())
        .startsWith("application/scim+json");
    assertThat(config.get("schemas").get(0).asText())
        .isEqualTo("urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig");
    assertThat(config.at("/patch/supported").asBoolean()).isTrue();
    assertThat(config.at("/filter/supported").asBoolean()).isTrue();
    assertThat(config.at("/etag/supported").asBoolean()).isTrue();
    assertThat(config.at("/bulk/supported").asBoolean()).isFalse();
    assertThat(config.at("/meta/location").asText())
        .isEqualTo("http://127.0.0.1:" + server.port() + "/scim/v2/ServiceProviderConfig");
  }

  @Test
  void resourceTypes_listUsersAndGroups_andEachIsReadable() throws Exception {
    JsonNode list = ServerHttp.json(scim(scimKey, "GET", "/ResourceTypes", null), 200);
    assertThat(list.get("totalResults").asInt()).isEqualTo(2);
    assertThat(list.get("Resources").findValuesAsText("endpoint"))
        .containsExactly("/Users", "/Groups");
    JsonNode user = ServerHttp.json(scim(scimKey, "GET", "/ResourceTypes/User", null), 200);
    assertThat(user.get("schema").asText()).isEqualTo("urn:ietf:params:scim:schemas:core:2.0:User");
    scimError(scim(scimKey, "GET", "/ResourceTypes/Printer", null), 404);
  }

  @Test
  void schemas_describeUserGroupAndEnterpriseUser() throws Exception {
    JsonNode list = ServerHttp.json(scim(scimKey, "GET", "/Schemas", null), 200);
    assertThat(list.get("Resources").findValuesAsText("id"))
        .containsExactly(
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    JsonNode group =
        ServerHttp.json(
            scim(scimKey, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", null),
            200);
    assertThat(group.get("attributes").findValuesAsText("name")).contains("displayName", "members");
  }
}
