package dev.castellan.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.audit.AuditEvent;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.server.audit.RequestAudit;
import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.auth.Principal;
import dev.castellan.server.auth.Subjects;
import dev.castellan.server.metrics.ServerMetrics;
import dev.castellan.server.rbac.ClaimRoles;
import dev.castellan.server.rbac.Decision;
import dev.castellan.server.rbac.Permission;
import dev.castellan.server.rbac.PolicyWatcher;
import dev.castellan.server.rbac.Rbac;
import dev.castellan.server.rbac.RbacPolicy;
import dev.castellan.server.rbac.RequestTarget;
import dev.castellan.server.rbac.Role;
import dev.castellan.server.rbac.RouteTable;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RBAC over HTTP: seed 002's roles API ({@code /api/roles}, {@code /api/permissions}), {@code POST
 * /api/authorize}, the policy's status and export, and gateway forward-auth ({@code /authz/forward}
 * for nginx and Traefik, {@code /authz/envoy/...} for Envoy's HTTP ext_authz). The request filter
 * has already authenticated the caller and, for {@code /api/roles} and {@code /api/permissions},
 * checked that it is a Castellan admin.
 */
public final class RbacApi {
  /**
   * Every denial also as a log line, at debug: the audit trail records each one durably, and a
   * console line per denial costs more than the decision under load.
   */
  private static final Logger DENIALS = LoggerFactory.getLogger("dev.castellan.rbac.denials");

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  public static final String SUBJECT_HEADER = "X-Castellan-Subject";
  private static final String ENVOY_PREFIX = "/authz/envoy";

  private final StoreRuntime runtime;
  private final Rbac rbac;
  private final AccessControl access;
  private final ClaimRoles claims;
  private final AuditLog audit;
  private final ServerMetrics metrics;
  private final Supplier<Optional<PolicyWatcher.Status>> policyStatus;
  private final Subjects subjects;

  /** {@code subjects} resolves the aliases members and {@code /api/authorize} name (ADR 0023). */
  public RbacApi(
      StoreRuntime runtime,
      Rbac rbac,
      AccessControl access,
      ClaimRoles claims,
      AuditLog audit,
      ServerMetrics metrics,
      Supplier<Optional<PolicyWatcher.Status>> policyStatus,
      Subjects subjects) {
    this.subjects = subjects;
    this.metrics = metrics;
    this.runtime = runtime;
    this.rbac = rbac;
    this.access = access;
    this.claims = claims;
    this.audit = audit;
    this.policyStatus = policyStatus;
  }

  public void register(SecuredRoutes routes) {
    routes.get("/api/roles", Right.ADMIN, this::listRoles);
    routes.post("/api/roles", Right.ADMIN, this::createRole);
    routes.get("/api/roles/{id}", Right.ADMIN, this::getRole);
    routes.delete("/api/roles/{id}", Right.ADMIN, this::deleteRole);
    routes.get("/api/roles/{id}/permissions", Right.ADMIN, this::rolePermissions);
    routes.put("/api/roles/{id}/permissions", Right.ADMIN, this::replacePermissions);
    routes.get("/api/roles/{id}/members", Right.ADMIN, this::members);
    routes.post("/api/roles/{id}/members", Right.ADMIN, this::addMember);
    routes.delete("/api/roles/{id}/members/{subject}", Right.ADMIN, this::removeMember);
    routes.get("/api/permissions", Right.ADMIN, this::catalog);
    routes.post("/api/authorize", Right.AUTHENTICATED, this::authorize);
    routes.get("/api/rbac/status", Right.ADMIN, this::status);
    routes.get("/api/rbac/policy", Right.ADMIN, this::export);
    // "/*", not a path parameter: Javalin would decode a parameter before the handler runs, and
    // answer 500 for an encoding it cannot decode (%u002e).
    for (String path : List.of("/authz/forward", ENVOY_PREFIX, ENVOY_PREFIX + "/*")) {
      Optional<String> envoy =
          path.startsWith(ENVOY_PREFIX) ? Optional.of(ENVOY_PREFIX) : Optional.empty();
      Handler handler = ctx -> forward(ctx, envoy);
      for (String method : RouteTable.METHODS) {
        routes.route(HandlerType.findOrCreate(method), path, Right.GATEWAY, handler);
      }
    }
    // Any other method (TRACE, PROPFIND, "post") would be a 404 here, which nginx turns into a
    // 500: forward-auth answers only 200, 401 or 403. The filter before this one authenticated.
    routes.before(
        ctx -> {
          String path = ctx.path();
          boolean forwardAuth =
              path.equals("/authz/forward")
                  || path.equals(ENVOY_PREFIX)
                  || path.startsWith(ENVOY_PREFIX + "/");
          if (forwardAuth && !RouteTable.METHODS.contains(ctx.method().name())) {
            Principal caller = Callers.of(ctx);
            String method = ctx.method().name();
            GatewayRequest.Refused refused =
                new GatewayRequest.Refused(
                    method, path, RouteTable.refusedMethod(method).orElse("unknown method"));
            deny(ctx, ClaimRoles.subject(caller), claims.roles(caller), refused);
            ctx.skipRemainingHandlers();
          }
        });
  }

