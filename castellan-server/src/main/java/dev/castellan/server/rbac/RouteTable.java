package dev.castellan.server.rbac;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Maps a request's method and target to the permission it needs, for gateway enforcement.
 *
 * <p>A target is first {@linkplain #normalize normalized}: anything a proxy, Castellan and the
 * application behind them might read differently is refused (a fragment, dot and empty segments,
 * path parameters, backslashes, encoded delimiters, encodings of characters that never need one,
 * invalid UTF-8, control characters, characters that Unicode normalization changes, absolute-form
 * and {@code //} targets). What is left reads the same whether an application matches the raw path
 * or the decoded one, so matching decoded segments against the templates picks the route any of
 * them would pick. A refused or unmapped target needs a permission no one has: deny.
 */
public final class RouteTable {
  /** The methods forward-auth decides about, exactly as spelled; any other is refused. */
  public static final Set<String> METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");

  static final int MAX_TARGET = 8192;
  static final int MAX_PATH = 4096;

  private final List<RbacPolicy.Route> routes;
  private final List<String[]> templates; // each route's path, split once

  public RouteTable(List<RbacPolicy.Route> routes) {
    this.routes = List.copyOf(routes);
    this.templates = this.routes.stream().map(route -> templateSegments(route.path())).toList();
  }

  /**
   * Reads a request target (origin form: {@code /path?query}, as nginx's {@code $request_uri},
   * Traefik's {@code X-Forwarded-Uri} and the path Envoy sends) and decides whether it is safe to
   * route. A pure function of its argument: it never throws and keeps no state.
   */
  public static RequestTarget normalize(String target) {
    if (target.isEmpty()) {
      return refused("the target is empty");
    }
    if (target.length() > MAX_TARGET) {
      return refused("the target is longer than " + MAX_TARGET + " characters");
    }
    int hash = target.indexOf('#');
    if (hash >= 0) {
      return refused(
          "the target holds a fragment ('#' at offset "
              + hash
              + "): a backend reading the raw target would route only what comes before it");
    }
    for (int i = 0; i < target.length(); i++) {
      char c = target.charAt(i);
      if (c > 0x7e) {
        return refused(
            "the target holds the non-ASCII character "
                + show(c)
                + " unencoded; send it percent-encoded as UTF-8");
      }
      if (c <= 0x20 || c == 0x7f) {
        return refused("the target holds a space or a control character (" + show(c) + ")");
      }
    }
    if (target.charAt(0) != '/') {
      return refused(
          absoluteForm(target)
              ? "the target is in absolute form (scheme://host/...); a gateway sends the path"
              : "the target must start with '/'");
    }
    if (target.startsWith("//")) {
      return refused("the target starts with '//', which some parsers read as a host name");
    }
    int q = target.indexOf('?');
    String path = q < 0 ? target : target.substring(0, q);
    String query = q < 0 ? "" : target.substring(q + 1);
    if (path.length() > MAX_PATH) {
      return refused("the path is longer than " + MAX_PATH + " characters");
    }
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == ';') {
        return refused(
            "the path holds ';' (a path parameter, which some servers strip before routing)");
      }
      if (c == '\\') {
        return refused("the path holds a backslash, which some servers read as '/'");
      }
      if (c != '/' && c != '%' && !pathChar(c)) {
        return refused("the path holds " + show(c) + ", which must be percent-encoded");
      }
    }
    String[] raw = path.substring(1).split("/", -1);
    List<String> segments = new ArrayList<>(raw.length);
    boolean trailingSlash = false;
    for (int i = 0; i < raw.length; i++) {
      String s = raw[i];
      if (s.isEmpty()) {
        if (i == raw.length - 1) {
          trailingSlash = raw.length > 1; // "/" alone is the root, "/a/" has a trailing slash
          break;
        }
        return refused("the path holds an empty segment ('//')");
      }
      String decoded;
      try {
        decoded = decode(s);
      } catch (RefusedSegment e) {
        return refused(e.reason);
      }
      if (decoded.equals(".") || decoded.equals("..")) {
        return refused("the path holds a dot segment ('" + decoded + "')");
      }
      if (decoded.endsWith(".") || decoded.endsWith(" ")) {
        return refused("a path segment ends with '.' or a space, which some file systems drop");
      }
      segments.add(decoded);
    }
    String decodedPath = "/" + String.join("/", segments) + (trailingSlash ? "/" : "");
    return new RequestTarget.Accepted(path, query, decodedPath, segments);
  }

  /** Why a forwarded method is refused, or empty when forward-auth decides about it. */
  public static Optional<String> refusedMethod(String method) {
    if (method.isEmpty()) {
      return Optional.of("the method is empty");
    }
    if (METHODS.contains(method)) {
      return Optional.empty();
    }
    String shown = RequestTarget.printable(method, 16);
    if (METHODS.contains(method.toUpperCase(Locale.ROOT))) {
      return Optional.of(
          "the method '" + shown + "' is not upper-case (methods are case-sensitive)");
    }
    return Optional.of(
        "the method '" + shown + "' is not one forward-auth decides about " + sorted());
  }

  /**
   * Why a target cannot be matched, or empty when it is safe to match: {@link #normalize} for
   * callers that need only the verdict.
   */
  public static Optional<String> unsafe(String target) {
    return normalize(target) instanceof RequestTarget.Refused r
        ? Optional.of(r.reason())
        : Optional.empty();
  }

  /** The first route matching {@code method} and {@code target}: deny when there is none. */
  public Optional<RbacPolicy.Route> match(String method, String target) {
    return normalize(target) instanceof RequestTarget.Accepted accepted
        ? match(method, accepted)
        : Optional.empty();
  }

  /**
   * The first route, in file order, matching {@code method} (exactly one of {@link #METHODS}; HEAD
   * also matches GET routes) and the target's decoded segments.
   */
  public Optional<RbacPolicy.Route> match(String method, RequestTarget.Accepted target) {
    if (!METHODS.contains(method)) {
      return Optional.empty();
    }
    List<String> segments = target.segments();
    for (int i = 0; i < routes.size(); i++) {
      RbacPolicy.Route route = routes.get(i);
      boolean methodMatches =
          route.method().equals("*")
              || route.method().equals(method)
              || (method.equals("HEAD") && route.method().equals("GET"));
      if (methodMatches && matches(templates.get(i), segments)) {
        return Optional.of(route);
      }
    }
    return Optional.empty();
  }

  // ------------------------------------------------------------------ reading

  /** Thrown inside {@link #decode} only, to leave the loop with a reason. */
  private static final class RefusedSegment extends Exception {
    private final String reason;

    RefusedSegment(String reason) {
      super(reason, null, false, false);
      this.reason = reason;
    }
  }

  /**
   * Decodes one segment's percent-encodings. An encoding is accepted only where the character could
   * not appear unencoded (a space, {@code " < > [ ] ^ ` { | }}, non-ASCII as UTF-8), so an accepted
   * segment matches a literal template segment raw exactly when it does decoded.
   */
  private static String decode(String segment) throws RefusedSegment {
    if (segment.indexOf('%') < 0) {
      return segment;
    }
    StringBuilder out = new StringBuilder(segment.length());
    int i = 0;
    while (i < segment.length()) {
      char c = segment.charAt(i);
      if (c != '%') {
        out.append(c);
        i++;
        continue;
      }
      // A run of encodings: ASCII ones stand alone, bytes >= 0x80 are decoded together as UTF-8.
      ByteBuffer bytes = ByteBuffer.allocate((segment.length() - i) / 3 + 1);
      while (i < segment.length() && segment.charAt(i) == '%') {
        int b = hexByte(segment, i);
        if (b < 0x80) {
          if (bytes.position() > 0) {
            break;
          }
          out.append(asciiEncoding(b, segment.substring(i, i + 3)));
          i += 3;
          continue;
        }
        bytes.put((byte) b);
        i += 3;
      }
      if (bytes.position() > 0) {
        bytes.flip();
        out.append(utf8(bytes));
      }
    }
    String decoded = out.toString();
    if (!Normalizer.isNormalized(decoded, Normalizer.Form.NFKC)) {
      throw new RefusedSegment(
          "a path segment holds a character that Unicode normalization (NFKC) changes, such as a"
              + " fullwidth '/' or a ligature");
    }
    return decoded;
  }

  private static int hexByte(String s, int at) throws RefusedSegment {
    int hi = at + 1 < s.length() ? hex(s.charAt(at + 1)) : -1;
    int lo = at + 2 < s.length() ? hex(s.charAt(at + 2)) : -1;
    if (hi < 0 || lo < 0) {
      throw new RefusedSegment(
          "the path holds an invalid percent-encoding ('%' must be followed by two hex digits)");
    }
    return hi * 16 + lo;
  }

  private static int hex(char c) {
    return c <= 0x7f ? Character.digit(c, 16) : -1; // Character.digit accepts non-ASCII digits
  }

  private static char asciiEncoding(int b, String encoding) throws RefusedSegment {
    char c = (char) b;
    if (b == 0) {
      throw new RefusedSegment("the path holds an encoded NUL (%00)");
    }
    if (b < 0x20 || b == 0x7f) {
      throw new RefusedSegment("the path holds an encoded control character (" + encoding + ")");
    }
    if ("/\\%;?#".indexOf(c) >= 0) {
      throw new RefusedSegment(
          "the path holds an encoded '"
              + c
              + "' ("
              + encoding
              + "), which servers that decode before splitting read as a delimiter"
              + (c == '%' ? " (a double encoding)" : ""));
    }
    if (c == '.') {
      throw new RefusedSegment(
          "the path holds an encoded '.' ("
              + encoding
              + "), which servers that decode before removing dot segments read as '.'");
    }
    if (pathChar(c)) {
      throw new RefusedSegment(
          "the path holds an encoded '"
              + c
              + "' ("
              + encoding
              + ") that never needs encoding; an application matching the raw path and one"
              + " matching the decoded path would read it differently");
    }
    return c; // a space, " < > [ ] ^ ` { | }
  }

  private static String utf8(ByteBuffer bytes) throws RefusedSegment {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    CharBuffer chars;
    try {
      chars = decoder.decode(bytes);
    } catch (CharacterCodingException e) {
      throw new RefusedSegment(
          "the path holds percent-encoded bytes that are not valid UTF-8 (invalid, overlong,"
              + " truncated or an encoded surrogate)");
    }
    String s = chars.toString();
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      switch (Character.getType(cp)) {
        case Character.CONTROL,
            Character.FORMAT,
            Character.PRIVATE_USE,
            Character.SURROGATE,
            Character.UNASSIGNED,
            Character.SPACE_SEPARATOR,
            Character.LINE_SEPARATOR,
            Character.PARAGRAPH_SEPARATOR ->
            throw new RefusedSegment(
                "the path holds "
                    + String.format(Locale.ROOT, "U+%04X", cp)
                    + ", a control, format, space, unassigned or private-use character");
        default -> {}
      }
      i += Character.charCount(cp);
    }
    return s;
  }

  /** RFC 3986 pchar without '%' and ';': unreserved, the other sub-delims, ':' and '@'. */
  private static boolean pathChar(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || "-._~!$&'()*+,=:@".indexOf(c) >= 0;
  }

  private static boolean absoluteForm(String target) {
    int colon = target.indexOf(':');
    if (colon < 1 || !Character.isLetter(target.charAt(0))) {
      return false;
    }
    for (int i = 1; i < colon; i++) {
      char c = target.charAt(i);
      if (!(Character.isLetterOrDigit(c) || c == '+' || c == '-' || c == '.')) {
        return false;
      }
    }
    return true;
  }

  private static RequestTarget refused(String reason) {
    return new RequestTarget.Refused(reason);
  }

  /** {@code 'c'} for visible ASCII, {@code U+XXXX} for anything else. */
  private static String show(char c) {
    return c > 0x20 && c < 0x7f ? "'" + c + "'" : String.format(Locale.ROOT, "U+%04X", (int) c);
  }

  private static String sorted() {
    return new java.util.TreeSet<>(METHODS).toString();
  }

  // ------------------------------------------------------------------ matching

  private static String[] templateSegments(String path) {
    String trimmed =
        path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    return trimmed.equals("/") ? new String[0] : trimmed.substring(1).split("/", -1);
  }

  private static boolean matches(String[] template, List<String> path) {
    for (int i = 0; i < template.length; i++) {
      String t = template[i];
      if (t.equals("**")) {
        return path.size() > i; // at least one more segment
      }
      if (i >= path.size()) {
        return false;
      }
      boolean variable = t.startsWith("{") && t.endsWith("}");
      if (!variable && !t.equals(path.get(i))) {
        return false;
      }
    }
    return template.length == path.size();
  }
}
