package dev.castellan.server;

import static dev.castellan.server.ServerHttp.json;
import static dev.castellan.server.ServerHttp.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.auth.AuthMode;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.server.auth.LocalDevelopment;
import dev.castellan.store.MemoryStore;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code auth none}, the local development mode: refused off loopback addresses by the server
 * itself, every request a global administrator named {@value LocalDevelopment#CALLER_ID} who still
 * cannot see the system store. The route matrix runs this caller through every route as well.
 */
class LocalDevelopmentHttpTest {
  private static CastellanServer server;

  @BeforeAll
  static void start() {
    server = CastellanServer.start(localDev("127.0.0.1"), new MemoryStore());
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static CastellanServer.Options localDev(String host) {
    return CastellanServer.Options.defaults().withHost(host).withPort(0).withAuth(AuthMode.NONE);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "127.0.0.1",
        "127.42.0.9",
        "::1",
        "[::1]",
        "0:0:0:0:0:0:0:1",
        "::ffff:127.0.0.1",
        "localhost",
        "LocalHost"
      })
  void loopbackAddresses_areLoopback(String host) {
    assertThat(LocalDevelopment.isLoopback(host)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "0.0.0.0",
        "::",
        "[::]",
        "10.0.0.1",
        "128.0.0.1",
        "126.255.255.255",
        "127.1",
        "2130706433",
        "::ffff:10.0.0.1",
        "example.com",
        "localhost.example.com",
        "",
        " "
      })
  void otherAddresses_areNot(String host) {
    assertThat(LocalDevelopment.isLoopback(host)).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"0.0.0.0", "::", "192.0.2.10", "example.com"})
  void start_offLoopback_isRefused_beforeTouchingTheStore(String host) {
    MemoryStore store = new MemoryStore();
    assertThatThrownBy(() -> CastellanServer.start(localDev(host), store))
        .isInstanceOfSatisfying(
            CastellanException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VALIDATION_ERROR))
        .hasMessageContaining("'" + host + "'")
        .hasMessageContaining("loopback address (127.0.0.1, ::1 or localhost)");
    // Not even the system store was made: the refusal comes first.
    assertThat(store.allStores()).isEmpty();
  }

  @Test
  void start_withJwtSettings_isRefused_sinceTheyWouldBeIgnored() {
    MemoryStore store = new MemoryStore();
    assertThatThrownBy(
            () ->
                CastellanServer.start(
                    localDev("127.0.0.1")
                        .withJwt(JwtSettings.hs256("local-dev-secret-0123456789abcdef-x")),
                    store))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("JWT settings");
    assertThat(store.allStores()).isEmpty();
  }

  @Test
  void start_onLocalhostAndIpv6Loopback_listens() throws Exception {
    for (String host : List.of("localhost", "::1")) {
      try (CastellanServer other = CastellanServer.start(localDev(host), new MemoryStore())) {
        assertThat(other.port()).isPositive();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "127.0.0.1:8080|",
        "localhost|",
        "LOCALHOST:80|http://localhost:3000",
        "[::1]:8080|http://127.0.0.1:5173",
        "127.0.0.1:8080|http://[::1]:3000"
      })
  void requestsFromThisMachine_pass(String hostAndOrigin) {
    String[] parts = hostAndOrigin.split("\\|", -1);
    assertThat(LocalDevelopment.foreignRequest(parts[0], parts[1].isEmpty() ? null : parts[1]))
        .isEmpty();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "evil.example|",
        "evil.example:8080|",
        "127.0.0.1.evil.example|",
        "0.0.0.0:8080|",
        "|",
        "127.0.0.1:8080|https://evil.example",
        "127.0.0.1:8080|http://localhost.evil.example",
        "127.0.0.1:8080|null",
        "127.0.0.1:8080|not a uri"
      })
  void requestsAWebPageCouldMake_areRefused(String hostAndOrigin) {
    String[] parts = hostAndOrigin.split("\\|", -1);
    assertThat(LocalDevelopment.foreignRequest(parts[0].isEmpty() ? null : parts[0], parts[1]))
        .isPresent();
  }

  @Test
  void aRequestWithAForeignOrigin_orARebindingHost_isForbidden_andNothingHappens()
      throws Exception {
    HttpResponse<String> crossSite =
        send(
            server,
            null,
            "POST",
            "/stores",
            "{\"name\":\"csrf\"}",
            Map.of("Origin", "https://evil.example"));
    assertThat(crossSite.statusCode()).as(crossSite.body()).isEqualTo(403);
    assertThat(crossSite.body()).contains("evil.example");
    String rebound = rawRequest("GET /api/whoami HTTP/1.1\r\nHost: evil.example:8080\r\n");
    assertThat(rebound).startsWith("HTTP/1.1 403");
    assertThat(rawRequest("GET /api/whoami HTTP/1.1\r\nHost: localhost\r\n"))
        .startsWith("HTTP/1.1 200");
    JsonNode stores = json(send(server, null, "GET", "/stores", null), 200);
    assertThat(stores.toString()).doesNotContain("csrf");
  }

  /** Sends {@code head} (request line and headers) as written; the answer's first line. */
  private static String rawRequest(String head) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      socket
          .getOutputStream()
          .write((head + "Connection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      return new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1))
          .readLine();
    }
  }

  @Test
  void firstStart_makesNoAdminKey_andAsksForNone() throws Exception {
    assertThat(server.generatedToken()).isEmpty();
    assertThat(server.adminKeyUnknown()).isFalse();
    JsonNode keys = json(send(server, null, "GET", "/api/keys", null), 200);
    assertThat(keys.toString()).doesNotContain("bootstrap");
  }

  @Test
  void whoami_withoutCredentials_isTheLocalDeveloper_aGlobalAdministrator() throws Exception {
    JsonNode me = json(send(server, null, "GET", "/api/whoami", null), 200);
    assertThat(me.get("subject").asText()).isEqualTo("anonymous:local-dev");
    assertThat(me.get("castellan_admin").asBoolean()).isTrue();
    assertThat(me.get("castellan_auditor").asBoolean()).isTrue();
    assertThat(me.get("local_development").asBoolean()).isTrue();
    assertThat(me.get("about").asText()).contains("--auth none");
  }

  @Test
  void credentials_areNotRead_soABadOneIsNoError() throws Exception {
    JsonNode me = json(send(server, "not-a-key", "GET", "/api/whoami", null), 200);
    assertThat(me.get("subject").asText()).isEqualTo("anonymous:local-dev");
  }

  @Test
  void healthEndpoints_answerAsAlways() throws Exception {
    assertThat(json(send(server, null, "GET", "/healthz", null), 200).get("status").asText())
        .isEqualTo("SERVING");
    assertThat(json(send(server, null, "GET", "/readyz", null), 200).get("status").asText())
        .isEqualTo("SERVING");
  }

  @Test
  void systemStore_isHidden_fromTheLocalDeveloperToo() throws Exception {
    String system = server.systemStoreId();
    json(send(server, null, "POST", "/stores", "{\"name\":\"visible\"}"), 201);
    JsonNode stores = json(send(server, null, "GET", "/stores", null), 200);
    List<String> ids = new ArrayList<>();
    stores.get("stores").forEach(s -> ids.add(s.get("id").asText()));
    assertThat(ids).isNotEmpty().doesNotContain(system);
    assertThat(send(server, null, "GET", "/stores/" + system, null).statusCode()).isEqualTo(404);
    String check =
        "{\"tuple_key\":{\"object\":\"castellan:global\",\"relation\":\"admin\","
            + "\"user\":\"principal:key.x\"}}";
    assertThat(send(server, null, "POST", "/stores/" + system + "/check", check).statusCode())
        .isEqualTo(404);
    String write =
        "{\"writes\":{\"tuple_keys\":[{\"object\":\"castellan:global\",\"relation\":\"admin\","
            + "\"user\":\"principal:key.x\"}]}}";
    String encoded =
        "%" + Integer.toHexString(system.charAt(0)).toUpperCase() + system.substring(1);
    assertThat(send(server, null, "POST", "/stores/" + encoded + "/write", write).statusCode())
        .isEqualTo(404);
    String key = "{\"name\":\"x\",\"store_id\":\"" + system + "\",\"role\":\"admin\"}";
    assertThat(send(server, null, "POST", "/api/keys", key).statusCode()).isEqualTo(404);
  }

  @Test
  void theLocalDeveloper_cannotBeGrantedRights_nothingOfTheModeIsStored() throws Exception {
    String store =
        json(send(server, null, "POST", "/stores", "{\"name\":\"grants\"}"), 201)
            .get("id")
            .asText();
    String grant = "{\"subject\":\"anonymous:local-dev\",\"role\":\"reader\"}";
    assertThat(send(server, null, "POST", "/api/stores/" + store + "/access", grant).statusCode())
        .isEqualTo(400);
  }

  @Test
  void auditEntries_nameTheLocalDeveloper() throws Exception {
    String store =
        json(send(server, null, "POST", "/stores", "{\"name\":\"audited\"}"), 201)
            .get("id")
            .asText();
    AtomicReference<JsonNode> created = new AtomicReference<>();
    Poll.until(
        "the store's creation in the audit trail",
        Duration.ofSeconds(10),
        () -> {
          try {
            JsonNode entries = json(send(server, null, "GET", "/api/audit", null), 200);
            for (JsonNode entry : entries.get("entries")) {
              if (entry.get("store_id").asText().equals(store)
                  || entry.get("resource").asText().contains(store)) {
                created.set(entry);
                return true;
              }
            }
            return false;
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
    assertThat(created.get().get("caller").asText()).isEqualTo("anonymous:local-dev");
  }
}
