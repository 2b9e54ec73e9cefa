package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.auth.MutableClock;
import dev.castellan.server.auth.TrustedProxies;
import dev.castellan.store.ApiKeyRecord;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * API keys that age, over HTTP on every store: an expiry (401 {@code credential_expired} once it
 * passes, audited), rotation with a grace for the replaced secret, and the last use in {@code GET
 * /api/keys}. Time moves by the server's key clock, never by sleeping.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class ApiKeyAgingHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final AtomicInteger ADDRESSES = new AtomicInteger(1);

  @Parameter StoreKind kind;

  private static StoreKind.TestStore testStore;
  private static CastellanServer server;
  private static MutableClock clock;

  @BeforeParameterizedClassInvocation
  static void start(StoreKind kind) {
    clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
    testStore = kind.create();
    server =
        testStore.startServer(
            ServerHttp.loopback()
                .withBootstrapToken(ADMIN)
                .withKeyClock(clock)
                // No background flush during the suite: what GET /api/keys shows comes from memory.
                .withKeyUseFlushInterval(Duration.ofDays(1))
                // Each failure below comes from its own address, so each is audited on its own.
                .withTrustedProxies(TrustedProxies.parse("127.0.0.1")));
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
  }

  private static HttpResponse<String> call(String token, String method, String path, String body)
      throws Exception {
    return ServerHttp.send(server, token, method, path, body);
  }

  private static JsonNode create(String body) throws Exception {
    return ServerHttp.json(call(ADMIN, "POST", "/api/keys", body), 201);
  }

  private static JsonNode listed(String id) throws Exception {
    for (JsonNode key : ServerHttp.json(call(ADMIN, "GET", "/api/keys", null), 200).get("keys")) {
      if (key.get("id").asText().equals(id)) {
        return key;
      }
    }
    throw new AssertionError("no key " + id + " in GET /api/keys");
  }

  private static int whoami(String token) throws Exception {
    return call(token, "GET", "/api/whoami", null).statusCode();
  }

  @Test
  void aKeyWithAnExpiry_worksUntilThen_andIsThen401CredentialExpired_audited() throws Exception {
    JsonNode created = create("{\"name\":\"ci\",\"expires_in\":\"1h\"}");
    String key = created.get("key").asText();
    String id = created.get("id").asText();
    Instant expires = clock.instant().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS);
    assertThat(created.get("expires_at").asText()).isEqualTo(expires.toString());
    assertThat(whoami(key)).isEqualTo(200);

    clock.advance(Duration.ofMinutes(59).plusSeconds(59));
    assertThat(whoami(key)).as("a second before its expiry").isEqualTo(200);
    clock.advance(Duration.ofSeconds(1));
    String address = "192.0.2." + ADDRESSES.getAndIncrement();
    HttpResponse<String> expired =
        ServerHttp.send(
            server,
            key,
            "GET",
            "/api/whoami",
            null,
            Map.of("X-Request-Id", "expired-" + id, "X-Forwarded-For", address));
    JsonNode error = ServerHttp.json(expired, 401);
    assertThat(error.get("code").asText()).isEqualTo("credential_expired");
    assertThat(error.get("message").asText())
        .contains(id)
        .contains(expires.toString())
        .doesNotContain(key.substring(key.lastIndexOf('_') + 1));
    assertThat(expired.headers().firstValue("WWW-Authenticate").orElseThrow())
        .contains("error=\"invalid_token\"");

    // A wrong secret for the same id learns nothing about the key: the plain 401.
    HttpResponse<String> guessed = call("cst_" + id + "_wrong", "GET", "/api/whoami", null);
    assertThat(ServerHttp.json(guessed, 401).get("code").asText()).isEqualTo("unauthenticated");

    JsonNode entry = auditEntry("expired-" + id);
    assertThat(entry.get("api").asText()).isEqualTo("auth-failure");
    assertThat(entry.get("outcome").asText()).isEqualTo("deny");
    assertThat(entry.get("client_address").asText()).isEqualTo(address);
    assertThat(entry.get("reason").asText()).contains("API key " + id + " expired");

    JsonNode row = listed(id);
    assertThat(row.get("expires_at").asText()).isEqualTo(expires.toString());
    assertThat(row.get("expired").asBoolean()).isTrue();
  }

  @Test
  void aKeyWithoutAnExpiry_neverExpires_andListsNulls() throws Exception {
    JsonNode created = create("{\"name\":\"forever\"}");
    assertThat(created.get("expires_at").isNull()).isTrue();
    clock.advance(Duration.ofDays(3650));
    assertThat(whoami(created.get("key").asText())).isEqualTo(200);
    JsonNode row = listed(created.get("id").asText());
    assertThat(row.get("expires_at").isNull()).isTrue();
    assertThat(row.get("expired").asBoolean()).isFalse();
    assertThat(row.get("rotated_at").isNull()).isTrue();
    assertThat(row.get("grace_ends_at").isNull()).isTrue();
  }

  @Test
  void anExpiry_givenAsATime_isKept_andBadExpiries_areRefusedWithValidationError()
      throws Exception {
    Instant at = clock.instant().plus(Duration.ofDays(90)).truncatedTo(ChronoUnit.SECONDS);
    JsonNode created = create("{\"name\":\"q\",\"expires_at\":\"" + at + "\"}");
    assertThat(created.get("expires_at").asText()).isEqualTo(at.toString());
    int before = ServerHttp.json(call(ADMIN, "GET", "/api/keys", null), 200).get("keys").size();
    for (String body :
        List.of(
            "{\"name\":\"x\",\"expires_at\":\"" + clock.instant().minusSeconds(1) + "\"}",
            "{\"name\":\"x\",\"expires_at\":\""
                + clock.instant().plus(Duration.ofDays(3651))
                + "\"}",
            "{\"name\":\"x\",\"expires_at\":\"next tuesday\"}",
            "{\"name\":\"x\",\"expires_in\":\"90\"}",
            "{\"name\":\"x\",\"expires_in\":\"3651d\"}",
            "{\"name\":\"x\",\"expires_in\":\"0s\"}",
            "{\"name\":\"x\",\"expires_in\":\"-1d\"}",
            "{\"name\":\"x\",\"expires_in\":90}",
            "{\"name\":\"x\",\"expires_in\":\"1d\",\"expires_at\":\"" + at + "\"}")) {
      JsonNode error = ServerHttp.json(call(ADMIN, "POST", "/api/keys", body), 400);
      assertThat(error.get("code").asText()).as(body).isEqualTo("validation_error");
      assertThat(error.get("message").asText()).as(body).contains("expir");
    }
    assertThat(ServerHttp.json(call(ADMIN, "GET", "/api/keys", null), 200).get("keys"))
        .as("a refused key is not made")
        .hasSize(before);
  }

  @Test
  void rotation_returnsANewSecret_andTheOldOneWorksUntilTheGraceEnds() throws Exception {
    JsonNode created = create("{\"name\":\"deploy\",\"admin\":true}");
    String id = created.get("id").asText();
    String old = created.get("key").asText();
    Instant rotatedAt = clock.instant();
    JsonNode rotated =
        ServerHttp.json(
            call(ADMIN, "POST", "/api/keys/" + id + "/rotate", "{\"grace\":\"24h\"}"), 200);
    String fresh = rotated.get("key").asText();
    assertThat(fresh).startsWith("cst_" + id + "_").isNotEqualTo(old);
    assertThat(rotated.get("id").asText()).isEqualTo(id);
    assertThat(rotated.get("subject").asText()).isEqualTo("key:" + id);
    assertThat(rotated.get("rotated_at").asText()).isEqualTo(rotatedAt.toString());
    Instant graceEnds = rotatedAt.plus(Duration.ofHours(24));
    assertThat(rotated.get("grace_ends_at").asText()).isEqualTo(graceEnds.toString());

    // Both secrets are the same key, with the same rights.
    assertThat(call(fresh, "GET", "/api/keys", null).statusCode()).isEqualTo(200);
    assertThat(call(old, "GET", "/api/keys", null).statusCode()).isEqualTo(200);
    clock.advance(Duration.ofHours(23).plusMinutes(59));
    assertThat(whoami(old)).as("within the grace").isEqualTo(200);
    clock.advance(Duration.ofMinutes(1));
    HttpResponse<String> late = call(old, "GET", "/api/whoami", null);
    JsonNode error = ServerHttp.json(late, 401);
    assertThat(error.get("code").asText()).isEqualTo("credential_expired");
    assertThat(error.get("message").asText()).contains("replaced").contains(graceEnds.toString());
    assertThat(whoami(fresh)).isEqualTo(200);

    JsonNode row = listed(id);
    assertThat(row.get("rotated_at").asText()).isEqualTo(rotatedAt.toString());
    assertThat(row.get("grace_ends_at").asText()).isEqualTo(graceEnds.toString());
    assertThat(row.get("expired").asBoolean()).isFalse();
  }

  @Test
  void aSecondRotation_endsTheFirstSecret_andAZeroGrace_endsTheOldSecretAtOnce() throws Exception {
    JsonNode created = create("{\"name\":\"twice\"}");
    String id = created.get("id").asText();
    String first = created.get("key").asText();
    String second = rotate(id, "{\"grace\":\"1h\"}").get("key").asText();
    String third = rotate(id, "{\"grace\":\"0s\"}").get("key").asText();
    assertThat(whoami(third)).isEqualTo(200);
    assertThat(whoami(second)).as("grace 0s: the replaced secret stops at once").isEqualTo(401);
    assertThat(ServerHttp.json(call(first, "GET", "/api/whoami", null), 401).get("code").asText())
        .as("only the last replaced secret is remembered")
        .isEqualTo("unauthenticated");
  }

  @Test
  void rotation_withoutAGrace_gives24Hours_andCanSetANewExpiry() throws Exception {
    JsonNode created = create("{\"name\":\"renew\",\"expires_in\":\"7d\"}");
    String id = created.get("id").asText();
    JsonNode rotated = rotate(id, "");
    assertThat(Instant.parse(rotated.get("grace_ends_at").asText()))
        .isEqualTo(clock.instant().plus(Duration.ofHours(24)));
    assertThat(rotated.get("expires_at").asText()).isEqualTo(created.get("expires_at").asText());

    clock.advance(Duration.ofDays(7));
    String stale = rotated.get("key").asText();
    assertThat(ServerHttp.json(call(stale, "GET", "/api/whoami", null), 401).get("code").asText())
        .isEqualTo("credential_expired");
    // An expired key is rotated only into a new life.
    JsonNode refused =
        ServerHttp.json(call(ADMIN, "POST", "/api/keys/" + id + "/rotate", "{}"), 400);
    assertThat(refused.get("message").asText()).contains("expired").contains("new expiry");
    JsonNode renewed = rotate(id, "{\"grace\":\"0s\",\"expires_in\":\"30d\"}");
    assertThat(renewed.get("expires_at").asText())
        .isEqualTo(
            clock.instant().plus(Duration.ofDays(30)).truncatedTo(ChronoUnit.SECONDS).toString());
    assertThat(whoami(renewed.get("key").asText())).isEqualTo(200);
  }

  @Test
  void badRotations_areRefused_andChangeNothing() throws Exception {
    JsonNode created = create("{\"name\":\"stays\"}");
    String id = created.get("id").asText();
    String key = created.get("key").asText();
    for (String body :
        List.of(
            "{\"grace\":\"31d\"}",
            "{\"grace\":\"soon\"}",
            "{\"grace\":24}",
            "{\"secret\":\"mine\"}",
            "{\"expires_in\":\"1d\",\"expires_at\":\"2099-01-01T00:00:00Z\"}")) {
      JsonNode error =
          ServerHttp.json(call(ADMIN, "POST", "/api/keys/" + id + "/rotate", body), 400);
      assertThat(error.get("code").asText()).as(body).isEqualTo("validation_error");
    }
    assertThat(listed(id).get("rotated_at").isNull()).isTrue();
    assertThat(whoami(key)).isEqualTo(200);
    JsonNode missing =
        ServerHttp.json(call(ADMIN, "POST", "/api/keys/nokey/rotate", "{\"grace\":\"1h\"}"), 404);
    assertThat(missing.get("code").asText()).isEqualTo("not_found");
    assertThat(call(key, "POST", "/api/keys/" + id + "/rotate", "{}").statusCode())
        .as("rotation is for administrators")
        .isEqualTo(403);
  }

  @Test
  void lastUse_isShownInTheList_toTheSecond_withoutAWritePerRequest() throws Exception {
    JsonNode used = create("{\"name\":\"used\"}");
    JsonNode idle = create("{\"name\":\"idle\"}");
    String id = used.get("id").asText();
    assertThat(listed(id).get("last_used_at").isNull()).isTrue();
    clock.advance(Duration.ofMillis(1_500));
    Instant at = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    for (int i = 0; i < 20; i++) {
      assertThat(whoami(used.get("key").asText())).isEqualTo(200);
    }
    assertThat(listed(id).get("last_used_at").asText()).isEqualTo(at.toString());
    assertThat(listed(idle.get("id").asText()).get("last_used_at").isNull()).isTrue();
    ApiKeyRecord stored = testStore.store().apiKey(id).orElseThrow();
    assertThat(stored.lastUsedAt()).as("written by the flush, not by requests").isNull();

    clock.advance(Duration.ofMinutes(5));
    assertThat(whoami(used.get("key").asText())).isEqualTo(200);
    assertThat(listed(id).get("last_used_at").asText())
        .isEqualTo(clock.instant().truncatedTo(ChronoUnit.SECONDS).toString());
  }

  private static JsonNode rotate(String id, String body) throws Exception {
    return ServerHttp.json(call(ADMIN, "POST", "/api/keys/" + id + "/rotate", body), 200);
  }

  private static JsonNode auditEntry(String requestId) throws Exception {
    List<JsonNode> found = new ArrayList<>();
    Poll.until(
        "the audit entry of request " + requestId,
        Duration.ofSeconds(10),
        () -> {
          JsonNode entries =
              ServerHttp.json(call(ADMIN, "GET", "/api/audit?action=authenticate", null), 200)
                  .get("entries");
          for (JsonNode entry : entries) {
            if (entry.get("request_id").asText().equals(requestId)) {
              found.add(entry);
              return true;
            }
          }
          return false;
        });
    return found.getFirst();
  }
}
