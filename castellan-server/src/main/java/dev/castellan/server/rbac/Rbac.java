package dev.castellan.server.rbac;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.Engine;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.auth.SubjectIds;
import dev.castellan.server.auth.Subjects;
import dev.castellan.store.ConsistencyToken;
import dev.castellan.store.DocumentStore;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleStore;
import dev.castellan.store.TupleWrite;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Roles, permissions and decisions over the engine (ADR 0007). Grants and members are tuples in the
 * system store; a role's name and description are a document beside them. Every decision is one
 * engine check of {@code permission:<id>#granted}, with the roles and groups a token carries as
 * contextual tuples.
 */
public final class Rbac {
  static final String ROLE_DOCUMENT = "rbac-role";
  private static final String STATE_DOCUMENT = "rbac";
  private static final String KNOWN_PERMISSIONS = "known-permissions";

  /** What RBAC's consistency tokens name instead of the system store's id. */
  private static final String TOKEN_SCOPE = "castellan-rbac";

  /** Most roles, and most groups, one token may carry; more is refused rather than cut. */
  public static final int MAX_TOKEN_ROLES = 50;

  private static final Pattern SLUG = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final StoreRuntime runtime;
  private final TupleStore store;
  private final DocumentStore documents;
  private final String systemStoreId;
  private final boolean caseInsensitiveClaims;
  private volatile RbacPolicy policy = RbacPolicy.EMPTY;
  private volatile RouteTable routes = new RouteTable(List.of());
  private volatile PermissionCatalog catalog = PermissionCatalog.defaults();

  /**
   * How long a node decides with its copy of the role names: a role another node makes is matched
   * by name within this; by id at once.
   */
  private static final long NAMES_NANOS = 5_000_000_000L;

  private volatile RoleNames names = RoleNames.STALE;

  /** Every role's name by id, as read at {@code loadedAt} ({@link System#nanoTime()}). */
  private record RoleNames(Map<String, String> byId, long loadedAt, boolean stale) {
    static final RoleNames STALE = new RoleNames(Map.of(), 0, true);
  }

  private Rbac(StoreRuntime runtime, String systemStoreId, boolean caseInsensitiveClaims) {
    this.runtime = runtime;
    this.store = runtime.store();
    this.documents = runtime.store();
    this.systemStoreId = systemStoreId;
    this.caseInsensitiveClaims = caseInsensitiveClaims;
  }

  /**
   * Opens RBAC over the system store, creating the system roles on the first start; role and group
   * claim values must name a role or group exactly.
   */
  public static Rbac open(StoreRuntime runtime, String systemStoreId) {
    return open(runtime, systemStoreId, false);
  }

  /**
   * Opens RBAC over the system store, creating the system roles on the first start.
   *
   * @param caseInsensitiveClaims role and group claim values are lower-cased before they are
   *     matched ({@code ADMIN} is the role {@code admin}); otherwise they match exactly
   */
  public static Rbac open(
      StoreRuntime runtime, String systemStoreId, boolean caseInsensitiveClaims) {
    Rbac rbac = new Rbac(runtime, systemStoreId, caseInsensitiveClaims);
    rbac.createSystemRoles();
    rbac.grantNewPermissionsToAdmin(Set.of());
    return rbac;
  }

  // ------------------------------------------------------------------ catalog and policy

  public PermissionCatalog catalog() {
    return catalog;
  }

  /** The policy in force: the last good policy file, or the empty policy. */
  public RbacPolicy policy() {
    return policy;
  }

  /** The policy's routes, for gateway enforcement; built once per policy. */
  public RouteTable routes() {
    return routes;
  }

  /** The resource a bare operation ({@code run}) belongs to. */
  public String defaultResource() {
    return policy.defaultResource();
  }

  public Permission permission(String reference) {
    return catalog.resolve(reference, policy.defaultResource());
  }

  /**
   * Makes {@code next} the policy in force: its permissions join the catalog, each role it names
   * gets exactly the permissions it lists, and roles an earlier file made but this one no longer
   * names are deleted. A system role (admin, developer, viewer) is replaced only when the file
   * marks it {@code replace_system_role: true}: seed 000's file names admin and viewer for its own
   * application's roles, and taking it as written dropped Admin from every permission but five.
   * Everything is checked before anything changes.
   *
   * @throws CastellanException {@code VALIDATION_ERROR} naming the first problem
   */
  public synchronized void apply(RbacPolicy next) {
    PermissionCatalog nextCatalog = PermissionCatalog.defaults().with(next.permissions());
    Map<String, Set<Integer>> grants = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, List<String>> role : next.roles().entrySet()) {
      String id = slug(role.getKey());
      if (grants.containsKey(id)) {
        throw invalid("roles '" + role.getKey() + "' and another name the same role '" + id + "'");
      }
      Set<Integer> ids = new TreeSet<>();
      for (String reference : role.getValue()) {
        ids.add(resolveIn(nextCatalog, next, reference, "role '" + role.getKey() + "'").id());
      }
      grants.put(id, ids);
    }
    for (RbacPolicy.Route route : next.routes()) {
      resolveIn(nextCatalog, next, route.permission(), "route " + route);
    }
    for (String name : next.roles().keySet()) {
      String id = slug(name);
      if (!next.replacingSystemRoles().contains(name)
          && document(id).map(json -> role(id, json).system()).orElse(false)) {
        // Every role of the policy got its grants in the loop above.
        throw systemRoleReplaced(
            name, id, Objects.requireNonNull(grants.get(id)), next.roles().get(name));
      }
    }
    Set<Integer> before = new HashSet<>();
    catalog.all().forEach(p -> before.add(p.id()));
    this.catalog = nextCatalog;
    for (Map.Entry<String, List<String>> role : next.roles().entrySet()) {
      String id = slug(role.getKey());
      if (document(id).isEmpty()) {
        saveDocument(id, role.getKey(), "Defined in the policy file", false, "file", true);
      }
      setPermissions(id, Objects.requireNonNull(grants.get(id)));
    }
    for (Role role : roles()) {
      if (role.source().equals("file") && !grants.containsKey(role.id())) {
        deleteRoleData(role.id());
      }
    }
    this.routes = new RouteTable(next.routes());
    this.policy = next;
    if (!grants.containsKey("admin")) {
      grantNewPermissionsToAdmin(before);
    }
    runtime.afterWrite(systemStoreId);
  }

  /** Why a file may not silently replace a system role, with what it would drop and the fix. */
  private CastellanException systemRoleReplaced(
      String name, String id, Set<Integer> wanted, List<String> references) {
    Set<Integer> current = grantedIds(id);
    List<String> dropped = new ArrayList<>();
    for (int permission : current) {
      if (!wanted.contains(permission)) {
        dropped.add(catalog.byId(permission).map(Permission::name).orElse("#" + permission));
      }
    }
    int shown = Math.min(dropped.size(), 12);
    String droppedText =
        dropped.isEmpty()
            ? "dropping none of them"
            : "dropping "
                + dropped.size()
                + ": "
                + String.join(", ", dropped.subList(0, shown))
                + (dropped.size() > shown ? " and " + (dropped.size() - shown) + " more" : "");
    return invalid(
        "roles."
            + name
            + ": '"
            + id
            + "' is a system role; this file would replace its "
            + current.size()
            + " permissions with "
            + wanted.size()
            + ", "
            + droppedText
            + ". To replace it on purpose write '"
            + name
            + ": {replace_system_role: true, permissions: "
            + references
            + "}'; to keep it, give the file's role another name (e.g. app-"
            + id
            + ")");
  }

  private static Permission resolveIn(
      PermissionCatalog catalog, RbacPolicy policy, String reference, String where) {
    return catalog
        .find(reference, policy.defaultResource())
        .orElseThrow(
            () ->
                invalid(
                    where
                        + ": unknown permission '"
                        + reference
                        + "' (not in the catalog, and not an operation of "
                        + policy.defaultResource()
                        + ")"));
  }

  // ------------------------------------------------------------------ roles

  /** Every role, system roles first, then by id. */
  public List<Role> roles() {
    List<Role> out = new ArrayList<>();
    for (Map.Entry<String, String> entry : documents.documents(ROLE_DOCUMENT).entrySet()) {
      out.add(role(entry.getKey(), entry.getValue()));
    }
    out.sort(java.util.Comparator.comparing((Role r) -> !r.system()).thenComparing(r -> r.id()));
    return out;
  }

  public Role role(String id) {
    return document(id)
        .map(json -> role(id, json))
        .orElseThrow(() -> new CastellanException(ErrorCode.NOT_FOUND, "no role '" + id + "'"));
  }

  /**
   * Creates a custom role; its id is the slug of its name.
   *
   * @throws CastellanException {@code ALREADY_EXISTS} when a role of that name (or slug) exists
   */
  public Role createRole(@Nullable String name, @Nullable String description) {
    String trimmed = name == null ? "" : name.strip();
    if (trimmed.isEmpty() || trimmed.length() > 64) {
      throw invalid("a role name has 1 to 64 characters");
    }
    if (description != null && description.length() > 512) {
      throw invalid("a role description has at most 512 characters");
    }
    String id = slug(trimmed);
    if (!saveDocument(id, trimmed, description == null ? "" : description, false, "api", false)) {
      throw new CastellanException(
          ErrorCode.ALREADY_EXISTS,
          "a role named '" + role(id).name() + "' exists (id " + id + ")");
    }
    return role(id);
  }

  /**
   * Deletes a custom role with its grants and members.
   *
   * @throws CastellanException {@code VALIDATION_ERROR} for a system role
   */
  public void deleteRole(String id) {
    Role role = role(id);
    if (role.system()) {
      throw invalid("'" + role.name() + "' is a system role: it cannot be deleted, only edited");
    }
    deleteRoleData(id);
    runtime.afterWrite(systemStoreId);
  }

  private void deleteRoleData(String id) {
    setPermissions(id, Set.of());
    store.deleteMatching(systemStoreId, TupleFilter.object("role:" + id));
    documents.deleteDocument(ROLE_DOCUMENT, id);
    names = RoleNames.STALE; // after the write, so that a reload cannot miss it
  }

  public List<Permission> permissions(String roleId) {
    role(roleId);
    List<Permission> out = new ArrayList<>();
    for (int id : grantedIds(roleId)) {
      catalog.byId(id).ifPresent(out::add);
    }
    return out;
  }

  /**
   * Replaces a role's permissions as a whole.
   *
   * @throws CastellanException {@code VALIDATION_ERROR} naming unknown ids; nothing changes then
   */
  public List<Permission> replacePermissions(String roleId, Collection<Integer> permissionIds) {
    role(roleId);
    List<Integer> unknown = new ArrayList<>();
    for (int id : permissionIds) {
      if (catalog.byId(id).isEmpty()) {
        unknown.add(id);
      }
    }
    if (!unknown.isEmpty()) {
      throw invalid("unknown permission ids " + unknown + ": GET /api/permissions lists them");
    }
    setPermissions(roleId, new TreeSet<>(permissionIds));
    runtime.afterWrite(systemStoreId);
    return permissions(roleId);
  }

  private void setPermissions(String roleId, Set<Integer> wanted) {
    Set<Integer> current = grantedIds(roleId);
    String assignee = "role:" + roleId + "#assignee";
    List<Tuple> writes = new ArrayList<>();
    List<TupleKey> deletes = new ArrayList<>();
    for (int id : wanted) {
      if (!current.contains(id)) {
        writes.add(Tuple.of("permission:" + id, "granted", assignee));
      }
    }
    for (int id : current) {
      if (!wanted.contains(id)) {
        deletes.add(new TupleKey("permission:" + id, "granted", assignee));
      }
    }
    if (!writes.isEmpty() || !deletes.isEmpty()) {
      store.write(systemStoreId, new TupleWrite(writes, deletes, true, true));
    }
  }

  private Set<Integer> grantedIds(String roleId) {
    Set<Integer> ids = new TreeSet<>();
    for (StoredTuple t : readAll(new TupleFilter("", "", "role:" + roleId + "#assignee"))) {
      TupleKey key = t.tuple().key();
      if (key.relation().equals("granted") && key.object().startsWith("permission:")) {
        try {
          ids.add(Integer.parseInt(key.object().substring("permission:".length())));
        } catch (NumberFormatException ignored) {
          // Not a catalog grant: some other tuple about the role.
        }
      }
    }
    return ids;
  }

  // ------------------------------------------------------------------ members

  /** Members of a role ({@code user:alice}, {@code group:eng}), a page at a time. */
  public Page<String> members(String roleId, PageRequest page) {
    role(roleId);
    Page<StoredTuple> tuples =
        store.read(systemStoreId, TupleFilter.object("role:" + roleId), page);
    List<String> out = new ArrayList<>();
    for (StoredTuple t : tuples.items()) {
      if (t.tuple().key().relation().equals("assignee")) {
        out.add(memberName(t.tuple().key().user()));
      }
    }
    return new Page<>(out, tuples.continuationToken());
  }

  public void addMember(String roleId, String subject) {
    role(roleId);
    String user = memberUser(subject);
    if (caseInsensitiveClaims && user.startsWith("group:")) {
      String name = SubjectIds.unescape(user.substring(6, user.length() - 7)).orElseThrow();
      if (!name.equals(name.toLowerCase(Locale.ROOT))) {
        throw invalid(
            "group claims are matched without regard to case (case_insensitive_claims), as lower"
                + " case: bind "
                + SubjectIds.escape(name.toLowerCase(Locale.ROOT))
                    .map(id -> "group:" + id)
                    .orElseThrow()
                + " instead of "
                + memberName(user));
      }
    }
    store.write(
        systemStoreId,
        new TupleWrite(
            List.of(Tuple.of("role:" + roleId, "assignee", user)), List.of(), true, false));
    runtime.afterWrite(systemStoreId);
  }

  /** Removes a member; false when it was not one. */
  public boolean removeMember(String roleId, String subject) {
    role(roleId);
    var result =
        store.write(
            systemStoreId,
            new TupleWrite(
                List.of(),
                List.of(new TupleKey("role:" + roleId, "assignee", memberUser(subject))),
                false,
                true));
    runtime.afterWrite(systemStoreId);
    return result.deleted() > 0;
  }

  /** The ids of the roles {@code subject} ({@code user:alice}) is a direct member of. */
  public List<String> memberships(String subject) {
    List<String> out = new ArrayList<>();
    for (StoredTuple t : readAll(new TupleFilter("role:", "assignee", memberUser(subject)))) {
      out.add(t.tuple().key().object().substring("role:".length()));
    }
    return out;
  }

  /**
   * A member as a tuple's user: a canonical subject ({@code user:<directory id>}, {@code
   * service_account:<id>}, ADR 0023; aliases are resolved before they come here) or {@code
   * group:<id>}, whose id is a subject id ({@code group:platform%20admins}, {@code group:okta/Eng})
   * or a directory group's.
   */
  static String memberUser(@Nullable String subject) {
    String value = subject == null ? "" : subject.strip();
    if (value.startsWith("group:")) {
      String id = value.substring(6);
      if (id.endsWith("#member")) {
        id = id.substring(0, id.length() - "#member".length());
      }
      if (SubjectIds.isSubjectId(id)) {
        return "group:" + id + "#member";
      }
    } else {
      Optional<String> canonical = Subjects.mechanical(value);
      if (canonical.isPresent()) {
        return canonical.get();
      }
    }
    throw invalid(
        "a member is 'user:<directory id>', 'service_account:<key id>' or 'group:<id>' (or an"
            + " alias of a person: 'user:<userName>' such as 'user:bob%20smith' for 'bob smith',"
            + " 'jwt:<sub>', 'email:<address>'), with every"
            + " character of a group id other than letters, digits and _.@|- percent-encoded as"
            + " UTF-8 with upper-case hex ('group:platform%20admins'), at most "
            + SubjectIds.MAX_LENGTH
            + " characters; got '"
            + (value.length() > 80 ? value.substring(0, 80) + "..." : value)
            + "'");
  }

  private static String memberName(String user) {
    return user.endsWith("#member") ? user.substring(0, user.length() - 7) : user;
  }

  // ------------------------------------------------------------------ decisions

  /**
   * Decides whether {@code subject} holds {@code permission}, through roles held in the store or
   * carried by the request ({@code tokenRoles}: role ids or names, {@code tokenGroups}: group ids,
   * each matched exactly, or without regard to case when so configured).
   *
   * @param subject {@code user:<id>} or {@code service_account:<id>}
   * @param context values for conditions on grants (ABAC), may be empty
   */
  public Decision authorize(
      String subject,
      List<String> tokenRoles,
      List<String> tokenGroups,
      Permission permission,
      Map<String, Object> context) {
    return authorize(subject, tokenRoles, tokenGroups, List.of(), permission, context, "");
  }

  /**
   * As {@link #authorize(String, List, List, Permission, Map)} with {@code groupIds} too: groups a
   * configured issuer's token names, resolved already (directory group ids, or names in the
   * issuer's namespace), used as they are (ADR 0020); answered once this node has applied the RBAC
   * change {@code consistencyToken} names (a SCIM write's {@code Castellan-Consistency-Token});
   * empty for no wait.
   *
   * @throws CastellanException {@code INVALID_CONSISTENCY_TOKEN} for a token RBAC did not issue
   */
  public Decision authorize(
      String subject,
      List<String> tokenRoles,
      List<String> tokenGroups,
      List<String> groupIds,
      Permission permission,
      Map<String, Object> context,
      String consistencyToken) {
    if (tokenRoles.size() > MAX_TOKEN_ROLES
        || tokenGroups.size() + groupIds.size() > MAX_TOKEN_ROLES) {
      return new Decision(
          false,
          "the token carries more than " + MAX_TOKEN_ROLES + " roles or groups",
          subject,
          tokenRoles,
          permission);
    }
    List<String> roles = new ArrayList<>(new LinkedHashSet<>(tokenRoles));
    List<Tuple> contextual = new ArrayList<>(roles.size() + tokenGroups.size());
    for (String role : roles) {
      roleId(role).ifPresent(id -> contextual.add(Tuple.of("role:" + id, "assignee", subject)));
    }
    for (String group : tokenGroups) {
      claimId(group).ifPresent(id -> contextual.add(Tuple.of("group:" + id, "member", subject)));
    }
    for (String id : groupIds) {
      contextual.add(Tuple.of("group:" + id, "member", subject));
    }
    String wait =
        consistencyToken.isEmpty()
            ? ""
            : ConsistencyToken.encode(
                systemStoreId, ConsistencyToken.decode(consistencyToken, TOKEN_SCOPE));
    Engine engine = runtime.engine(systemStoreId, "", wait, false);
    boolean allowed =
        engine
            .check(
                CheckRequest.of(permission.object(), "granted", subject)
                    .withContextualTuples(contextual)
                    .withContext(context))
            .allowed();
    // The reason names the token's roles rather than the one that granted: finding that one is a
    // second decision per request, and the audit trail keeps the roles anyway.
    String carried = roles.isEmpty() ? "" : " (roles from the token: " + roles + ")";
    String reason =
        allowed
            ? "a role of " + subject + " grants " + permission.name() + carried
            : "no role of " + subject + " grants " + permission.name() + carried;
    return new Decision(allowed, reason, subject, roles, permission);
  }

  /**
   * The consistency token of RBAC revision {@code revision}: what {@link #authorize} waits for. It
   * names a scope of its own rather than the system store, whose id the API never shows (ADR 0011).
   */
  public String consistencyToken(long revision) {
    return tokenAt(revision);
  }

  /**
   * The RBAC consistency token of system-store {@code revision}, for a writer of that store outside
   * this class (deprovisioning): what {@code /api/authorize} takes as {@code consistency_token}.
   */
  public static String tokenAt(long revision) {
    return ConsistencyToken.encode(TOKEN_SCOPE, revision);
  }

  // ------------------------------------------------------------------ system roles

  private void createSystemRoles() {
    PermissionCatalog defaults = PermissionCatalog.defaults();
    Set<Integer> all = new TreeSet<>();
    Set<Integer> view = new TreeSet<>();
    Set<Integer> developer = new TreeSet<>();
    Set<String> technical =
        Set.of(
            "ModelProvider",
            "Plugins",
            "VirtualKeys",
            "GuardrailRules",
            "MCPGateway",
            "AdaptiveRouter");
    for (Permission p : defaults.all()) {
      all.add(p.id());
      boolean reads = p.operation().equals("View") || p.operation().equals("Read");
      if (reads) {
        view.add(p.id());
      }
      if (technical.contains(p.resource())
          || (reads && Set.of("Logs", "Cluster", "Observability").contains(p.resource()))
          || p.name().equals("Workflows.Create")
          || p.name().equals("Workflows.Read")
          || p.name().equals("Workflows.Run")
          || p.name().equals("Models.Read")
          || p.name().equals("Models.Write")) {
        developer.add(p.id());
      }
    }
    systemRole("admin", "Admin", "Full access to all resources and operations", all);
    systemRole(
        "developer",
        "Developer",
        "CRUD access to technical resources, view access to logs and cluster",
        developer);
    systemRole("viewer", "Viewer", "Read-only access to all resources", view);
    runtime.afterWrite(systemStoreId);
  }

  private void systemRole(String id, String name, String description, Set<Integer> grants) {
    // Only on the first start: afterwards the role is the administrators' to edit.
    if (saveDocument(id, name, description, true, "system", false)) {
      setPermissions(id, grants);
    }
  }

  /** Grants the admin role the permissions that joined the catalog since it last looked. */
  private void grantNewPermissionsToAdmin(Set<Integer> alsoKnown) {
    Set<Integer> known = new TreeSet<>(alsoKnown);
    documents
        .document(STATE_DOCUMENT, KNOWN_PERMISSIONS)
        .ifPresent(
            json -> {
              try {
                JSON.readTree(json).forEach(n -> known.add(n.asInt()));
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            });
    Set<Integer> ids = new TreeSet<>();
    catalog.all().forEach(p -> ids.add(p.id()));
    if (known.isEmpty()) {
      known.addAll(ids); // the first start: the system roles were just made from this catalog
    }
    Set<Integer> fresh = new TreeSet<>(ids);
    fresh.removeAll(known);
    if (!fresh.isEmpty() && document("admin").isPresent()) {
      Set<Integer> admin = new TreeSet<>(grantedIds("admin"));
      admin.addAll(fresh);
      setPermissions("admin", admin);
    }
    known.addAll(ids);
    documents.putDocument(STATE_DOCUMENT, KNOWN_PERMISSIONS, JSON.valueToTree(known).toString());
  }

  // ------------------------------------------------------------------ documents

  private Optional<String> document(String id) {
    return documents.document(ROLE_DOCUMENT, id);
  }

  private boolean saveDocument(
      String id, String name, String description, boolean system, String source, boolean replace) {
    ObjectNode doc = JSON.createObjectNode();
    doc.put("name", name);
    doc.put("description", description);
    doc.put("system", system);
    doc.put("source", source);
    boolean saved = true;
    if (replace) {
      documents.putDocument(ROLE_DOCUMENT, id, doc.toString());
    } else {
      saved = documents.createDocument(ROLE_DOCUMENT, id, doc.toString());
    }
    names = RoleNames.STALE; // after the write, so that a reload cannot miss it
    return saved;
  }

  private Role role(String id, String json) {
    JsonNode doc;
    try {
      doc = JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Role(
        id,
        doc.path("name").asText(id),
        doc.path("description").asText(""),
        doc.path("system").asBoolean(false),
        doc.path("source").asText("api"),
        grantedIds(id).size());
  }

  private List<StoredTuple> readAll(TupleFilter filter) {
    List<StoredTuple> out = new ArrayList<>();
    String token = "";
    do {
      Page<StoredTuple> page =
          store.read(systemStoreId, filter, new PageRequest(PageRequest.MAX_PAGE_SIZE, token));
      out.addAll(page.items());
      token = page.continuationToken();
    } while (!token.isEmpty());
    return out;
  }

  // ------------------------------------------------------------------ names

  /** A role's id from its name: lower case, runs of other characters as one {@code -}. */
  public static String slug(String name) {
    return slugOrEmpty(name)
        .orElseThrow(
            () ->
                invalid(
                    "a role name needs at least one letter or digit, got '"
                        + (name.length() > 80 ? name.substring(0, 80) + "..." : name)
                        + "'"));
  }

  /**
   * The role or group id a claim value names: the value itself, lower-cased first when claims are
   * case-insensitive, escaped like every subject id ({@code platform.admins!} is {@code
   * group:platform.admins%21}, never {@code group:platform-admins}); empty when it cannot name one.
   */
  Optional<String> claimId(String value) {
    String name = caseInsensitiveClaims ? value.toLowerCase(Locale.ROOT) : value;
    return SubjectIds.escape(name).filter(id -> id.length() <= SubjectIds.MAX_LENGTH);
  }

  /**
   * The role a role claim value names: the role whose id it is, or else the role whose name it is
   * ({@code Admin}, {@code Castellan.Admin}), exactly, or without regard to case when claims are
   * case-insensitive; empty when it names none. Never a role whose name merely slugs the same.
   */
  Optional<String> roleId(String value) {
    Optional<String> id = claimId(value);
    if (id.isEmpty() || SLUG.matcher(id.get()).matches()) {
      return id; // an id; a role named by it has this id too (ids are the slugs of names)
    }
    Optional<String> candidate = slugOrEmpty(value);
    if (candidate.isEmpty()) {
      return Optional.empty();
    }
    String name = roleNames().get(candidate.get());
    boolean named =
        name != null
            && (caseInsensitiveClaims
                ? name.toLowerCase(Locale.ROOT).equals(value.toLowerCase(Locale.ROOT))
                : name.equals(value));
    return named ? candidate : Optional.empty();
  }

  private Map<String, String> roleNames() {
    RoleNames current = names;
    long now = System.nanoTime();
    if (current.stale() || now - current.loadedAt() > NAMES_NANOS) {
      Map<String, String> byId = new java.util.HashMap<>();
      for (Map.Entry<String, String> entry : documents.documents(ROLE_DOCUMENT).entrySet()) {
        try {
          byId.put(entry.getKey(), JSON.readTree(entry.getValue()).path("name").asText(""));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      current = new RoleNames(Map.copyOf(byId), now, false);
      names = current;
    }
    return current.byId();
  }

  private static Optional<String> slugOrEmpty(@Nullable String name) {
    if (name == null || name.length() > 128) {
      return Optional.empty();
    }
    String slug =
        name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
    return SLUG.matcher(slug).matches() ? Optional.of(slug) : Optional.empty();
  }

  private static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }
}
