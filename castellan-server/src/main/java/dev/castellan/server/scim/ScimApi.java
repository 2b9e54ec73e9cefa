package dev.castellan.server.scim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.api.ApiErrors;
import dev.castellan.server.api.PathParams;
import dev.castellan.server.api.Right;
import dev.castellan.server.api.SecuredRoutes;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.server.audit.RequestAudit;
import dev.castellan.server.directory.DirectoryRoles;
import dev.castellan.server.directory.PendingIdentities;
import dev.castellan.store.DirectoryGroup;
import dev.castellan.store.DirectoryPage;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.GroupDraft;
import dev.castellan.store.UserDraft;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The SCIM 2.0 service provider over HTTP at {@link #BASE} (RFC 7644). Every route needs {@link
 * Right#SCIM}, held only by provisioning keys. Errors on these paths answer in the SCIM error
 * schema ({@link #sendError}), whatever raised them, so an IdP's connector can read every refusal.
 */
public final class ScimApi {
  /** The path prefix of the service. */
  public static final String BASE = "/scim/v2";

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Largest request body (a User is at most 64 KiB of JSON; a PATCH adds its envelope). */
  static final int MAX_BODY_BYTES = 256 * 1024;

  private static final int DEFAULT_COUNT = 100;

  private final DirectoryStore directory;
  private final DirectoryRoles roles;
  private final AuditLog audit;
  private final Deprovisioning deprovisioning;
  private final PendingIdentities pending;

  /**
   * The service over the directory of {@code roles}, which carries membership changes to RBAC,
   * recording every write in {@code audit}, deprovisioning users that become inactive or are
   * deleted through {@code deprovisioning}, writing the rows imports held for a user's emails once
   * it has them through {@code pending}.
   */
  public ScimApi(
      DirectoryRoles roles,
      AuditLog audit,
      Deprovisioning deprovisioning,
      PendingIdentities pending) {
    this.directory = roles.directory();
    this.roles = roles;
    this.audit = audit;
    this.deprovisioning = deprovisioning;
    this.pending = pending;
  }

  /** Registers the service's routes. */
  public void register(SecuredRoutes routes) {
    routes.post(BASE + "/Users", Right.SCIM, this::createUser);
    routes.get(BASE + "/Users", Right.SCIM, this::listUsers);
    routes.get(BASE + "/Users/{id}", Right.SCIM, this::getUser);
    routes.put(BASE + "/Users/{id}", Right.SCIM, this::replaceUser);
    routes.patch(BASE + "/Users/{id}", Right.SCIM, this::patchUser);
    routes.delete(BASE + "/Users/{id}", Right.SCIM, this::deleteUser);
    routes.post(BASE + "/Groups", Right.SCIM, this::createGroup);
    routes.get(BASE + "/Groups", Right.SCIM, this::listGroups);
    routes.get(BASE + "/Groups/{id}", Right.SCIM, this::getGroup);
    routes.put(BASE + "/Groups/{id}", Right.SCIM, this::replaceGroup);
    routes.patch(BASE + "/Groups/{id}", Right.SCIM, this::patchGroup);
    routes.delete(BASE + "/Groups/{id}", Right.SCIM, this::deleteGroup);
    routes.get(BASE + "/ServiceProviderConfig", Right.SCIM, this::serviceProviderConfig);
    routes.get(BASE + "/ResourceTypes", Right.SCIM, this::resourceTypes);
    routes.get(BASE + "/ResourceTypes/{id}", Right.SCIM, this::resourceType);
    routes.get(BASE + "/Schemas", Right.SCIM, this::schemas);
    routes.get(BASE + "/Schemas/{id}", Right.SCIM, this::schema);
  }

  /** Whether a request path belongs to the service (its errors take the SCIM schema). */
  public static boolean handles(String path) {
    return path.equals(BASE) || path.startsWith(BASE + "/");
  }

  /**
   * Answers {@code e} in the SCIM error schema: a {@link ScimException}'s own body, any other
   * refusal with the status the rest of the API would give it and no {@code scimType}. A 5xx never
   * carries the exception's message.
   */
  public static void sendError(Context ctx, CastellanException e) {
    ScimError error;
    if (e instanceof ScimException scim) {
      error = scim.error();
    } else {
      int status = ApiErrors.status(e.code());
      String detail = e.getMessage();
      if (status >= 500) {
        // The generic handler logs it; the detail stays generic.
        detail = "the server could not complete the request; see its log";
        ctx.header("Retry-After", "1");
      }
      if (status == 401) {
        ctx.header("WWW-Authenticate", ApiErrors.challenge(e.code()));
      }
      error =
          new ScimError(
              status,
              switch (e.code()) {
                case UNIQUENESS_CONFLICT -> ScimType.UNIQUENESS;
                case VALIDATION_ERROR -> ScimType.INVALID_VALUE;
                default -> null;
              },
              detail == null || detail.isBlank() ? e.code().wireName() : detail);
    }
    ctx.status(error.status()).contentType(ScimProtocol.CONTENT_TYPE).result(error.toJson());
  }

  /**
   * Answers a refusal that happened before any SCIM route ran (no such endpoint, method not
   * allowed, the general body size limit) in the SCIM error schema: an IdP's connector reads only
   * that shape.
   */
  public static void sendStatus(Context ctx, int status, String detail) {
    ScimError error = new ScimError(status, null, detail);
    ctx.status(status).contentType(ScimProtocol.CONTENT_TYPE).result(error.toJson());
  }

  private static void send(Context ctx, ObjectNode body) {
    ctx.contentType(ScimProtocol.CONTENT_TYPE).result(body.toString());
  }

  // ------------------------------------------------------------------ users

  private void createUser(Context ctx) {
    ObjectNode user = ScimResources.user(body(ctx));
    DirectoryUser created = directory.createUser(ScimResources.userDraft(user));
    record(ctx, "scim-user-create", "user:" + created.id(), "create", "/Users/" + created.id());
    if (created.active()) {
      ConsistencyHeader.set(ctx, roles.token());
    } else {
      // Created inactive: its tokens are refused from the start, as for a deactivation.
      consistency(
          ctx, deprovisioning.run(ctx, Deprovisioning.Trigger.DEACTIVATE, created, () -> created));
    }
    pending.applyFor(created.id());
    sendUser(ctx.status(201), created, true);
  }

  private void getUser(Context ctx) {
    ListRequest list = listRequest(ctx);
    DirectoryUser user = user(PathParams.param(ctx, "id"));
    ctx.header("ETag", user.etag());
    send(
        ctx,
        ScimResources.project(
            userResource(ctx, user), list.attributes(), list.excludedAttributes()));
  }

  private void listUsers(Context ctx) {
    ListRequest list = listRequest(ctx);
    DirectoryPage<DirectoryUser> page =
        directory.findUsers(
            ScimResources.query(list.filter(), true), list.startIndex(), list.count());
    List<ObjectNode> resources = new ArrayList<>();
    for (DirectoryUser user : page.items()) {
      resources.add(
          ScimResources.project(
              userResource(ctx, user), list.attributes(), list.excludedAttributes()));
    }
    send(ctx, listResponse(resources, page.totalResults(), page.startIndex()));
  }

  private void replaceUser(Context ctx) {
    String id = PathParams.param(ctx, "id");
    ObjectNode user = ScimResources.user(body(ctx));
    deprovisioning.resume(ctx, id).ifPresent(done -> consistency(ctx, done));
    DirectoryUser current = user(id);
    long expected = expectedVersion(ctx, current.version(), current.etag());
    DirectoryUser updated = update(ctx, current, expected, ScimResources.userDraft(user));
    record(ctx, "scim-user-replace", "user:" + id, "replace", "/Users/" + id);
    ConsistencyHeader.set(ctx, roles.userChanged(current, updated));
    pending.applyFor(id);
    sendUser(ctx, updated, false);
  }

  private void patchUser(Context ctx) {
    String id = PathParams.param(ctx, "id");
    PatchRequest patch = PatchRequest.parse(bodyText(ctx));
    deprovisioning.resume(ctx, id).ifPresent(done -> consistency(ctx, done));
    DirectoryUser current = user(id);
    long expected = expectedVersion(ctx, current.version(), current.etag());
    ObjectNode resource = stored(current);
    for (PatchOperation op : patch.operations()) {
      ScimResources.applyToUser(resource, op);
    }
    ObjectNode user = ScimResources.user(resource);
    DirectoryUser updated = update(ctx, current, expected, ScimResources.userDraft(user));
    record(ctx, "scim-user-patch", "user:" + id, "patch", "/Users/" + id);
    ConsistencyHeader.set(ctx, roles.userChanged(current, updated));
    pending.applyFor(id);
    sendUser(ctx, updated, false);
  }

  private void deleteUser(Context ctx) {
    String id = PathParams.param(ctx, "id");
    Optional<Deprovisioning.Outcome> resumed = deprovisioning.resume(ctx, id);
    resumed.ifPresent(done -> consistency(ctx, done));
    Optional<DirectoryUser> found = directory.user(id);
    if (found.isEmpty() && resumed.isPresent()) {
      // A retried DELETE whose first attempt failed after the deletion: now finished.
      ctx.status(204);
      return;
    }
    DirectoryUser current = found.orElseThrow(() -> notFound("User", id));
    expectedVersion(ctx, current.version(), current.etag());
    Deprovisioning.Done<String> done =
        deprovisioning.run(
            ctx,
            Deprovisioning.Trigger.DELETE,
            current,
            // Through the directory's projection, which drops the user's memberships in RBAC too.
            () -> roles.deleteUser(id).orElseThrow(() -> notFound("User", id)));
    record(ctx, "scim-user-delete", "user:" + id, "delete", "/Users/" + id);
    consistency(ctx, done);
    ctx.status(204);
  }

  /**
   * Writes {@code draft} over {@code current}: a user becoming inactive is deprovisioned around the
   * write, one becoming active again has its tokens accepted (and nothing else restored).
   */
  private DirectoryUser update(Context ctx, DirectoryUser current, long expected, UserDraft draft) {
    String id = current.id();
    if (current.active() && !draft.active()) {
      Deprovisioning.Done<DirectoryUser> done =
          deprovisioning.run(
              ctx,
              Deprovisioning.Trigger.DEACTIVATE,
              current,
              () -> directory.updateUser(id, expected, draft));
      consistency(ctx, done);
      return done.written();
    }
    DirectoryUser updated = directory.updateUser(id, expected, draft);
    if (!current.active() && updated.active()) {
      deprovisioning.reactivated(ctx, current, updated);
    } else if (!updated.active()) {
      // Still inactive: still refused (idempotent; heals a refusal lost with an older release).
      deprovisioning.deactivated().refuse(updated.id());
    }
    return updated;
  }

  /** Sets the consistency header to the revision a deprovisioning reached. */
  private static void consistency(Context ctx, Deprovisioning.Done<?> done) {
    consistency(ctx, done.outcome());
  }

  private static void consistency(Context ctx, Deprovisioning.Outcome outcome) {
    ConsistencyHeader.set(ctx, outcome.consistencyToken());
  }

  private DirectoryUser user(String id) {
    return directory.user(id).orElseThrow(() -> notFound("User", id));
  }

  private static ObjectNode stored(DirectoryUser user) {
    try {
      JsonNode tree = JSON.readTree(user.resourceJson().isEmpty() ? "{}" : user.resourceJson());
      return tree instanceof ObjectNode object ? object : NODES.objectNode();
    } catch (java.io.IOException e) {
      throw new CastellanException(
          ErrorCode.INTERNAL_ERROR, "stored user " + user.id() + " is not JSON");
    }
  }

  private ObjectNode userResource(Context ctx, DirectoryUser user) {
    ObjectNode out = NODES.objectNode();
    ArrayNode schemas = out.putArray("schemas").add(ScimProtocol.USER_SCHEMA);
    out.put("id", user.id());
    ObjectNode kept = stored(user);
    if (kept.has(ScimProtocol.ENTERPRISE_USER_SCHEMA)) {
      schemas.add(ScimProtocol.ENTERPRISE_USER_SCHEMA);
    }
    out.setAll(kept);
    out.put("userName", user.userName());
    out.put("active", user.active());
    List<String> groups = directory.groupsOf(user.id());
    if (!groups.isEmpty()) {
      ArrayNode list = out.putArray("groups");
      for (String group : groups) {
        ObjectNode item = list.addObject().put("value", group);
        item.put("$ref", location(ctx, "/Groups/" + group));
        directory.group(group).ifPresent(g -> item.put("display", g.displayName()));
      }
    }
    meta(
        out,
        "User",
        user.created(),
        user.lastModified(),
        user.etag(),
        location(ctx, "/Users/" + user.id()));
    return out;
  }

  private void sendUser(Context ctx, DirectoryUser user, boolean created) {
    String location = location(ctx, "/Users/" + user.id());
    ctx.header("ETag", user.etag());
    if (created) {
      ctx.header("Location", location);
    }
    send(ctx, userResource(ctx, user));
  }

  // ------------------------------------------------------------------ groups

  private void createGroup(Context ctx) {
    GroupDraft draft = groupDraft(ScimGroups.group(body(ctx)));
    DirectoryRoles.Written<DirectoryGroup> written = roles.createGroup(draft);
    DirectoryGroup created = written.value();
    record(ctx, "scim-group-create", "group:" + created.id(), "create", "/Groups/" + created.id());
    ConsistencyHeader.set(ctx, written.consistencyToken());
    ctx.status(201).header("Location", location(ctx, "/Groups/" + created.id()));
    sendGroup(ctx, created);
  }

  private void getGroup(Context ctx) {
    ListRequest list = listRequest(ctx);
    DirectoryGroup group = group(PathParams.param(ctx, "id"));
    ctx.header("ETag", group.etag());
    send(
        ctx,
        ScimResources.project(
            groupResource(ctx, group), list.attributes(), list.excludedAttributes()));
  }

  private void listGroups(Context ctx) {
    ListRequest list = listRequest(ctx);
    DirectoryPage<DirectoryGroup> page =
        directory.findGroups(
            ScimResources.query(list.filter(), false), list.startIndex(), list.count());
    List<ObjectNode> resources = new ArrayList<>();
    for (DirectoryGroup group : page.items()) {
      resources.add(
          ScimResources.project(
              groupResource(ctx, group), list.attributes(), list.excludedAttributes()));
    }
    send(ctx, listResponse(resources, page.totalResults(), page.startIndex()));
  }

  private void replaceGroup(Context ctx) {
    String id = PathParams.param(ctx, "id");
    DirectoryGroup current = group(id);
    long expected = expectedVersion(ctx, current.version(), current.etag());
    GroupDraft draft = groupDraft(ScimGroups.group(body(ctx)));
    DirectoryRoles.Written<DirectoryGroup> written = roles.replaceGroup(id, expected, draft);
    DirectoryGroup updated = written.value();
    record(ctx, "scim-group-replace", "group:" + id, "replace", "/Groups/" + id);
    ConsistencyHeader.set(ctx, written.consistencyToken());
    sendGroup(ctx.header("ETag", updated.etag()), updated);
  }

  private void patchGroup(Context ctx) {
    String id = PathParams.param(ctx, "id");
    PatchRequest patch = PatchRequest.parse(bodyText(ctx));
    DirectoryGroup current = group(id);
    long expected = expectedVersion(ctx, current.version(), current.etag());
    GroupDraft draft = groupDraft(ScimGroups.patch(current, patch));
    // Only the difference is written: Okta and Entra ID add and remove a few members at a time,
    // and a group may have 100,000.
    Set<String> wanted = new HashSet<>(draft.members());
    Set<String> had = new HashSet<>(current.members());
    List<String> add = draft.members().stream().filter(m -> !had.contains(m)).toList();
    List<String> remove = current.members().stream().filter(m -> !wanted.contains(m)).toList();
    DirectoryRoles.Written<DirectoryGroup> written =
        roles.changeGroup(id, expected, draft.displayName(), draft.externalId(), add, remove);
    DirectoryGroup updated = written.value();
    record(ctx, "scim-group-patch", "group:" + id, "patch", "/Groups/" + id);
    ConsistencyHeader.set(ctx, written.consistencyToken());
    sendGroup(ctx.header("ETag", updated.etag()), updated);
  }

  private void deleteGroup(Context ctx) {
    String id = PathParams.param(ctx, "id");
    DirectoryGroup current = group(id);
    expectedVersion(ctx, current.version(), current.etag());
    String token = roles.deleteGroup(id).orElseThrow(() -> notFound("Group", id));
    record(ctx, "scim-group-delete", "group:" + id, "delete", "/Groups/" + id);
    ConsistencyHeader.set(ctx, token);
    ctx.status(204);
  }

  private DirectoryGroup group(String id) {
    return directory.group(id).orElseThrow(() -> notFound("Group", id));
  }

  private static GroupDraft groupDraft(ScimGroups.Draft draft) {
    try {
      return new GroupDraft(draft.displayName(), draft.externalId(), draft.members());
    } catch (CastellanException e) {
      throw ScimResources.invalidValue(String.valueOf(e.getMessage()));
    }
  }

  private ObjectNode groupResource(Context ctx, DirectoryGroup group) {
    ObjectNode out = NODES.objectNode();
    out.putArray("schemas").add(ScimProtocol.GROUP_SCHEMA);
    out.put("id", group.id());
    if (!group.externalId().isEmpty()) {
      out.put("externalId", group.externalId());
    }
    out.put("displayName", group.displayName());
    ArrayNode members = out.putArray("members");
    for (String member : group.members()) {
      members
          .addObject()
          .put("value", member)
          .put("$ref", location(ctx, "/Users/" + member))
          .put("type", "User");
    }
    meta(
        out,
        "Group",
        group.created(),
        group.lastModified(),
        group.etag(),
        location(ctx, "/Groups/" + group.id()));
    return out;
  }

  private void sendGroup(Context ctx, DirectoryGroup group) {
    ctx.header("ETag", group.etag());
    send(ctx, groupResource(ctx, group));
  }

  // ------------------------------------------------------------------ common

  private static void meta(
      ObjectNode out,
      String type,
      Instant created,
      Instant modified,
      String etag,
      String location) {
    out.putObject("meta")
        .put("resourceType", type)
        .put("created", created.toString())
        .put("lastModified", modified.toString())
        .put("location", location)
        .put("version", etag);
  }

  /**
   * The version a write must find: the {@code If-Match} header's, when sent ({@code *} or the
   * current ETag; anything else is 412 at once), else any version.
   */
  private static long expectedVersion(Context ctx, long current, String etag) {
    String ifMatch = ctx.header("If-Match");
    if (ifMatch == null || ifMatch.isBlank()) {
      return DirectoryStore.ANY_VERSION;
    }
    for (String tag : ifMatch.split(",")) {
      String t = tag.trim();
      if (t.equals("*") || t.equals(etag) || ("W/" + t).equals(etag)) {
        return current;
      }
    }
    throw new ScimException(
        new ScimError(
            412,
            null,
            "If-Match "
                + FilterParser.abbreviate(ifMatch)
                + " does not match the current version "
                + etag));
  }

  private static ListRequest listRequest(Context ctx) {
    return ListRequest.fromQuery(ctx::queryParam, DEFAULT_COUNT, ScimSchemas.MAX_RESULTS);
  }

  private static String bodyText(Context ctx) {
    byte[] bytes = ctx.bodyAsBytes();
    if (bytes.length > MAX_BODY_BYTES) {
      throw new ScimException(
          new ScimError(413, null, "a SCIM request body is at most " + MAX_BODY_BYTES + " bytes"));
    }
    return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
  }

  private static JsonNode body(Context ctx) {
    String text = bodyText(ctx);
    try {
      JsonNode tree = JSON.readTree(text);
      if (tree == null || !tree.isObject()) {
        throw ScimException.badRequest(ScimType.INVALID_SYNTAX, "the body is a JSON object");
      }
      return tree;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw ScimException.badRequest(ScimType.INVALID_SYNTAX, "the body is not JSON");
    }
  }

  /** Audits a write like the other admin writes; the caller is named by the request itself. */
  private void record(Context ctx, String api, String subject, String action, String path) {
    audit.record(RequestAudit.change(ctx, api, subject, action, BASE + path, "", "", 0));
  }

  // ------------------------------------------------------------------ discovery (RFC 7644 4)

  private void serviceProviderConfig(Context ctx) {
    send(ctx, ScimSchemas.serviceProviderConfig(location(ctx, "/ServiceProviderConfig")));
  }

  private void resourceTypes(Context ctx) {
    List<ObjectNode> types =
        List.of(
            ScimSchemas.resourceType("User", location(ctx, "/ResourceTypes/User")),
            ScimSchemas.resourceType("Group", location(ctx, "/ResourceTypes/Group")));
    send(ctx, listResponse(types, types.size(), 1));
  }

  private void resourceType(Context ctx) {
    String id = PathParams.param(ctx, "id");
    String name =
        switch (id.toLowerCase(Locale.ROOT)) {
          case "user" -> "User";
          case "group" -> "Group";
          default -> throw notFound("resource type", id);
        };
    send(ctx, ScimSchemas.resourceType(name, location(ctx, "/ResourceTypes/" + name)));
  }

  private void schemas(Context ctx) {
    List<ObjectNode> all =
        ScimSchemas.URNS.stream()
            .map(urn -> ScimSchemas.schema(urn, location(ctx, "/Schemas/" + urn)))
            .toList();
    send(ctx, listResponse(all, all.size(), 1));
  }

  private void schema(Context ctx) {
    String id = PathParams.param(ctx, "id");
    String urn =
        ScimSchemas.URNS.stream()
            .filter(u -> u.equalsIgnoreCase(id))
            .findFirst()
            .orElseThrow(() -> notFound("schema", id));
    send(ctx, ScimSchemas.schema(urn, location(ctx, "/Schemas/" + urn)));
  }

  private static ObjectNode listResponse(List<ObjectNode> resources, int total, int startIndex) {
    ObjectNode out = NODES.objectNode();
    out.putArray("schemas").add(ScimProtocol.LIST_RESPONSE_SCHEMA);
    out.put("totalResults", total);
    out.put("itemsPerPage", resources.size());
    out.put("startIndex", startIndex);
    ArrayNode list = out.putArray("Resources");
    resources.forEach(list::add);
    return out;
  }

  /** The absolute URL of {@code suffix} under the service, as this request reached it. */
  static String location(Context ctx, String suffix) {
    String url = ctx.url();
    int at = url.indexOf(BASE);
    String root = at < 0 ? url : url.substring(0, at);
    return root + BASE + suffix;
  }

  static ScimException notFound(String what, String id) {
    return new ScimException(
        new ScimError(404, null, "no " + what + " " + FilterParser.abbreviate(id)));
  }
}