  /**
   * Makes {@code server} answer 403, audited, where Jetty would answer a forward-auth request 400
   * for a target it cannot parse (see {@link UnparsableTargets}).
   */
  public void answerUnparsableTargets(org.eclipse.jetty.server.Server server) {
    // Before start, Jetty has no error handler yet and would make a default one: the same as this.
    org.eclipse.jetty.server.Request.Handler fallback =
        Optional.ofNullable(server.getErrorHandler())
            .orElseGet(org.eclipse.jetty.server.handler.ErrorHandler::new);
    server.setErrorHandler(
        new UnparsableTargets(
            fallback,
            (target, client, why) -> {
              String resource = RequestTarget.printable(target, 200);
              metrics.decision(ServerMetrics.Api.FORWARD_AUTH, false);
              DENIALS.debug("RBAC denial: resource={} reason={}", resource, why);
              audit.record(
                  new AuditEvent(
                      java.time.Instant.now(),
                      AuditEvent.Kind.DECISION,
                      ServerMetrics.Api.FORWARD_AUTH.label(),
                      "",
                      "",
                      List.of(),
                      "",
                      resource,
                      AuditEvent.Outcome.DENY,
                      why,
                      access.systemStoreId(),
                      0,
                      "",
                      client));
            },
            "/authz/forward",
            ENVOY_PREFIX + "/"));
  }

  // ------------------------------------------------------------------ roles

  private void listRoles(Context ctx) {
    ObjectNode out = NODES.objectNode();
    ArrayNode list = out.putArray("roles");
    for (Role role : rbac.roles()) {
      list.add(roleJson(role));
    }
    json(ctx, out);
  }

  private void getRole(Context ctx) {
    json(ctx, roleJson(rbac.role(PathParams.param(ctx, "id"))));
  }

  private void createRole(Context ctx) {
    Body body = Body.parse(ctx.body(), Set.of("name", "description"));
    Role role = rbac.createRole(body.requiredString("name"), body.string("description", 512));
    change(ctx, "role-create", "create", "role:" + role.id(), "");
    json(ctx.status(201), roleJson(role));
  }

  private void deleteRole(Context ctx) {
    String id = PathParams.param(ctx, "id");
    rbac.deleteRole(id);
    change(ctx, "role-delete", "delete", "role:" + id, "");
    ctx.status(204);
  }

  private void rolePermissions(Context ctx) {
    String id = PathParams.param(ctx, "id");
    json(ctx, permissionsJson(id, rbac.permissions(id)));
  }

  private void replacePermissions(Context ctx) {
    String id = PathParams.param(ctx, "id");
    Body body = Body.parse(ctx.body(), Set.of("permission_ids"));
    if (!body.has("permission_ids")) {
      throw Body.invalid("'permission_ids' is required (an array of ids; [] removes all)");
    }
    List<Integer> ids = new ArrayList<>();
    for (JsonNode node : body.array("permission_ids", 10_000)) {
      if (!node.isIntegralNumber() || !node.canConvertToInt()) {
        throw Body.invalid("'permission_ids' must hold whole numbers, got " + node);
      }
      ids.add(node.intValue());
    }
    List<Permission> result = rbac.replacePermissions(id, ids);
    change(ctx, "role-permissions", "replace " + result.size() + " permissions", "role:" + id, "");
    json(ctx, permissionsJson(id, result));
  }

