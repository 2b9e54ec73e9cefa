package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.auth.AccessControl.Role;
import io.javalin.http.Context;
import java.util.Set;

/**
 * Which right each route needs, decided before the handler runs: reading a store needs reader,
 * changing its tuples or assertions writer, its models and its access admin; creating stores and
 * managing API keys, or reading {@code /metrics}, needs a global admin. The system store is
 * invisible through the API.
 */
public final class Authorization {
  private static final Set<String> WRITER_ACTIONS = Set.of("write", "delete-tuples", "import");

  private final StoreRuntime runtime;
  private final AccessControl access;

  public Authorization(StoreRuntime runtime, AccessControl access) {
    this.runtime = runtime;
    this.access = access;
  }

  /** Throws {@code FORBIDDEN} (403) unless {@code principal} may call this route. */
  public void authorize(Context ctx, Principal principal) {
    String method = ctx.method().name();
    if (ctx.path().equals("/metrics")) {
      requireAdmin(principal); // unless made public, which skips authentication altogether
      return;
    }
    String[] parts = ctx.path().split("/", -1); // "", "stores", "{id}", ...
    if (parts.length >= 2 && parts[1].equals("stores")) {
      if (parts.length == 2 || (parts.length == 3 && parts[2].isEmpty())) {
        if (method.equals("POST")) {
          requireAdmin(principal);
        }
        return; // listing is filtered to what the caller may see
      }
      String storeId = parts[2];
      hideSystemStore(storeId);
      String action = parts.length > 3 ? parts[3] : "";
      Role role;
      if (action.isEmpty()) {
        role = method.equals("DELETE") ? Role.ADMIN : Role.READER;
      } else if (action.equals("authorization-models")) {
        role = method.equals("POST") ? Role.ADMIN : Role.READER;
      } else if (WRITER_ACTIONS.contains(action)
          || (action.equals("assertions") && method.equals("PUT"))) {
        role = Role.WRITER;
      } else {
        role = Role.READER;
      }
      require(principal, storeId, role);
      return;
    }
    if (parts.length >= 3 && parts[1].equals("api")) {
      switch (parts[2]) {
        case "whoami" -> {}
        // The caller asks about itself; asking about others is checked in the handler.
        case "authorize" -> {}
        case "keys", "roles", "permissions", "rbac" -> requireAdmin(principal);
        case "audit" -> requireAuditor(principal);
        case "stores" -> {
          String storeId = parts.length > 3 ? parts[3] : "";
          hideSystemStore(storeId);
          require(principal, storeId, Role.ADMIN);
        }
        default -> requireAdmin(principal);
      }
    }
    // Anything else (/authz/... forward-auth decides about the caller itself) needs only
    // authentication, which the filter has done.
  }

  /** Whether the caller may see a store in the list. */
  public boolean visible(Context ctx, String storeId) {
    if (storeId.equals(access.systemStoreId())) {
      return false;
    }
    Principal principal = ctx.attribute("principal");
    return principal != null && access.allowed(runtime, principal, storeId, Role.READER);
  }

  private void require(Principal principal, String storeId, Role role) {
    if (!access.allowed(runtime, principal, storeId, role)) {
      throw new CastellanException(
          ErrorCode.FORBIDDEN,
          principal.id()
              + " is not a "
              + role.name().toLowerCase(java.util.Locale.ROOT)
              + " of this store");
    }
  }

  private void requireAdmin(Principal principal) {
    if (!access.isAdmin(runtime, principal)) {
      throw new CastellanException(
          ErrorCode.FORBIDDEN, principal.id() + " is not a Castellan administrator");
    }
  }

  private void requireAuditor(Principal principal) {
    if (!access.isAuditor(runtime, principal)) {
      throw new CastellanException(
          ErrorCode.FORBIDDEN,
          principal.id() + " is neither a Castellan administrator nor an auditor");
    }
  }

  private void hideSystemStore(String storeId) {
    if (storeId.equals(access.systemStoreId())) {
      throw new CastellanException(ErrorCode.STORE_ID_NOT_FOUND, "store " + storeId + " not found");
    }
  }
}
