package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.store.MemoryStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Date;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** JWT callers over real HTTP: known by their subject, given rights like any other caller. */
class JwtHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String SECRET = "a-development-secret-of-32-bytes-or-more";
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static CastellanServer server;
  private static String storeId;

  @BeforeAll
  static void start() throws Exception {
    server =
        CastellanServer.start(
            CastellanServer.Options.defaults()
                .withPort(0)
                .withHost("127.0.0.1")
                .withBootstrapToken(ADMIN)
                .withJwt(JwtSettings.hs256(SECRET)),
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
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader(JWSAlgorithm.HS256),
            new JWTClaimsSet.Builder()
                .subject(subject)
                .expirationTime(new Date(System.currentTimeMillis() + expiresInSeconds * 1000))
                .build());
    jwt.sign(new MACSigner(secret));
    return jwt.serialize();
  }

  private static HttpResponse<String> send(String token, String method, String path, String body)
      throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .header("Authorization", "Bearer " + token)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aValidToken_authenticates_andItsSubjectGetsOnlyGrantedRights() throws Exception {
    String alice = token("alice", 300, SECRET);
    HttpResponse<String> whoami = send(alice, "GET", "/api/whoami", null);
    assertThat(whoami.statusCode()).isEqualTo(200);
    assertThat(whoami.body()).contains("\"subject\":\"jwt:alice\"").contains("\"admin\":false");
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
