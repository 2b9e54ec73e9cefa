package dev.castellan.server.rbac;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The permissions Castellan knows: resources x operations, each with a stable numeric id. The
 * default catalog covers seed 002's gateway resources (ids 1-99) and the AI workflow and model
 * resources (ids 100-199); a policy file may add its own with ids from 1000.
 *
 * <p>Names match case-insensitively and ignore {@code -}, {@code _} and spaces, so {@code
 * models.access-sensitive-data} finds {@code Models.AccessSensitiveData}. A bare operation ({@code
 * run}) resolves against a default resource, which is how seed 000's {@code rbac.yaml} names its
 * permissions.
 */
public final class PermissionCatalog {
  /** The lowest id a configured (non built-in) permission may take. */
  public static final int FIRST_CUSTOM_ID = 1000;

  public static final String DEFAULT_RESOURCE = "Workflows";

  private static final Pattern NAME_PART = Pattern.compile("[A-Za-z][A-Za-z0-9_-]{0,63}");

  private final Map<Integer, Permission> byId;
  private final Map<String, Permission> byName;

  private PermissionCatalog(Collection<Permission> permissions) {
    Map<Integer, Permission> ids = new LinkedHashMap<>();
    Map<String, Permission> names = new HashMap<>();
    List<Permission> sorted = new ArrayList<>(permissions);
    sorted.sort(Comparator.comparingInt(Permission::id));
    for (Permission p : sorted) {
      if (ids.putIfAbsent(p.id(), p) != null) {
        throw invalid("permission id " + p.id() + " is used twice");
      }
      if (names.putIfAbsent(normalize(p.name()), p) != null) {
        throw invalid("permission name '" + p.name() + "' is used twice");
      }
    }
    this.byId = ids;
    this.byName = names;
  }

  /** The built-in catalog. */
  public static PermissionCatalog defaults() {
    List<Permission> all = new ArrayList<>();
    // Seed 002's gateway resources: View everywhere, the other operations where they apply.
    Object[][] gateway = {
      {"Logs", "View", "Delete"},
      {"ModelProvider", "View", "Create", "Update", "Delete"},
      {"Observability", "View", "Update"},
      {"Plugins", "View", "Create", "Update", "Delete"},
      {"VirtualKeys", "View", "Create", "Update", "Delete"},
      {"UserProvisioning", "View", "Update"},
      {"Users", "View", "Create", "Update", "Delete"},
      {"AuditLogs", "View"},
      {"GuardrailsConfig", "View", "Update"},
      {"GuardrailRules", "View", "Create", "Update", "Delete"},
      {"Cluster", "View", "Create", "Update"},
      {"Settings", "View", "Update"},
      {"MCPGateway", "View", "Create", "Update", "Delete"},
      {"AdaptiveRouter", "View", "Create", "Update", "Delete"},
    };
    int id = 1;
    for (Object[] row : gateway) {
      for (int i = 1; i < row.length; i++) {
        all.add(Permission.of(id++, (String) row[0], (String) row[i]));
      }
    }
    String[] workflows = {"Create", "Read", "Run", "Delete", "Share"};
    for (int i = 0; i < workflows.length; i++) {
      all.add(Permission.of(101 + i, "Workflows", workflows[i]));
    }
    String[] models = {"Read", "Write", "Deploy", "Delete", "Approve", "AccessSensitiveData"};
    for (int i = 0; i < models.length; i++) {
      all.add(Permission.of(111 + i, "Models", models[i]));
    }
    return new PermissionCatalog(all);
  }

  /** This catalog plus {@code extra}; ids must be at least {@value #FIRST_CUSTOM_ID}. */
  public PermissionCatalog with(Collection<Permission> extra) {
    for (Permission p : extra) {
      if (p.id() < FIRST_CUSTOM_ID) {
        throw invalid(
            "permission "
                + p.name()
                + ": ids below "
                + FIRST_CUSTOM_ID
                + " are reserved for built-in permissions, got "
                + p.id());
      }
      checkPart(p.resource(), "resource");
      checkPart(p.operation(), "operation");
    }
    List<Permission> all = new ArrayList<>(byId.values());
    all.addAll(extra);
    return new PermissionCatalog(all);
  }

  /** Every permission, by id. */
  public List<Permission> all() {
    return List.copyOf(byId.values());
  }

  public Optional<Permission> byId(int id) {
    return Optional.ofNullable(byId.get(id));
  }

  /**
   * The permission named {@code reference}: a full name ({@code Logs.View}) or a bare operation of
   * {@code defaultResource} ({@code run}).
   *
   * @throws CastellanException {@code VALIDATION_ERROR} when there is none
   */
  public Permission resolve(String reference, String defaultResource) {
    return find(reference, defaultResource)
        .orElseThrow(
            () ->
                invalid(
                    "unknown permission '"
                        + shorten(reference)
                        + "': use a catalog name like 'Logs.View' or an operation of "
                        + defaultResource
                        + " (GET /api/permissions lists them)"));
  }

  public Optional<Permission> find(@Nullable String reference, String defaultResource) {
    if (reference == null || reference.isEmpty() || reference.length() > 160) {
      return Optional.empty();
    }
    String key = normalize(reference);
    if (!reference.contains(".")) {
      key = normalize(defaultResource) + "." + key;
    }
    return Optional.ofNullable(byName.get(key));
  }

  /** Resources with the operations each supports, in id order. */
  public Map<String, List<String>> resources() {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (Permission p : byId.values()) {
      out.computeIfAbsent(p.resource(), r -> new ArrayList<>()).add(p.operation());
    }
    return out;
  }

  static String normalize(String name) {
    return name.toLowerCase(Locale.ROOT).replace("-", "").replace("_", "").replace(" ", "");
  }

  private static void checkPart(String value, String what) {
    if (!NAME_PART.matcher(value).matches()) {
      throw invalid(
          "a permission "
              + what
              + " is a letter then letters, digits, '-' or '_' (at most 64), got '"
              + shorten(value)
              + "'");
    }
  }

  private static String shorten(String value) {
    return value.length() > 80 ? value.substring(0, 80) + "..." : value;
  }

  private static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }
}