  private void members(Context ctx) {
    String id = PathParams.param(ctx, "id");
    int size = pageSize(ctx);
    String token = Optional.ofNullable(ctx.queryParam("continuation_token")).orElse("");
    Page<String> page = rbac.members(id, new PageRequest(size, token));
    ObjectNode out = NODES.objectNode();
    ArrayNode list = out.putArray("members");
    page.items().forEach(list::add);
    // Beside the canonical subjects, who they are: {"subject", "user_name"} for directory users.
    ArrayNode details = out.putArray("member_details");
    for (String member : page.items()) {
      ObjectNode item = details.addObject();
      item.put("subject", member);
      subjects.userName(member).ifPresent(name -> item.put("user_name", name));
    }
    out.put("continuation_token", page.continuationToken());
    json(ctx, out);
  }

  private void addMember(Context ctx) {
    String id = PathParams.param(ctx, "id");
    Body body = Body.parse(ctx.body(), Set.of("subject"));
    String given = body.requiredString("subject");
    rbac.role(id); // an unknown role provisions nobody
    String subject = given.startsWith("group:") ? given : subjects.resolve(given, callerId(ctx));
    rbac.addMember(id, subject);
    change(
        ctx,
        "role-member-add",
        "add " + subject + (subject.equals(given) ? "" : " (given as " + given + ")"),
        "role:" + id,
        subject);
    ctx.status(204);
  }

  private void removeMember(Context ctx) {
    String id = PathParams.param(ctx, "id");
    // The router has decoded the path once; a second decoding would turn the subject
    // user:bob%20smith (sent as user:bob%2520smith) into 'user:bob smith'.
    String given = PathParams.param(ctx, "subject");
    String subject = given.startsWith("group:") ? given : subjects.find(given);
    if (!rbac.removeMember(id, subject)) {
      throw new CastellanException(
          ErrorCode.NOT_FOUND, subject + " is not a member of role '" + id + "'");
    }
    change(ctx, "role-member-remove", "remove " + subject, "role:" + id, subject);
    ctx.status(204);
  }

  private void catalog(Context ctx) {
    ObjectNode out = NODES.objectNode();
    ArrayNode list = out.putArray("permissions");
    for (Permission p : rbac.catalog().all()) {
      list.add(permissionJson(p));
    }
    ObjectNode resources = out.putObject("resources");
    rbac.catalog()
        .resources()
        .forEach(
            (resource, operations) -> {
              ArrayNode ops = resources.putArray(resource);
              operations.forEach(ops::add);
            });
    out.put("default_resource", rbac.defaultResource());
    json(ctx, out);
  }

  // ------------------------------------------------------------------ decisions

  /**
   * {@code {"permission", "subject"?, "resource"?, "context"?, "roles"?}}: the caller asks about
   * itself (roles from its token), or a Castellan admin asks about anyone (roles from the body).
   */
  private void authorize(Context ctx) {
    Body body =
        Body.parse(
            ctx.body(),
            Set.of("subject", "permission", "resource", "context", "roles", "consistency_token"));
    Principal caller = Callers.of(ctx);
    String self = ClaimRoles.subject(caller);
    String subject = body.string("subject", 300);
    List<String> roles = claims.roles(caller);
    List<String> groups = claims.groups(caller);
    List<String> groupIds = ClaimRoles.groupIds(caller);
    if (!subject.isEmpty() && !subject.equals(self) || body.has("roles")) {
      if (!access.isAdmin(runtime, caller)) {
        throw new CastellanException(
            ErrorCode.FORBIDDEN,
            caller.id()
                + " may only ask about itself; asking about another subject, or with"
                + " other roles, needs a Castellan administrator");
      }
      roles = new ArrayList<>();
      for (JsonNode role : body.array("roles", Rbac.MAX_TOKEN_ROLES)) {
        if (!role.isTextual()) {
          throw Body.invalid("'roles' must hold strings");
        }
        roles.add(role.asText());
      }
      groups = List.of();
      groupIds = List.of();
      if (!subject.isEmpty()) {
        // Never provisions: an alias of no one is a subject without rights (deny).
        self = subjects.find(subject);
      }
    }
    Permission permission = rbac.permission(body.requiredString("permission"));
    String resource = body.string("resource", 512);
    Decision decision =
        rbac.authorize(
            self,
            roles,
            groups,
            groupIds,
            permission,
            body.context("context"),
            body.string("consistency_token", 256));
    record(ctx, ServerMetrics.Api.AUTHORIZE, decision, resource);
    ObjectNode out = NODES.objectNode();
    out.put("allowed", decision.allowed());
    out.put("reason", decision.reason());
    out.put("subject", decision.subject());
    ArrayNode list = out.putArray("roles");
    decision.roles().forEach(list::add);
    out.put("permission", permission.name());
    json(ctx, out);
  }

