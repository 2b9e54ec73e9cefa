package dev.castellan.server.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.server.audit.RequestAudit;
import dev.castellan.server.directory.DirectoryRoles;
import dev.castellan.server.directory.PendingIdentities;
import dev.castellan.server.rbac.DirectorySubjects;
import dev.castellan.server.rbac.Rbac;
import dev.castellan.store.DirectoryGroup;
import dev.castellan.store.DirectoryPage;
import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryQuery.Attribute;
import dev.castellan.store.DirectoryQuery.Operator;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.Identity;
import dev.castellan.store.PageRequest;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The directory over HTTP for people, not IdPs: {@code GET /api/users} and {@code /api/groups}
 * (search and paging), a user with its groups, effective roles and linked identities, a group with
 * its members and roles. Administrators and auditors read it, since who is in which group and holds
 * which role is what an access review audits (ADR 0011's table); SCIM writes users and groups, and
 * administrators link identities to users ({@code /api/users/{id}/identities}, ADR 0024).
 */
public final class DirectoryApi {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Longest search text and exact-match value. */
  static final int MAX_QUERY = 256;

  private static final int DEFAULT_PAGE = 100;
  private static final String TOKEN_PREFIX = "d1.";

  private final DirectoryStore directory;
  private final Rbac rbac;
  private final PendingIdentities pending;
  private final AuditLog audit;

  public DirectoryApi(DirectoryRoles roles, Rbac rbac, PendingIdentities pending, AuditLog audit) {
    this.directory = roles.directory();
    this.rbac = rbac;
    this.pending = pending;
    this.audit = audit;
  }

  public void register(SecuredRoutes routes) {
    routes.get("/api/users", Right.AUDITOR, this::listUsers);
    routes.get("/api/users/{id}", Right.AUDITOR, this::getUser);
    routes.get("/api/users/{id}/identities", Right.AUDITOR, this::listIdentities);
    routes.post("/api/users/{id}/identities", Right.ADMIN, this::linkIdentity);
    routes.delete("/api/users/{id}/identities", Right.ADMIN, this::unlinkIdentity);
    routes.get("/api/groups", Right.AUDITOR, this::listGroups);
    routes.get("/api/groups/{id}", Right.AUDITOR, this::getGroup);
  }

  // ------------------------------------------------------------------ users

  /**
   * {@code ?q=} matches a userName, displayName or email containing it (ignoring case); {@code
   * user_name=}, {@code email=} and {@code external_id=} match exactly.
   */
  private void listUsers(Context ctx) {
    Map<String, String> params =
        params(
            ctx,
            Set.of("q", "user_name", "email", "external_id", "page_size", "continuation_token"));
    List<DirectoryQuery> terms = new ArrayList<>();
    String q = params.getOrDefault("q", "");
    if (!q.isEmpty()) {
      terms.add(
          or(
              new DirectoryQuery.Compare(Attribute.USER_NAME, Operator.CO, q),
              new DirectoryQuery.Compare(Attribute.DISPLAY_NAME, Operator.CO, q),
              new DirectoryQuery.Compare(Attribute.EMAIL, Operator.CO, q)));
    }
    exact(params, "user_name", Attribute.USER_NAME, terms);
    exact(params, "email", Attribute.EMAIL, terms);
    exact(params, "external_id", Attribute.EXTERNAL_ID, terms);
    Paging paging = paging(ctx, params, "users");
    DirectoryPage<DirectoryUser> page =
        directory.findUsers(and(terms), paging.start(), paging.size());
    ObjectNode out = NODES.objectNode();
    ArrayNode list = out.putArray("users");
    page.items().forEach(u -> list.add(user(u)));
    out.put("total", page.totalResults());
    out.put("continuation_token", paging.next(page.items().size(), page.totalResults()));
    json(ctx, out);
  }

  /** A user with its groups and its roles, each role with the subjects it is held through. */
  private void getUser(Context ctx) {
    String id = PathParams.param(ctx, "id");
    DirectoryUser user = directory.user(id).orElseThrow(() -> notFound("user", id));
    ObjectNode out = user(user);
    Map<String, List<String>> roles = new LinkedHashMap<>();
    String self = DirectorySubjects.ofId(user.id());
    for (String role : rbac.memberships(self)) {
      roles.computeIfAbsent(role, r -> new ArrayList<>()).add(self);
    }
    ArrayNode groups = out.putArray("groups");
    for (String groupId : directory.groupsOf(id)) {
      ObjectNode group = groups.addObject().put("id", groupId);
      directory.group(groupId).ifPresent(g -> group.put("display_name", g.displayName()));
      String subject = DirectorySubjects.group(groupId);
      for (String role : rbac.memberships(subject)) {
        roles.computeIfAbsent(role, r -> new ArrayList<>()).add(subject);
      }
    }
    ArrayNode list = out.putArray("roles");
    roles.forEach(
        (role, via) -> {
          ArrayNode through = list.addObject().put("id", role).putArray("via");
          via.forEach(through::add);
        });
    ArrayNode identities = out.putArray("identities");
    directory.identities(id).forEach(i -> identities.add(identity(i)));
    json(ctx, out);
  }

  // ------------------------------------------------------------------ identity links

  private void listIdentities(Context ctx) {
    String id = PathParams.param(ctx, "id");
    params(ctx, Set.of());
    if (directory.user(id).isEmpty()) {
      throw notFound("user", id);
    }
    ObjectNode out = NODES.objectNode();
    ArrayNode list = out.putArray("identities");
    directory.identities(id).forEach(i -> list.add(identity(i)));
    json(ctx, out);
  }

  /**
   * Links an identity to a user (201; 200 when it was linked to that user already; 409 {@code
   * uniqueness_conflict} when another user has it), then writes the rows imports held for it.
   */
  private void linkIdentity(Context ctx) {
    String id = PathParams.param(ctx, "id");
    Body body = Body.parse(ctx.body(), Set.of("kind", "namespace", "value"));
    Identity identity =
        new Identity(
            body.requiredString("kind"),
            body.string("namespace", DirectoryStore.MAX_NAMESPACE),
            body.requiredString("value"));
    if (directory.user(id).isEmpty()) {
      throw notFound("user", id);
    }
    boolean linkedAlready = directory.identities(id).contains(identity);
    directory.link(id, identity);
    int applied = pending.applyFor(id);
    if (!linkedAlready) {
      audit.record(
          RequestAudit.change(
              ctx,
              "directory-identity",
              PendingIdentities.subject(id),
              "directory.identity.linked",
              PendingIdentities.describe(identity),
              applied == 0 ? "" : applied + " held rows applied",
              "",
              0));
    }
    ObjectNode out = identity(identity);
    out.put("applied", applied);
    ctx.status(linkedAlready ? 200 : 201);
    json(ctx, out);
  }

  private void unlinkIdentity(Context ctx) {
    String id = PathParams.param(ctx, "id");
    Map<String, String> params = params(ctx, Set.of("kind", "namespace", "value"));
    Identity identity =
        new Identity(
            params.getOrDefault("kind", ""),
            params.getOrDefault("namespace", ""),
            params.getOrDefault("value", ""));
    if (!directory.unlink(id, identity)) {
      throw new CastellanException(
          ErrorCode.NOT_FOUND,
          "the identity "
              + abbreviate(PendingIdentities.describe(identity))
              + " is not linked to directory user '"
              + abbreviate(id)
              + "'");
    }
    audit.record(
        RequestAudit.change(
            ctx,
            "directory-identity",
            PendingIdentities.subject(id),
            "directory.identity.unlinked",
            PendingIdentities.describe(identity),
            "",
            "",
            0));
    ctx.status(204);
  }

  private static ObjectNode identity(Identity identity) {
    return NODES
        .objectNode()
        .put("kind", identity.kind())
        .put("namespace", identity.namespace())
        .put("value", identity.value());
  }

  private static ObjectNode user(DirectoryUser user) {
    ObjectNode out = NODES.objectNode();
    out.put("id", user.id());
    out.put("user_name", user.userName());
    out.put("display_name", user.displayName());
    out.put("external_id", user.externalId());
    out.put("active", user.active());
    ArrayNode emails = out.putArray("emails");
    user.emails().forEach(emails::add);
    // The one subject of the person (ADR 0023); "subjects" keeps the shape of earlier releases.
    out.put("subject", DirectorySubjects.ofId(user.id()));
    out.putArray("subjects").add(DirectorySubjects.ofId(user.id()));
    out.put("version", user.version());
    out.put("created", user.created().toString());
    out.put("last_modified", user.lastModified().toString());
    return out;
  }

  // ------------------------------------------------------------------ groups

  /**
   * {@code ?q=} matches a displayName containing it (ignoring case); {@code display_name=}
   * (ignoring case, as SCIM compares it) and {@code external_id=} match exactly.
   */
  private void listGroups(Context ctx) {
    Map<String, String> params =
        params(ctx, Set.of("q", "display_name", "external_id", "page_size", "continuation_token"));
    List<DirectoryQuery> terms = new ArrayList<>();
    String q = params.getOrDefault("q", "");
    if (!q.isEmpty()) {
      terms.add(new DirectoryQuery.Compare(Attribute.DISPLAY_NAME, Operator.CO, q));
    }
    exact(params, "display_name", Attribute.DISPLAY_NAME, terms);
    exact(params, "external_id", Attribute.EXTERNAL_ID, terms);
    Paging paging = paging(ctx, params, "groups");
    DirectoryPage<DirectoryGroup> page =
        directory.findGroups(and(terms), paging.start(), paging.size());
    ObjectNode out = NODES.objectNode();
    ArrayNode list = out.putArray("groups");
    page.items().forEach(g -> list.add(group(g)));
    out.put("total", page.totalResults());
    out.put("continuation_token", paging.next(page.items().size(), page.totalResults()));
    json(ctx, out);
  }

  /** A group, the roles bound to it, and a page of its members. */
  private void getGroup(Context ctx) {
    String id = PathParams.param(ctx, "id");
    Map<String, String> params = params(ctx, Set.of("page_size", "continuation_token"));
    DirectoryGroup group = directory.group(id).orElseThrow(() -> notFound("group", id));
    ObjectNode out = group(group);
    ArrayNode roles = out.putArray("roles");
    rbac.memberships(DirectorySubjects.group(id)).forEach(roles::add);
    Paging paging = paging(ctx, params, "members:" + id);
    List<String> members = group.members();
    int from = Math.min(members.size(), paging.start() - 1);
    List<String> shown = members.subList(from, Math.min(members.size(), from + paging.size()));
    ArrayNode list = out.putArray("members");
    for (String member : shown) {
      ObjectNode item = list.addObject().put("id", member);
      directory.user(member).ifPresent(u -> item.put("user_name", u.userName()));
    }
    out.put("continuation_token", paging.next(shown.size(), members.size()));
    json(ctx, out);
  }

  private static ObjectNode group(DirectoryGroup group) {
    ObjectNode out = NODES.objectNode();
    out.put("id", group.id());
    out.put("display_name", group.displayName());
    out.put("external_id", group.externalId());
    out.put("subject", DirectorySubjects.group(group.id()));
    out.put("member_count", group.members().size());
    out.put("version", group.version());
    out.put("created", group.created().toString());
    out.put("last_modified", group.lastModified().toString());
    return out;
  }

  // ------------------------------------------------------------------ query parameters

  /**
   * The {@code page_size} parameter, 1 to {@link PageRequest#MAX_PAGE_SIZE}, 100 when absent: one
   * rule for every listing of the admin API.
   */
  static int pageSize(Map<String, String> params) {
    String sizeText = params.getOrDefault("page_size", "");
    if (sizeText.isEmpty()) {
      return DEFAULT_PAGE;
    }
    int size;
    try {
      size = Integer.parseInt(sizeText);
    } catch (NumberFormatException e) {
      size = 0;
    }
    if (size < 1 || size > PageRequest.MAX_PAGE_SIZE) {
      throw Body.invalid(
          "'page_size' must be a whole number from 1 to " + PageRequest.MAX_PAGE_SIZE);
    }
    return size;
  }

  /**
   * The request's query parameters, each at most once, known, within {@link #MAX_QUERY} characters
   * and free of control characters; anything else is 400 {@code validation_error}.
   */
  static Map<String, String> params(Context ctx, Set<String> known) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> entry : ctx.queryParamMap().entrySet()) {
      String name = entry.getKey();
      if (!known.contains(name)) {
        throw Body.invalid(
            "unknown query parameter '"
                + abbreviate(name)
                + "'; this route takes "
                + new java.util.TreeSet<>(known));
      }
      if (entry.getValue().size() != 1) {
        throw Body.invalid("'" + name + "' may be given once");
      }
      String value = entry.getValue().get(0);
      if (value.length() > MAX_QUERY) {
        throw Body.invalid("'" + name + "' is longer than " + MAX_QUERY + " characters");
      }
      if (value.chars().anyMatch(Character::isISOControl) || !Body.isValidUnicode(value)) {
        throw Body.invalid("'" + name + "' holds control characters or is not valid Unicode");
      }
      out.put(name, value);
    }
    return out;
  }

  private static void exact(
      Map<String, String> params, String name, Attribute attribute, List<DirectoryQuery> terms) {
    String value = params.getOrDefault(name, "");
    if (!value.isEmpty()) {
      terms.add(DirectoryQuery.eq(attribute, value));
    }
  }

  private static DirectoryQuery and(List<DirectoryQuery> terms) {
    DirectoryQuery out = DirectoryQuery.ALL;
    for (DirectoryQuery term : terms) {
      out = out == DirectoryQuery.ALL ? term : new DirectoryQuery.And(out, term);
    }
    return out;
  }

  private static DirectoryQuery or(DirectoryQuery first, DirectoryQuery... more) {
    DirectoryQuery out = first;
    for (DirectoryQuery term : more) {
      out = new DirectoryQuery.Or(out, term);
    }
    return out;
  }

  /**
   * Where a page starts and how long it is. The continuation token is opaque to clients; it holds
   * the next position and a fingerprint of the listing and its filters, so a token is refused
   * ({@code invalid_continuation_token}) by another listing or with other filters.
   */
  private record Paging(int start, int size, String fingerprint) {
    String next(int shown, int total) {
      int next = start + shown;
      if (shown == 0 || next > total) {
        return "";
      }
      String raw = fingerprint + "\n" + next;
      return TOKEN_PREFIX
          + Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }
  }

  private static Paging paging(Context ctx, Map<String, String> params, String listing) {
    int size = pageSize(params);
    Map<String, String> filters = new java.util.TreeMap<>(params);
    filters.remove("page_size");
    filters.remove("continuation_token");
    String fingerprint = listing + ":" + Integer.toHexString((listing + "\n" + filters).hashCode());
    String token = params.getOrDefault("continuation_token", "");
    int start = 1;
    if (!token.isEmpty()) {
      start = decode(token, fingerprint);
    }
    return new Paging(start, size, fingerprint);
  }

  private static int decode(String token, String fingerprint) {
    try {
      if (token.startsWith(TOKEN_PREFIX)) {
        String raw =
            new String(
                Base64.getUrlDecoder().decode(token.substring(TOKEN_PREFIX.length())),
                StandardCharsets.UTF_8);
        int newline = raw.lastIndexOf('\n');
        if (newline > 0 && raw.substring(0, newline).equals(fingerprint)) {
          int start = Integer.parseInt(raw.substring(newline + 1));
          if (start >= 1) {
            return start;
          }
        }
      }
    } catch (IllegalArgumentException e) {
      // Reported below, whatever was wrong with it.
    }
    throw new CastellanException(
        ErrorCode.INVALID_CONTINUATION_TOKEN,
        "continuation_token is not valid for this listing and these filters");
  }

  private static CastellanException notFound(String what, String id) {
    return new CastellanException(
        ErrorCode.NOT_FOUND, "no directory " + what + " '" + abbreviate(id) + "'");
  }

  private static String abbreviate(String text) {
    return text.length() > 80 ? text.substring(0, 80) + "..." : text;
  }

  private static void json(Context ctx, ObjectNode body) {
    ctx.contentType("application/json").result(body.toString());
  }
}
