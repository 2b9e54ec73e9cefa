package dev.castellan.server.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.server.audit.RequestAudit;
import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.auth.AccessControl.Role;
import dev.castellan.server.auth.ApiKeys;
import dev.castellan.server.auth.Authorization;
import dev.castellan.server.auth.LocalDevelopment;
import dev.castellan.server.auth.Principal;
import dev.castellan.server.rbac.ClaimRoles;
import dev.castellan.store.ApiKeyRecord;
import io.javalin.http.Context;
import java.util.Set;

/**
 * Castellan's own administration: API keys ({@code /api/keys}), rights on stores ({@code
 * /api/stores/{id}/access}) and {@code /api/whoami}. The request filter has already checked that
 * the caller may use these routes (global admin for keys, store admin for access).
 */
public final class AdminApi {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final StoreRuntime runtime;
  private final ApiKeys keys;
  private final AccessControl access;
  private final AuditLog audit;
  private final RbacRoles rbacRoles;

  /** The RBAC roles a caller holds, from its token and the store, for {@code /api/whoami}. */
  @FunctionalInterface
  public interface RbacRoles {
    RbacRoles NONE = principal -> java.util.List.of();

    java.util.List<String> of(Principal principal);
  }

  public AdminApi(StoreRuntime runtime, ApiKeys keys, AccessControl access) {
    this(runtime, keys, access, AuditLog.NONE);
  }

  /** {@code audit} hears every key created or revoked and every right granted or revoked. */
  public AdminApi(StoreRuntime runtime, ApiKeys keys, AccessControl access, AuditLog audit) {
    this(runtime, keys, access, audit, RbacRoles.NONE);
  }

  /** {@code rbacRoles} tells {@code /api/whoami} the caller's RBAC roles. */
  public AdminApi(
      StoreRuntime runtime,
      ApiKeys keys,
      AccessControl access,
      AuditLog audit,
      RbacRoles rbacRoles) {
    this.runtime = runtime;
    this.keys = keys;
    this.access = access;
    this.audit = audit;
    this.rbacRoles = rbacRoles;
  }

  public void register(SecuredRoutes routes) {
    routes.get("/api/whoami", Right.AUTHENTICATED, this::whoami);
    routes.post("/api/keys", Right.ADMIN, this::createKey);
    routes.get("/api/keys", Right.ADMIN, this::listKeys);
    routes.delete("/api/keys/{id}", Right.ADMIN, this::revokeKey);
    routes.post("/api/stores/{store_id}/access", Right.STORE_ADMIN, this::grant);
    routes.delete("/api/stores/{store_id}/access", Right.STORE_ADMIN, this::revoke);
  }

  private void whoami(Context ctx) {
    Principal principal = ctx.attribute("principal");
    ObjectNode out = NODES.objectNode();
    out.put("subject", principal.id());
    out.put("rbac_subject", dev.castellan.server.rbac.ClaimRoles.subject(principal));
    out.put("name", principal.display());
    boolean admin = access.isAdmin(runtime, principal);
    boolean auditor = access.isAuditor(runtime, principal);
    out.put("admin", admin);
    out.put("auditor", auditor);
    // "admin" means two things; whoami spells out both, since a token's role claim decides the one
    // and never the other.
    out.put("castellan_admin", admin);
    out.put("castellan_auditor", auditor);
    out.put("rbac_subject", ClaimRoles.subject(principal));
    if (principal.mapped().present()) {
      // A token of an issuer of the issuers: list (ADR 0020): which one, and its directory user.
      out.put("issuer", principal.mapped().issuer());
      out.put("directory_user", principal.mapped().directoryUser());
    }
    ArrayNode roles = out.putArray("rbac_roles");
    rbacRoles.of(principal).forEach(roles::add);
    boolean localDevelopment = principal.id().equals(LocalDevelopment.CALLER_ID);
    out.put("local_development", localDevelopment);
    if (localDevelopment) {
      out.put(
          "about",
          "the server runs without authentication (--auth none, local development on a loopback"
              + " address): every request, whatever credentials it carries, is "
              + LocalDevelopment.CALLER_ID
              + ", a Castellan administrator and auditor; the system store stays hidden, and"
              + " audit entries name this caller.");
      json(ctx, out);
      return;
    }
    out.put(
        "about",
        "castellan_admin: may administer Castellan itself (API keys, stores and their access,"
            + " roles, the policy); only an API key made with --admin or {\"admin\": true} is one."
            + " rbac_roles: the roles your applications ask about with POST /api/authorize, from"
            + " the token's role claims and role memberships; a role named admin there grants the"
            + " admin role's permissions, never Castellan administration.");
    json(ctx, out);
  }

