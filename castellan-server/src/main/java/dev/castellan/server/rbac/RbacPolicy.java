package dev.castellan.server.rbac;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Policy as code: seed 000's {@code rbac.yaml}, read as the seed writes it, plus optional routes
 * and catalog extensions:
 *
 * <pre>
 * resource: Workflows            # what bare operations like 'run' belong to (the default)
 * permissions:                   # extra catalog entries, ids from 1000
 *   - {id: 1001, resource: Datasets, operation: Read}
 * roles:                         # role -> permissions, replaced as a whole on every load
 *   analyst: [read, run]
 *   viewer:                      # a system role: replaced only when the file says so
 *     replace_system_role: true
 *     permissions: [read]
 * routes:                        # for gateway enforcement (/authz/forward)
 *   - {method: POST, path: /workflows/{id}/run, permission: run}
 * </pre>
 *
 * @param defaultResource the resource of bare operations
 * @param permissions catalog extensions
 * @param roles role name -> permission references, in file order
 * @param routes method and path template -> permission, in file order
 * @param replacingSystemRoles the names of the roles marked {@code replace_system_role: true}: only
 *     these may replace the permissions of a system role (admin, developer, viewer)
 */
public record RbacPolicy(
    String defaultResource,
    List<Permission> permissions,
    Map<String, List<String>> roles,
    List<Route> routes,
    Set<String> replacingSystemRoles) {

  /** The policy before any file: no extensions, no file roles, no routes. */
  public static final RbacPolicy EMPTY =
      new RbacPolicy(PermissionCatalog.DEFAULT_RESOURCE, List.of(), Map.of(), List.of());

  /** A policy that replaces no system role. */
  public RbacPolicy(
      String defaultResource,
      List<Permission> permissions,
      Map<String, List<String>> roles,
      List<Route> routes) {
    this(defaultResource, permissions, roles, routes, Set.of());
  }

  /** Largest policy file accepted. */
  public static final int MAX_BYTES = 1 << 20;

  static final int MAX_ENTRIES = 2_000;

  private static final ObjectMapper YAML =
      new ObjectMapper(
          YAMLFactory.builder()
              .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
              .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
              .build());
  private static final Set<String> METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*");
  private static final Pattern PATH_TEMPLATE =
      Pattern.compile("/|(/([A-Za-z0-9._~!$&'()+,;=:@-]+|\\{[A-Za-z_][A-Za-z0-9_]*\\}|\\*\\*))+");

  /**
   * One route of the gateway table.
   *
   * @param method an HTTP method, or {@code *} for any
   * @param path a template: literal segments, {@code {name}} for one segment, a final {@code **}
   *     for any rest
   * @param permission the permission reference the route needs
   */
  public record Route(String method, String path, String permission) {
    @Override
    public String toString() {
      return method + " " + path;
    }
  }

  public RbacPolicy {
    permissions = List.copyOf(permissions);
    roles = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(roles));
    routes = List.copyOf(routes);
    replacingSystemRoles = Set.copyOf(replacingSystemRoles);
  }

  /**
   * Reads a policy file's text.
   *
   * @throws CastellanException {@code VALIDATION_ERROR} saying what is wrong and where
   */
  public static RbacPolicy parse(String text) {
    if (text.length() > MAX_BYTES) {
      throw invalid("the policy is larger than " + MAX_BYTES + " bytes");
    }
    JsonNode root;
    try {
      root = YAML.readTree(text);
    } catch (JsonProcessingException e) {
      String where =
          e.getLocation() == null
              ? ""
              : " at line " + e.getLocation().getLineNr() + ":" + e.getLocation().getColumnNr();
      throw invalid("the policy is not valid YAML" + where + ": " + e.getOriginalMessage());
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      throw invalid("the policy is empty: it needs at least 'roles:'");
    }
    if (!root.isObject()) {
      throw invalid(
          "the policy must be a mapping with 'roles:' (and optionally 'resource:',"
              + " 'permissions:', 'routes:')");
    }
    onlyFields(root, "the policy", Set.of("resource", "permissions", "roles", "routes"));
    String resource = PermissionCatalog.DEFAULT_RESOURCE;
    if (root.has("resource")) {
      resource = text(root.get("resource"), "resource");
    }
    List<Permission> permissions = new ArrayList<>();
    for (JsonNode entry : list(root.get("permissions"), "permissions")) {
      String where = "permissions[" + permissions.size() + "]";
      if (!entry.isObject()) {
        throw invalid(where + " must be a mapping {id, resource, operation}");
      }
      onlyFields(entry, where, Set.of("id", "resource", "operation"));
      JsonNode id = entry.get("id");
      if (id == null || !id.canConvertToInt() || !id.isIntegralNumber()) {
        throw invalid(where + ".id must be a whole number");
      }
      permissions.add(
          Permission.of(
              id.asInt(),
              text(entry.get("resource"), where + ".resource"),
              text(entry.get("operation"), where + ".operation")));
    }
    JsonNode rolesNode = root.get("roles");
    if (rolesNode == null || !rolesNode.isObject()) {
      throw invalid("'roles' must be a mapping of role name to a list of permissions");
    }
    if (rolesNode.size() > MAX_ENTRIES) {
      throw invalid("at most " + MAX_ENTRIES + " roles");
    }
    Map<String, List<String>> roles = new LinkedHashMap<>();
    Set<String> replacing = new java.util.HashSet<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = rolesNode.properties().iterator();
        it.hasNext(); ) {
      Map.Entry<String, JsonNode> role = it.next();
      String where = "roles." + role.getKey();
      Rbac.slug(role.getKey());
      JsonNode grants = role.getValue();
      if (grants != null && grants.isObject()) {
        // The long form: {permissions: [...], replace_system_role: true}.
        onlyFields(grants, where, Set.of("permissions", "replace_system_role"));
        JsonNode replace = grants.get("replace_system_role");
        if (replace != null && !replace.isBoolean()) {
          throw invalid("'" + where + ".replace_system_role' must be true or false");
        }
        if (replace != null && replace.asBoolean()) {
          replacing.add(role.getKey());
        }
        grants = grants.get("permissions");
        if (grants == null) {
          throw invalid("'" + where + "' needs 'permissions:' (a list, may be empty)");
        }
        where += ".permissions";
      }
      List<String> refs = new ArrayList<>();
      for (JsonNode ref : list(grants, where)) {
        refs.add(text(ref, where + "[" + refs.size() + "]"));
      }
      roles.put(role.getKey(), refs);
    }
    List<Route> routes = new ArrayList<>();
    for (JsonNode entry : list(root.get("routes"), "routes")) {
      String where = "routes[" + routes.size() + "]";
      if (!entry.isObject()) {
        throw invalid(where + " must be a mapping {method, path, permission}");
      }
      onlyFields(entry, where, Set.of("method", "path", "permission"));
      String method = text(entry.get("method"), where + ".method").toUpperCase(Locale.ROOT);
      if (!METHODS.contains(method)) {
        throw invalid(where + ".method must be one of " + new java.util.TreeSet<>(METHODS));
      }
      String path = text(entry.get("path"), where + ".path");
      if (!PATH_TEMPLATE.matcher(path).matches() || path.contains("**/")) {
        throw invalid(
            where
                + ".path must start with '/' and hold literal segments, {name} segments and"
                + " an optional final '**', got '"
                + path
                + "'");
      }
      routes.add(new Route(method, path, text(entry.get("permission"), where + ".permission")));
    }
    return new RbacPolicy(resource, permissions, roles, routes, replacing);
  }

  /** Writes the policy back out as YAML, in the form {@link #parse} reads. */
  public String toYaml() {
    ObjectNode root = YAML.createObjectNode();
    root.put("resource", defaultResource);
    if (!permissions.isEmpty()) {
      ArrayNode list = root.putArray("permissions");
      for (Permission p : permissions) {
        list.addObject()
            .put("id", p.id())
            .put("resource", p.resource())
            .put("operation", p.operation());
      }
    }
    ObjectNode rolesNode = root.putObject("roles");
    roles.forEach(
        (role, refs) -> {
          ArrayNode list;
          if (replacingSystemRoles.contains(role)) {
            ObjectNode entry = rolesNode.putObject(role);
            entry.put("replace_system_role", true);
            list = entry.putArray("permissions");
          } else {
            list = rolesNode.putArray(role);
          }
          refs.forEach(list::add);
        });
    if (!routes.isEmpty()) {
      ArrayNode list = root.putArray("routes");
      for (Route r : routes) {
        list.addObject()
            .put("method", r.method())
            .put("path", r.path())
            .put("permission", r.permission());
      }
    }
    try {
      return YAML.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<JsonNode> list(@Nullable JsonNode node, String where) {
    if (node == null || node.isNull()) {
      return List.of();
    }
    if (!node.isArray()) {
      throw invalid("'" + where + "' must be a list");
    }
    if (node.size() > MAX_ENTRIES) {
      throw invalid("'" + where + "' has more than " + MAX_ENTRIES + " entries");
    }
    List<JsonNode> out = new ArrayList<>();
    node.forEach(out::add);
    return out;
  }

  private static String text(@Nullable JsonNode node, String where) {
    if (node == null || !node.isValueNode() || node.isNull() || node.asText().isBlank()) {
      throw invalid("'" + where + "' must be a non-empty string");
    }
    String value = node.asText().strip();
    if (value.length() > 256) {
      throw invalid("'" + where + "' is longer than 256 characters");
    }
    return value;
  }

  private static void onlyFields(JsonNode node, String where, Set<String> fields) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!fields.contains(field)) {
        throw invalid(
            where
                + ": unknown key '"
                + field
                + "' (expected one of "
                + new java.util.TreeSet<>(fields)
                + ")");
      }
    }
  }

  private static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }
}
