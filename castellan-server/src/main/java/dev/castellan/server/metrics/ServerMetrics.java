package dev.castellan.server.metrics;

import dev.castellan.engine.Budget;
import dev.castellan.server.StoreRuntime;
import io.javalin.config.JavalinState;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.RequestLogger;
import io.javalin.router.Endpoint;
import io.javalin.router.ParsedEndpoint;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The server's Prometheus metrics: decisions by API and outcome, request latency per route, index
 * size, memory and revision lag per store, authentication failures, and the JVM's basics. One
 * registry per server, so servers in one JVM (tests) do not mix their counts.
 *
 * <p>The request path only increments meters resolved in advance (per API and outcome, per route
 * and status class): no tag lists or strings are built per request.
 *
 * <p>Other parts of the server add their own meters with {@link #gauge} and {@link #counter}, e.g.
 * {@code metrics.gauge("castellan.audit.queue.depth", "entries waiting", queue::size)}.
 */
public final class ServerMetrics implements AutoCloseable {
  /** The content type of {@link #scrape()}: Prometheus' text format 0.0.4. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** Buckets of the request latency histograms: a check takes tens of microseconds. */
  private static final Duration[] LATENCY_BUCKETS = {
    Duration.ofNanos(100_000),
    Duration.ofNanos(250_000),
    Duration.ofNanos(500_000),
    Duration.ofMillis(1),
    Duration.ofNanos(2_500_000),
    Duration.ofMillis(5),
    Duration.ofMillis(10),
    Duration.ofMillis(25),
    Duration.ofMillis(50),
    Duration.ofMillis(100),
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofMillis(2_500),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10)
  };

  /** The methods that keep their name on unmatched requests; any other is {@code other}. */
  private static final Set<String> KNOWN_METHODS =
      Set.of("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS");

  /** What answered an authorization question. */
  public enum Api {
    CHECK("check", "/stores/{store_id}/check"),
    BATCH_CHECK("batch-check", "/stores/{store_id}/batch-check"),
    LIST_OBJECTS("list-objects", "/stores/{store_id}/list-objects"),
    STREAMED_LIST_OBJECTS("streamed-list-objects", "/stores/{store_id}/streamed-list-objects"),
    LIST_USERS("list-users", "/stores/{store_id}/list-users"),
    AUTHORIZE("authorize", "/api/authorize"),
    FORWARD_AUTH("forward-auth", "/authz/forward");

    private final String label;
    private final String route;

    Api(String label, String route) {
      this.label = label;
      this.route = route;
    }

    /** The {@code api} label value. */
    public String label() {
      return label;
    }

    static @Nullable Api ofRoute(String route) {
      for (Api api : values()) {
        if (api.route.equals(route)) {
          return api;
        }
      }
      return null;
    }
  }

  /** Why a request's credentials were refused, coarsely: never the credential itself. */
  public enum AuthFailure {
    /** No {@code Authorization} header. */
    MISSING,
    /** Not {@code Bearer <credential>}, or too long. */
    MALFORMED,
    /** An API key that is unknown, revoked or wrong. */
    API_KEY,
    /** A JWT that failed verification (signature, issuer, audience, expiry, ...). */
    JWT;

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** The class of a refused {@code Authorization} header. */
    public static AuthFailure of(@Nullable String header) {
      if (header == null || header.isBlank()) {
        return MISSING;
      }
      if (!header.regionMatches(true, 0, "Bearer ", 0, 7) || header.length() > 16 * 1024) {
        return MALFORMED;
      }
      String credential = header.substring(7).trim();
      int first = credential.indexOf('.');
      int second = first < 0 ? -1 : credential.indexOf('.', first + 1);
      boolean jwtShape = second > first && credential.indexOf('.', second + 1) < 0;
      return jwtShape ? JWT : API_KEY;
    }
  }

  private final PrometheusMeterRegistry registry;
  // Null on a detached instance (no runtime): no JVM or index meters.
  private final @Nullable JvmGcMetrics gc;
  private final @Nullable IndexGauges index;
  private final Counter[] decisions; // [api][allow, deny, error]
  private final Counter[] authFailures;
  private final Counter authThrottled;

  /**
   * The sources of {@link #counter}s. Micrometer's FunctionCounter holds its source weakly, and a
   * method reference is reachable from nothing else: after a garbage collection the counter would
   * report its last value (0 if never scraped) for ever. Holding them here keeps them alive.
   */
  private final List<Supplier<? extends Number>> counterSources = new CopyOnWriteArrayList<>();

  private final Counter[] stopped; // [api][limit]
  private final Map<Endpoint, RouteMeters> routes = new ConcurrentHashMap<>();
  private final Map<String, RouteMeters> unmatched = new ConcurrentHashMap<>();

  private ServerMetrics(@Nullable StoreRuntime runtime) {
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    if (runtime != null) {
      new ClassLoaderMetrics().bindTo(registry);
      new JvmMemoryMetrics().bindTo(registry);
      new JvmThreadMetrics().bindTo(registry);
      new ProcessorMetrics().bindTo(registry);
      new UptimeMetrics().bindTo(registry);
      gc = new JvmGcMetrics();
      gc.bindTo(registry);
    } else {
      gc = null;
    }
    Api[] apis = Api.values();
    String[] outcomes = {"allow", "deny", "error"};
    decisions = new Counter[apis.length * outcomes.length];
    for (Api api : apis) {
      for (int o = 0; o < outcomes.length; o++) {
        decisions[api.ordinal() * outcomes.length + o] =
            Counter.builder("castellan.decisions")
                .description("Authorization decisions answered, by API and outcome")
                .tag("api", api.label())
                .tag("outcome", outcomes[o])
                .register(registry);
      }
    }
    AuthFailure[] reasons = AuthFailure.values();
    authFailures = new Counter[reasons.length];
    for (AuthFailure reason : reasons) {
      authFailures[reason.ordinal()] =
          Counter.builder("castellan.authentication.failures")
              .description("Requests refused for missing or invalid credentials, by reason")
              .tag("reason", reason.label())
              .register(registry);
    }
    authThrottled =
        Counter.builder("castellan.authentication.throttled")
            .description(
                "Requests answered 429 without their credentials being checked, because their"
                    + " client address had too many failed authentications")
            .register(registry);
    Budget.Limit[] limits = Budget.Limit.values();
    stopped = new Counter[STOPPABLE.length * limits.length];
    for (int a = 0; a < STOPPABLE.length; a++) {
      for (Budget.Limit limit : limits) {
        stopped[a * limits.length + limit.ordinal()] =
            Counter.builder("castellan.evaluations.stopped")
                .description(
                    "Evaluations stopped by their budget, by API and what ran out; a check, a"
                        + " batch-check item or an expand fails, a list page returns what it"
                        + " found with a continuation token")
                .tag("api", STOPPABLE[a])
                .tag("limit", limit.name().toLowerCase(Locale.ROOT))
                .register(registry);
      }
    }
    index = runtime == null ? null : new IndexGauges(runtime, registry);
    if (runtime != null) {
      DatabaseMeters.register(runtime.store(), registry);
    }
  }

  /** The APIs whose evaluations run under a budget (the {@code api} label values). */
  private static final String[] STOPPABLE = {
    "check", "batch-check", "expand", "list-objects", "streamed-list-objects", "list-users"
  };

  /** Metrics for a server over {@code runtime}, with the JVM's meters bound. */
  public static ServerMetrics create(StoreRuntime runtime) {
    return new ServerMetrics(Objects.requireNonNull(runtime, "runtime"));
  }

  /** Metrics without index or JVM gauges: for an API used outside a server (tests, embedding). */
  public static ServerMetrics detached() {
    return new ServerMetrics(null);
  }

  // ------------------------------------------------------------------ the request path

  /** One decision answered: allowed or denied (for lists: a non-empty or an empty result). */
  public void decision(Api api, boolean allowed) {
    decisions[api.ordinal() * 3 + (allowed ? 0 : 1)].increment();
  }

  /** One decision that could not be answered (bad input, unknown store, timeout, failure). */
  public void decisionError(Api api) {
    decisions[api.ordinal() * 3 + 2].increment();
  }

  /**
   * An evaluation of {@code api} (one of check, batch-check, expand, list-objects,
   * streamed-list-objects, list-users) stopped by its budget because {@code limit} ran out.
   */
  public void evaluationStopped(String api, Budget.Limit limit) {
    for (int a = 0; a < STOPPABLE.length; a++) {
      if (STOPPABLE[a].equals(api)) {
        stopped[a * Budget.Limit.values().length + limit.ordinal()].increment();
        return;
      }
    }
    throw new IllegalArgumentException("no budget counter for api '" + api + "'");
  }

  /** A request refused with 401; {@code header} is only classified, never kept. */
  public void authenticationFailure(@Nullable String header) {
    authFailures[AuthFailure.of(header).ordinal()].increment();
  }

  /** A request refused with 429 by the failed-authentication limit. */
  public void authenticationThrottled() {
    authThrottled.increment();
  }

  /**
   * What runs when a request is done (Javalin's request logger): its latency by route template and
   * status class, a decision error if it was one, and the access-log line.
   *
   * @param javalin the server's state, to find the route of a request refused before routing
   */
  public RequestLogger requestLogger(JavalinState javalin) {
    return (ctx, millis) -> {
      Endpoint endpoint = ctx.endpoints().matchedHttpEndpoint();
      if (endpoint == null) {
        // Refused in the before-handler (401, 403): Javalin had not routed it yet. Matching the
        // path against the routes happens only here, off the path of a served request.
        ParsedEndpoint parsed =
            javalin.internalRouter.findFirstHttpHandlerEntry(ctx.method(), ctx.path());
        endpoint = parsed == null ? null : parsed.endpoint;
      }
      request(ctx, endpoint, millis);
      RequestLog.log(ctx, endpoint, millis);
    };
  }

  /**
   * Records a finished request: its latency by route template (never the raw path) and status
   * class. A decision route that answered 4xx or 5xx, other than 401, 403 and 429 (a refused
   * caller, counted as such), counts one decision error.
   */
  private void request(Context ctx, @Nullable Endpoint endpoint, float millis) {
    RouteMeters meters;
    if (endpoint == null) {
      meters = unmatched(ctx.method());
    } else {
      RouteMeters known = routes.get(endpoint);
      meters =
          known != null
              ? known
              : routes.computeIfAbsent(endpoint, e -> new RouteMeters(e.method.name(), e.path));
    }
    int status = ctx.statusCode();
    meters.timer(status).record((long) (millis * 1_000_000.0), TimeUnit.NANOSECONDS);
    if (meters.api != null && status >= 400 && status != 401 && status != 403 && status != 429) {
      decisionError(meters.api);
    }
  }

  private RouteMeters unmatched(HandlerType method) {
    String name = KNOWN_METHODS.contains(method.name()) ? method.name() : "other";
    return unmatched.computeIfAbsent(name, m -> new RouteMeters(m, "unmatched"));
  }

  /** The latency timers of one route, one per status class, made on first use. */
  private final class RouteMeters {
    private final String method;
    private final String route;
    private final @Nullable Api api; // null: not a decision route
    private final AtomicReferenceArray<Timer> timers = new AtomicReferenceArray<>(6);

    RouteMeters(String method, String route) {
      this.method = method;
      this.route = route;
      this.api = Api.ofRoute(route);
    }

    Timer timer(int status) {
      int statusClass = status < 100 || status > 599 ? 0 : status / 100;
      Timer timer = timers.get(statusClass);
      if (timer == null) {
        // A race makes the same timer twice: the registry hands out one instance per name and tags.
        timer =
            Timer.builder("castellan.http.requests")
                .description("HTTP requests by method, route template and status class")
                .tag("method", method)
                .tag("route", route)
                .tag("status", statusClass == 0 ? "other" : statusClass + "xx")
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry);
        timers.set(statusClass, timer);
      }
      return timer;
    }
  }

  // ------------------------------------------------------------------ registration and scrape

  /**
   * Registers a gauge read at each scrape, e.g. {@code castellan.audit.queue.depth}; dots become
   * underscores in Prometheus names. Registering a name twice keeps the first.
   */
  public void gauge(String name, String description, Supplier<? extends Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }

  /**
   * Registers a counter read at each scrape from a monotonic source (e.g. a drop count). The source
   * is held strongly for the registry's life.
   */
  public void counter(String name, String description, Supplier<? extends Number> value) {
    counterSources.add(value);
    FunctionCounter.builder(name, value, v -> v.get().doubleValue())
        .description(description)
        .register(registry);
  }

  /** The registry, for meters the methods above do not cover. */
  public MeterRegistry registry() {
    return registry;
  }

  /** Every meter in Prometheus' text format, with the index gauges read now. */
  public String scrape() {
    if (index != null) {
      index.refresh();
    }
    return registry.scrape();
  }

  @Override
  public void close() {
    if (gc != null) {
      gc.close();
    }
    registry.close();
  }
}
