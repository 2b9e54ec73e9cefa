package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.server.auth.JwtSettings;
import dev.castellan.store.MemoryStore;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** JWT callers over real HTTP: known by their subject, given rights like any other caller. */
class JwtHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String SECRET = "a-development-secret-of-32-bytes-or-more";
  private static CastellanServer server;
  private static String storeId;

  @BeforeAll
  static void start() throws Exception {
    server =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN).withJwt(JwtSettings.hs256(SECRET)),
            new MemoryStore());
    storeId =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(send(ADMIN, "POST", "/stores", "{\"name\":\"jwt\"}").body())
            .get("id")
            .asText();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static String token(String subject, long expiresInSeconds, String secret)
      throws Exception {
    return ServerHttp.hs256(secret, subject, Map.of(), Duration.ofSeconds(expiresInSeconds));
  }

  private static HttpResponse<String> send(String token, String method, String path, String body)
      throws Exception {
    return ServerHttp.send(server, token, method, path, body);
  }

  @Test
  void aValidToken_authenticates_andItsSubjectGetsOnlyGrantedRights() throws Exception {
    String alice = token("alice", 300, SECRET);
    HttpResponse<String> whoami = send(alice, "GET", "/api/whoami", null);
    assertThat(whoami.statusCode()).isEqualTo(200);
    assertThat(whoami.body())
        .containsPattern("\"subject\":\"user:[0-9A-Z]{26}\"")
        .contains("\"user_name\":\"alice\"")
        .contains("\"admin\":false");
    assertThat(send(alice, "GET", "/stores/" + storeId, null).statusCode()).isEqualTo(403);

    HttpResponse<String> grant =
        send(
            ADMIN,
            "POST",
            "/api/stores/" + storeId + "/access",
            "{\"subject\":\"jwt:alice\",\"role\":\"reader\"}");
    assertThat(grant.statusCode()).isEqualTo(204);
    assertThat(send(alice, "GET", "/stores/" + storeId, null).statusCode()).isEqualTo(200);
  }

  @Test
  void expiredOrBadlySignedTokens_are401WithAChallenge() throws Exception {
    for (String bad :
        new String[] {token("alice", -600, SECRET), token("alice", 300, SECRET + "-other")}) {
      HttpResponse<String> response = send(bad, "GET", "/api/whoami", null);
      assertThat(response.statusCode()).isEqualTo(401);
      assertThat(response.headers().firstValue("WWW-Authenticate"))
          .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
      assertThat(response.body()).contains("unauthenticated").doesNotContain(bad);
    }
  }
}
