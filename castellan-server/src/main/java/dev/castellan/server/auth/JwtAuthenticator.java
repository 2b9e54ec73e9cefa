package dev.castellan.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.DirectoryStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies JWT bearer tokens: HS256 with a shared secret, and RS256, ES256 and EdDSA (Ed25519) with
 * the keys each accepted OIDC issuer publishes (discovery, then its {@code jwks_uri}; or a
 * configured JWKS URL). A token's {@code iss} chooses the issuer whose keys, audience and mapping
 * apply (ADR 0020); {@link TokenPrincipals} makes the principal.
 *
 * <p>What a token says about its own verification is trusted as little as possible: the algorithm
 * must be one this server accepts for the kind of key it would use (an HS256 token is only ever
 * checked against the configured secret, never against an issuer's public key material), and tokens
 * that name or carry keys ({@code jku}, {@code jwk}, {@code x5u}, {@code x5c}), are encrypted,
 * unsigned or declare critical header parameters are refused outright. No key is ever fetched from
 * a location a token names.
 *
 * <p>Each issuer's keys are fetched on first use and cached, apart from every other issuer's. They
 * are fetched again when the cache is older than {@value #JWKS_MAX_AGE_SECONDS} seconds, or when a
 * token names a key that is not in the cache (a key rotation), but never more than once per {@value
 * #MIN_REFRESH_INTERVAL_SECONDS} seconds, so that tokens with made-up key ids cannot make this
 * server hammer the issuer. When a refresh fails the cached keys stay in use.
 *
 * <p>Error messages are safe to show to the caller: they never contain the token. Thread-safe.
 */
public final class JwtAuthenticator {
  private static final Logger LOG = LoggerFactory.getLogger(JwtAuthenticator.class);

  /** Timeout of each HTTP exchange with the issuer (connect, and the whole exchange). */
  static final Duration HTTP_TIMEOUT = Duration.ofSeconds(5);

  static final long MIN_REFRESH_INTERVAL_SECONDS = 30;
  static final long JWKS_MAX_AGE_SECONDS = 300;

  /** While no key set was ever loaded, a failed attempt is retried after this long. */
  static final long FIRST_LOAD_RETRY_SECONDS = 5;

  static final int MAX_DOCUMENT_BYTES = 512 * 1024;
  static final int MAX_SUBJECT_LENGTH = 256;

  /** A JOSE header is a few hundred bytes; longer ones are refused before they are decoded. */
  static final int MAX_HEADER_CHARS = 4096;

  static final int MIN_RSA_BITS = 2048;

  static final String KEYS_UNAVAILABLE = "the token issuer's keys are unavailable";

  private static final Set<String> KEY_BEARING_HEADERS = Set.of("jku", "jwk", "x5u", "x5c");
  private static final Set<JWSAlgorithm> ISSUER_ALGORITHMS =
      Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256, JWSAlgorithm.EdDSA, JWSAlgorithm.Ed25519);

  /** DER prefix of an X.509 SubjectPublicKeyInfo for an Ed25519 key; the 32 key bytes follow. */
  private static final byte[] ED25519_SPKI_PREFIX = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
  };

  private final JwtSettings settings;
  private final Clock clock;
  private final @Nullable MACVerifier hmac;

  /** The accepted issuers by their {@code iss}, each with its keys. */
  private final Map<String, Accepted> issuers;

  private final TokenPrincipals principals;

  /** An accepted issuer; {@code mapped}: of the {@code issuers:} list, not the single flags. */
  private record Accepted(IssuerSettings settings, IssuerKeys keys, boolean mapped) {}

  /**
   * HS256 and the single issuer of {@code settings}, with a directory of its own in memory (tools
   * and tests: every token is a directory user, ADR 0023).
   */
  public JwtAuthenticator(JwtSettings settings, Clock clock) {
    this(settings, List.of(), new dev.castellan.store.MemoryStore(clock).directoryStore(), clock);
  }

  /**
   * HS256 and the single issuer of {@code settings}, and {@code issuers} with their mappings (ADR
   * 0020), consulting {@code directory} for the issuers that provision users.
   *
   * @param directory where every token's user is found or created (ADR 0023); null: one of its own
   *     in memory (tools and tests)
   * @throws IllegalArgumentException when the issuers clash (a name or URL twice, two default
   *     namespaces)
   */
  public JwtAuthenticator(
      JwtSettings settings,
      List<IssuerSettings> issuers,
      @org.jspecify.annotations.Nullable DirectoryStore directory,
      Clock clock) {
    this.settings = java.util.Objects.requireNonNull(settings, "settings");
    this.clock = java.util.Objects.requireNonNull(clock, "clock");
    List<IssuerSettings> all = new ArrayList<>();
    if (!settings.issuer().isEmpty()) {
      all.add(IssuerSettings.legacy(settings));
    }
    all.addAll(issuers);
    IssuerSettings.checkTogether(all, "the JWT issuers (--oidc-issuer and issuers:)");
    Map<String, Accepted> byIssuer = new LinkedHashMap<>();
    for (int i = 0; i < all.size(); i++) {
      IssuerSettings issuer = all.get(i);
      if (issuer.provisioning() == IssuerSettings.Provisioning.NONE) {
        LOG.warn(
            "issuer '{}': provisioning: none is deprecated and behaves as jit: every token is a"
                + " directory user now (ADR 0023); write provisioning: jit",
            issuer.name());
      }
      boolean mapped = settings.issuer().isEmpty() || i > 0;
      byIssuer.put(
          issuer.issuer(),
          new Accepted(issuer, new IssuerKeys(issuer.issuer(), issuer.jwksUri()), mapped));
    }
    this.issuers = Map.copyOf(byIssuer);
    this.principals =
        new TokenPrincipals(
            directory == null
                ? new dev.castellan.store.MemoryStore(clock).directoryStore()
                : directory,
            clock);
    if (settings.hs256Secret().isEmpty()) {
      hmac = null;
    } else {
      try {
        hmac = new MACVerifier(settings.hs256Secret().getBytes(StandardCharsets.UTF_8));
      } catch (JOSEException e) {
        throw new IllegalArgumentException("the HS256 secret cannot be used: " + e.getMessage());
      }
    }
  }

  /** {@code audit} hears every directory user a first token creates (ADR 0023). */
  void audit(dev.castellan.server.audit.AuditLog audit) {
    principals.audit(audit);
  }

  /**
   * Tokens of the directory users {@code refused} names skip the user cache, and identities {@code
   * refusedIdentity} names (of deleted users) are not created again just in time (ADR 0023).
   */
  void recheck(
      java.util.function.Predicate<String> refused,
      java.util.function.BiPredicate<String, String> refusedIdentity) {
    principals.recheck(refused, refusedIdentity);
  }

  /**
   * True when the token has the shape of a JWS (three base64url parts, header decodes to JSON with
   * "alg"). Cheap, no verification.
   */
  public static boolean looksLikeJwt(String token) {
    if (token == null || token.isEmpty()) {
      return false;
    }
    int first = token.indexOf('.');
    if (first <= 0) {
      return false;
    }
    int second = token.indexOf('.', first + 1);
    if (second < 0 || second == first + 1 || token.indexOf('.', second + 1) >= 0) {
      return false;
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c != '.' && !isBase64Url(c)) {
        return false;
      }
    }
    Map<String, Object> header = decodeHeader(token.substring(0, first));
    return header != null && header.get("alg") instanceof String;
  }

  /**
   * Verifies and returns {@code Principal("user:" + directory id, subject, claims, mapping)} or
   * throws {@code CastellanException}: {@code UNAUTHENTICATED}, or for an issuer that provisions
   * users {@code IDENTITY_NOT_PROVISIONED} / {@code USER_DEACTIVATED}.
   */
  public Principal authenticate(String token) {
    if (token == null || token.isBlank()) {
      throw fail("the bearer token is empty");
    }
    // Every accepted character is ASCII, so the length in chars is the length in bytes.
    if (token.length() > settings.maxTokenBytes()) {
      throw fail("the token is larger than the " + settings.maxTokenBytes() + " bytes accepted");
    }
    int dots = 0;
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c == '.') {
        dots++;
      } else if (!isBase64Url(c)) {
        throw fail("the token is malformed");
      }
    }
    if (dots == 4) {
      throw fail("encrypted tokens (JWE) are not accepted");
    }
    if (dots != 2) {
      throw fail("the token is malformed");
    }
    Map<String, Object> header = decodeHeader(token.substring(0, token.indexOf('.')));
    if (header == null) {
      throw fail("the token is malformed");
    }
    if (!(header.get("alg") instanceof String algName) || algName.isEmpty()) {
      throw fail("the token names no signature algorithm");
    }
    if (algName.equalsIgnoreCase("none")) {
      throw fail("unsigned tokens (alg none) are not accepted");
    }
    if (header.containsKey("enc")) {
      throw fail("encrypted tokens (JWE) are not accepted");
    }
    for (String name : KEY_BEARING_HEADERS) {
      if (header.containsKey(name)) {
        throw fail(
            "tokens that name or carry their own keys (jku, jwk, x5u, x5c) are not accepted");
      }
    }
    if (header.containsKey("crit")) {
      throw fail("tokens with critical header parameters (crit) are not accepted");
    }
    JWSAlgorithm alg = JWSAlgorithm.parse(algName);
    boolean viaIssuer;
    if (alg.equals(JWSAlgorithm.HS256)) {
      if (hmac == null) {
        throw fail("HS256 tokens are not accepted by this server");
      }
      viaIssuer = false;
    } else if (ISSUER_ALGORITHMS.contains(alg)) {
      if (issuers.isEmpty()) {
        throw fail(alg.getName() + " tokens are not accepted by this server");
      }
      viaIssuer = true;
    } else {
      throw fail("the token's signature algorithm is not accepted");
    }

    SignedJWT jwt;
    try {
      jwt = SignedJWT.parse(token);
    } catch (ParseException e) {
      throw fail("the token is malformed");
    }
    if (jwt.getSignature() == null || jwt.getSignature().toString().isEmpty()) {
      throw fail("the token's signature is not valid");
    }
    JWTClaimsSet claims;
    try {
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw fail("the token's claims are malformed");
    }
    // The (not yet verified) iss only chooses whose keys verify the signature: a token naming
    // another accepted issuer is checked against that issuer's keys, which did not sign it.
    Accepted issuer = null;
    if (viaIssuer) {
      issuer = claims.getIssuer() == null ? null : issuers.get(claims.getIssuer());
      if (issuer == null) {
        throw fail("the token's issuer is not accepted");
      }
    }
    boolean valid = issuer != null ? verifyWithIssuerKeys(jwt, issuer.keys()) : verifyHmac(jwt);
    if (!valid) {
      throw fail("the token's signature is not valid");
    }
    String subjectClaim =
        issuer == null ? settings.subjectClaim() : issuer.settings().subjectClaim();
    String subject =
        checkClaims(
            claims,
            issuer == null ? settings.audience() : issuer.settings().audience(),
            subjectClaim);
    return principals.build(
        issuer == null ? null : issuer.settings(),
        issuer != null && issuer.mapped(),
        subjectClaim,
        subject,
        freezeClaims(claims));
  }

  private boolean verifyHmac(SignedJWT jwt) {
    try {
      return jwt.verify(Objects.requireNonNull(hmac)); // HS256 is refused without a secret
    } catch (JOSEException | IllegalStateException e) {
      return false;
    }
  }

  private boolean verifyWithIssuerKeys(SignedJWT jwt, IssuerKeys issuerKeys) {
    JWSHeader header = jwt.getHeader();
    JWKMatcher matcher = JWKMatcher.forJWSHeader(header);
    if (matcher == null) {
      throw fail("the token's signature algorithm is not accepted");
    }
    List<JWK> candidates = issuerKeys.find(matcher);
    if (candidates.isEmpty()) {
      throw fail("the token's signing key is not known");
    }
    for (JWK key : candidates) {
      if (verifyWith(jwt, key)) {
        return true;
      }
    }
    return false;
  }

  private static boolean verifyWith(SignedJWT jwt, JWK key) {
    JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
    try {
      if (alg.equals(JWSAlgorithm.RS256) && key instanceof RSAKey rsa) {
        return rsa.size() >= MIN_RSA_BITS && jwt.verify(new RSASSAVerifier(rsa));
      }
      if (alg.equals(JWSAlgorithm.ES256) && key instanceof ECKey ec) {
        return Curve.P_256.equals(ec.getCurve()) && jwt.verify(new ECDSAVerifier(ec));
      }
      if ((alg.equals(JWSAlgorithm.EdDSA) || alg.equals(JWSAlgorithm.Ed25519))
          && key instanceof OctetKeyPair okp) {
        return verifyEd25519(jwt, okp);
      }
      return false;
    } catch (JOSEException | IllegalStateException e) {
      return false;
    }
  }

  /** Ed25519 with the JDK's own provider (nimbus would need Tink for it). */
  private static boolean verifyEd25519(SignedJWT jwt, OctetKeyPair key) {
    if (!Curve.Ed25519.equals(key.getCurve())) {
      return false;
    }
    byte[] x = key.getDecodedX();
    if (x == null || x.length != 32) {
      return false;
    }
    byte[] spki = new byte[ED25519_SPKI_PREFIX.length + x.length];
    System.arraycopy(ED25519_SPKI_PREFIX, 0, spki, 0, ED25519_SPKI_PREFIX.length);
    System.arraycopy(x, 0, spki, ED25519_SPKI_PREFIX.length, x.length);
    try {
      PublicKey publicKey =
          KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
      Signature verifier = Signature.getInstance("Ed25519");
      verifier.initVerify(publicKey);
      verifier.update(jwt.getSigningInput());
      return verifier.verify(jwt.getSignature().decode());
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  /** Checks the time, audience and subject claims; returns the subject. */
  private String checkClaims(JWTClaimsSet claims, String expectedAudience, String subjectClaim) {
    long now = clock.millis();
    long leeway = settings.leeway().toMillis();
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      throw fail("the token has no expiry (exp)");
    }
    if (now > saturatedAdd(exp.getTime(), leeway)) {
      throw fail("the token has expired");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && nbf.getTime() > saturatedAdd(now, leeway)) {
      throw fail("the token is not valid yet (nbf)");
    }
    Date iat = claims.getIssueTime();
    if (iat != null && iat.getTime() > saturatedAdd(now, leeway)) {
      throw fail("the token was issued in the future (iat)");
    }
    if (!expectedAudience.isEmpty()) {
      List<String> audience = claims.getAudience();
      if (audience == null || !audience.contains(expectedAudience)) {
        throw fail("the token's audience is not accepted");
      }
    }
    Object subject = claims.getClaim(subjectClaim);
    if (!(subject instanceof String text) || text.isBlank()) {
      throw fail("the token has no subject (" + subjectClaim + ")");
    }
    if (text.length() > MAX_SUBJECT_LENGTH) {
      throw fail("the token's subject is longer than " + MAX_SUBJECT_LENGTH + " characters");
    }
    return text;
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : sum;
  }

  private static Map<String, Object> freezeClaims(JWTClaimsSet claims) {
    Map<String, Object> out = new LinkedHashMap<>();
    claims
        .toJSONObject()
        .forEach(
            (name, value) -> {
              if (name != null && value != null) {
                out.put(name, freeze(value));
              }
            });
    return out;
  }

  private static Object freeze(Object value) {
    if (value instanceof Map<?, ?> map) {
      Map<Object, Object> copy = new LinkedHashMap<>();
      map.forEach((k, v) -> copy.put(k, freeze(v)));
      return Collections.unmodifiableMap(copy);
    }
    if (value instanceof List<?> list) {
      List<Object> copy = new ArrayList<>(list.size());
      list.forEach(v -> copy.add(freeze(v)));
      return Collections.unmodifiableList(copy);
    }
    if (value instanceof Object[] array) {
      return freeze(java.util.Arrays.asList(array));
    }
    return value;
  }

  private static boolean isBase64Url(char c) {
    return (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9')
        || c == '-'
        || c == '_';
  }

  /** The JSON object of a base64url-encoded JOSE header, or null. */
  private static @Nullable Map<String, Object> decodeHeader(String part) {
    if (part.isEmpty() || part.length() > MAX_HEADER_CHARS) {
      return null;
    }
    try {
      byte[] json = Base64.getUrlDecoder().decode(part);
      return JSONObjectUtils.parse(new String(json, StandardCharsets.UTF_8));
    } catch (ParseException | RuntimeException e) {
      return null;
    }
  }

  private static CastellanException fail(String message) {
    return new CastellanException(ErrorCode.UNAUTHENTICATED, message);
  }

  /** The issuer's key set: discovery, JWKS download, caching and rate-limited refresh. */
  private final class IssuerKeys {
    private final String issuer;
    private final URI discoveryUri;

    /** The configured JWKS location; null: discovery finds it. */
    private final @Nullable URI configuredJwks;

    private final boolean requireHttps;
    private final HttpClient http;
    private final ReentrantLock lock = new ReentrantLock();

    /** The last key set loaded, or null; replaced whole. */
    private volatile @Nullable Snapshot snapshot;

    // Guarded by lock.
    private @Nullable URI jwksUri;
    private long lastAttempt;
    private boolean attempted;

    private record Snapshot(JWKSet keys, long loadedAt) {}

    IssuerKeys(String issuer, String jwksUri) {
      this.issuer = issuer;
      this.configuredJwks = jwksUri.isEmpty() ? null : URI.create(jwksUri);
      this.jwksUri = configuredJwks;
      String base = issuer;
      while (base.endsWith("/")) {
        base = base.substring(0, base.length() - 1);
      }
      this.discoveryUri = URI.create(base + "/.well-known/openid-configuration");
      this.requireHttps = discoveryUri.getScheme().equalsIgnoreCase("https");
      this.http =
          HttpClient.newBuilder()
              .connectTimeout(HTTP_TIMEOUT)
              .followRedirects(HttpClient.Redirect.NORMAL)
              .build();
    }

    /** The cached keys the matcher selects, after a refresh if the cache has none or is stale. */
    List<JWK> find(JWKMatcher matcher) {
      long now = clock.millis();
      Snapshot current = snapshot;
      if (current == null) {
        current = refresh(null, true);
        if (current == null) {
          throw fail(KEYS_UNAVAILABLE);
        }
      } else if (now - current.loadedAt() >= JWKS_MAX_AGE_SECONDS * 1000) {
        // Stale: one caller refreshes; the others keep using the cached keys meanwhile.
        // Never null: with a snapshot seen, refresh returns it or a newer one.
        current = Objects.requireNonNull(refresh(current, false));
      }
      List<JWK> found = select(current, matcher);
      if (!found.isEmpty()) {
        return found;
      }
      // An unknown key: perhaps the issuer rotated its keys.
      Snapshot refreshed = refresh(current, true);
      if (refreshed == null || refreshed == current) {
        return List.of();
      }
      return select(refreshed, matcher);
    }

    private List<JWK> select(Snapshot snapshot, JWKMatcher matcher) {
      List<JWK> found = new ArrayList<>();
      for (JWK key : snapshot.keys().getKeys()) {
        if (matcher.matches(key)) {
          found.add(key);
        }
      }
      return found;
    }

    /**
     * Loads the key set unless another caller did since {@code seen} was read or the rate limit
     * forbids it; returns the snapshot to use (null: none available).
     */
    private @Nullable Snapshot refresh(@Nullable Snapshot seen, boolean wait) {
      if (wait) {
        lock.lock();
      } else if (!lock.tryLock()) {
        return seen;
      }
      try {
        Snapshot current = snapshot;
        if (current != seen) {
          return current; // someone else refreshed meanwhile
        }
        long now = clock.millis();
        long interval =
            (current == null ? FIRST_LOAD_RETRY_SECONDS : MIN_REFRESH_INTERVAL_SECONDS) * 1000;
        if (attempted && now - lastAttempt < interval) {
          return current;
        }
        attempted = true;
        lastAttempt = now;
        try {
          JWKSet keys = load();
          Snapshot loaded = new Snapshot(keys, clock.millis());
          snapshot = loaded;
          LOG.debug("loaded {} signing keys of JWT issuer {}", keys.size(), issuer);
          return loaded;
        } catch (IOException e) {
          jwksUri = configuredJwks; // discover again on the next attempt, unless configured
          if (current == null) {
            LOG.warn(
                "the signing keys of JWT issuer {} are unavailable: {}", issuer, e.getMessage());
          } else {
            LOG.warn(
                "could not refresh the signing keys of JWT issuer {}, keeping the cached ones: {}",
                issuer,
                e.getMessage());
          }
          if (current == null) {
            throw fail(KEYS_UNAVAILABLE);
          }
          return current;
        }
      } finally {
        lock.unlock();
      }
    }

    /** Discovery (once) and the JWKS download; every failure is an IOException with a reason. */
    private JWKSet load() throws IOException {
      if (jwksUri == null) {
        Map<String, Object> document = getJson(discoveryUri, "the discovery document");
        if (!issuer.equals(document.get("issuer"))) {
          throw new IOException(
              "the discovery document names another issuer: " + document.get("issuer"));
        }
        if (!(document.get("jwks_uri") instanceof String uriText)) {
          throw new IOException("the discovery document has no jwks_uri");
        }
        URI uri;
        try {
          uri = new URI(uriText);
        } catch (URISyntaxException e) {
          throw new IOException("the discovery document's jwks_uri is not a valid URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        boolean ok = requireHttps ? scheme.equals("https") : scheme.startsWith("http");
        if (!ok || uri.getHost() == null || !(scheme.equals("http") || scheme.equals("https"))) {
          throw new IOException(
              "the discovery document's jwks_uri must be an absolute "
                  + (requireHttps ? "https" : "http(s)")
                  + " URL");
        }
        jwksUri = uri;
      }
      Map<String, Object> json = getJson(jwksUri, "the JWKS");
      JWKSet parsed;
      try {
        parsed = JWKSet.parse(json);
      } catch (ParseException e) {
        throw new IOException("the JWKS is not valid: " + e.getMessage());
      }
      return parsed.toPublicJWKSet();
    }

    private Map<String, Object> getJson(URI uri, String what) throws IOException {
      HttpRequest request =
          HttpRequest.newBuilder(uri)
              .timeout(HTTP_TIMEOUT)
              .header("Accept", "application/json")
              .GET()
              .build();
      CompletableFuture<HttpResponse<byte[]>> future =
          http.sendAsync(request, info -> new LimitedBody(MAX_DOCUMENT_BYTES));
      HttpResponse<byte[]> response;
      try {
        response = future.get(HTTP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        future.cancel(true);
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while fetching " + what);
      } catch (TimeoutException e) {
        future.cancel(true);
        throw new IOException(
            what + " at " + uri + " did not answer within " + HTTP_TIMEOUT.toSeconds() + " s");
      } catch (ExecutionException e) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        throw new IOException("could not fetch " + what + " at " + uri + ": " + cause);
      }
      if (response.statusCode() != 200) {
        throw new IOException(what + " at " + uri + " answered HTTP " + response.statusCode());
      }
      try {
        return JSONObjectUtils.parse(new String(response.body(), StandardCharsets.UTF_8));
      } catch (ParseException e) {
        throw new IOException(what + " at " + uri + " is not a JSON object");
      }
    }
  }

  /** Buffers a response body, failing once it grows beyond a limit. */
  private static final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final int limit;
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private Flow.@Nullable Subscription subscription;

    LimitedBody(int limit) {
      this.limit = limit;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (result.isDone()) {
        return;
      }
      for (ByteBuffer item : items) {
        if (buffer.size() + item.remaining() > limit) {
          Objects.requireNonNull(subscription).cancel(); // onSubscribe came first
          result.completeExceptionally(
              new IOException("the response is larger than " + limit + " bytes"));
          return;
        }
        byte[] bytes = new byte[item.remaining()];
        item.get(bytes);
        buffer.write(bytes, 0, bytes.length);
      }
    }

    @Override
    public void onError(Throwable error) {
      result.completeExceptionally(error);
    }

    @Override
    public void onComplete() {
      result.complete(buffer.toByteArray());
    }
  }
}