  /**
   * Gateway forward-auth: the proxy forwards the end user's {@code Authorization} header and the
   * original request (nginx and Traefik in {@code X-Forwarded-Method} and {@code X-Forwarded-Uri};
   * Envoy as this request's own method and the target after {@code /authz/envoy}). 200 with the
   * subject in {@value #SUBJECT_HEADER}, or 403; the filter has answered 401 already. Nothing else:
   * nginx turns any other status into a 500. A request {@link GatewayRequest} refuses is a 403 with
   * the reason, audited like any denial.
   */
  private void forward(Context ctx, Optional<String> envoyPrefix) {
    Principal caller = Callers.of(ctx);
    String subject = ClaimRoles.subject(caller);
    switch (GatewayRequest.read(ctx, envoyPrefix)) {
      case GatewayRequest.Refused refused -> deny(ctx, subject, claims.roles(caller), refused);
      case GatewayRequest.Original request -> decide(ctx, caller, subject, request);
    }
  }

  private void decide(
      Context ctx, Principal caller, String subject, GatewayRequest.Original request) {
    Optional<RbacPolicy.Route> route = rbac.routes().match(request.method(), request.target());
    if (route.isEmpty()) {
      deny(
          ctx,
          subject,
          claims.roles(caller),
          request.resource(),
          "no route maps " + request.resource());
      return;
    }
    Permission permission = rbac.permission(route.get().permission());
    Decision decision =
        rbac.authorize(
            subject,
            claims.roles(caller),
            claims.groups(caller),
            ClaimRoles.groupIds(caller),
            permission,
            Map.of(),
            "");
    record(ctx, ServerMetrics.Api.FORWARD_AUTH, decision, request.resource());
    if (!decision.allowed()) {
      ApiErrors.write(ctx, 403, ErrorCode.FORBIDDEN.wireName(), decision.reason());
      return;
    }
    ctx.header(SUBJECT_HEADER, subject);
    ObjectNode out = NODES.objectNode();
    out.put("allowed", true);
    out.put("subject", subject);
    out.put("permission", permission.name());
    json(ctx, out);
  }

  /** A forward-auth request refused before any route or permission applied. */
  private void deny(
      Context ctx, String subject, List<String> roles, GatewayRequest.Refused refused) {
    deny(ctx, subject, roles, refused.resource(), "refused request: " + refused.reason());
  }

  /** A forward-auth denial made before any permission applied (a refused or unmapped request). */
  private void deny(Context ctx, String subject, List<String> roles, String resource, String why) {
    record(ctx, ServerMetrics.Api.FORWARD_AUTH, subject, roles, "", resource, false, why);
    ApiErrors.write(ctx, 403, ErrorCode.FORBIDDEN.wireName(), why);
  }

  private void record(Context ctx, ServerMetrics.Api api, Decision decision, String resource) {
    record(
        ctx,
        api,
        decision.subject(),
        decision.roles(),
        decision.permission().name(),
        resource,
        decision.allowed(),
        decision.reason());
  }

