package dev.castellan.server.auth;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Who is calling, once authenticated.
 *
 * <p>{@code id}: who it is (ADR 0023): {@code user:<directory id>} for a token, the directory user
 * its identity resolved to ({@code user:01JD6Z...}); {@code key:AbC123} for an API key; {@value
 * LocalDevelopment#CALLER_ID} for every request of a server without authentication
 *
 * <p>{@code display}: a name for logs and audit (never a secret)
 *
 * <p>{@code claims}: the verified claims of a JWT (empty for API keys), for role mapping
 *
 * <p>{@code mapped}: what a configured issuer's mapping made of the claims ({@link Mapped#NONE} for
 * keys and for tokens of the single-issuer flags, whose claims map as before)
 */
public final class Principal {
  private final String id;
  private final String display;
  private final Map<String, Object> claims;
  private final Mapped mapped;
  // Computed once: every request checks the caller's rights under this subject.
  private final String subject;

  public Principal(String id, String display, Map<String, Object> claims, Mapped mapped) {
    this.id = Objects.requireNonNull(id, "id");
    this.display = Objects.requireNonNull(display, "display");
    this.mapped = Objects.requireNonNull(mapped, "mapped");
    this.claims = Map.copyOf(claims);
    this.subject = subjectOf(id);
  }

  public Principal(String id, String display, Map<String, Object> claims) {
    this(id, display, claims, Mapped.NONE);
  }

  public String id() {
    return id;
  }

  public String display() {
    return display;
  }

  public Map<String, Object> claims() {
    return claims;
  }

  public Mapped mapped() {
    return mapped;
  }

  /**
   * The one subject this caller is in the engine, for RBAC roles and store and global rights alike
   * (ADR 0023): {@code user:<directory id>} for a token, {@code service_account:<key id>} for an
   * API key.
   */
  public String subject() {
    return subject;
  }

  private static String subjectOf(String id) {
    if (id.startsWith("user:")) {
      return id;
    }
    if (id.startsWith("key:")) {
      return "service_account:" + id.substring(4);
    }
    return "service_account:" + id.replace(':', '.'); // the local-development caller
  }

  @Override
  public boolean equals(@Nullable Object other) {
    return other instanceof Principal that
        && id.equals(that.id)
        && display.equals(that.display)
        && claims.equals(that.claims)
        && mapped.equals(that.mapped);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, display, claims, mapped);
  }

  @Override
  public String toString() {
    // Claims stay out: they are the caller's, not the log's.
    return "Principal[id=" + id + ", display=" + display + "]";
  }

  /**
   * A token of an issuer of the {@code issuers:} list, mapped by its settings (ADR 0020).
   *
   * @param issuer the issuer's name; empty: not mapped (the global role and group claims apply)
   * @param directoryUser the directory user the token resolved to; empty when the issuer does not
   *     consult the directory
   * @param roles Castellan role ids or names the token's role claim maps to
   * @param groups group ids (after {@code group:}) the token's group claim names
   * @param admin the token's claims make the caller a Castellan administrator
   * @param auditor the token's claims make the caller a Castellan auditor
   */
  public record Mapped(
      String issuer,
      String directoryUser,
      List<String> roles,
      List<String> groups,
      boolean admin,
      boolean auditor) {
    public static final Mapped NONE = new Mapped("", "", List.of(), List.of(), false, false);

    public Mapped {
      Objects.requireNonNull(issuer, "issuer");
      Objects.requireNonNull(directoryUser, "directoryUser");
      roles = List.copyOf(roles);
      groups = List.copyOf(groups);
    }

    /** Whether an issuer's mapping replaces the global role and group claims. */
    public boolean present() {
      return !issuer.isEmpty();
    }
  }
}
