package dev.castellan.server.rbac;

import dev.castellan.server.auth.Principal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Which token claims carry roles and groups. A claim is a name or a dotted path into nested objects
 * ({@code realm_access.roles} for Keycloak); its value is a string or a list of strings. Azure AD's
 * app roles arrive in {@code roles}, so the defaults cover seed 000 ({@code role}), app roles and
 * the usual {@code groups} claim.
 *
 * @param roleClaims claims whose values are role names
 * @param groupClaims claims whose values are group names (the groups' roles apply)
 */
public record ClaimRoles(List<String> roleClaims, List<String> groupClaims) {
  public static final ClaimRoles DEFAULT =
      new ClaimRoles(List.of("role", "roles"), List.of("groups"));

  public ClaimRoles {
    roleClaims = List.copyOf(roleClaims);
    groupClaims = List.copyOf(groupClaims);
  }

  /** The RBAC subject of a caller: its one subject ({@link Principal#subject()}, ADR 0023). */
  public static String subject(Principal principal) {
    return principal.subject();
  }

  /**
   * The roles a caller's token carries: its issuer's mapped roles (ADR 0020), or the values of the
   * role claims.
   */
  public List<String> roles(Principal principal) {
    if (principal.mapped().present()) {
      return principal.mapped().roles();
    }
    return values(principal.claims(), roleClaims);
  }

  /**
   * The group claim values of a token of the single-issuer flags (each names {@code
   * group:<value>}); empty for an issuer of the list, whose groups are {@link #groupIds}.
   */
  public List<String> groups(Principal principal) {
    if (principal.mapped().present()) {
      return List.of();
    }
    return values(principal.claims(), groupClaims);
  }

  /**
   * The group ids (after {@code group:}) a token of a configured issuer names, resolved already
   * (directory groups, or names in the issuer's namespace): used as they are.
   */
  public static List<String> groupIds(Principal principal) {
    return principal.mapped().groups();
  }

  private static List<String> values(Map<String, Object> claims, List<String> names) {
    List<String> out = new ArrayList<>();
    for (String name : names) {
      Object value = claims;
      for (String part : name.split("\\.")) {
        value = value instanceof Map<?, ?> map ? map.get(part) : null;
      }
      if (value instanceof String s && !s.isBlank()) {
        out.add(s);
      } else if (value instanceof List<?> list) {
        for (Object item : list) {
          if (item instanceof String s && !s.isBlank()) {
            out.add(s);
          }
        }
      }
    }
    return out;
  }
}
