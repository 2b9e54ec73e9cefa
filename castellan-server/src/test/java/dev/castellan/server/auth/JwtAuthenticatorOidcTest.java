package dev.castellan.server.auth;

import static dev.castellan.server.auth.JwtAuthenticatorHs256Test.rejects;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.token.KeyProvider;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Against a real OIDC provider: navikt's mock-oauth2-server, over HTTP on localhost. */
class JwtAuthenticatorOidcTest {
  static final String AUDIENCE = "castellan";

  /** Serves one key for every issuer id and lets a test swap it (a key rotation). */
  static final class SwitchableKeys extends KeyProvider {
    final AtomicReference<JWK> key;

    SwitchableKeys(JWK initial, String algorithm) {
      super(List.of(), algorithm);
      key = new AtomicReference<>(initial);
    }

    @Override
    public JWK signingKey(String issuerId) {
      return key.get();
    }
  }

  final MutableClock clock = MutableClock.atSystemTime();
  final List<MockOAuth2Server> servers = new ArrayList<>();
  RSAKey rsaKey;
  SwitchableKeys keys;
  MockOAuth2Server server;
  String issuer;

  @BeforeEach
  void start() throws Exception {
    rsaKey = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    keys = new SwitchableKeys(rsaKey, "RS256");
    server = startServer(keys);
    issuer = server.issuerUrl("default").toString();
  }

  MockOAuth2Server startServer(KeyProvider provider) {
    MockOAuth2Server started =
        new MockOAuth2Server(
            new OAuth2Config(false, null, null, false, new OAuth2TokenProvider(provider)));
    started.start();
    servers.add(started);
    return started;
  }

  @AfterEach
  void stop() {
    servers.forEach(MockOAuth2Server::shutdown);
  }

  JwtAuthenticator oidc(String audience) {
    return new JwtAuthenticator(JwtSettings.oidc(issuer, audience), clock);
  }

  String issue(String subject, String audience) {
    return server
        .issueToken("default", subject, audience, Map.of("roles", List.of("writer")), 3600L)
        .serialize();
  }

