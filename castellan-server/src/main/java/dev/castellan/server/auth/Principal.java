package dev.castellan.server.auth;

import java.util.Map;
import java.util.Objects;

/**
 * Who is calling, once authenticated.
 *
 * @param id who it is, e.g. {@code key:AbC123} for an API key or {@code jwt:alice} for a token's
 *     subject; after the prefix a canonical {@link SubjectIds subject id} (letters, digits, {@code
 *     _-.@|} and percent-encoded bytes: {@code jwt:bob%20smith}); {@value
 *     LocalDevelopment#CALLER_ID} for every request of a server without authentication
 * @param display a name for logs and audit (never a secret)
 * @param claims the verified claims of a JWT (empty for API keys), for role mapping
 */
public record Principal(String id, String display, Map<String, Object> claims) {
  public Principal {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(display, "display");
    claims = Map.copyOf(claims);
  }
}
