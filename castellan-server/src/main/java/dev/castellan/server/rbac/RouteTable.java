package dev.castellan.server.rbac;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Maps a request's method and path to the permission it needs, for gateway enforcement. Paths are
 * matched as sent, segment by segment, after refusing anything a proxy and an application might
 * read differently: dot segments, empty segments, encoded slashes, backslashes or dots, and
 * segments ending in a dot. A refused or unmapped path needs a permission no one has: deny.
 */
public final class RouteTable {
  private final List<RbacPolicy.Route> routes;
  private final List<String[]> templates; // each route's path, split once

  public RouteTable(List<RbacPolicy.Route> routes) {
    this.routes = List.copyOf(routes);
    this.templates = this.routes.stream().map(route -> segments(route.path())).toList();
  }

  /** Why a path cannot be matched, or empty when it is safe to match. */
  public static Optional<String> unsafe(String path) {
    if (path == null || path.isEmpty() || path.charAt(0) != '/') {
      return Optional.of("the path must start with '/'");
    }
    if (path.length() > 4096) {
      return Optional.of("the path is longer than 4096 characters");
    }
    String lower = path.toLowerCase(Locale.ROOT);
    if (lower.contains("%2f")
        || lower.contains("%5c")
        || lower.contains("%2e")
        || lower.contains("%25")
        || lower.contains("%00")) {
      return Optional.of("the path holds an encoded '/', '\\', '.', '%' or NUL");
    }
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '\\' || c == ';' || c < 0x21 || c == 0x7f) {
        return Optional.of("the path holds a backslash, ';', a space or a control character");
      }
    }
    String[] segments = path.substring(1).split("/", -1);
    for (int i = 0; i < segments.length; i++) {
      String s = segments[i];
      boolean last = i == segments.length - 1;
      if (s.isEmpty() && !(last && segments.length > 1)) {
        if (segments.length == 1) {
          break; // the root path "/"
        }
        return Optional.of("the path holds an empty segment ('//')");
      }
      if (s.equals(".") || s.equals("..")) {
        return Optional.of("the path holds a dot segment");
      }
      if (s.endsWith(".")) {
        return Optional.of("a path segment ends with '.'");
      }
    }
    return Optional.empty();
  }

  /** The first route matching {@code method} and {@code path} (query string already removed). */
  public Optional<RbacPolicy.Route> match(String method, String path) {
    if (unsafe(path).isPresent()) {
      return Optional.empty();
    }
    String m = method.toUpperCase(Locale.ROOT);
    String[] segments = segments(path);
    for (int i = 0; i < routes.size(); i++) {
      RbacPolicy.Route route = routes.get(i);
      boolean methodMatches =
          route.method().equals("*")
              || route.method().equals(m)
              || (m.equals("HEAD") && route.method().equals("GET"));
      if (methodMatches && matches(templates.get(i), segments)) {
        return Optional.of(route);
      }
    }
    return Optional.empty();
  }

  private static String[] segments(String path) {
    String trimmed =
        path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    return trimmed.equals("/") ? new String[0] : trimmed.substring(1).split("/", -1);
  }

  private static boolean matches(String[] template, String[] path) {
    for (int i = 0; i < template.length; i++) {
      String t = template[i];
      if (t.equals("**")) {
        return path.length > i; // at least one more segment
      }
      if (i >= path.length) {
        return false;
      }
      boolean variable = t.startsWith("{") && t.endsWith("}");
      if (!variable && !t.equals(path[i])) {
        return false;
      }
    }
    return template.length == path.length;
  }
}
