package dev.castellan.server.api;

import dev.castellan.server.auth.AccessControl.Role;
import java.util.Optional;

/**
 * The right a route needs, declared where the route is registered ({@link SecuredRoutes}). Rights
 * on a store apply to the store named by the route's decoded {@code {store_id}} parameter, the same
 * value its handler acts on ({@link PathParams#storeId}).
 */
public enum Right {
  /** No credentials: health and readiness (and {@code /metrics} when made public). */
  PUBLIC,
  /** Any authenticated caller; the handler answers about the caller itself (whoami, authorize). */
  AUTHENTICATED,
  /**
   * Any authenticated caller at a gateway's forward-auth endpoint: the answer (200 or 403) is the
   * RBAC decision for the forwarded request, never more.
   */
  GATEWAY,
  /** A Castellan auditor (every administrator is one): the audit trail. */
  AUDITOR,
  /** A global Castellan administrator. */
  ADMIN,
  /**
   * A provisioning key (made with {@code "scim": true}): the SCIM service at {@code /scim/v2}. No
   * other caller holds it, administrators included, and such a key holds no other right.
   */
  SCIM,
  /** A reader (or writer, or admin) of the route's store. */
  STORE_READER,
  /** A writer (or admin) of the route's store. */
  STORE_WRITER,
  /** An admin of the route's store. */
  STORE_ADMIN;

  /** The store role this right needs, for rights scoped to the route's store. */
  public Optional<Role> storeRole() {
    return switch (this) {
      case STORE_READER -> Optional.of(Role.READER);
      case STORE_WRITER -> Optional.of(Role.WRITER);
      case STORE_ADMIN -> Optional.of(Role.ADMIN);
      case PUBLIC, AUTHENTICATED, GATEWAY, AUDITOR, ADMIN, SCIM -> Optional.empty();
    };
  }
}
