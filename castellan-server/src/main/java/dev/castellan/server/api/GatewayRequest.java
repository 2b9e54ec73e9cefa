package dev.castellan.server.api;

import dev.castellan.server.rbac.RequestTarget;
import dev.castellan.server.rbac.RouteTable;
import io.javalin.http.Context;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.util.URIUtil;

/**
 * The original request a gateway asks forward-auth about, read strictly: from {@code
 * X-Forwarded-Method} and {@code X-Forwarded-Uri} (nginx, Traefik), or from this request's own
 * method and the target after {@code /authz/envoy} (Envoy). Anything that could make Castellan
 * decide about another request than the one the backend receives is refused: a header sent twice or
 * joined with commas, a method it does not know, a target {@link RouteTable#normalize} refuses, and
 * a target Jetty's own URI parser reads differently from Castellan.
 */
sealed interface GatewayRequest {
  /** The headers a gateway sends once; a second copy means a client's value got through. */
  List<String> SINGLE_HEADERS =
      List.of("X-Forwarded-Method", "X-Forwarded-Uri", "X-Forwarded-Host", "X-Forwarded-Proto");

  /** A comma, then a new target: two X-Forwarded-Uri values joined into one. */
  Pattern JOINED_TARGETS = Pattern.compile(",\\s*(/|[A-Za-z][A-Za-z0-9+.-]*:)");

  /** The method and target as the audit trail shows them. */
  String resource();

  /** A request forward-auth may decide about. */
  record Original(String method, RequestTarget.Accepted target) implements GatewayRequest {
    @Override
    public String resource() {
      return method + " " + RequestTarget.printable(target.path(), 200);
    }
  }

  /** A request forward-auth refuses to decide about, and why. */
  record Refused(String method, String target, String reason) implements GatewayRequest {
    @Override
    public String resource() {
      return RequestTarget.printable(method, 16) + " " + RequestTarget.printable(target, 200);
    }
  }

  /**
   * Reads the original request from a forward-auth request.
   *
   * @param envoyPrefix the path under which Envoy's ext_authz sends the original target, or empty
   *     when the request came to {@code /authz/forward}
   */
  static GatewayRequest read(Context ctx, Optional<String> envoyPrefix) {
    String method;
    String target;
    Optional<String> problem = singleHeaders(ctx);
    if (envoyPrefix.isPresent()) {
      method = ctx.method().name();
      target = envoyTarget(ctx, envoyPrefix.get());
    } else {
      method = Optional.ofNullable(ctx.header("X-Forwarded-Method")).orElse("");
      target = Optional.ofNullable(ctx.header("X-Forwarded-Uri")).orElse("");
      if (problem.isEmpty() && (ctx.header("X-Forwarded-Method") == null || target.isEmpty())) {
        problem =
            Optional.of(
                "forward-auth needs the X-Forwarded-Method and X-Forwarded-Uri headers (see the"
                    + " README's gateway section)");
      }
    }
    if (problem.isEmpty()) {
      problem = RouteTable.refusedMethod(method);
    }
    if (problem.isPresent()) {
      return new Refused(method, target, problem.get());
    }
    return switch (RouteTable.normalize(target)) {
      case RequestTarget.Refused refused -> new Refused(method, target, refused.reason());
      case RequestTarget.Accepted accepted ->
          jettyDisagreement(target, accepted)
              .<GatewayRequest>map(why -> new Refused(method, target, why))
              .orElseGet(() -> new Original(method, accepted));
    };
  }

  /**
   * Why Jetty's URI parser reads {@code target} differently from {@link RouteTable#normalize}, or
   * empty when both read the same. Jetty must parse it ({@code HttpURI}, as its server parses a
   * request line) without any {@code UriCompliance} violation and without a fragment, split path
   * and query at the same place, decode the path to exactly Castellan's decoded path ({@code
   * HttpURI.getDecodedPath}, and {@code URIUtil.decodePath} of the raw path), and give the same
   * canonical form ({@code URIUtil.canonicalPath}) for the raw path and for Castellan's decoded
   * one, so that nothing was lost in decoding.
   */
  static Optional<String> jettyDisagreement(String target, RequestTarget.Accepted accepted) {
    HttpURI uri;
    String decoded;
    String decodedRaw;
    String canonicalRaw;
    String canonicalDecoded;
    try {
      uri = HttpURI.build().pathQuery(target);
      decoded = uri.getDecodedPath();
      decodedRaw = URIUtil.decodePath(accepted.path());
      canonicalRaw = URIUtil.canonicalPath(accepted.path());
      canonicalDecoded = URIUtil.canonicalPath(accepted.decodedPath());
    } catch (RuntimeException e) {
      return Optional.of("Jetty's URI parser rejects the target");
    }
    if (uri.hasViolations()) {
      return Optional.of(
          "Jetty's URI parser flags the target: "
              + uri.getViolations().stream()
                  .map(v -> v.name().toLowerCase(Locale.ROOT))
                  .sorted()
                  .toList());
    }
    if (uri.getFragment() != null
        || !accepted.path().equals(uri.getPath())
        || !accepted.query().equals(Optional.ofNullable(uri.getQuery()).orElse(""))) {
      return Optional.of("Jetty's URI parser splits the target differently");
    }
    if (!accepted.decodedPath().equals(decoded) || !accepted.decodedPath().equals(decodedRaw)) {
      return Optional.of("Jetty's URI parser decodes the path differently");
    }
    if (canonicalRaw == null || !canonicalRaw.equals(canonicalDecoded)) {
      return Optional.of("Jetty's canonical form of the path differs");
    }
    return Optional.empty();
  }

  /** Each of {@link #SINGLE_HEADERS} at most once, and not a comma-joined list. */
  private static Optional<String> singleHeaders(Context ctx) {
    for (String name : SINGLE_HEADERS) {
      List<String> values = Collections.list(ctx.req().getHeaders(name));
      if (values.size() > 1) {
        return Optional.of(
            "the "
                + name
                + " header is sent "
                + values.size()
                + " times; the gateway must replace a client's copy, not add to it");
      }
      if (values.size() == 1) {
        String value = values.get(0);
        boolean joined =
            name.equals("X-Forwarded-Uri")
                ? JOINED_TARGETS.matcher(value).find()
                : value.indexOf(',') >= 0;
        if (joined) {
          return Optional.of(
              "the " + name + " header holds a comma-joined list where one value is expected");
        }
      }
    }
    return Optional.empty();
  }

  /**
   * The target Envoy sent after the prefix, as it was on the request line: Jetty's own parse of it,
   * so that a fragment (which the servlet API drops silently) is still seen.
   */
  private static String envoyTarget(Context ctx, String envoyPrefix) {
    ServletContextRequest request = ServletContextRequest.getServletContextRequest(ctx.req());
    HttpURI uri = request == null ? null : request.getHttpURI();
    String path = uri == null ? ctx.req().getRequestURI() : uri.getPath();
    String query = uri == null ? ctx.req().getQueryString() : uri.getQuery();
    String fragment = uri == null ? null : uri.getFragment();
    String rest;
    if (path == null || !path.startsWith(envoyPrefix)) {
      rest = path == null ? "" : path; // an encoded prefix: refused below as it stands
    } else {
      rest = path.substring(envoyPrefix.length());
      if (rest.isEmpty()) {
        rest = "/";
      }
    }
    return rest + (query == null ? "" : "?" + query) + (fragment == null ? "" : "#" + fragment);
  }
}
