package dev.castellan.server.auth;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

/**
 * How {@link JwtAuthenticator} accepts bearer tokens.
 *
 * @param hs256Secret shared secret for HS256 tokens; empty: HS256 is disabled. When set it must
 *     have at least 32 bytes (256 bits), as RFC 7518 requires for HS256.
 * @param issuer the OIDC issuer URL; empty: no OIDC. Its keys are found through discovery at {@code
 *     issuer + "/.well-known/openid-configuration"} and the document's {@code jwks_uri}; RS256,
 *     ES256 and EdDSA (Ed25519) tokens must carry exactly this {@code iss}.
 * @param audience when not empty, a token's {@code aud} must contain it
 * @param leeway clock skew allowed on {@code exp}, {@code nbf} and {@code iat}
 * @param maxTokenBytes tokens longer than this are refused before any parsing
 * @param subjectClaim the claim naming the caller, usually {@code sub}
 */
public record JwtSettings(
    String hs256Secret,
    String issuer,
    String audience,
    Duration leeway,
    int maxTokenBytes,
    String subjectClaim) {
  public static final Duration DEFAULT_LEEWAY = Duration.ofSeconds(60);
  public static final int DEFAULT_MAX_TOKEN_BYTES = 8192;
  public static final String DEFAULT_SUBJECT_CLAIM = "sub";

  /** Neither HS256 nor an issuer: the base of the {@code issuers:} list alone. */
  public static final JwtSettings NONE =
      new JwtSettings("", "", "", DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_SUBJECT_CLAIM);

  /** The smallest HS256 secret accepted, in bytes. */
  public static final int MIN_HS256_SECRET_BYTES = 32;

  public JwtSettings {
    hs256Secret = hs256Secret == null ? "" : hs256Secret;
    issuer = issuer == null ? "" : issuer.strip();
    audience = audience == null ? "" : audience.strip();
    leeway = leeway == null ? DEFAULT_LEEWAY : leeway;
    subjectClaim =
        subjectClaim == null || subjectClaim.isBlank()
            ? DEFAULT_SUBJECT_CLAIM
            : subjectClaim.strip();
    if (!hs256Secret.isEmpty()
        && hs256Secret.getBytes(StandardCharsets.UTF_8).length < MIN_HS256_SECRET_BYTES) {
      throw new IllegalArgumentException(
          "the HS256 secret must have at least "
              + MIN_HS256_SECRET_BYTES
              + " bytes (256 bits); generate one with e.g. 'openssl rand -base64 48'");
    }
    if (leeway.isNegative()) {
      throw new IllegalArgumentException("the JWT leeway must not be negative");
    }
    if (leeway.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new IllegalArgumentException("the JWT leeway must be at most 10 minutes");
    }
    if (maxTokenBytes <= 0) {
      throw new IllegalArgumentException("the maximum JWT size must be positive");
    }
    if (!issuer.isEmpty()) {
      checkIssuer(issuer);
    }
  }

  /** HS256 tokens signed with {@code secret}, with the default leeway, size and subject claim. */
  public static JwtSettings hs256(String secret) {
    if (secret == null || secret.isEmpty()) {
      throw new IllegalArgumentException("the HS256 secret must not be empty");
    }
    return new JwtSettings(
        secret, "", "", DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_SUBJECT_CLAIM);
  }

  /**
   * Tokens of the OIDC provider {@code issuer}; {@code audience} may be empty (no {@code aud}
   * check).
   */
  public static JwtSettings oidc(String issuer, String audience) {
    if (issuer == null || issuer.isBlank()) {
      throw new IllegalArgumentException("the OIDC issuer must not be empty");
    }
    return new JwtSettings(
        "", issuer, audience, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_SUBJECT_CLAIM);
  }

  /** Whether any kind of JWT is accepted (HS256 or OIDC). */
  public boolean enabled() {
    return !hs256Secret.isEmpty() || !issuer.isEmpty();
  }

  /** Never shows the HS256 secret. */
  @Override
  public String toString() {
    return "JwtSettings[hs256Secret="
        + (hs256Secret.isEmpty() ? "" : "<redacted>")
        + ", issuer="
        + issuer
        + ", audience="
        + audience
        + ", leeway="
        + leeway
        + ", maxTokenBytes="
        + maxTokenBytes
        + ", subjectClaim="
        + subjectClaim
        + "]";
  }

  private static void checkIssuer(String issuer) {
    URI uri;
    try {
      uri = new URI(issuer);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("the OIDC issuer is not a valid URL: " + issuer);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http")) {
      throw new IllegalArgumentException("the OIDC issuer must be an http(s) URL: " + issuer);
    }
    if (uri.getHost() == null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "the OIDC issuer must be a URL with a host and no query or fragment: " + issuer);
    }
  }
}
