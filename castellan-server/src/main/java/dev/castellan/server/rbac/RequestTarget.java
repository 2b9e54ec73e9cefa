package dev.castellan.server.rbac;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A request target (path and query, as on the request line) as {@link RouteTable#normalize} read
 * it: either accepted, with its path decoded exactly once, or refused with the reason.
 */
public sealed interface RequestTarget {

  /**
   * A target safe to route: every reading of it (raw or decoded, by Castellan or by Jetty) gives
   * the same segments.
   *
   * @param path the path as sent, still percent-encoded, without the query
   * @param query the query as sent, without the {@code '?'}; empty when there is none
   * @param decodedPath the path with its percent-encodings decoded (UTF-8), trailing slash kept
   * @param segments the decoded segments, without the empty one a trailing slash makes
   */
  record Accepted(String path, String query, String decodedPath, List<String> segments)
      implements RequestTarget {
    public Accepted {
      segments = List.copyOf(segments);
    }
  }

  /**
   * A target Castellan will not route.
   *
   * @param reason what was refused and why, for the audit trail and the 403 body
   */
  record Refused(String reason) implements RequestTarget {}

  /**
   * {@code raw} cut to {@code max} characters, with every character outside visible ASCII
   * percent-encoded as UTF-8: a refused method or target as a log line or an audit entry may show
   * it.
   */
  static String printable(String raw, int max) {
    String s = raw.length() > max ? raw.substring(0, max) : raw;
    StringBuilder out = new StringBuilder(s.length() + 8);
    s.codePoints()
        .forEach(
            cp -> {
              if (cp > 0x20 && cp < 0x7f) {
                out.append((char) cp);
              } else {
                for (byte b : Character.toString(cp).getBytes(StandardCharsets.UTF_8)) {
                  out.append(String.format(java.util.Locale.ROOT, "%%%02X", b & 0xff));
                }
              }
            });
    return raw.length() > max ? out + "..." : out.toString();
  }
}
