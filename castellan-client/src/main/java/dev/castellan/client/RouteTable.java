package dev.castellan.client;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Permissions by HTTP method and path template ({@code POST /workflows/{id}/run -> run}). A
 * template segment {@code {name}} matches one non-empty segment; everything else matches exactly. A
 * path no route matches has no permission, and the filter denies it.
 */
final class RouteTable {
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z_][A-Za-z0-9_]*)}");
  private static final Pattern METHOD = Pattern.compile("[A-Z]+");

  /** What a request needs: a permission and, possibly empty, a resource. */
  record Requirement(String permission, String resource) {}

  private record Route(String method, List<String> segments, String permission, String resource) {}

  private final List<Route> routes;

  private RouteTable(List<Route> routes) {
    this.routes = List.copyOf(routes);
  }

  boolean isEmpty() {
    return routes.isEmpty();
  }

  /** Builds a table route by route. */
  static final class Builder {
    private final List<Route> routes = new ArrayList<>();

    /**
     * Adds a route. {@code resourceTemplate} may use the path's placeholders ({@code
     * workflow:{id}}) or be empty.
     */
    Builder add(String method, String pathTemplate, String permission, String resourceTemplate) {
      String m = method.strip().toUpperCase(Locale.ROOT);
      if (!METHOD.matcher(m).matches()) {
        throw new IllegalArgumentException("not an HTTP method: '" + method + "'");
      }
      if (!pathTemplate.startsWith("/")) {
        throw new IllegalArgumentException(
            "a path template starts with '/', got '" + pathTemplate + "'");
      }
      if (permission.isBlank()) {
        throw new IllegalArgumentException(
            "route " + m + " " + pathTemplate + " has no permission");
      }
      List<String> segments = segments(pathTemplate);
      Set<String> names = new HashSet<>();
      for (String segment : segments) {
        if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
          throw new IllegalArgumentException("path template '" + pathTemplate + "' is not clean");
        }
        if (segment.startsWith("{")) {
          Matcher placeholder = PLACEHOLDER.matcher(segment);
          if (!placeholder.matches() || !names.add(placeholder.group(1))) {
            throw new IllegalArgumentException(
                "path template '" + pathTemplate + "': bad or repeated placeholder " + segment);
          }
        } else if (segment.contains("{") || segment.contains("}")) {
          throw new IllegalArgumentException(
              "path template '"
                  + pathTemplate
                  + "': a placeholder must be a whole segment, got "
                  + segment);
        }
      }
      Matcher used = PLACEHOLDER.matcher(resourceTemplate);
      while (used.find()) {
        if (!names.contains(used.group(1))) {
          throw new IllegalArgumentException(
              "resource '"
                  + resourceTemplate
                  + "' uses {"
                  + used.group(1)
                  + "}, which path '"
                  + pathTemplate
                  + "' does not have");
        }
      }
      for (Route route : routes) {
        if (route.method().equals(m) && route.segments().equals(segments)) {
          throw new IllegalArgumentException("route " + m + " " + pathTemplate + " is given twice");
        }
      }
      routes.add(new Route(m, segments, permission.strip(), resourceTemplate.strip()));
      return this;
    }

    RouteTable build() {
      return new RouteTable(routes);
    }
  }

  static Builder builder() {
    return new Builder();
  }

  /**
   * Reads {@code METHOD /path permission [resource]} lines (blank lines and {@code #} comments
   * skipped), the format of the filter's {@code routes} init parameter.
   */
  static RouteTable parse(String text) {
    Builder builder = builder();
    int lineNumber = 0;
    for (String line : text.split("\\R|;")) {
      lineNumber++;
      String trimmed = line.strip();
      if (trimmed.isEmpty() || trimmed.startsWith("#")) {
        continue;
      }
      String[] parts = trimmed.split("\\s+");
      if (parts.length != 3 && parts.length != 4) {
        throw new IllegalArgumentException(
            "routes entry "
                + lineNumber
                + ": expected 'METHOD /path permission [resource]', got '"
                + trimmed
                + "'");
      }
      try {
        builder.add(parts[0], parts[1], parts[2], parts.length == 4 ? parts[3] : "");
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("routes entry " + lineNumber + ": " + e.getMessage());
      }
    }
    return builder.build();
  }

  /** The requirement of {@code method path}, or empty when no route matches. */
  Optional<Requirement> match(String method, String path) {
    Optional<Requirement> found = find(method.toUpperCase(Locale.ROOT), path);
    // A servlet answers HEAD with its GET code, so HEAD needs what GET needs.
    if (found.isEmpty() && method.equalsIgnoreCase("HEAD")) {
      found = find("GET", path);
    }
    return found;
  }

  private Optional<Requirement> find(String method, String path) {
    String p =
        path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    if (!p.startsWith("/")) {
      return Optional.empty();
    }
    List<String> segments = segments(p);
    for (Route route : routes) {
      if (!route.method().equals(method) || route.segments().size() != segments.size()) {
        continue;
      }
      Map<String, String> bound = bind(route.segments(), segments);
      if (bound != null) {
        return Optional.of(new Requirement(route.permission(), fill(route.resource(), bound)));
      }
    }
    return Optional.empty();
  }

  private static @Nullable Map<String, String> bind(List<String> template, List<String> actual) {
    Map<String, String> bound = new HashMap<>();
    for (int i = 0; i < template.size(); i++) {
      String t = template.get(i);
      String a = actual.get(i);
      // Empty, dot and dot-dot segments never match: they are how paths get smuggled.
      if (a.isEmpty() || a.equals(".") || a.equals("..")) {
        return null;
      }
      if (t.startsWith("{")) {
        bound.put(t.substring(1, t.length() - 1), a);
      } else if (!t.equals(a)) {
        return null;
      }
    }
    return bound;
  }

  private static String fill(String template, Map<String, String> bound) {
    if (template.isEmpty()) {
      return "";
    }
    Matcher m = PLACEHOLDER.matcher(template);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(bound.get(m.group(1))));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static List<String> segments(String path) {
    if (path.equals("/")) {
      return List.of();
    }
    return List.of(path.substring(1).split("/", -1));
  }
}
