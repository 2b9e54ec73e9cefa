package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.time.Clock;
import org.jspecify.annotations.Nullable;

/**
 * Turns an {@code Authorization} header into a {@link Principal}: a JWT when JWT authentication is
 * configured and the token has a JWT's shape, an API key otherwise. Every failure is {@code
 * UNAUTHENTICATED} (HTTP 401 with {@code WWW-Authenticate: Bearer}), or {@code CREDENTIAL_EXPIRED}
 * (also 401) for the right secret of an expired API key, with a message that never repeats the
 * credential.
 */
public final class Authentication {
  private static final int MAX_HEADER = 16 * 1024;

  private final ApiKeys keys;
  private final @Nullable JwtAuthenticator jwt;
  private final DeactivatedUsers deactivated;

  /**
   * API keys, and tokens as {@code jwtSettings} and {@code issuers} say (neither: API keys only);
   * {@code directory} serves the issuers that provision users. A token naming a user in {@code
   * deactivated} is refused with {@code USER_DEACTIVATED}.
   */
  public Authentication(
      ApiKeys keys,
      @Nullable JwtSettings jwtSettings,
      java.util.List<IssuerSettings> issuers,
      dev.castellan.store.@Nullable DirectoryStore directory,
      DeactivatedUsers deactivated,
      dev.castellan.server.audit.AuditLog audit) {
    this.keys = keys;
    this.deactivated = deactivated;
    boolean tokens = jwtSettings != null && jwtSettings.enabled() || !issuers.isEmpty();
    this.jwt =
        tokens
            ? new JwtAuthenticator(
                jwtSettings == null ? JwtSettings.NONE : jwtSettings,
                issuers,
                directory,
                Clock.systemUTC())
            : null;
    if (jwt != null) {
      jwt.recheck(deactivated::refuses, deactivated::refusesIdentity);
      jwt.audit(audit);
    }
  }

  public Principal authenticate(@Nullable String header) {
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new CastellanException(
          ErrorCode.UNAUTHENTICATED,
          "credentials are required: send 'Authorization: Bearer <api key or token>'");
    }
    if (header.length() > MAX_HEADER) {
      throw new CastellanException(ErrorCode.UNAUTHENTICATED, "the credentials are too long");
    }
    String credential = header.substring(7).trim();
    if (jwt != null && JwtAuthenticator.looksLikeJwt(credential)) {
      Principal principal = jwt.authenticate(credential);
      deactivated.check(principal);
      return principal;
    }
    return keys.authenticate(credential)
        .orElseThrow(
            () ->
                new CastellanException(ErrorCode.UNAUTHENTICATED, "the credentials are not valid"));
  }
}
