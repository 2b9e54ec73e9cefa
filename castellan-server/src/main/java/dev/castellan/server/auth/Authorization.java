package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.api.PathParams;
import dev.castellan.server.api.Right;
import dev.castellan.server.api.SecuredRoutes;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.server.audit.RequestAudit;
import dev.castellan.server.auth.AccessControl.Role;
import io.javalin.http.Context;
import java.util.Locale;
import java.util.Objects;

/**
 * The guard of every route: checks the right the route declares ({@link Right}) for the caller the
 * request filter authenticated, on the store named by the route's decoded {@code {store_id}} (the
 * value the handler will act on). The system store does not exist for the API: every route that
 * names it answers 404, whoever asks and however the id is spelt.
 */
public final class Authorization implements SecuredRoutes.Guard {
  private final StoreRuntime runtime;
  private final AccessControl access;
  private final AuditLog audit;

  public Authorization(StoreRuntime runtime, AccessControl access, AuditLog audit) {
    this.runtime = runtime;
    this.access = access;
    this.audit = audit;
  }

  @Override
  public void check(Context ctx, SecuredRoutes.Route route) {
    Right right = route.right();
    if (right == Right.PUBLIC) {
      return;
    }
    Principal principal = ctx.attribute("principal");
    if (principal == null) {
      // The request filter authenticates every non-public route; reaching here without a caller
      // means a route was declared public in one place and not the other: fail closed.
      throw new CastellanException(ErrorCode.UNAUTHENTICATED, "credentials required");
    }
    String storeId = route.path().contains("{store_id}") ? PathParams.storeId(ctx) : "";
    if (!storeId.isEmpty() && storeId.equals(access.systemStoreId())) {
      throw storeNotFound(storeId);
    }
    try {
      // One caller for the request's decisions: the system store's engine is looked up once.
      AccessControl.Caller caller = access.caller(runtime, principal);
      boolean provisioner = caller.isProvisioner();
      if (provisioner != (right == Right.SCIM)) {
        throw new CastellanException(
            ErrorCode.FORBIDDEN,
            provisioner
                ? principal.id() + " is a provisioning key: it may only call /scim/v2"
                : "/scim/v2 takes only a provisioning key (POST /api/keys {\"name\": ...,"
                    + " \"scim\": true}); "
                    + principal.id()
                    + " is not one");
      }
      switch (right) {
        case PUBLIC, AUTHENTICATED, GATEWAY, SCIM -> {}
        case AUDITOR -> requireAuditor(caller, principal);
        case ADMIN -> requireAdmin(caller, principal);
        case STORE_READER -> require(caller, principal, storeId, Role.READER);
        case STORE_WRITER -> require(caller, principal, storeId, Role.WRITER);
        case STORE_ADMIN -> require(caller, principal, storeId, Role.ADMIN);
      }
    } catch (CastellanException e) {
      audit.record(
          RequestAudit.decision(
              ctx,
              "api-access",
              principal.id(),
              ctx.method().name(),
              ctx.path(),
              false,
              Objects.requireNonNullElse(e.getMessage(), ""),
              storeId,
              0));
      throw e;
    }
  }

  /** Whether the caller may see a store in the list. */
  public boolean visible(Context ctx, String storeId) {
    if (storeId.equals(access.systemStoreId())) {
      return false;
    }
    Principal principal = ctx.attribute("principal");
    return principal != null && access.allowed(runtime, principal, storeId, Role.READER);
  }

  /** The error for a store that does not exist, or that the API does not show. */
  public static CastellanException storeNotFound(String storeId) {
    return new CastellanException(ErrorCode.STORE_ID_NOT_FOUND, "store " + storeId + " not found");
  }

  private static void require(
      AccessControl.Caller caller, Principal principal, String storeId, Role role) {
    if (!caller.allowed(storeId, role)) {
      throw new CastellanException(
          ErrorCode.FORBIDDEN,
          principal.id() + " is not a " + role.name().toLowerCase(Locale.ROOT) + " of this store");
    }
  }

  private static void requireAdmin(AccessControl.Caller caller, Principal principal) {
    if (!caller.isAdmin()) {
      throw new CastellanException(
          ErrorCode.FORBIDDEN, principal.id() + " is not a Castellan administrator");
    }
  }

  private static void requireAuditor(AccessControl.Caller caller, Principal principal) {
    if (!caller.isAuditor()) {
      throw new CastellanException(
          ErrorCode.FORBIDDEN,
          principal.id() + " is neither a Castellan administrator nor an auditor");
    }
  }
}
