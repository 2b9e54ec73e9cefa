package dev.castellan.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.System.Logger.Level;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the servlet filter and the Javalin handlers share: from an {@code Authorization} header and
 * a permission to an outcome with the seed's semantics. Missing or rejected token: 401 with a
 * {@code WWW-Authenticate: Bearer} challenge; denied: 403; Castellan unreachable or failing: 503.
 * Nothing but an explicit allow lets a request through.
 */
final class Enforcer {
  static final String MISSING_TOKEN = "Missing or invalid Authorization header";
  static final String INSUFFICIENT = "Insufficient permissions";
  static final String UNAVAILABLE = "Authorization service unavailable";
  static final String MISCONFIGURED = "Authorization is misconfigured";

  private static final System.Logger LOG = System.getLogger("dev.castellan.client");
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The result of enforcing one permission on one request. */
  sealed interface Outcome {
    /** Castellan allowed the request. */
    record Allowed(Decision decision) implements Outcome {}

    /**
     * The request must be answered with {@code status}, the JSON body {@code {"detail": detail}}
     * and, when not empty, the {@code WWW-Authenticate} header {@code challenge}.
     */
    record Refused(int status, String detail, String challenge) implements Outcome {
      String body() {
        try {
          return JSON.writeValueAsString(Map.of("detail", detail));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
          throw new IllegalStateException(e);
        }
      }
    }
  }

  private final CastellanClient client;

  Enforcer(CastellanClient client) {
    this.client = Objects.requireNonNull(client, "client");
  }

  Outcome enforce(@Nullable String authorization, String permission, String resource) {
    String token = bearerToken(authorization);
    if (token.isEmpty()) {
      return new Outcome.Refused(401, MISSING_TOKEN, "Bearer");
    }
    Decision decision;
    try {
      decision = client.authorize(token, permission, resource);
    } catch (CastellanClientException.Unauthenticated e) {
      // Unauthenticated is always built with a message.
      String detail =
          Objects.requireNonNullElse(e.getMessage(), "the bearer token was not accepted");
      return new Outcome.Refused(
          401,
          detail,
          "Bearer error=\"invalid_token\", error_description=\"" + quotable(detail) + "\"");
    } catch (CastellanClientException.Unavailable e) {
      LOG.log(Level.WARNING, "denying {0}: {1}", permission, e.getMessage());
      return new Outcome.Refused(503, UNAVAILABLE, "");
    } catch (CastellanClientException.Rejected e) {
      LOG.log(Level.ERROR, "denying {0}: {1}", permission, e.getMessage());
      return new Outcome.Refused(500, MISCONFIGURED, "");
    } catch (RuntimeException e) {
      // Whatever went wrong, the answer is not an allow.
      LOG.log(Level.ERROR, "denying " + permission + ": unexpected failure", e);
      return new Outcome.Refused(503, UNAVAILABLE, "");
    }
    if (!decision.allowed()) {
      LOG.log(
          Level.INFO,
          "RBAC denial: subject={0} roles={1} permission={2} resource={3} reason={4}",
          loggable(decision.subject()),
          loggable(String.join(",", decision.roles())),
          loggable(decision.permission().isEmpty() ? permission : decision.permission()),
          loggable(resource),
          loggable(decision.reason()));
      return new Outcome.Refused(403, INSUFFICIENT, "");
    }
    return new Outcome.Allowed(decision);
  }

  /** The token of a {@code Bearer} header (scheme case-insensitive, RFC 7235), or "". */
  static String bearerToken(@Nullable String authorization) {
    if (authorization == null) {
      return "";
    }
    String value = authorization.strip();
    if (value.length() < 7 || !value.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
      return "";
    }
    return value.substring(7).strip();
  }

  /** Safe inside a quoted-string: printable ASCII without quotes or backslashes. */
  private static String quotable(String text) {
    StringBuilder out = new StringBuilder(Math.min(text.length(), 200));
    for (int i = 0; i < text.length() && out.length() < 200; i++) {
      char c = text.charAt(i);
      out.append(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? c : '?');
    }
    return out.toString();
  }

  /** Log lines stay one line whatever a token's claims contain. */
  private static String loggable(String text) {
    StringBuilder out = new StringBuilder(text.length());
    text.codePoints().forEach(c -> out.appendCodePoint(Character.isISOControl(c) ? '?' : c));
    return out.toString();
  }
}
