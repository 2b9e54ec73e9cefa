package dev.castellan.server.auth;

import static dev.castellan.server.auth.JwtAuthenticatorHs256Test.rejects;
import static dev.castellan.server.auth.JwtAuthenticatorOidcTest.count;
import static dev.castellan.server.auth.JwtAuthenticatorOidcTest.requests;
import static dev.castellan.server.auth.JwtAuthenticatorOidcTest.sign;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.castellan.server.auth.IssuerSettings.ClaimValues;
import dev.castellan.server.auth.IssuerSettings.GroupMatch;
import dev.castellan.server.auth.IssuerSettings.Provisioning;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two OIDC issuers at once (ADR 0020), each a real provider (navikt's mock-oauth2-server) with keys
 * a test can rotate: each token is verified with its own issuer's keys only, and each issuer's key
 * set is refreshed, rate-limited, on its own.
 */
class JwtIssuersTest {
  static final String AUDIENCE = "castellan";

  final MutableClock clock = MutableClock.atSystemTime();
  final List<MockOAuth2Server> servers = new ArrayList<>();
  RSAKey keyA;
  RSAKey keyB;
  JwtAuthenticatorOidcTest.SwitchableKeys keysA;
  MockOAuth2Server serverA;
  MockOAuth2Server serverB;
  String issuerA;
  String issuerB;
  JwtAuthenticator auth;

  @BeforeEach
  void start() throws Exception {
    keyA = new RSAKeyGenerator(2048).keyID("a-1").generate();
    keyB = new RSAKeyGenerator(2048).keyID("b-1").generate();
    keysA = new JwtAuthenticatorOidcTest.SwitchableKeys(keyA, "RS256");
    serverA = start(keysA);
    serverB = start(new JwtAuthenticatorOidcTest.SwitchableKeys(keyB, "RS256"));
    issuerA = serverA.issuerUrl("a").toString();
    issuerB = serverB.issuerUrl("b").toString();
    auth =
        new JwtAuthenticator(
            JwtSettings.NONE, List.of(issuer("a", issuerA), issuer("b", issuerB)), null, clock);
  }

  private MockOAuth2Server start(JwtAuthenticatorOidcTest.SwitchableKeys keys) {
    MockOAuth2Server server =
        new MockOAuth2Server(
            new OAuth2Config(false, null, null, false, new OAuth2TokenProvider(keys)));
    server.start();
    servers.add(server);
    return server;
  }

  @AfterEach
  void stop() {
    servers.forEach(MockOAuth2Server::shutdown);
  }

  static IssuerSettings issuer(String name, String url) {
    return new IssuerSettings(
        name,
        url,
        AUDIENCE,
        "",
        false,
        "sub",
        "groups",
        GroupMatch.NAME,
        "",
        Map.of(),
        ClaimValues.NONE,
        ClaimValues.NONE,
        Provisioning.NONE);
  }

  JWTClaimsSet claims(String issuer, String subject) {
    Instant now = clock.instant();
    return new JWTClaimsSet.Builder()
        .issuer(issuer)
        .audience(AUDIENCE)
        .subject(subject)
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(600)))
        .build();
  }

  String issueA(String subject) {
    return serverA.issueToken("a", subject, AUDIENCE, Map.of(), 3600L).serialize();
  }

  String issueB(String subject) {
    return serverB.issueToken("b", subject, AUDIENCE, Map.of(), 3600L).serialize();
  }

  @Test
  void eachIssuersTokens_areItsOwnPrincipals_verifiedWithItsOwnKeys() throws Exception {
    assertThat(auth.authenticate(issueA("alice")).display()).isEqualTo("a/alice");
    assertThat(auth.authenticate(issueB("alice")).display()).isEqualTo("b/alice");
    assertThat(auth.authenticate(issueB("alice")).display()).isEqualTo("b/alice");
    assertThat(count(requests(serverA), "/jwks")).isEqualTo(1);
    assertThat(count(requests(serverB), "/jwks")).isEqualTo(1);

    // B's key, naming A: A's keys do not have it, so no token of B passes as A's.
    rejects(auth, sign(keyB, claims(issuerA, "mallory"), header -> {}))
        .hasMessage("the token's signing key is not known");
    // A's key and kid, naming B: B has no such key either.
    rejects(auth, sign(keyA, claims(issuerB, "mallory"), header -> {}))
        .hasMessage("the token's signing key is not known");
    // An issuer not configured is refused before any key is fetched for it.
    rejects(auth, sign(keyA, claims("https://elsewhere.example", "eve"), header -> {}))
        .hasMessage("the token's issuer is not accepted");
  }

  @Test
  void aWrongAudience_isRefused_perIssuer() throws Exception {
    rejects(auth, serverA.issueToken("a", "alice", "another-api", Map.of(), 3600L).serialize())
        .hasMessage("the token's audience is not accepted");
    JwtAuthenticator anyAudience =
        new JwtAuthenticator(
            JwtSettings.NONE,
            List.of(
                issuer("a", issuerA),
                new IssuerSettings(
                    "b",
                    issuerB,
                    "",
                    "",
                    false,
                    "sub",
                    "",
                    GroupMatch.NAME,
                    "",
                    Map.of(),
                    ClaimValues.NONE,
                    ClaimValues.NONE,
                    Provisioning.NONE)),
            null,
            clock);
    // b checks no audience; a still does.
    assertThat(
            anyAudience
                .authenticate(
                    serverB.issueToken("b", "bo", "another-api", Map.of(), 3600L).serialize())
                .display())
        .isEqualTo("b/bo");
    rejects(anyAudience, serverA.issueToken("a", "al", "another-api", Map.of(), 3600L).serialize())
        .hasMessage("the token's audience is not accepted");
  }

  @Test
  void aRotationAtOneIssuer_isPickedUpByAnUnknownKid_andRefetchesAreRateLimitedPerIssuer()
      throws Exception {
    assertThat(auth.authenticate(issueA("alice")).display()).isEqualTo("a/alice");
    assertThat(count(requests(serverA), "/jwks")).isEqualTo(1);

    // The provider rotates: its tokens now name a kid the cache does not have. Within the
    // interval since the last fetch, an unknown kid fetches nothing.
    RSAKey rotated = new RSAKeyGenerator(2048).keyID("a-2").generate();
    keysA.key.set(rotated);
    String newToken = issueA("alice");
    clock.advance(Duration.ofSeconds(10));
    rejects(auth, newToken).hasMessage("the token's signing key is not known");
    RSAKey madeUp = new RSAKeyGenerator(2048).keyID("made-up").generate();
    for (int i = 0; i < 10; i++) {
      rejects(auth, sign(madeUp, claims(issuerA, "eve"), header -> {}))
          .hasMessage("the token's signing key is not known");
    }
    assertThat(requests(serverA)).isEmpty();

    // The other issuer's limit is its own: its first token fetches its keys at once.
    assertThat(auth.authenticate(issueB("bob")).display()).isEqualTo("b/bob");
    assertThat(count(requests(serverB), "/jwks")).isEqualTo(1);

    // Past the interval: the rotated key's token refetches A's keys, once, and passes.
    clock.advance(Duration.ofSeconds(JwtAuthenticator.MIN_REFRESH_INTERVAL_SECONDS - 9));
    assertThat(auth.authenticate(newToken).display()).isEqualTo("a/alice");
    assertThat(requests(serverA)).containsExactly("/a/jwks");

    // Made-up kids right after fetch nothing; the old key is gone with the rotation.
    rejects(auth, sign(madeUp, claims(issuerA, "eve"), header -> {}))
        .hasMessage("the token's signing key is not known");
    rejects(auth, sign(keyA, claims(issuerA, "alice"), header -> {}))
        .hasMessage("the token's signing key is not known");
    assertThat(requests(serverA)).isEmpty();
    assertThat(auth.authenticate(issueA("carol")).display()).isEqualTo("a/carol");
  }

  @Test
  void aConfiguredJwksUri_skipsDiscovery() throws Exception {
    JwtAuthenticator direct =
        new JwtAuthenticator(
            JwtSettings.NONE,
            List.of(
                new IssuerSettings(
                    "a",
                    issuerA,
                    AUDIENCE,
                    serverA.jwksUrl("a").toString(),
                    true,
                    "sub",
                    "",
                    GroupMatch.NAME,
                    "",
                    Map.of(),
                    ClaimValues.NONE,
                    ClaimValues.NONE,
                    Provisioning.NONE)),
            null,
            clock);
    assertThat(direct.authenticate(issueA("alice")).display()).isEqualTo("alice");
    assertThat(requests(serverA)).containsExactly("/a/jwks");
  }
}