  JWTClaimsSet.Builder claims() {
    Instant now = clock.instant();
    return new JWTClaimsSet.Builder()
        .issuer(issuer)
        .audience(AUDIENCE)
        .subject("alice")
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(600)));
  }

  static String sign(RSAKey key, JWTClaimsSet claims, Consumer<JWSHeader.Builder> header)
      throws Exception {
    JWSHeader.Builder builder =
        new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(JOSEObjectType.JWT);
    header.accept(builder);
    SignedJWT jwt = new SignedJWT(builder.build(), claims);
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  /** The paths the server was asked for since the last call. */
  static List<String> requests(MockOAuth2Server server) {
    List<String> paths = new ArrayList<>();
    while (true) {
      RecordedRequest request;
      try {
        request = server.takeRequest(200, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) { // the server's way to say "none within the timeout"
        return paths;
      }
      if (request == null) {
        return paths;
      }
      paths.add(request.getPath());
    }
  }

  static long count(List<String> paths, String suffix) {
    return paths.stream().filter(path -> path.endsWith(suffix)).count();
  }

  @Test
  void acceptsATokenOfTheIssuerWithIssuerAndAudienceChecks() {
    JwtAuthenticator auth = oidc(AUDIENCE);
    assertThat(requests(server)).as("nothing is fetched before first use").isEmpty();

    Principal principal = auth.authenticate(issue("alice@example.com", AUDIENCE));

    assertThat(principal.display()).isEqualTo("alice@example.com");
    assertThat(principal.display()).isEqualTo("alice@example.com");
    assertThat(principal.claims())
        .containsEntry("iss", issuer)
        .containsEntry("roles", List.of("writer"))
        .containsEntry("sub", "alice@example.com");
    assertThat(requests(server))
        .containsExactly("/default/.well-known/openid-configuration", "/default/jwks");

    // Cached: more tokens, no more requests.
    for (int i = 0; i < 5; i++) {
      assertThat(auth.authenticate(issue("bob", AUDIENCE)).display()).isEqualTo("bob");
    }
    assertThat(requests(server)).isEmpty();
  }

  /** Regression (lossy subjects): an issuer's subjects were folded to the same jwt:bob_smith. */
  @Test
  void anIssuersSubjectsKeepEveryCharacter_escaped() {
    JwtAuthenticator auth = oidc(AUDIENCE);
    java.util.Map<String, String> ids = new java.util.LinkedHashMap<>();
    for (String sub : List.of("bob smith", "bob/smith", "bob:smith", "bob#smith", "bob_smith")) {
      ids.put(sub, auth.authenticate(issue(sub, AUDIENCE)).id());
    }
    assertThat(new java.util.HashSet<>(ids.values())).hasSize(5);
    for (String sub : ids.keySet()) {
      assertThat(auth.authenticate(issue(sub, AUDIENCE)).id()).as(sub).isEqualTo(ids.get(sub));
    }
  }

  @Test
  void skipsTheAudienceCheckWhenNoneIsConfigured() {
    assertThat(oidc("").authenticate(issue("alice", "some-other-client")).display())
        .isEqualTo("alice");
  }

  @Test
  void rejectsAWrongAudience() {
    JwtAuthenticator auth = oidc(AUDIENCE);
    rejects(auth, issue("alice", "another-api")).hasMessage("the token's audience is not accepted");
  }

  @Test
  void rejectsAWrongIssuer() throws Exception {
    JwtAuthenticator auth = oidc(AUDIENCE);
    // Signed with the very same key, by the same server, but for another issuer.
    String other = server.issueToken("other", "alice", AUDIENCE, Map.of(), 3600L).serialize();
    rejects(auth, other).hasMessage("the token's issuer is not accepted");
    rejects(auth, sign(rsaKey, claims().issuer(null).build(), h -> {}))
        .hasMessage("the token's issuer is not accepted");
    rejects(auth, sign(rsaKey, claims().issuer(issuer + "/").build(), h -> {}))
        .hasMessage("the token's issuer is not accepted");
  }

  @Test
  void checksTimesWithTheLeeway() throws Exception {
    JwtAuthenticator auth = oidc(AUDIENCE);
    String token = issue("alice", AUDIENCE); // valid for an hour
    assertThat(auth.authenticate(token).display()).isEqualTo("alice");
    clock.advance(Duration.ofSeconds(3600 + 30));
    assertThat(auth.authenticate(token).display()).as("within the leeway").isEqualTo("alice");
    clock.advance(Duration.ofSeconds(60));
    rejects(auth, token).hasMessage("the token has expired");
    rejects(auth, sign(rsaKey, claims().expirationTime(null).build(), h -> {}))
        .hasMessageContaining("no expiry");
    rejects(auth, sign(rsaKey, claims().subject(null).build(), h -> {}))
        .hasMessageContaining("no subject");
  }

  @Test
  void rejectsAForgedSignature() throws Exception {
    JwtAuthenticator auth = oidc(AUDIENCE);
    RSAKey attacker = new RSAKeyGenerator(2048).keyID(rsaKey.getKeyID()).generate();
    rejects(auth, sign(attacker, claims().build(), h -> {}))
        .hasMessage("the token's signature is not valid");
  }

  @Test
  void rejectsHs256SignedWithTheIssuersPublicKey() throws Exception {
    // Algorithm confusion: an attacker MACs a token with the issuer's public key material.
    JwtAuthenticator auth = oidc(AUDIENCE);
    assertThat(auth.authenticate(issue("alice", AUDIENCE)).display()).isEqualTo("alice");
    List<byte[]> publicMaterial =
        List.of(
            rsaKey.toPublicKey().getEncoded(),
            rsaKey.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8),
            rsaKey.getModulus().decode(),
            ("-----BEGIN PUBLIC KEY-----\n"
                    + java.util.Base64.getMimeEncoder()
                        .encodeToString(rsaKey.toPublicKey().getEncoded())
                    + "\n-----END PUBLIC KEY-----\n")
                .getBytes(StandardCharsets.US_ASCII));
    for (byte[] secret : publicMaterial) {
      SignedJWT jwt =
          new SignedJWT(
              new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(rsaKey.getKeyID()).build(),
              claims().subject("admin").build());
      jwt.sign(new MACSigner(secret));
      rejects(auth, jwt.serialize()).hasMessage("HS256 tokens are not accepted by this server");
    }

    // With HS256 configured too, an HS256 token is checked against the configured secret only.
    JwtAuthenticator both =
        new JwtAuthenticator(
            new JwtSettings(JwtAuthenticatorHs256Test.SECRET, issuer, AUDIENCE, null, 8192, "sub"),
            clock);
    for (byte[] secret : publicMaterial) {
      SignedJWT jwt =
          new SignedJWT(
              new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(rsaKey.getKeyID()).build(),
              claims().subject("admin").build());
      jwt.sign(new MACSigner(secret));
      rejects(both, jwt.serialize()).hasMessage("the token's signature is not valid");
    }
    assertThat(both.authenticate(issue("alice", AUDIENCE)).display()).isEqualTo("alice");
  }

  @Test
  void neverUsesKeysTheTokenCarriesOrNames() throws Exception {
    JwtAuthenticator auth = oidc(AUDIENCE);
    RSAKey attacker = new RSAKeyGenerator(2048).keyID(rsaKey.getKeyID()).generate();
    rejects(auth, sign(attacker, claims().build(), h -> h.jwk(attacker.toPublicJWK())))
        .hasMessageContaining("carry their own keys");
    // Even when jku names the real issuer's JWKS (we only ever use the discovered one).
    rejects(auth, sign(rsaKey, claims().build(), h -> h.jwkURL(server.jwksUrl("default").uri())))
        .hasMessageContaining("carry their own keys");
    rejects(
            auth,
            sign(
                attacker,
                claims().build(),
                h -> h.x509CertURL(java.net.URI.create("http://localhost:1/cert"))))
        .hasMessageContaining("carry their own keys");
    assertThat(requests(server)).as("nothing was fetched for these tokens").isEmpty();
  }

  @Test
  void acceptsEs256() throws Exception {
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    MockOAuth2Server ecServer = startServer(new SwitchableKeys(ec, "ES256"));
    String ecIssuer = ecServer.issuerUrl("default").toString();
    JwtAuthenticator auth = new JwtAuthenticator(JwtSettings.oidc(ecIssuer, AUDIENCE), clock);

    SignedJWT token = ecServer.issueToken("default", "carol", AUDIENCE, Map.of(), 3600L);
    assertThat(token.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    assertThat(auth.authenticate(token.serialize()).display()).isEqualTo("carol");

    // An RS256 token whose kid names the EC key does not verify.
    RSAKey rsa = new RSAKeyGenerator(2048).keyID("ec-1").generate();
    String mismatched = sign(rsa, claims().issuer(ecIssuer).build(), h -> {});
    rejects(auth, mismatched).hasMessage("the token's signing key is not known");
  }

  @Test
  void acceptsEdDsaWithEd25519() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
    KeyPair pair = generator.generateKeyPair();
    byte[] spki = pair.getPublic().getEncoded();
    byte[] x = Arrays.copyOfRange(spki, spki.length - 32, spki.length);
    OctetKeyPair okp =
        new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(x)).keyID("ed-1").build();
    MockOAuth2Server edServer = startServer(new SwitchableKeys(okp, "RS256"));
    String edIssuer = edServer.issuerUrl("default").toString();
    JwtAuthenticator auth = new JwtAuthenticator(JwtSettings.oidc(edIssuer, AUDIENCE), clock);

    String payload =
        claims().issuer(edIssuer).subject("dave").build().toPayload().toBase64URL().toString();
    for (String alg : List.of("EdDSA", "Ed25519")) {
      String header =
          Base64URL.encode("{\"alg\":\"" + alg + "\",\"kid\":\"ed-1\",\"typ\":\"JWT\"}").toString();
      Signature signer = Signature.getInstance("Ed25519");
      signer.initSign(pair.getPrivate());
      signer.update((header + "." + payload).getBytes(StandardCharsets.US_ASCII));
      byte[] signature = signer.sign();
      String token = header + "." + payload + "." + Base64URL.encode(signature);
      assertThat(auth.authenticate(token).display()).as(alg).isEqualTo("dave");

      signature[0] ^= 1;
      rejects(auth, header + "." + payload + "." + Base64URL.encode(signature))
          .hasMessage("the token's signature is not valid");
    }
  }

  @Test
  void picksUpRotatedKeysWithARateLimitedRefresh() throws Exception {
    JwtAuthenticator auth = oidc(AUDIENCE);
    String oldToken = issue("alice", AUDIENCE);
    assertThat(auth.authenticate(oldToken).display()).isEqualTo("alice");
    assertThat(count(requests(server), "/jwks")).isEqualTo(1);

    // The issuer rotates: the JWKS now holds only the new key.
    RSAKey newKey = new RSAKeyGenerator(2048).keyID("rsa-2").generate();
    keys.key.set(newKey);
    String newToken = issue("alice", AUDIENCE);
    assertThat(SignedJWT.parse(newToken).getHeader().getKeyID()).isEqualTo("rsa-2");

    // Within 30 s of the last fetch, an unknown kid does not trigger a fetch.
    clock.advance(Duration.ofSeconds(10));
    rejects(auth, newToken).hasMessage("the token's signing key is not known");
    for (int i = 0; i < 20; i++) {
      RSAKey junk = new RSAKeyGenerator(2048).keyID(UUID.randomUUID().toString()).generate();
      rejects(auth, sign(junk, claims().build(), h -> {}));
    }
    assertThat(requests(server)).isEmpty();

    // Past the interval: one refresh, and the new key works.
    clock.advance(Duration.ofSeconds(21));
    assertThat(auth.authenticate(newToken).display()).isEqualTo("alice");
    assertThat(requests(server)).containsExactly("/default/jwks");

    // The old key is gone from the JWKS, so its tokens no longer verify; no new fetch either.
    rejects(auth, oldToken).hasMessage("the token's signing key is not known");
    assertThat(requests(server)).isEmpty();
    assertThat(auth.authenticate(issue("bob", AUDIENCE)).display()).isEqualTo("bob");
  }

  @Test
  void refreshesAStaleKeySetAfterFiveMinutes() {
    JwtAuthenticator auth = oidc(AUDIENCE);
    auth.authenticate(issue("alice", AUDIENCE));
    assertThat(count(requests(server), "/jwks")).isEqualTo(1);
    clock.advance(Duration.ofSeconds(299));
    auth.authenticate(issue("alice", AUDIENCE));
    assertThat(requests(server)).isEmpty();
    clock.advance(Duration.ofSeconds(2));
    auth.authenticate(issue("alice", AUDIENCE));
    assertThat(requests(server)).containsExactly("/default/jwks");
  }

  @Test
  void keepsTheCachedKeysWhenARefreshFails() {
    JwtAuthenticator auth = oidc(AUDIENCE);
    String token = issue("alice", AUDIENCE);
    auth.authenticate(token);
    server.shutdown();
    servers.remove(server);
    clock.advance(Duration.ofMinutes(6));
    assertThat(auth.authenticate(token).display()).isEqualTo("alice");
  }

  @Test
  void loadsTheKeysOnceUnderConcurrentFirstUse() throws Exception {
    JwtAuthenticator auth = oidc(AUDIENCE);
    String token = issue("alice", AUDIENCE);
    CountDownLatch go = new CountDownLatch(1);
    ConcurrentLinkedQueue<Object> results = new ConcurrentLinkedQueue<>();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      threads.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    try {
                      go.await();
                      for (int i = 0; i < 20; i++) {
                        results.add(auth.authenticate(token).display());
                      }
                    } catch (Throwable e) {
                      results.add(e);
                    }
                  }));
    }
    go.countDown();
    for (Thread thread : threads) {
      thread.join();
    }
    assertThat(results).hasSize(160).allMatch("alice"::equals);
    List<String> paths = requests(server);
    assertThat(count(paths, "/openid-configuration")).isEqualTo(1);
    assertThat(count(paths, "/jwks")).isEqualTo(1);
  }

  @Test
  void reportsAnUnreachableIssuerSafelyAndLogsTheCause() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    issuer = "http://localhost:" + port + "/default";
    JwtAuthenticator auth = oidc(AUDIENCE);
    String token = sign(rsaKey, claims().build(), h -> {});

    ListAppender<ILoggingEvent> logs = captureLogs();
    try {
      rejects(auth, token).hasMessage("the token issuer's keys are unavailable");
      assertThat(logs.list)
          .anySatisfy(
              event -> {
                assertThat(event.getLevel()).isEqualTo(Level.WARN);
                assertThat(event.getFormattedMessage()).contains(issuer);
              })
          .allSatisfy(
              event ->
                  assertThat(event.getFormattedMessage())
                      .doesNotContain(token.substring(token.lastIndexOf('.') + 1)));

      // The issuer comes up: after a short back-off its keys are loaded.
      MockOAuth2Server late =
          new MockOAuth2Server(
              new OAuth2Config(false, null, null, false, new OAuth2TokenProvider(keys)));
      late.start(port);
      servers.add(late);
      rejects(auth, token).hasMessage("the token issuer's keys are unavailable");
      assertThat(requests(late)).as("no retry within the back-off").isEmpty();
      clock.advance(Duration.ofSeconds(6));
      assertThat(auth.authenticate(token).display()).isEqualTo("alice");
    } finally {
      releaseLogs(logs);
    }
  }

  @Test
  void rejectsADiscoveryDocumentForAnotherIssuer() throws Exception {
    // The configured issuer has a trailing slash the provider does not use.
    issuer = issuer + "/";
    JwtAuthenticator auth = oidc(AUDIENCE);
    rejects(auth, sign(rsaKey, claims().build(), h -> {}))
        .hasMessage("the token issuer's keys are unavailable");
  }

  @Test
  void givesUpOnASilentIssuerAfterTheTimeout() throws Exception {
    try (ServerSocket silent = new ServerSocket(0)) { // accepts connections, never answers
      issuer = "http://localhost:" + silent.getLocalPort() + "/default";
      JwtAuthenticator auth = oidc(AUDIENCE);
      String token = sign(rsaKey, claims().build(), h -> {});
      long start = System.nanoTime();
      rejects(auth, token).hasMessage("the token issuer's keys are unavailable");
      long tookMillis = (System.nanoTime() - start) / 1_000_000;
      assertThat(tookMillis).isBetween(4_000L, 9_000L);

      // Meanwhile requests fail fast instead of waiting on the issuer again.
      start = System.nanoTime();
      rejects(auth, token).hasMessage("the token issuer's keys are unavailable");
      assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(1_000L);
    }
  }

  @Test
  void rejectsHs256WhenOnlyOidcIsConfiguredEvenWithAValidLookingKid() throws Exception {
    JwtAuthenticator auth = oidc(AUDIENCE);
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("rsa-1").build(), claims().build());
    jwt.sign(new MACSigner(JwtAuthenticatorHs256Test.SECRET.getBytes(StandardCharsets.UTF_8)));
    rejects(auth, jwt.serialize()).hasMessage("HS256 tokens are not accepted by this server");
    assertThat(requests(server)).isEmpty();
  }

  static ListAppender<ILoggingEvent> captureLogs() {
    ch.qos.logback.classic.Logger logger =
        (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(JwtAuthenticator.class);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    logger.addAppender(appender);
    return appender;
  }

  static void releaseLogs(ListAppender<ILoggingEvent> appender) {
    ch.qos.logback.classic.Logger logger =
        (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(JwtAuthenticator.class);
    logger.detachAppender(appender);
  }
}
