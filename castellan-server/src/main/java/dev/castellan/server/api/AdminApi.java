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
import dev.castellan.server.auth.ApiKeyTerms;
import dev.castellan.server.auth.ApiKeys;
import dev.castellan.server.auth.Authorization;
import dev.castellan.server.auth.LocalDevelopment;
import dev.castellan.server.auth.Principal;
import dev.castellan.server.auth.Subjects;
import dev.castellan.store.ApiKeyRecord;
import io.javalin.http.Context;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

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
  private final Subjects subjects;

  /** The RBAC roles a caller holds, from its token and the store, for {@code /api/whoami}. */
  @FunctionalInterface
  public interface RbacRoles {
    RbacRoles NONE = principal -> java.util.List.of();

    java.util.List<String> of(Principal principal);
  }

  /**
   * {@code audit} hears every key created or revoked and every right granted or revoked; {@code
   * rbacRoles} tells {@code /api/whoami} the caller's RBAC roles; {@code subjects} resolves the
   * aliases grants name (ADR 0023).
   */
  public AdminApi(
      StoreRuntime runtime,
      ApiKeys keys,
      AccessControl access,
      AuditLog audit,
      RbacRoles rbacRoles,
      Subjects subjects) {
    this.subjects = subjects;
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
    routes.post("/api/keys/{id}/rotate", Right.ADMIN, this::rotateKey);
    routes.post("/api/stores/{store_id}/access", Right.STORE_ADMIN, this::grant);
    routes.delete("/api/stores/{store_id}/access", Right.STORE_ADMIN, this::revoke);
    routes.get("/api/admin/stores/largest", Right.ADMIN, this::largestStores);
  }

  /** The most stores {@code GET /api/admin/stores/largest} lists. */
  static final int MAX_LARGEST = 100;

  /**
   * {@code ?limit=N} (1 to 100, default 10): the loaded stores with the largest estimated heap,
   * largest first, for an operator sizing the index memory budget ({@code /metrics} has only the
   * totals). The system store is not listed: it stays hidden, as everywhere.
   */
  private void largestStores(Context ctx) {
    String given = ctx.queryParam("limit");
    int limit = 10;
    if (given != null) {
      try {
        limit = Integer.parseInt(given);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > MAX_LARGEST) {
        throw Body.invalid(
            "'limit' must be a whole number from 1 to " + MAX_LARGEST + ", not '" + given + "'");
      }
    }
    ObjectNode out = NODES.objectNode();
    ArrayNode list = out.putArray("stores");
    for (StoreRuntime.LoadedStore loaded : runtime.largestStores(limit + 1)) {
      if (loaded.storeId().equals(access.systemStoreId()) || list.size() == limit) {
        continue;
      }
      ObjectNode item = list.addObject();
      item.put("id", loaded.storeId());
      item.put("name", runtime.store().getStore(loaded.storeId()).map(i -> i.name()).orElse(""));
      item.put("tuples", loaded.tuples());
      item.put("estimated_bytes", loaded.estimatedBytes());
      item.put("last_used", loaded.lastUsed().toString());
    }
    json(ctx, out);
  }

  private void whoami(Context ctx) {
    Principal principal = Callers.of(ctx);
    ObjectNode out = NODES.objectNode();
    boolean localDevelopment = principal.id().equals(LocalDevelopment.CALLER_ID);
    out.put("subject", localDevelopment ? principal.id() : principal.subject());
    subjects.userName(principal.subject()).ifPresent(name -> out.put("user_name", name));
    out.put("principal", principal.id());
    out.put("name", principal.display());
    boolean admin = access.isAdmin(runtime, principal);
    boolean auditor = access.isAuditor(runtime, principal);
    out.put("admin", admin);
    out.put("auditor", auditor);
    // "admin" means two things; whoami spells out both, since a token's role claim decides the one
    // and never the other.
    out.put("castellan_admin", admin);
    out.put("castellan_auditor", auditor);
    // One subject for RBAC and store rights alike (ADR 0023): the same as "subject".
    out.put("rbac_subject", principal.subject());
    if (principal.mapped().present()) {
      // A token of an issuer of the issuers: list (ADR 0020): which one, and its directory user.
      out.put("issuer", principal.mapped().issuer());
      out.put("directory_user", principal.mapped().directoryUser());
    }
    ArrayNode roles = out.putArray("rbac_roles");
    rbacRoles.of(principal).forEach(roles::add);
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
   * {@code {"name", "admin"?: bool, "auditor"?: bool, "scim"?: bool, "store_id"?, "role"?,
   * "expires_at"?: RFC 3339 | "expires_in"?: "90d"}}: a key, with rights given at once. A
   * provisioning key ({@code scim}) holds that right alone. Without an expiry, the key does not
   * expire.
   */
  private void createKey(Context ctx) {
    Body body =
        Body.parse(
            ctx.body(),
            Set.of(
                "name",
                "admin",
                "auditor",
                "scim",
                "store_id",
                "role",
                "expires_at",
                "expires_in"));
    Instant expiresAt = expiry(body);
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
    ApiKeys.Created created = keys.create(body.string("name", 128), expiresAt);
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
    out.put("subject", AccessControl.subject(created.principalId()));
    out.put("key", created.key());
    out.put("expires_at", text(created.record().expiresAt()));
    json(ctx.status(201), out);
  }

  /**
   * {@code {"grace"?: "24h", "expires_at"? | "expires_in"?}}: a new secret for key {@code id},
   * returned once; the one it replaces works until the grace ends (24 hours by default, at most 30
   * days, {@code "0s"} for at once). Without a new expiry the key keeps its own.
   */
  private void rotateKey(Context ctx) {
    String id = PathParams.param(ctx, "id");
    Body body = Body.parse(ctx.body(), Set.of("grace", "expires_at", "expires_in"));
    Duration grace =
        body.has("grace")
            ? ApiKeyTerms.parseDuration("'grace'", body.string("grace", 32))
            : ApiKeyTerms.DEFAULT_GRACE;
    Instant expiresAt = expiry(body);
    ApiKeys.Created rotated =
        expiresAt == null ? keys.rotate(id, grace) : keys.rotate(id, grace, expiresAt);
    ApiKeyRecord record = rotated.record();
    ApiKeyRecord.Rotation rotation = Objects.requireNonNull(record.rotation(), "just rotated");
    audit.record(
        RequestAudit.change(
            ctx,
            "key-rotate",
            rotated.principalId(),
            "rotate",
            "key:" + id,
            "the replaced secret works until " + rotation.graceEndsAt(),
            "",
            0));
    ObjectNode out = NODES.objectNode();
    out.put("id", id);
    out.put("subject", rotated.principalId());
    out.put("key", rotated.key());
    out.put("expires_at", text(record.expiresAt()));
    out.put("rotated_at", text(rotation.rotatedAt()));
    out.put("grace_ends_at", text(rotation.graceEndsAt()));
    json(ctx, out);
  }

  /** The expiry a body asks for ({@code expires_at} or {@code expires_in}); null: none. */
  private @Nullable Instant expiry(Body body) {
    if (body.has("expires_at") && body.has("expires_in")) {
      throw Body.invalid("give 'expires_at' or 'expires_in', not both");
    }
    if (body.has("expires_in")) {
      return ApiKeyTerms.expiryIn(
          "'expires_in'",
          keys.now(),
          ApiKeyTerms.parseDuration("'expires_in'", body.string("expires_in", 32)));
    }
    if (body.has("expires_at")) {
      return ApiKeyTerms.expiry(
          keys.now(), ApiKeyTerms.parseInstant("'expires_at'", body.string("expires_at", 64)));
    }
    return null;
  }

  /**
   * Every key with its expiry, last rotation and last use ({@code null} when there is none); the
   * last use is this node's to the second, other nodes' as of their last flush (about a minute).
   */
  private void listKeys(Context ctx) {
    Instant now = keys.now();
    ObjectNode out = NODES.objectNode();
    ArrayNode list = out.putArray("keys");
    for (ApiKeyRecord record : keys.list()) {
      ObjectNode item = list.addObject();
      item.put("id", record.id());
      item.put("name", record.name());
      item.put("subject", AccessControl.subject(record.principal()));
      item.put("created_at", record.createdAt().toString());
      item.put("expires_at", text(record.expiresAt()));
      item.put("expired", !record.usableAt(now));
      ApiKeyRecord.Rotation rotation = record.rotation();
      item.put("rotated_at", text(rotation == null ? null : rotation.rotatedAt()));
      item.put("grace_ends_at", text(rotation == null ? null : rotation.graceEndsAt()));
      item.put("last_used_at", text(record.lastUsedAt()));
    }
    json(ctx, out);
  }

  private static @Nullable String text(@Nullable Instant instant) {
    return instant == null ? null : instant.toString();
  }

  private void revokeKey(Context ctx) {
    String id = PathParams.param(ctx, "id");
    Principal caller = Callers.of(ctx);
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

  /**
   * {@code {"subject", "role": "admin" | "writer" | "reader"}}: the subject canonical ({@code
   * user:<directory id>}, {@code service_account:<key id>}) or an alias, resolved now (ADR 0023: an
   * alias of no one provisions the directory user it stands for).
   */
  private void grant(Context ctx) {
    Body body = Body.parse(ctx.body(), Set.of("subject", "role"));
    String storeId = PathParams.storeId(ctx);
    requireStore(storeId);
    Role role = Role.parse(body.requiredString("role"));
    String subject = subjects.resolve(body.requiredString("subject"), callerId(ctx));
    access.grant(subject, storeId, role);
    runtime.afterWrite(access.systemStoreId());
    audit.record(
        grantEvent(
            ctx,
            subject,
            role.name().toLowerCase(java.util.Locale.ROOT),
            "store:" + storeId,
            storeId));
    ctx.status(204);
  }

  private void revoke(Context ctx) {
    Body body = Body.parse(ctx.body(), Set.of("subject", "role"));
    String storeId = PathParams.storeId(ctx);
    Role role = Role.parse(body.requiredString("role"));
    String subject = subjects.find(body.requiredString("subject"));
    access.revoke(subject, storeId, role);
    runtime.afterWrite(access.systemStoreId());
    audit.record(
        RequestAudit.change(
            ctx,
            "access-revoke",
            subject,
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

  /** The caller's principal id, for the audit entry of a user a grant's alias provisions. */
  private static String callerId(Context ctx) {
    Principal caller = Callers.of(ctx);
    return caller == null ? "" : caller.id();
  }
}