  /** Every RBAC decision: counted, audited, and logged at debug when denied. */
  private void record(
      Context ctx,
      ServerMetrics.Api api,
      String subject,
      List<String> roles,
      String permission,
      String resource,
      boolean allowed,
      String reason) {
    metrics.decision(api, allowed);
    if (!allowed) {
      DENIALS.debug(
          "RBAC denial: subject={} roles={} permission={} resource={} reason={}",
          subject,
          roles,
          permission,
          resource,
          reason);
    }
    audit.record(
        RequestAudit.event(
            ctx,
            AuditEvent.Kind.DECISION,
            api.label(),
            subject,
            roles,
            permission,
            resource,
            allowed ? AuditEvent.Outcome.ALLOW : AuditEvent.Outcome.DENY,
            reason,
            access.systemStoreId(),
            0));
  }

  // ------------------------------------------------------------------ policy

  private void status(Context ctx) {
    ObjectNode out = NODES.objectNode();
    Optional<PolicyWatcher.Status> status = policyStatus.get();
    out.put("policy_file", status.map(PolicyWatcher.Status::file).orElse(""));
    status.ifPresent(
        s -> {
          out.put("loaded", s.loaded());
          out.put("sha256", s.sha256());
          out.put("loaded_at", s.loadedAt() == null ? "" : s.loadedAt().toString());
          out.put("error", s.error());
          out.put("error_at", s.errorAt() == null ? "" : s.errorAt().toString());
        });
    out.put("roles", rbac.roles().size());
    out.put("routes", rbac.policy().routes().size());
    out.put("permissions", rbac.catalog().all().size());
    json(ctx, out);
  }

  /** The policy in force with every role's permissions as they are now, as YAML. */
  private void export(Context ctx) {
    RbacPolicy current = rbac.policy();
    Map<String, List<String>> roles = new java.util.LinkedHashMap<>();
    // What export writes, --rbac-file reads back as the same state: system roles included.
    java.util.Set<String> system = new java.util.HashSet<>();
    for (Role role : rbac.roles()) {
      if (role.system()) {
        system.add(role.id());
      }
      List<String> names = new ArrayList<>();
      for (Permission p : rbac.permissions(role.id())) {
        names.add(
            p.resource().equals(current.defaultResource())
                ? p.operation().toLowerCase(java.util.Locale.ROOT)
                : p.name());
      }
      roles.put(role.id(), names);
    }
    String yaml =
        new RbacPolicy(
                current.defaultResource(), current.permissions(), roles, current.routes(), system)
            .toYaml();
    ctx.contentType("application/yaml").result(yaml);
  }

  // ------------------------------------------------------------------ helpers

  private void change(Context ctx, String api, String action, String resource, String subject) {
    audit.record(
        RequestAudit.change(ctx, api, subject, action, resource, "", access.systemStoreId(), 0));
  }

  private static int pageSize(Context ctx) {
    String value = ctx.queryParam("page_size");
    if (value == null || value.isEmpty()) {
      return 100;
    }
    try {
      int size = Integer.parseInt(value);
      if (size >= 1 && size <= PageRequest.MAX_PAGE_SIZE) {
        return size;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw Body.invalid("'page_size' must be a whole number from 1 to " + PageRequest.MAX_PAGE_SIZE);
  }

  private static ObjectNode roleJson(Role role) {
    ObjectNode out = NODES.objectNode();
    out.put("id", role.id());
    out.put("name", role.name());
    out.put("description", role.description());
    out.put("system", role.system());
    out.put("source", role.source());
    out.put("permission_count", role.permissionCount());
    return out;
  }

  private ObjectNode permissionsJson(String roleId, List<Permission> permissions) {
    ObjectNode out = NODES.objectNode();
    out.put("role_id", roleId);
    out.put("permission_count", permissions.size());
    out.put("total", rbac.catalog().all().size());
    ArrayNode list = out.putArray("permissions");
    permissions.forEach(p -> list.add(permissionJson(p)));
    return out;
  }

  private static ObjectNode permissionJson(Permission p) {
    ObjectNode out = NODES.objectNode();
    out.put("id", p.id());
    out.put("name", p.name());
    out.put("resource", p.resource());
    out.put("operation", p.operation());
    return out;
  }

  private static void json(Context ctx, ObjectNode body) {
    ctx.contentType("application/json").result(body.toString());
  }

  /** The caller's principal id, for the audit entry of a user a grant's alias provisions. */
  private static String callerId(Context ctx) {
    Principal caller = ctx.attribute("principal");
    return caller == null ? "" : caller.id();
  }
}
