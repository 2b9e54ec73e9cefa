package dev.castellan.server;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.api.AdminApi;
import dev.castellan.server.api.ApiErrors;
import dev.castellan.server.api.OpenFgaApi;
import dev.castellan.server.api.RbacApi;
import dev.castellan.server.audit.AuditApi;
import dev.castellan.server.audit.AuditEvent;
import dev.castellan.server.audit.AuditSettings;
import dev.castellan.server.audit.AuditTrail;
import dev.castellan.server.audit.RequestAudit;
import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.auth.ApiKeys;
import dev.castellan.server.auth.Authentication;
import dev.castellan.server.auth.Authorization;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.server.auth.Principal;
import dev.castellan.server.metrics.Readiness;
import dev.castellan.server.metrics.ServerMetrics;
import dev.castellan.server.rbac.ClaimRoles;
import dev.castellan.server.rbac.PolicyWatcher;
import dev.castellan.server.rbac.Rbac;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.Store;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The Castellan HTTP server: OpenFGA's API over a {@link Store}, every endpoint but health (and
 * {@code /metrics} when made public) behind credentials. Start with {@link #start(Options, Store)},
 * stop with {@link #close()}.
 */
public final class CastellanServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CastellanServer.class);

  /**
   * How to run: an immutable value changed with {@code with...} methods, each returning a copy (a
   * new setting is a field, an accessor, a {@code with} method and a line in {@link #copy()}).
   */
  public static final class Options {
    private String host = "0.0.0.0";
    private int port = 8080;
    private String bootstrapToken = "";
    private Limits limits = Limits.DEFAULT;
    private IndexFeed.Options feed = IndexFeed.Options.DEFAULT;
    private Duration consistencyTimeout = Duration.ofSeconds(5);
    private JwtSettings jwt;
    private Path rbacFile;
    private Duration rbacReloadInterval = PolicyWatcher.DEFAULT_INTERVAL;
    private ClaimRoles claimRoles = ClaimRoles.DEFAULT;
    private boolean metricsPublic;
    private EvaluationLimits evaluation = EvaluationLimits.DEFAULT;

    private Options() {}

    public static Options defaults() {
      return new Options();
    }

    private Options copy() {
      Options o = new Options();
      o.host = host;
      o.port = port;
      o.bootstrapToken = bootstrapToken;
      o.limits = limits;
      o.feed = feed;
      o.consistencyTimeout = consistencyTimeout;
      o.jwt = jwt;
      o.rbacFile = rbacFile;
      o.rbacReloadInterval = rbacReloadInterval;
      o.claimRoles = claimRoles;
      o.metricsPublic = metricsPublic;
      o.evaluation = evaluation;
      return o;
    }

    /** The address to bind; {@code 0.0.0.0} by default. */
    public String host() {
      return host;
    }

    /** TCP port; 0 picks a free one. */
    public int port() {
      return port;
    }

    /** The admin credential to accept; empty: generate one and print it. */
    public String bootstrapToken() {
      return bootstrapToken;
    }

    public Limits limits() {
      return limits;
    }

    public IndexFeed.Options feed() {
      return feed;
    }

    /** How long a request waits for its consistency token's revision. */
    public Duration consistencyTimeout() {
      return consistencyTimeout;
    }

    /** JWT verification; null: tokens are not accepted. */
    public JwtSettings jwt() {
      return jwt;
    }

    /** The RBAC policy file ({@code rbac.yaml}) to load at start and watch; null: none. */
    public Path rbacFile() {
      return rbacFile;
    }

    public Duration rbacReloadInterval() {
      return rbacReloadInterval;
    }

    /** Which token claims carry roles and groups. */
    public ClaimRoles claimRoles() {
      return claimRoles;
    }

    /**
     * Serve {@code /metrics} without credentials (for a Prometheus scraper); otherwise it needs a
     * global admin.
     */
    public boolean metricsPublic() {
      return metricsPublic;
    }

    /** Deadlines, step budget, explanation and result sizes of evaluations (issue 12). */
    public EvaluationLimits evaluation() {
      return evaluation;
    }

    public Options withHost(String value) {
      Options o = copy();
      o.host = value;
      return o;
    }

    public Options withPort(int value) {
      Options o = copy();
      o.port = value;
      return o;
    }

    public Options withBootstrapToken(String value) {
      Options o = copy();
      o.bootstrapToken = value;
      return o;
    }

    public Options withLimits(Limits value) {
      Options o = copy();
      o.limits = value;
      return o;
    }

    /** How each store's index follows the changelog. */
    public Options withFeed(IndexFeed.Options value) {
      Options o = copy();
      o.feed = value;
      return o;
    }

    public Options withConsistencyTimeout(Duration value) {
      Options o = copy();
      o.consistencyTimeout = value;
      return o;
    }

    public Options withJwt(JwtSettings value) {
      Options o = copy();
      o.jwt = value;
      return o;
    }

    public Options withRbacFile(Path value) {
      Options o = copy();
      o.rbacFile = value;
      return o;
    }

    public Options withRbacReloadInterval(Duration value) {
      Options o = copy();
      o.rbacReloadInterval = value;
      return o;
    }

    public Options withClaimRoles(ClaimRoles value) {
      Options o = copy();
      o.claimRoles = value;
      return o;
    }

    public Options withMetricsPublic(boolean value) {
      Options o = copy();
      o.metricsPublic = value;
      return o;
    }

    public Options withEvaluation(EvaluationLimits value) {
      Options o = copy();
      o.evaluation = java.util.Objects.requireNonNull(value, "evaluation");
      return o;
    }
  }

  private final Javalin app;
  private final StoreRuntime runtime;
  private final Store store;
  private final String generatedToken;

  private final String systemStoreId;
  private final Rbac rbac;
  private final PolicyWatcher policyWatcher;
  private final ServerMetrics metrics;
  private final AuditTrail audit;

  private CastellanServer(
      Javalin app,
      StoreRuntime runtime,
      Store store,
      String generatedToken,
      String systemStoreId,
      Rbac rbac,
      PolicyWatcher policyWatcher,
      ServerMetrics metrics,
      AuditTrail audit) {
    this.systemStoreId = systemStoreId;
    this.rbac = rbac;
    this.policyWatcher = policyWatcher;
    this.metrics = metrics;
    this.audit = audit;
    this.app = app;
    this.runtime = runtime;
    this.store = store;
    this.generatedToken = generatedToken;
  }

  public static CastellanServer start(Options options, Store store) {
    return start(options, store, AuditSettings.DEFAULT);
  }

  /** Starts with the audit trail and alerts as {@code auditSettings} say. */
  public static CastellanServer start(Options options, Store store, AuditSettings auditSettings) {
    AuditTrail audit = AuditTrail.start(auditSettings, store.auditRecords());
    StoreRuntime runtime =
        new StoreRuntime(store, options.feed(), options.consistencyTimeout(), Clock.systemUTC());
    ApiKeys keys = new ApiKeys(store, Clock.systemUTC());
    AccessControl access = AccessControl.open(store);
    String generated = "";
    if (!options.bootstrapToken().isEmpty()) {
      access.grantAdmin(keys.register(options.bootstrapToken(), "bootstrap"));
    } else if (keys.list().isEmpty()) {
      // First start on an empty database: make an admin key and hand it out once.
      ApiKeys.Created created = keys.create("bootstrap");
      access.grantAdmin(created.principalId());
      generated = created.key();
      audit.record(
          new AuditEvent(
              java.time.Instant.now(),
              AuditEvent.Kind.CHANGE,
              "access-grant",
              "",
              created.principalId(),
              java.util.List.of(),
              "admin",
              "castellan:global",
              AuditEvent.Outcome.OK,
              "first start: the generated admin key",
              "",
              0,
              "",
              ""));
    }
    Authentication authentication = new Authentication(keys, options.jwt());
    Authorization authorization = new Authorization(runtime, access);
    ServerMetrics metrics = ServerMetrics.create(runtime);
    Readiness readiness = new Readiness(store, access.systemStoreId(), Duration.ofSeconds(2));
    OpenFgaApi api =
        new OpenFgaApi(
            runtime,
            options.limits(),
            metrics,
            new OpenFgaApi.StoreHooks() {
              @Override
              public boolean visible(Context ctx, dev.castellan.store.StoreInfo info) {
                return authorization.visible(ctx, info.id());
              }

              @Override
              public void deleted(String storeId) {
                access.forgetStore(storeId);
                runtime.afterWrite(access.systemStoreId());
              }
            },
            audit,
            options.evaluation());
    AdminApi admin = new AdminApi(runtime, keys, access, audit);
    AuditApi auditApi = new AuditApi(audit);
    metrics.gauge(
        "castellan.audit.queue.depth", "audit entries waiting to be written", audit::queueDepth);
    metrics.counter(
        "castellan.audit.dropped.allows",
        "sampled allow decisions dropped because the audit queue was full",
        audit::droppedAllows);
    Rbac rbac = Rbac.open(runtime, access.systemStoreId());
    PolicyWatcher watcher =
        options.rbacFile() == null
            ? null
            : PolicyWatcher.start(
                options.rbacFile(),
                rbac,
                options.rbacReloadInterval(),
                Clock.systemUTC(),
                status -> audit.record(policyEvent(status)));
    RbacApi rbacApi =
        new RbacApi(
            runtime,
            rbac,
            access,
            options.claimRoles(),
            audit,
            metrics,
            () -> Optional.ofNullable(watcher).map(PolicyWatcher::status));
    Javalin app =
        Javalin.create(
            config -> {
              config.startup.showJavalinBanner = false;
              config.concurrency.useVirtualThreads = true;
              config.http.maxRequestSize = options.limits().maxRequestBytes();
              config.jetty.host = options.host();
              config.jetty.port = options.port();
              config.routes.before(
                  ctx ->
                      before(
                          ctx,
                          authentication,
                          authorization,
                          metrics,
                          audit,
                          options.metricsPublic()));
              config.routes.after(ctx -> MDC.remove("request_id"));
              config.requestLogger.http(metrics.requestLogger(config.unsafe));
              config.routes.get("/healthz", ctx -> ctx.json(java.util.Map.of("status", "SERVING")));
              config.routes.get("/readyz", ctx -> ready(ctx, readiness));
              config.routes.get(
                  "/metrics",
                  ctx -> ctx.contentType(ServerMetrics.CONTENT_TYPE).result(metrics.scrape()));
              api.register(config.routes);
              admin.register(config.routes);
              rbacApi.register(config.routes);
              auditApi.register(config.routes);
              config.routes.exception(CastellanException.class, (e, ctx) -> ApiErrors.send(ctx, e));
              config.routes.exception(Exception.class, (e, ctx) -> ApiErrors.internal(ctx, e));
              config.routes.error(
                  404,
                  ctx -> {
                    // Javalin's own "Endpoint ... not found" is plain text; API errors are JSON.
                    String type = ctx.res().getContentType();
                    if (type == null || !type.startsWith("application/json")) {
                      ApiErrors.write(
                          ctx, 404, ErrorCode.UNDEFINED_ENDPOINT.wireName(), "no such endpoint");
                    }
                  });
              config.routes.error(
                  405,
                  ctx ->
                      ApiErrors.write(
                          ctx, 405, ErrorCode.UNDEFINED_ENDPOINT.wireName(), "method not allowed"));
              config.routes.error(
                  413,
                  ctx ->
                      ApiErrors.write(
                          ctx,
                          413,
                          ErrorCode.VALIDATION_ERROR.wireName(),
                          "the request body is larger than "
                              + options.limits().maxRequestBytes()
                              + " bytes"));
            });
    // Listening before the stores are loaded lets /healthz answer and /readyz say "not yet"
    // during a long load; start returns once every store is loaded, as before.
    app.start();
    try {
      preload(runtime, store);
    } catch (RuntimeException e) {
      app.stop();
      metrics.close();
      runtime.close();
      throw e;
    }
    readiness.loaded();
    LOG.info("Castellan listening on {}:{}", options.host(), app.port());
    return new CastellanServer(
        app, runtime, store, generated, access.systemStoreId(), rbac, watcher, metrics, audit);
  }

  private static AuditEvent policyEvent(PolicyWatcher.Status status) {
    boolean rejected = !status.error().isEmpty();
    return new AuditEvent(
        java.time.Instant.now(),
        AuditEvent.Kind.CHANGE,
        "policy-reload",
        "castellan",
        "",
        List.of(),
        rejected ? "reject" : "load",
        status.file(),
        rejected ? AuditEvent.Outcome.ERROR : AuditEvent.Outcome.OK,
        rejected ? status.error() : "sha256 " + status.sha256(),
        "",
        0,
        "",
        "");
  }

  /** Loads every store into memory before serving, so the first request is as fast as the rest. */
  private static void preload(StoreRuntime runtime, Store store) {
    store.allStores().forEach(info -> runtime.feed(info.id()));
  }

  private static void ready(Context ctx, Readiness readiness) {
    Readiness.Status status = readiness.check();
    if (status.ready()) {
      ctx.json(java.util.Map.of("status", "SERVING"));
    } else {
      ctx.status(503).json(java.util.Map.of("status", "NOT_SERVING", "reason", status.reason()));
    }
  }

  private static void before(
      Context ctx,
      Authentication authentication,
      Authorization authorization,
      ServerMetrics metrics,
      AuditTrail audit,
      boolean metricsPublic) {
    String requestId =
        Optional.ofNullable(ctx.header("X-Request-Id"))
            .filter(id -> id.length() <= 64 && id.matches("[A-Za-z0-9._-]+"))
            .orElseGet(() -> UUID.randomUUID().toString());
    MDC.put("request_id", requestId);
    ctx.header("X-Request-Id", requestId);
    String path = ctx.path();
    if (path.equals("/healthz")
        || path.equals("/readyz")
        || (metricsPublic && path.equals("/metrics"))) {
      return;
    }
    Principal principal;
    try {
      principal = authentication.authenticate(ctx.header("Authorization"));
    } catch (CastellanException e) {
      metrics.authenticationFailure(ctx.header("Authorization"));
      audit.record(
          RequestAudit.decision(
              ctx, "auth-failure", "", "authenticate", path, false, e.getMessage(), "", 0));
      throw e;
    }
    ctx.attribute("principal", principal);
    try {
      authorization.authorize(ctx, principal);
    } catch (CastellanException e) {
      if (e.code() == ErrorCode.FORBIDDEN) {
        audit.record(
            RequestAudit.decision(
                ctx,
                "api-access",
                principal.id(),
                ctx.method().name(),
                path,
                false,
                e.getMessage(),
                "",
                0));
      }
      throw e;
    }
  }

  /** The port the server listens on. */
  public int port() {
    return app.port();
  }

  /**
   * The admin key made on the first start of an empty database without a bootstrap token; empty
   * otherwise (it is shown once and only its hash is kept).
   */
  public String generatedToken() {
    return generatedToken;
  }

  /** The id of the built-in store that holds Castellan's own access rights. */
  public String systemStoreId() {
    return systemStoreId;
  }

  public StoreRuntime runtime() {
    return runtime;
  }

  /** Roles, permissions and RBAC decisions. */
  public Rbac rbac() {
    return rbac;
  }

  /**
   * This server's metrics, served at {@code /metrics}; other parts register their gauges here (e.g.
   * the audit queue's depth).
   */
  public ServerMetrics metrics() {
    return metrics;
  }

  /** The audit trail: every decision and change this node saw (and its queue's figures). */
  public AuditTrail audit() {
    return audit;
  }

  @Override
  public void close() {
    if (policyWatcher != null) {
      policyWatcher.close();
    }
    app.stop();
    audit.close();
    runtime.close();
    metrics.close();
    store.close();
  }
}
