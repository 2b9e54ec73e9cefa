package dev.castellan.server.rbac;

import java.util.List;

/**
 * The answer to "may this subject use this permission".
 *
 * @param allowed the verdict; false unless a role of the subject grants the permission
 * @param reason why, in one sentence, for the caller and the audit trail
 * @param subject whom it was about ({@code user:alice})
 * @param roles the roles the request carried (from a token); roles held in the store count too
 * @param permission the permission resolved from the request
 */
public record Decision(
    boolean allowed, String reason, String subject, List<String> roles, Permission permission) {
  public Decision {
    roles = List.copyOf(roles);
  }
}
