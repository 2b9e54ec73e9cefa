package dev.castellan.server.metrics;

import dev.castellan.server.auth.Principal;
import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The access log: one line per finished request with its method, path, route template, status,
 * duration, caller and request id. Off unless the logger is on (the CLI's {@code --access-log});
 * when off it costs one level check per request. Headers are never logged, so no credential can
 * reach it. The fields are SLF4J key-value pairs (fields of their own in a JSON encoder that writes
 * them, such as logstash-logback-encoder's) and are repeated as {@code key=value} in the message
 * for text logs.
 */
public final class RequestLog {
  /** The logger's name, to turn it on or off in a logback configuration. */
  public static final String LOGGER = "castellan.access";

  private static final Logger LOG = LoggerFactory.getLogger(LOGGER);

  private RequestLog() {}

  /** Logs a finished request; {@code endpoint} is its route, null when none matched. */
  static void log(Context ctx, @Nullable Endpoint endpoint, float millis) {
    if (!LOG.isInfoEnabled()) {
      return;
    }
    String requestId = ctx.res().getHeader("X-Request-Id");
    Principal principal = ctx.attribute("principal");
    // The request's MDC was cleared by the after-handler; this line belongs to the request too.
    MDC.put("request_id", requestId == null ? "" : requestId);
    try {
      String method = ctx.method().name();
      String path = ctx.path();
      String route = endpoint == null ? "unmatched" : endpoint.path;
      int status = ctx.statusCode();
      double duration = Math.round(millis * 1000.0) / 1000.0;
      String caller = principal == null ? "" : principal.id();
      LOG.atInfo()
          .addKeyValue("method", method)
          .addKeyValue("path", path)
          .addKeyValue("route", route)
          .addKeyValue("status", status)
          .addKeyValue("duration_ms", duration)
          .addKeyValue("caller", caller)
          .log(
              "method={} path={} route={} status={} duration_ms={} caller={}",
              method,
              path,
              route,
              status,
              duration,
              caller);
    } finally {
      MDC.remove("request_id");
    }
  }
}
