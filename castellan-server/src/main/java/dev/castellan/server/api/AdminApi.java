package dev.castellan.server.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.auth.AccessControl.Role;
import dev.castellan.server.auth.ApiKeys;
import dev.castellan.server.auth.Principal;
import dev.castellan.store.ApiKeyRecord;
import io.javalin.config.RoutesConfig;
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

  public AdminApi(StoreRuntime runtime, ApiKeys keys, AccessControl access) {
    this.runtime = runtime;
    this.keys = keys;
    this.access = access;
  }

  public void register(RoutesConfig routes) {
    routes.get("/api/whoami", this::whoami);
    routes.post("/api/keys", this::createKey);
    routes.get("/api/keys", this::listKeys);
    routes.delete("/api/keys/{id}", this::revokeKey);
    routes.post("/api/stores/{store_id}/access", this::grant);
    routes.delete("/api/stores/{store_id}/access", this::revoke);
  }

  private void whoami(Context ctx) {
    Principal principal = ctx.attribute("principal");
    ObjectNode out = NODES.objectNode();
    out.put("subject", principal.id());
    out.put("name", principal.display());
    out.put("admin", access.isAdmin(runtime, principal));
    json(ctx, out);
  }

  /** {@code {"name", "admin"?: bool, "store_id"?, "role"?}}: a key, with rights given at once. */
  private void createKey(Context ctx) {
    Body body = Body.parse(ctx.body(), Set.of("name", "admin", "store_id", "role"));
    String storeId = body.string("store_id");
    Role role = body.has("role") ? Role.parse(body.string("role", 16)) : null;
    if (storeId.isEmpty() != (role == null)) {
      throw Body.invalid("'store_id' and 'role' go together");
    }
    if (!storeId.isEmpty() && runtime.store().getStore(storeId).isEmpty()) {
      throw new CastellanException(ErrorCode.STORE_ID_NOT_FOUND, "store " + storeId + " not found");
    }
    ApiKeys.Created created = keys.create(body.string("name", 128));
    if (body.bool("admin")) {
      access.grantAdmin(created.principalId());
    }
    if (role != null) {
      access.grant(created.principalId(), storeId, role);
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
    String id = ctx.pathParam("id");
    Principal caller = ctx.attribute("principal");
    if (caller.id().equals("key:" + id)) {
      throw Body.invalid("a key cannot revoke itself; use another admin key");
    }
    if (!keys.revoke(id)) {
      throw new CastellanException(ErrorCode.VALIDATION_ERROR, "no API key " + id);
    }
    access.revokeAll("key:" + id);
    runtime.afterWrite(access.systemStoreId());
    ctx.status(204);
  }

  /** {@code {"subject": "jwt:alice" | "key:<id>", "role": "admin" | "writer" | "reader"}}. */
  private void grant(Context ctx) {
    Body body = Body.parse(ctx.body(), Set.of("subject", "role"));
    String storeId = ctx.pathParam("store_id");
    access.grant(body.requiredString("subject"), storeId, Role.parse(body.requiredString("role")));
    runtime.afterWrite(access.systemStoreId());
    ctx.status(204);
  }

  private void revoke(Context ctx) {
    Body body = Body.parse(ctx.body(), Set.of("subject", "role"));
    String storeId = ctx.pathParam("store_id");
    access.revoke(body.requiredString("subject"), storeId, Role.parse(body.requiredString("role")));
    runtime.afterWrite(access.systemStoreId());
    ctx.status(204);
  }

  private static void json(Context ctx, ObjectNode body) {
    ctx.contentType("application/json").result(body.toString());
  }
}