  /**
   * {@code {"name", "admin"?: bool, "auditor"?: bool, "scim"?: bool, "store_id"?, "role"?}}: a key,
   * with rights given at once. A provisioning key ({@code scim}) holds that right alone.
   */
  private void createKey(Context ctx) {
    Body body =
        Body.parse(ctx.body(), Set.of("name", "admin", "auditor", "scim", "store_id", "role"));
    String storeId = body.string("store_id");
    Role role = body.has("role") ? Role.parse(body.string("role", 16)) : null;
    if (storeId.isEmpty() != (role == null)) {
      throw Body.invalid("'store_id' and 'role' go together");
    }
    boolean scim = body.bool("scim");
    if (scim && (body.bool("admin") || body.bool("auditor") || role != null)) {
      throw Body.invalid(
          "a provisioning key ('scim': true) may only call /scim/v2: leave out 'admin',"
              + " 'auditor', 'store_id' and 'role', and make a second key for those");
    }
    if (!storeId.isEmpty()) {
      requireStore(storeId);
    }
    ApiKeys.Created created = keys.create(body.string("name", 128));
    String subject = created.principalId();
    audit.record(
        RequestAudit.change(
            ctx, "key-create", subject, "create", "key:" + created.id(), "", "", 0));
    if (body.bool("admin")) {
      access.grantAdmin(subject);
      audit.record(grantEvent(ctx, subject, "admin", "castellan:global", ""));
    }
    if (body.bool("auditor")) {
      access.grantAuditor(subject);
      audit.record(grantEvent(ctx, subject, "auditor", "castellan:global", ""));
    }
    if (scim) {
      access.grantScim(subject);
      audit.record(grantEvent(ctx, subject, "scim", "castellan:global", ""));
    }
    if (role != null) {
      access.grant(subject, storeId, role);
      audit.record(
          grantEvent(
              ctx,
              subject,
              role.name().toLowerCase(java.util.Locale.ROOT),
              "store:" + storeId,
              storeId));
    }
    runtime.afterWrite(access.systemStoreId());
    ObjectNode out = NODES.objectNode();
    out.put("id", created.id());
    out.put("subject", created.principalId());
    out.put("key", created.key());
    json(ctx.status(201), out);
  }

  private void listKeys(Context ctx) {
    ObjectNode out = NODES.objectNode();
    ArrayNode list = out.putArray("keys");
    for (ApiKeyRecord record : keys.list()) {
      ObjectNode item = list.addObject();
      item.put("id", record.id());
      item.put("name", record.name());
      item.put("subject", record.principal());
      item.put("created_at", record.createdAt().toString());
    }
    json(ctx, out);
  }

  private void revokeKey(Context ctx) {
    String id = PathParams.param(ctx, "id");
    Principal caller = ctx.attribute("principal");
    if (caller.id().equals("key:" + id)) {
      throw Body.invalid("a key cannot revoke itself; use another admin key");
    }
    if (!keys.revoke(id)) {
      throw new CastellanException(ErrorCode.VALIDATION_ERROR, "no API key " + id);
    }
    access.revokeAll("key:" + id);
    runtime.afterWrite(access.systemStoreId());
    audit.record(
        RequestAudit.change(ctx, "key-revoke", "key:" + id, "revoke", "key:" + id, "", "", 0));
    ctx.status(204);
  }

  /** {@code {"subject": "jwt:alice" | "key:<id>", "role": "admin" | "writer" | "reader"}}. */
  private void grant(Context ctx) {
    Body body = Body.parse(ctx.body(), Set.of("subject", "role"));
    String storeId = PathParams.storeId(ctx);
    requireStore(storeId);
    Role role = Role.parse(body.requiredString("role"));
    access.grant(body.requiredString("subject"), storeId, role);
    runtime.afterWrite(access.systemStoreId());
    audit.record(
        grantEvent(
            ctx,
            body.requiredString("subject"),
            role.name().toLowerCase(java.util.Locale.ROOT),
            "store:" + storeId,
            storeId));
    ctx.status(204);
  }

  private void revoke(Context ctx) {
    Body body = Body.parse(ctx.body(), Set.of("subject", "role"));
    String storeId = PathParams.storeId(ctx);
    Role role = Role.parse(body.requiredString("role"));
    access.revoke(body.requiredString("subject"), storeId, role);
    runtime.afterWrite(access.systemStoreId());
    audit.record(
        RequestAudit.change(
            ctx,
            "access-revoke",
            body.requiredString("subject"),
            role.name().toLowerCase(java.util.Locale.ROOT),
            "store:" + storeId,
            "",
            storeId,
            0));
    ctx.status(204);
  }

  /** 404 unless {@code storeId} names a store the API shows (never the system store). */
  private void requireStore(String storeId) {
    if (storeId.equals(access.systemStoreId()) || runtime.store().getStore(storeId).isEmpty()) {
      throw Authorization.storeNotFound(storeId);
    }
  }

  private static dev.castellan.server.audit.AuditEvent grantEvent(
      Context ctx, String subject, String role, String resource, String storeId) {
    return RequestAudit.change(ctx, "access-grant", subject, role, resource, "", storeId, 0);
  }

  private static void json(Context ctx, ObjectNode body) {
    ctx.contentType("application/json").result(body.toString());
  }
}
