package dev.castellan.server.audit;

import dev.castellan.server.auth.Principal;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.MDC;

/**
 * Audit events for the request in hand: the caller (the {@code principal} attribute), request id
 * (MDC {@code request_id}) and client address come from the request, the rest from the handler.
 */
public final class RequestAudit {
  /**
   * The request attribute holding the client's address as the server resolved it (through trusted
   * proxies); without it, the TCP peer's.
   */
  public static final String CLIENT_ADDRESS = "castellan.client_address";

  private RequestAudit() {}

  /** The client's address: as resolved through trusted proxies, else the TCP peer's. */
  public static String clientAddress(Context ctx) {
    @Nullable String resolved = ctx.attribute(CLIENT_ADDRESS);
    return resolved != null ? resolved : ctx.ip();
  }

  /** An allowed or denied decision about {@code subject}. */
  public static AuditEvent decision(
      Context ctx,
      String api,
      String subject,
      String action,
      String resource,
      boolean allowed,
      String reason,
      String storeId,
      long revision) {
    return event(
        ctx,
        AuditEvent.Kind.DECISION,
        api,
        subject,
        List.of(),
        action,
        resource,
        allowed ? AuditEvent.Outcome.ALLOW : AuditEvent.Outcome.DENY,
        reason,
        storeId,
        revision);
  }

  /** A change that was made. */
  public static AuditEvent change(
      Context ctx,
      String api,
      String subject,
      String action,
      String resource,
      String reason,
      String storeId,
      long revision) {
    return event(
        ctx,
        AuditEvent.Kind.CHANGE,
        api,
        subject,
        List.of(),
        action,
        resource,
        AuditEvent.Outcome.OK,
        reason,
        storeId,
        revision);
  }

  /** Any event, with the request's caller, request id and client address filled in. */
  public static AuditEvent event(
      Context ctx,
      AuditEvent.Kind kind,
      String api,
      String subject,
      List<String> roles,
      String action,
      String resource,
      AuditEvent.Outcome outcome,
      String reason,
      String storeId,
      long revision) {
    @Nullable Principal principal = ctx.attribute("principal");
    return new AuditEvent(
        Instant.now(),
        kind,
        api,
        principal == null ? "" : principal.id(),
        subject,
        roles,
        action,
        resource,
        outcome,
        reason,
        storeId,
        revision,
        MDC.get("request_id"),
        clientAddress(ctx));
  }
}
