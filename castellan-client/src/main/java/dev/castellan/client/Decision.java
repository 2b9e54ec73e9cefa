package dev.castellan.client;

import java.util.List;
import java.util.Objects;

/**
 * Castellan's answer to {@code POST /api/authorize}.
 *
 * @param allowed whether the caller holds the permission
 * @param reason why, in words meant for logs (never shown to end users by the middleware)
 * @param subject who Castellan took the caller to be, e.g. {@code user:alice}
 * @param roles the caller's roles for this request, e.g. from the token's {@code role} claim
 * @param permission the permission as Castellan resolved it, e.g. {@code Workflows.Run}
 */
public record Decision(
    boolean allowed, String reason, String subject, List<String> roles, String permission) {
  public Decision {
    reason = Objects.requireNonNullElse(reason, "");
    subject = Objects.requireNonNullElse(subject, "");
    roles = List.copyOf(Objects.requireNonNullElse(roles, List.of()));
    permission = Objects.requireNonNullElse(permission, "");
  }
}
