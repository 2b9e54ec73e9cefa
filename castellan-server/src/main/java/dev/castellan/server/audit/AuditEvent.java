package dev.castellan.server.audit;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One entry of the audit trail: an authorization decision or a change, as the API layer saw it.
 *
 * @param time when it happened
 * @param kind a decision or a change
 * @param api what was called: {@code check}, {@code batch-check}, {@code list-objects}, {@code
 *     list-users}, {@code authorize}, {@code forward-auth} for decisions; {@code write}, {@code
 *     write-model}, {@code role-create}, {@code role-delete}, {@code role-permissions}, {@code
 *     role-member-add}, {@code role-member-remove}, {@code key-create}, {@code key-revoke}, {@code
 *     access-grant}, {@code access-revoke}, {@code policy-reload}, ... for changes
 * @param caller the authenticated principal id ({@code key:AbC}, {@code jwt:alice}); empty when
 *     unauthenticated
 * @param subject whom the decision is about ({@code user:alice}); empty for changes without one
 * @param roles the subject's roles as the request carried them (from a token), possibly empty
 * @param action the relation or permission asked for, or what the change did
 * @param resource the object or resource concerned ({@code document:q3}, {@code role:admin})
 * @param outcome allow or deny for decisions; ok or error for changes
 * @param reason why, in a few words (the denial reason, the rejected policy's error); may be empty
 * @param storeId the store concerned; empty for server-wide events
 * @param revision the store revision the decision saw or the change made; 0 when none
 * @param requestId the request id ({@code X-Request-Id})
 * @param clientAddress the caller's IP address (behind a trusted proxy, the client's, from {@code
 *     X-Forwarded-For})
 * @param count how many events this entry stands for: 1, or more for a summary (the failed
 *     authentications of one address in one minute after the first)
 */
public record AuditEvent(
    Instant time,
    Kind kind,
    String api,
    String caller,
    String subject,
    List<String> roles,
    String action,
    String resource,
    Outcome outcome,
    String reason,
    String storeId,
    long revision,
    String requestId,
    String clientAddress,
    long count) {

  public enum Kind {
    DECISION,
    CHANGE
  }

  public enum Outcome {
    ALLOW,
    DENY,
    OK,
    ERROR
  }

  public AuditEvent {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(outcome, "outcome");
    api = Objects.requireNonNullElse(api, "");
    caller = Objects.requireNonNullElse(caller, "");
    subject = Objects.requireNonNullElse(subject, "");
    roles = roles == null ? List.of() : List.copyOf(roles);
    action = Objects.requireNonNullElse(action, "");
    resource = Objects.requireNonNullElse(resource, "");
    reason = Objects.requireNonNullElse(reason, "");
    storeId = Objects.requireNonNullElse(storeId, "");
    requestId = Objects.requireNonNullElse(requestId, "");
    clientAddress = Objects.requireNonNullElse(clientAddress, "");
    if (count < 1) {
      throw new IllegalArgumentException("an audit event counts at least 1, not " + count);
    }
  }

  /** One event. */
  public AuditEvent(
      Instant time,
      Kind kind,
      String api,
      String caller,
      String subject,
      List<String> roles,
      String action,
      String resource,
      Outcome outcome,
      String reason,
      String storeId,
      long revision,
      String requestId,
      String clientAddress) {
    this(
        time,
        kind,
        api,
        caller,
        subject,
        roles,
        action,
        resource,
        outcome,
        reason,
        storeId,
        revision,
        requestId,
        clientAddress,
        1);
  }

  /**
   * A change the server made on its own, outside any request (no caller, roles, request id or
   * address): one shape for background work such as applying held rows or deprovisioning.
   */
  public static AuditEvent serverChange(
      String api,
      String subject,
      String action,
      String resource,
      Outcome outcome,
      String reason,
      String storeId,
      long revision) {
    return new AuditEvent(
        Instant.now(),
        Kind.CHANGE,
        api,
        "",
        subject,
        List.of(),
        action,
        resource,
        outcome,
        reason,
        storeId,
        revision,
        "",
        "");
  }

  /** Whether this is a denied decision (always kept, never sampled away). */
  public boolean isDenial() {
    return kind == Kind.DECISION && outcome == Outcome.DENY;
  }
}
