package dev.castellan.server.metrics;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.castellan.server.auth.Principal;
import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The access log: one line per finished request with its method, path, route template, status,
 * duration, caller and request id. Off unless {@link LogSettings#accessLog()}; when off it costs
 * one level check per request. Headers are never logged, so no credential can reach it.
 */
public final class RequestLog {
  /** The logger's name, to turn it on or off in a logback configuration. */
  public static final String LOGGER = "castellan.access";

  private static final Logger LOG = LoggerFactory.getLogger(LOGGER);

  private RequestLog() {}

  /** Logs a finished request; {@code endpoint} is its route, null when none matched. */
  static void log(Context ctx, Endpoint endpoint, float millis) {
    if (!LOG.isInfoEnabled()) {
      return;
    }
    String requestId = ctx.res().getHeader("X-Request-Id");
    Principal principal = ctx.attribute("principal");
    // The request's MDC was cleared by the after-handler; this line belongs to the request too.
    MDC.put("request_id", requestId == null ? "" : requestId);
    try {
      LOG.info(
          "{} {} {} {} {} {}",
          kv("method", ctx.method().name()),
          kv("path", ctx.path()),
          kv("route", endpoint == null ? "unmatched" : endpoint.path),
          kv("status", ctx.statusCode()),
          kv("duration_ms", Math.round(millis * 1000.0) / 1000.0),
          kv("caller", principal == null ? "" : principal.id()));
    } finally {
      MDC.remove("request_id");
    }
  }
}
