package dev.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.EncryptionMethod;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWEAlgorithm;
import com.nimbusds.jose.JWEHeader;
import com.nimbusds.jose.JWEObject;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.DirectEncrypter;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

class JwtAuthenticatorHs256Test {
  static final String SECRET = "an HS256 test secret that is long enough!";
  static final String OTHER_SECRET = "another HS256 secret, just as long as the first";

  final MutableClock clock = new MutableClock(Instant.parse("2030-01-02T03:04:05Z"));
  final JwtAuthenticator auth = new JwtAuthenticator(JwtSettings.hs256(SECRET), clock);

  JWTClaimsSet.Builder claims() {
    Instant now = clock.instant();
    return new JWTClaimsSet.Builder()
        .subject("alice")
        .issueTime(Date.from(now))
        .notBeforeTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(600)));
  }

  static String hs(String secret, JWSAlgorithm alg, JWTClaimsSet claims) throws Exception {
    SignedJWT jwt =
        new SignedJWT(new JWSHeader.Builder(alg).type(JOSEObjectType.JWT).build(), claims);
    jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }

  String hs256(JWTClaimsSet claims) throws Exception {
    return hs(SECRET, JWSAlgorithm.HS256, claims);
  }

  static String b64(String json) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  AbstractThrowableAssert<?, ? extends Throwable> rejects(String token) {
    return rejects(auth, token);
  }

  static AbstractThrowableAssert<?, ? extends Throwable> rejects(
      JwtAuthenticator auth, String token) {
    var assertion =
        assertThatThrownBy(() -> auth.authenticate(token))
            .isInstanceOf(CastellanException.class)
            .satisfies(
                e ->
                    assertThat(((CastellanException) e).code())
                        .isEqualTo(ErrorCode.UNAUTHENTICATED))
            .hasNoCause();
    if (token != null && !token.isEmpty()) {
      // The message never echoes the token or any of its parts.
      for (String part : token.split("\\.")) {
        if (part.length() >= 8) {
          assertion.extracting(Throwable::getMessage).asString().doesNotContain(part);
        }
      }
    }
    return assertion;
  }

  @Test
  void acceptsAValidToken() throws Exception {
    Principal principal =
        auth.authenticate(hs256(claims().claim("roles", List.of("admin", "viewer")).build()));

    assertThat(principal.id()).matches("user:[0-9A-Z]{26}");
    assertThat(principal.display()).isEqualTo("alice");
    assertThat(principal.claims())
        .containsEntry("sub", "alice")
        .containsEntry("roles", List.of("admin", "viewer"))
        .containsKey("exp");
    assertThat(principal.claims().get("exp")).isInstanceOf(Number.class);
  }

  @Test
  void anySubject_isADirectoryUser_keepingEveryCharacter() throws Exception {
    Principal principal =
        auth.authenticate(hs256(claims().subject("user:Alice Smith/1|x@y.z_-é%").build()));

    assertThat(principal.id()).matches("user:[0-9A-HJKMNP-TV-Z]{26}");
    assertThat(principal.subject()).isEqualTo(principal.id());
    assertThat(principal.display()).isEqualTo("user:Alice Smith/1|x@y.z_-é%");
  }

  /** Regression (lossy subjects): the old mapping made all of these jwt:bob_smith. */
  @Test
  void subjectsThatDifferOnlyInSpecialCharacters_areDifferentPrincipals() throws Exception {
    Set<String> ids = new java.util.HashSet<>();
    for (String sub : List.of("bob smith", "bob/smith", "bob:smith", "bob#smith", "bob_smith")) {
      ids.add(auth.authenticate(hs256(claims().subject(sub).build())).id());
    }
    assertThat(ids).hasSize(5).allMatch(id -> id.startsWith("user:"));
  }

  @Test
  void aSubjectTooLongOnceEscaped_isRefusedWithTheReason() throws Exception {
    String fits = "a".repeat(SubjectIds.MAX_LENGTH);
    assertThat(auth.authenticate(hs256(claims().subject(fits).build())).display()).isEqualTo(fits);
    // 100 characters, 200 bytes of UTF-8, 600 characters escaped.
    rejects(hs256(claims().subject("é".repeat(100)).build()))
        .hasMessage(
            "the token's subject (sub) is 600 characters long once its characters other than"
                + " letters, digits and _.@|- are percent-encoded; at most 256 are accepted");
  }

  @Test
  void aSubjectThatIsNotValidUnicode_isRefused() throws Exception {
    // A lone surrogate has no UTF-8 form; folding it into '?' would make two subjects one.
    String payload =
        "{\"sub\":\"bob\\ud800\",\"exp\":"
            + clock.instant().plusSeconds(600).getEpochSecond()
            + "}";
    com.nimbusds.jose.JWSObject jws =
        new com.nimbusds.jose.JWSObject(new JWSHeader(JWSAlgorithm.HS256), new Payload(payload));
    jws.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    rejects(jws.serialize()).hasMessage("the token's subject (sub) is not valid Unicode");
  }

  @Test
  void usesAConfiguredSubjectClaim() throws Exception {
    JwtAuthenticator byEmail =
        new JwtAuthenticator(
            new JwtSettings(SECRET, "", "", Duration.ofSeconds(60), 8192, "email"), clock);
    Principal principal = byEmail.authenticate(hs256(claims().claim("email", "a@b.c").build()));
    assertThat(principal.display()).isEqualTo("a@b.c");

    rejects(byEmail, hs256(claims().build())).hasMessageContaining("no subject (email)");
  }

  @Test
  void rejectsAWrongSecret() throws Exception {
    rejects(hs(OTHER_SECRET, JWSAlgorithm.HS256, claims().build()))
        .hasMessage("the token's signature is not valid");
  }

  @Test
  void rejectsATamperedPayload() throws Exception {
    String[] parts = hs256(claims().build()).split("\\.");
    String forged = parts[0] + "." + b64("{\"sub\":\"admin\",\"exp\":4102444800}") + "." + parts[2];
    rejects(forged).hasMessage("the token's signature is not valid");
  }

  @Test
  void honoursTheLeewayOnExpiry() throws Exception {
    Instant now = clock.instant();
    String token = hs256(claims().expirationTime(Date.from(now.minusSeconds(30))).build());
    assertThat(auth.authenticate(token).display()).isEqualTo("alice");

    rejects(hs256(claims().expirationTime(Date.from(now.minusSeconds(61))).build()))
        .hasMessage("the token has expired");
    clock.advance(Duration.ofSeconds(31));
    rejects(token).hasMessage("the token has expired");
  }

  @Test
  void rejectsATokenNotValidYet() throws Exception {
    Instant now = clock.instant();
    rejects(hs256(claims().notBeforeTime(Date.from(now.plusSeconds(120))).build()))
        .hasMessageContaining("not valid yet");
    assertThat(
            auth.authenticate(hs256(claims().notBeforeTime(Date.from(now.plusSeconds(50))).build()))
                .display())
        .isEqualTo("alice");
  }

  @Test
  void rejectsATokenIssuedInTheFuture() throws Exception {
    rejects(hs256(claims().issueTime(Date.from(clock.instant().plusSeconds(120))).build()))
        .hasMessageContaining("issued in the future");
  }

  @Test
  void requiresExpiry() throws Exception {
    rejects(hs256(claims().expirationTime(null).build())).hasMessageContaining("no expiry");
  }

  @Test
  void requiresASubject() throws Exception {
    rejects(hs256(claims().subject(null).build())).hasMessageContaining("no subject (sub)");
    rejects(hs256(claims().subject("").build())).hasMessageContaining("no subject");
    rejects(hs256(claims().subject("   ").build())).hasMessageContaining("no subject");
    rejects(hs256(claims().subject("x".repeat(257)).build()))
        .hasMessageContaining("longer than 256");
    assertThat(auth.authenticate(hs256(claims().subject("x".repeat(256)).build())).display())
        .hasSize(256);
  }

  @Test
  void rejectsMalformedClaimTypes() throws Exception {
    String header = b64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    String payload = b64("{\"sub\":\"alice\",\"exp\":\"tomorrow\"}");
    String input = header + "." + payload;
    javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
    mac.init(
        new javax.crypto.spec.SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    String signature =
        Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    rejects(input + "." + signature).hasMessage("the token's claims are malformed");
  }

  @Test
  void rejectsAlgNone() throws Exception {
    String payload =
        b64(
            "{\"sub\":\"admin\",\"exp\":"
                + clock.instant().plusSeconds(600).getEpochSecond()
                + "}");
    for (String alg : List.of("none", "None", "NONE")) {
      String token = b64("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}") + "." + payload + ".";
      assertThat(JwtAuthenticator.looksLikeJwt(token)).isTrue();
      rejects(token).hasMessageContaining("alg none");
    }
    // Also with a signature part copied from a valid token.
    String valid = hs256(claims().build());
    String forged =
        b64("{\"alg\":\"none\"}")
            + "."
            + payload
            + "."
            + valid.substring(valid.lastIndexOf('.') + 1);
    rejects(forged).hasMessageContaining("alg none");
  }

  @Test
  void acceptsOnlyHs256AmongHmacAlgorithms() throws Exception {
    String longSecret = SECRET + SECRET; // long enough for HS384/HS512 too
    JwtAuthenticator longAuth = new JwtAuthenticator(JwtSettings.hs256(longSecret), clock);
    assertThat(
            longAuth.authenticate(hs(longSecret, JWSAlgorithm.HS256, claims().build())).display())
        .isEqualTo("alice");
    rejects(longAuth, hs(longSecret, JWSAlgorithm.HS384, claims().build()))
        .hasMessage("the token's signature algorithm is not accepted");
    rejects(longAuth, hs(longSecret, JWSAlgorithm.HS512, claims().build()))
        .hasMessage("the token's signature algorithm is not accepted");
  }

  @Test
  void rejectsUnknownAlgorithms() throws Exception {
    String payload = b64("{\"sub\":\"alice\",\"exp\":4102444800}");
    for (String alg : List.of("XS256", "hs256", "PS256", "RS512", "ES512", "", "HS256 ")) {
      rejects(b64("{\"alg\":\"" + alg + "\"}") + "." + payload + ".c2ln")
          .hasMessageNotContaining("Exception");
    }
    rejects(b64("{\"alg\":42}") + "." + payload + ".c2ln")
        .hasMessage("the token names no signature algorithm");
  }

  @Test
  void rejectsIssuerAlgorithmsWhenOnlyHs256IsConfigured() throws Exception {
    RSAKey key = new RSAKeyGenerator(2048).keyID("k").generate();
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k").build(), claims().build());
    jwt.sign(new RSASSASigner(key));
    rejects(jwt.serialize()).hasMessage("RS256 tokens are not accepted by this server");
  }

  @Test
  void rejectsTokensThatCarryOrNameTheirOwnKeys() throws Exception {
    RSAKey attacker = new RSAKeyGenerator(2048).keyID("evil").generate();
    SignedJWT withJwk =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256).jwk(attacker.toPublicJWK()).build(),
            claims().build());
    withJwk.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    rejects(withJwk.serialize()).hasMessageContaining("carry their own keys");

    SignedJWT withJku =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256)
                .jwkURL(java.net.URI.create("https://attacker.invalid/jwks.json"))
                .build(),
            claims().build());
    withJku.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    rejects(withJku.serialize()).hasMessageContaining("carry their own keys");

    SignedJWT withX5u =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256)
                .x509CertURL(java.net.URI.create("https://attacker.invalid/cert.pem"))
                .build(),
            claims().build());
    withX5u.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    rejects(withX5u.serialize()).hasMessageContaining("carry their own keys");
  }

  @Test
  void rejectsCriticalHeaders() throws Exception {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256)
                .customParam("exp-policy", "x")
                .criticalParams(Set.of("exp-policy"))
                .build(),
            claims().build());
    jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    rejects(jwt.serialize()).hasMessageContaining("crit");
  }

  @Test
  void rejectsEncryptedTokens() throws Exception {
    byte[] key = new byte[32];
    new java.security.SecureRandom().nextBytes(key);
    JWEObject jwe =
        new JWEObject(
            new JWEHeader(JWEAlgorithm.DIR, EncryptionMethod.A256GCM),
            new Payload(claims().build().toJSONObject()));
    jwe.encrypt(new DirectEncrypter(new OctetSequenceKey.Builder(key).build()));
    String token = jwe.serialize();
    assertThat(token.chars().filter(c -> c == '.').count()).isEqualTo(4);
    rejects(token).hasMessageContaining("encrypted tokens");

    // A JWE-style header squeezed into three parts.
    String payload = b64("{\"sub\":\"alice\",\"exp\":4102444800}");
    rejects(b64("{\"alg\":\"HS256\",\"enc\":\"A256GCM\"}") + "." + payload + ".c2ln")
        .hasMessageContaining("encrypted tokens");
  }

  @Test
  void rejectsOversizedTokensBeforeParsing() throws Exception {
    String big = hs256(claims().claim("padding", "x".repeat(9000)).build());
    assertThat(big.length()).isGreaterThan(8192);
    rejects(big).hasMessage("the token is larger than the 8192 bytes accepted");

    // Not even parsed: garbage of the same size gets the same answer.
    rejects("a".repeat(8193)).hasMessage("the token is larger than the 8192 bytes accepted");

    JwtAuthenticator small =
        new JwtAuthenticator(new JwtSettings(SECRET, "", "", null, 100, null), clock);
    rejects(small, hs256(claims().build())).hasMessageContaining("larger than the 100 bytes");
  }

  @Test
  void rejectsGarbage() {
    for (String token :
        List.of(
            "",
            "   ",
            "cst_abc_def",
            "a.b.c",
            "a.b",
            "a.b.c.d",
            "....",
            "eyJ.eyJ.sig",
            "ey J.x.y",
            "abc\n.def.ghi",
            b64("[1,2]") + ".e30.c2ln",
            b64("{\"alg\":\"HS256\"") + ".e30.c2ln")) {
      rejects(token);
    }
    assertThatThrownBy(() -> auth.authenticate(null))
        .isInstanceOf(CastellanException.class)
        .hasMessage("the bearer token is empty");
  }

  @Test
  void survivesHostileHeaders() {
    String deep = b64("{\"alg\":\"HS256\",\"x\":" + "[".repeat(1400) + "]".repeat(1400) + "}");
    assertThat(deep.length()).isLessThan(4096);
    String token = deep + ".e30.c2ln";
    assertThat(JwtAuthenticator.looksLikeJwt(token)).isFalse();
    rejects(token).hasMessage("the token is malformed");

    String huge = b64("{\"alg\":\"HS256\",\"x\":\"" + "y".repeat(100_000) + "\"}") + ".e30.c2ln";
    assertThat(JwtAuthenticator.looksLikeJwt(huge)).isFalse();
    rejects(huge).hasMessageContaining("larger than");
  }

  @Test
  void checksTheAudienceWhenConfigured() throws Exception {
    JwtAuthenticator withAudience =
        new JwtAuthenticator(new JwtSettings(SECRET, "", "castellan", null, 8192, "sub"), clock);
    assertThat(withAudience.authenticate(hs256(claims().audience("castellan").build())).display())
        .isEqualTo("alice");
    assertThat(
            withAudience
                .authenticate(hs256(claims().audience(List.of("other", "castellan")).build()))
                .display())
        .isEqualTo("alice");
    rejects(withAudience, hs256(claims().audience("other").build()))
        .hasMessage("the token's audience is not accepted");
    rejects(withAudience, hs256(claims().build()))
        .hasMessage("the token's audience is not accepted");
  }

  @Test
  void refusesEverythingWhenNothingIsConfigured() throws Exception {
    JwtAuthenticator none =
        new JwtAuthenticator(new JwtSettings("", "", "", null, 8192, ""), clock);
    rejects(none, hs256(claims().build()))
        .hasMessage("HS256 tokens are not accepted by this server");
  }

  @Test
  void looksLikeJwtRecognisesTheShapeOnly() throws Exception {
    assertThat(JwtAuthenticator.looksLikeJwt(hs256(claims().build()))).isTrue();
    assertThat(
            JwtAuthenticator.looksLikeJwt(hs(OTHER_SECRET, JWSAlgorithm.HS256, claims().build())))
        .isTrue();
    assertThat(
            JwtAuthenticator.looksLikeJwt(
                b64("{\"alg\":\"RS256\",\"kid\":\"k\"}") + ".e30.c2lnbmF0dXJl"))
        .isTrue();

    for (String notJwt :
        List.of(
            "cst_abc_def",
            "cst_AbC123xyz_4f9s8d7f6g5h4j3k2l1",
            "a-free-form-bootstrap-token-of-some-length",
            "a.b.c",
            "abc.def",
            "abc.def.ghi.jkl",
            ".e30.c2ln",
            b64("{\"alg\":\"HS256\"}") + "..c2ln",
            b64("{\"typ\":\"JWT\"}") + ".e30.c2ln",
            b64("{\"alg\":1}") + ".e30.c2ln",
            b64("not json") + ".e30.c2ln",
            b64("{\"alg\":\"HS256\"}") + ".e3=.c2ln",
            "eyJhbGciOiJIUzI1NiJ9.e30.c2ln ",
            "Basic dXNlcjpwYXNz",
            "")) {
      assertThat(JwtAuthenticator.looksLikeJwt(notJwt)).as(notJwt).isFalse();
    }
    assertThat(JwtAuthenticator.looksLikeJwt(null)).isFalse();
  }

  @Test
  void isThreadSafe() throws Exception {
    String token = hs256(claims().build());
    String bad = hs(OTHER_SECRET, JWSAlgorithm.HS256, claims().build());
    List<Thread> threads = new java.util.ArrayList<>();
    java.util.concurrent.atomic.AtomicInteger ok = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger refused =
        new java.util.concurrent.atomic.AtomicInteger();
    for (int t = 0; t < 8; t++) {
      threads.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    for (int i = 0; i < 200; i++) {
                      if (auth.authenticate(token).display().equals("alice")) {
                        ok.incrementAndGet();
                      }
                      try {
                        auth.authenticate(bad);
                      } catch (CastellanException e) {
                        refused.incrementAndGet();
                      }
                    }
                  }));
    }
    for (Thread thread : threads) {
      thread.join();
    }
    assertThat(ok).hasValue(1600);
    assertThat(refused).hasValue(1600);
  }

  @Test
  void settingsValidateAndHideTheSecret() {
    assertThatThrownBy(() -> JwtSettings.hs256("too short"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 32 bytes");
    assertThatThrownBy(() -> JwtSettings.hs256("x".repeat(31)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(JwtSettings.hs256("x".repeat(32)).enabled()).isTrue();
    assertThatThrownBy(() -> JwtSettings.hs256("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> JwtSettings.oidc("ftp://issuer.example", ""))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> JwtSettings.oidc("not a url", ""))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new JwtSettings("", "", "", Duration.ofSeconds(-1), 8192, "sub"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new JwtSettings("", "", "", null, 0, "sub"))
        .isInstanceOf(IllegalArgumentException.class);

    JwtSettings hs = JwtSettings.hs256(SECRET);
    assertThat(hs.toString()).doesNotContain(SECRET).contains("redacted");
    assertThat(hs.leeway()).isEqualTo(Duration.ofSeconds(60));
    assertThat(hs.maxTokenBytes()).isEqualTo(8192);
    assertThat(hs.subjectClaim()).isEqualTo("sub");
    assertThat(hs.issuer()).isEmpty();

    JwtSettings oidc = JwtSettings.oidc("https://issuer.example/realms/x", "castellan");
    assertThat(oidc.enabled()).isTrue();
    assertThat(oidc.hs256Secret()).isEmpty();
    assertThat(oidc.audience()).isEqualTo("castellan");
    assertThat(new JwtSettings("", "", "", null, 8192, null).enabled()).isFalse();
  }
}
