package dev.castellan.server;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.api.AdminApi;
import dev.castellan.server.api.ApiErrors;
import dev.castellan.server.api.DirectoryApi;
import dev.castellan.server.api.ImportApi;
import dev.castellan.server.api.OpenFgaApi;
import dev.castellan.server.api.PathParams;
import dev.castellan.server.api.RbacApi;
import dev.castellan.server.api.Right;
import dev.castellan.server.api.SecuredRoutes;
import dev.castellan.server.audit.AuditApi;
import dev.castellan.server.audit.AuditEvent;
import dev.castellan.server.audit.AuditSettings;
import dev.castellan.server.audit.AuditTrail;
import dev.castellan.server.audit.RequestAudit;
import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.auth.ApiKeys;
import dev.castellan.server.auth.AuthFailureLimit;
import dev.castellan.server.auth.AuthFailureLimiter;
import dev.castellan.server.auth.AuthMode;
import dev.castellan.server.auth.Authentication;
import dev.castellan.server.auth.Authorization;
import dev.castellan.server.auth.DeactivatedUsers;
import dev.castellan.server.auth.IssuerSettings;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.server.auth.LocalDevelopment;
import dev.castellan.server.auth.Principal;
import dev.castellan.server.auth.SubjectMigration;
import dev.castellan.server.auth.Subjects;
import dev.castellan.server.auth.TrustedProxies;
import dev.castellan.server.directory.DirectoryRoles;
import dev.castellan.server.directory.PendingIdentities;
import dev.castellan.server.metrics.Readiness;
import dev.castellan.server.metrics.ServerMetrics;
import dev.castellan.server.rbac.ClaimRoles;
import dev.castellan.server.rbac.PolicyWatcher;
import dev.castellan.server.rbac.Rbac;
import dev.castellan.server.scim.Deprovisioning;
import dev.castellan.server.scim.ScimApi;
import dev.castellan.server.tls.TlsListener;
import dev.castellan.server.tls.TlsSettings;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.Store;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
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
    private boolean changeNotifications = true;
    private long indexMemoryBudget = StoreRuntime.defaultIndexMemoryBudget();
    private Duration consistencyTimeout = Duration.ofSeconds(5);
    private @Nullable JwtSettings jwt;
    private List<IssuerSettings> issuers = List.of();
    private @Nullable Path rbacFile;
    private Duration rbacReloadInterval = PolicyWatcher.DEFAULT_INTERVAL;
    private ClaimRoles claimRoles = ClaimRoles.DEFAULT;
    private boolean metricsPublic;
    private boolean caseInsensitiveClaims;
    private @Nullable TlsSettings tls;
    private boolean tlsOnly;
    private TrustedProxies trustedProxies = TrustedProxies.NONE;
    private AuthFailureLimit authFailureLimit = AuthFailureLimit.DEFAULT;
    private long maxImportBytes = DEFAULT_MAX_IMPORT_BYTES;
    private EvaluationLimits evaluation = EvaluationLimits.DEFAULT;
    private AuthMode auth = AuthMode.REQUIRED;
    private boolean strictResponses;
    private Clock keyClock = Clock.systemUTC();
    private Duration keyUseFlushInterval = DEFAULT_KEY_USE_FLUSH_INTERVAL;

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
      o.changeNotifications = changeNotifications;
      o.indexMemoryBudget = indexMemoryBudget;
      o.consistencyTimeout = consistencyTimeout;
      o.jwt = jwt;
      o.issuers = issuers;
      o.rbacFile = rbacFile;
      o.rbacReloadInterval = rbacReloadInterval;
      o.claimRoles = claimRoles;
      o.metricsPublic = metricsPublic;
      o.caseInsensitiveClaims = caseInsensitiveClaims;
      o.tls = tls;
      o.tlsOnly = tlsOnly;
      o.trustedProxies = trustedProxies;
      o.authFailureLimit = authFailureLimit;
      o.maxImportBytes = maxImportBytes;
      o.evaluation = evaluation;
      o.auth = auth;
      o.strictResponses = strictResponses;
      o.keyClock = keyClock;
      o.keyUseFlushInterval = keyUseFlushInterval;
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

    /** Whether the node listens to the database's change notifications (PostgreSQL's NOTIFY). */
    public boolean changeNotifications() {
      return changeNotifications;
    }

    /**
     * The estimated heap, in bytes, all loaded stores (indexes, engines) may hold together; past it
     * the least recently used stores are let go (and loaded again at their next use). Half of the
     * maximum heap by default.
     */
    public long indexMemoryBudget() {
      return indexMemoryBudget;
    }

    /** How long a request waits for its consistency token's revision. */
    public Duration consistencyTimeout() {
      return consistencyTimeout;
    }

    /** JWT verification; null: tokens are not accepted. */
    public @Nullable JwtSettings jwt() {
      return jwt;
    }

    /** The RBAC policy file ({@code rbac.yaml}) to load at start and watch; null: none. */
    public @Nullable Path rbacFile() {
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

    /**
     * Match role and group claim values without regard to case ({@code ADMIN} is the role {@code
     * admin}); by default they match exactly.
     */
    public boolean caseInsensitiveClaims() {
      return caseInsensitiveClaims;
    }

    /** HTTPS on {@link #port()} with this certificate and key; null: plain HTTP. */
    public @Nullable TlsSettings tls() {
      return tls;
    }

    /** Refuse plain HTTP: without {@link #tls()} the server does not start. */
    public boolean tlsOnly() {
      return tlsOnly;
    }

    /**
     * The proxies whose {@code X-Forwarded-For} names the client (for the failed-authentication
     * limit and the audit trail's client address); none by default.
     */
    public TrustedProxies trustedProxies() {
      return trustedProxies;
    }

    /** How many failed authentications a client address may make before it gets 429s. */
    public AuthFailureLimit authFailureLimit() {
      return authFailureLimit;
    }

    /**
     * The largest body {@code POST /stores/{id}/import} takes (it is streamed, and not bound by the
     * request size limit of {@link Limits}); 64 MiB by default.
     */
    public long maxImportBytes() {
      return maxImportBytes;
    }

    /** Deadlines, step budget, explanation and result sizes of evaluations (issue 12). */
    public EvaluationLimits evaluation() {
      return evaluation;
    }

    /**
     * Whether callers need credentials; {@link AuthMode#NONE} (local development) starts only on a
     * loopback {@link #host()} and without JWT settings, whoever starts the server (the CLI or an
     * embedding application).
     */
    public AuthMode auth() {
      return auth;
    }

    /**
     * Answer OpenFGA's routes with OpenFGA's response fields only, leaving out Castellan's
     * extensions ({@code consistency_token}, {@code written}/{@code deleted} on write, paging on
     * list-objects and list-users, ...; docs/conformance.md lists them), for clients that refuse
     * unknown fields. Off by default.
     */
    public boolean strictResponses() {
      return strictResponses;
    }

    /**
     * The clock API keys are made, rotated, checked for expiry and marked used by (the system's UTC
     * clock by default); tests move it by hand. Deadlines, polling and tokens keep the system
     * clock.
     */
    public Clock keyClock() {
      return keyClock;
    }

    /**
     * How often the last use of API keys is written to the database (a minute by default): each
     * key's last use costs at most one write per interval, and what other nodes show lags by up to
     * it.
     */
    public Duration keyUseFlushInterval() {
      return keyUseFlushInterval;
    }

    public Options withKeyClock(Clock value) {
      Options o = copy();
      o.keyClock = java.util.Objects.requireNonNull(value, "keyClock");
      return o;
    }

    public Options withKeyUseFlushInterval(Duration value) {
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(
            "the key use flush interval must be positive, not " + value);
      }
      Options o = copy();
      o.keyUseFlushInterval = value;
      return o;
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

    /**
     * Whether the node listens to the database's change notifications (default: yes). Without them
     * its change feed finds other nodes' writes by polling alone, within the feed's poll interval:
     * for a database that speaks PostgreSQL's protocol without LISTEN/NOTIFY.
     */
    public Options withChangeNotifications(boolean value) {
      Options o = copy();
      o.changeNotifications = value;
      return o;
    }

    /** See {@link #indexMemoryBudget()}. */
    public Options withIndexMemoryBudget(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException(
            "index_memory_budget must be a positive number of bytes, not " + bytes);
      }
      Options o = copy();
      o.indexMemoryBudget = bytes;
      return o;
    }

    public Options withConsistencyTimeout(Duration value) {
      Options o = copy();
      o.consistencyTimeout = value;
      return o;
    }

    public Options withJwt(@Nullable JwtSettings value) {
      Options o = copy();
      o.jwt = value;
      return o;
    }

    /** OIDC issuers with their claim mappings (ADR 0020), beside {@link #jwt()}. */
    public List<IssuerSettings> issuers() {
      return issuers;
    }

    /**
     * Accepts tokens of {@code value} too, each mapped as it says.
     *
     * @throws IllegalArgumentException when two issuers share a name or URL, or more than one keeps
     *     the default namespace
     */
    public Options withIssuers(List<IssuerSettings> value) {
      IssuerSettings.checkTogether(value, "issuers");
      Options o = copy();
      o.issuers = List.copyOf(value);
      return o;
    }

    public Options withRbacFile(@Nullable Path value) {
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

    public Options withCaseInsensitiveClaims(boolean value) {
      Options o = copy();
      o.caseInsensitiveClaims = value;
      return o;
    }

    public Options withTls(@Nullable TlsSettings value) {
      Options o = copy();
      o.tls = value;
      return o;
    }

    public Options withTlsOnly(boolean value) {
      Options o = copy();
      o.tlsOnly = value;
      return o;
    }

    public Options withTrustedProxies(TrustedProxies value) {
      Options o = copy();
      o.trustedProxies = java.util.Objects.requireNonNull(value, "trustedProxies");
      return o;
    }

    public Options withAuthFailureLimit(AuthFailureLimit value) {
      Options o = copy();
      o.authFailureLimit = java.util.Objects.requireNonNull(value, "authFailureLimit");
      return o;
    }

    public Options withMaxImportBytes(long value) {
      if (value < 1) {
        throw new IllegalArgumentException("import_max_bytes must be positive, not " + value);
      }
      Options o = copy();
      o.maxImportBytes = value;
      return o;
    }

    public Options withEvaluation(EvaluationLimits value) {
      Options o = copy();
      o.evaluation = java.util.Objects.requireNonNull(value, "evaluation");
      return o;
    }

    public Options withAuth(AuthMode value) {
      Options o = copy();
      o.auth = java.util.Objects.requireNonNull(value, "auth");
      return o;
    }

    public Options withStrictResponses(boolean value) {
      Options o = copy();
      o.strictResponses = value;
      return o;
    }
  }

  /** The default of {@link Options#keyUseFlushInterval()}: a minute. */
  public static final Duration DEFAULT_KEY_USE_FLUSH_INTERVAL = Duration.ofSeconds(60);

  /** The default of {@link Options#maxImportBytes()}: 64 MiB. */
  public static final long DEFAULT_MAX_IMPORT_BYTES = 64L * 1024 * 1024;

  private final Javalin app;
  private final StoreRuntime runtime;
  private final Store store;
  private final String generatedToken;
  private final boolean adminKeyUnknown;

  private final String systemStoreId;
  private final Rbac rbac;
  private final @Nullable PolicyWatcher policyWatcher;
  private final ServerMetrics metrics;
  private final AuditTrail audit;
  private final List<SecuredRoutes.Route> routes;
  private final @Nullable TlsListener tls;
  private final ApiKeys keys;

  private CastellanServer(
      Javalin app,
      StoreRuntime runtime,
      Store store,
      String generatedToken,
      boolean adminKeyUnknown,
      String systemStoreId,
      Rbac rbac,
      @Nullable PolicyWatcher policyWatcher,
      ServerMetrics metrics,
      AuditTrail audit,
      List<SecuredRoutes.Route> routes,
      @Nullable TlsListener tls,
      ApiKeys keys) {
    this.keys = keys;
    this.routes = List.copyOf(routes);
    this.tls = tls;
    this.systemStoreId = systemStoreId;
    this.rbac = rbac;
    this.policyWatcher = policyWatcher;
    this.metrics = metrics;
    this.audit = audit;
    this.app = app;
    this.runtime = runtime;
    this.store = store;
    this.generatedToken = generatedToken;
    this.adminKeyUnknown = adminKeyUnknown;
  }

  public static CastellanServer start(Options options, Store store) {
    return start(options, store, AuditSettings.DEFAULT);
  }

  /** Starts with the audit trail and alerts as {@code auditSettings} say. */
  public static CastellanServer start(Options options, Store store, AuditSettings auditSettings) {
    if (options.auth() == AuthMode.NONE) {
      // Checked here, not only in the CLI: an embedding application gets the same guard.
      if (!LocalDevelopment.isLoopback(options.host())) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR, LocalDevelopment.refusal(options.host()));
      }
      if (options.jwt() != null && options.jwt().enabled() || !options.issuers().isEmpty()) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR,
            "auth none reads no credentials, so the JWT settings (an HS256 secret or an OIDC"
                + " issuer) would be ignored; drop them, or require credentials");
      }
    }
    // Bad TLS files stop startup before anything is created or started.
    if (options.tlsOnly() && options.tls() == null) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "--tls-only refuses plain HTTP, but no certificate is given; give --tls-cert FILE and"
              + " --tls-key FILE, or drop --tls-only");
    }
    @Nullable TlsListener tls =
        options.tls() == null ? null : TlsListener.open(options.tls(), Clock.systemUTC());
    AuditTrail audit = AuditTrail.start(auditSettings, store.auditRecords());
    StoreRuntime runtime =
        new StoreRuntime(
            store,
            options.feed(),
            options.consistencyTimeout(),
            Clock.systemUTC(),
            options.changeNotifications(),
            options.indexMemoryBudget());
    try {
      return start(options, store, audit, runtime, tls);
    } catch (RuntimeException e) {
      // A start that fails (a taken port, an invalid policy file) leaves no thread behind, and
      // the audit trail keeps what it heard (the rejected policy) before the caller closes the
      // store.
      runtime.close();
      audit.close();
      throw e;
    }
  }

  private static CastellanServer start(
      Options options,
      Store store,
      AuditTrail audit,
      StoreRuntime runtime,
      @Nullable TlsListener tls) {
    ApiKeys keys = new ApiKeys(store, store, options.keyClock());
    AccessControl access =
        options.auth() == AuthMode.NONE
            ? AccessControl.open(store).withLocalDevelopment()
            : AccessControl.open(store);
    PendingIdentities pendingIdentities =
        new PendingIdentities(store.directoryStore(), store.pendingStore(), store, runtime, audit);
    // A person a grant names before the directory knows them is created and linked here: what
    // imports held for that identity is applied then too.
    Subjects subjects =
        new Subjects(
            pendingIdentities.applyingOnLink(store.directoryStore()), options.issuers(), audit);
    SubjectMigration.run(store, store, access.systemStoreId(), audit, Clock.systemUTC(), subjects);
    if (!options.bootstrapToken().isEmpty()) {
      access.grantAdmin(keys.register(options.bootstrapToken(), "bootstrap"));
    }
    DeactivatedUsers deactivated = new DeactivatedUsers(store, Clock.systemUTC());
    Authentication authentication;
    try {
      authentication =
          new Authentication(
              keys,
              options.jwt(),
              options.issuers(),
              // A first token that creates or links a directory user applies what imports held.
              pendingIdentities.applyingOnLink(store.directoryStore()),
              deactivated,
              audit);
    } catch (IllegalArgumentException e) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          Objects.requireNonNullElse(e.getMessage(), "invalid token verification settings"));
    }
    Deprovisioning deprovisioning =
        new Deprovisioning(
            store.directoryStore(),
            store,
            store,
            access.systemStoreId(),
            runtime,
            deactivated,
            audit);
    Authorization authorization = new Authorization(runtime, access, audit);
    ServerMetrics metrics = ServerMetrics.create(runtime);
    Readiness readiness =
        new Readiness(
            store,
            access.systemStoreId(),
            Duration.ofSeconds(2),
            () -> runtime.changeFeed().running());
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
            options.maxImportBytes(),
            options.evaluation(),
            options.strictResponses());
    AuditApi auditApi = new AuditApi(audit);
    metrics.gauge(
        "castellan.audit.queue.depth", "audit entries waiting to be written", audit::queueDepth);
    metrics.gauge(
        "castellan.directory.deprovisioning.pending",
        "directory users whose deprovisioning was started and is not finished",
        () -> deprovisioning.pending().size());
    metrics.counter(
        "castellan.audit.dropped.allows",
        "allowed decisions dropped because the audit queue was full",
        audit::droppedAllows);
    metrics.counter(
        "castellan.audit.lost",
        "audit entries lost because the database did not take them",
        audit::lostEntries);
    AuthFailureLimiter limiter =
        new AuthFailureLimiter(options.authFailureLimit(), Clock.systemUTC());
    Rbac rbac = Rbac.open(runtime, access.systemStoreId(), options.caseInsensitiveClaims());
    DirectoryRoles directoryRoles =
        new DirectoryRoles(runtime.store().directoryStore(), runtime, access.systemStoreId(), rbac);
    AdminApi admin =
        new AdminApi(
            runtime,
            keys,
            access,
            audit,
            principal -> rbacRoles(rbac, options.claimRoles(), principal),
            subjects);
    @Nullable PolicyWatcher watcher;
    try {
      watcher =
          options.rbacFile() == null
              ? null
              : PolicyWatcher.start(
                  options.rbacFile(),
                  rbac,
                  options.rbacReloadInterval(),
                  Clock.systemUTC(),
                  status -> audit.record(policyEvent(status)));
    } catch (RuntimeException e) {
      metrics.close();
      throw e;
    }
    RbacApi rbacApi =
        new RbacApi(
            runtime,
            rbac,
            access,
            options.claimRoles(),
            audit,
            metrics,
            () -> Optional.ofNullable(watcher).map(PolicyWatcher::status),
            subjects);
    List<SecuredRoutes.Route> routeTable = new java.util.ArrayList<>();
    Javalin app =
        Javalin.create(
            config -> {
              config.startup.showJavalinBanner = false;
              config.concurrency.useVirtualThreads = true;
              config.http.maxRequestSize = options.limits().maxRequestBytes();
              config.jetty.host = options.host();
              config.jetty.port = options.port();
              config.jetty.modifyServer(rbacApi::answerUnparsableTargets);
              if (tls != null) {
                // The only connector: HTTPS replaces plain HTTP on the port.
                config.jetty.addConnector(
                    (server, http) -> tls.connector(server, http, options.host(), options.port()));
              }
              config.routes.before(
                  ctx ->
                      before(
                          ctx,
                          authentication,
                          metrics,
                          audit,
                          options.metricsPublic(),
                          options.trustedProxies(),
                          limiter,
                          options.auth()));
              config.routes.after(ctx -> MDC.remove("request_id"));
              config.requestLogger.http(metrics.requestLogger(config.unsafe));
              SecuredRoutes routes = new SecuredRoutes(config.routes, authorization);
              routes.get(
                  "/healthz", Right.PUBLIC, ctx -> ctx.json(java.util.Map.of("status", "SERVING")));
              routes.get("/readyz", Right.PUBLIC, ctx -> ready(ctx, readiness));
              routes.get(
                  "/metrics",
                  options.metricsPublic() ? Right.PUBLIC : Right.ADMIN,
                  ctx -> ctx.contentType(ServerMetrics.CONTENT_TYPE).result(metrics.scrape()));
              api.register(routes);
              admin.register(routes);
              rbacApi.register(routes);
              auditApi.register(routes);
              new ScimApi(directoryRoles, audit, deprovisioning, pendingIdentities)
                  .register(routes);
              new DirectoryApi(directoryRoles, rbac, pendingIdentities, audit).register(routes);
              new ImportApi(runtime, pendingIdentities, audit).register(routes);
              routeTable.addAll(routes.table());
              config.routes.exception(
                  CastellanException.class,
                  (e, ctx) -> {
                    if (ScimApi.handles(ctx.path())) {
                      ScimApi.sendError(ctx, e); // an IdP's connector reads SCIM errors only
                    } else {
                      ApiErrors.send(ctx, e);
                    }
                  });
              config.routes.exception(Exception.class, (e, ctx) -> ApiErrors.internal(ctx, e));
              config.routes.error(
                  404,
                  ctx -> {
                    // Javalin's own "Endpoint ... not found" is plain text; API errors are JSON
                    // (SCIM's in its own media type).
                    String type = ctx.res().getContentType();
                    if (type == null
                        || !(type.startsWith("application/json")
                            || type.startsWith("application/scim+json"))) {
                      if (ScimApi.handles(ctx.path())) {
                        ScimApi.sendStatus(ctx, 404, "no such endpoint (undefined_endpoint)");
                      } else {
                        ApiErrors.write(
                            ctx, 404, ErrorCode.UNDEFINED_ENDPOINT.wireName(), "no such endpoint");
                      }
                    }
                  });
              config.routes.error(
                  405,
                  ctx -> {
                    if (ScimApi.handles(ctx.path())) {
                      ScimApi.sendStatus(ctx, 405, "method not allowed (undefined_endpoint)");
                    } else {
                      ApiErrors.write(
                          ctx, 405, ErrorCode.UNDEFINED_ENDPOINT.wireName(), "method not allowed");
                    }
                  });
              config.routes.error(
                  413,
                  ctx -> {
                    // Javalin's own 413 (the general request size limit) is plain text; the
                    // import's own limit has already answered in JSON.
                    String type = ctx.res().getContentType();
                    String detail =
                        "the request body is larger than "
                            + options.limits().maxRequestBytes()
                            + " bytes";
                    if (type != null
                        && (type.startsWith("application/json")
                            || type.startsWith("application/scim+json"))) {
                      return; // a route's own limit has already answered
                    }
                    if (ScimApi.handles(ctx.path())) {
                      ScimApi.sendStatus(ctx, 413, detail);
                    } else {
                      ApiErrors.write(ctx, 413, ErrorCode.VALIDATION_ERROR.wireName(), detail);
                    }
                  });
            });
    // Listening before the system store is loaded lets /healthz answer and /readyz say "not yet"
    // meanwhile; start returns once it is loaded. Other stores load on first use.
    try {
      app.start();
      runtime.keepLoaded(access.systemStoreId());
    } catch (RuntimeException e) {
      try {
        app.stop();
      } catch (RuntimeException ignored) {
        // it may never have started (the port was taken)
      }
      if (watcher != null) {
        watcher.close();
      }
      metrics.close();
      throw e;
    }
    // Only now that the server listens and the caller can print the key at once: a key made
    // before a failed start would exist, unknown to anyone, and no later start would make another.
    // Without authentication no key is needed: the first start that requires credentials makes it.
    boolean keysUsed = options.auth() == AuthMode.REQUIRED;
    String generated =
        keysUsed && options.bootstrapToken().isEmpty() && keys.list().isEmpty()
            ? firstAdminKey(keys, access, audit)
            : "";
    // A deprovisioning a stopped node left unfinished is finished before anyone relies on it.
    deprovisioning.resumeAll();
    // The projection follows the directory; rebuilding it here heals a write that stopped halfway.
    // After listening and the system store's load, so /healthz answers meanwhile; a failure leaves
    // the projection as it was (the IdP's retries and the next start heal it) and serves on.
    try {
      directoryRoles.reconcile();
    } catch (RuntimeException e) {
      LOG.warn("rebuilding the directory's group memberships in RBAC failed: {}", e.toString());
    }
    runtime.afterWrite(access.systemStoreId());
    // Rows held for people who are in the directory by now (held by the CLI, or by a node that
    // stopped halfway) are written before anyone relies on them.
    try {
      int applied = pendingIdentities.sweep();
      if (applied > 0) {
        LOG.info("applied {} held import rows for directory users", applied);
      }
    } catch (RuntimeException e) {
      LOG.warn("applying held import rows failed; they stay held: {}", e.toString());
    }
    boolean adminKeyUnknown =
        keysUsed
            && generated.isEmpty()
            && options.bootstrapToken().isEmpty()
            && !adminKeyKnown(access, keys);
    readiness.loaded();
    keys.flushUsesEvery(options.keyUseFlushInterval());
    if (tls != null) {
      tls.watch(status -> audit.record(tlsEvent(status)));
    }
    LOG.info(
        "Castellan listening on {}://{}:{}",
        tls == null ? "http" : "https",
        options.host(),
        app.port());
    if (options.auth() == AuthMode.NONE) {
      // One line, so that a log shipper keeps it whole; the CLI prints it as a block as well.
      LOG.warn(
          LocalDevelopment.banner(
                  (tls == null ? "http" : "https") + "://" + options.host() + ":" + app.port())
              .replace('\n', ' '));
    }
    return new CastellanServer(
        app,
        runtime,
        store,
        generated,
        adminKeyUnknown,
        access.systemStoreId(),
        rbac,
        watcher,
        metrics,
        audit,
        routeTable,
        tls,
        keys);
  }

  /** The roles a caller's token carries, then those it holds in the store, each named once. */
  private static List<String> rbacRoles(Rbac rbac, ClaimRoles claims, Principal principal) {
    java.util.Set<String> roles = new java.util.LinkedHashSet<>(claims.roles(principal));
    try {
      roles.addAll(rbac.memberships(ClaimRoles.subject(principal)));
    } catch (CastellanException e) {
      // A subject no role can name (the local-development caller's) is a member of none.
    }
    return List.copyOf(roles);
  }

  /** The first start on an empty database: an admin key, to be handed out once. */
  private static String firstAdminKey(ApiKeys keys, AccessControl access, AuditTrail audit) {
    ApiKeys.Created created = keys.create("bootstrap");
    access.grantAdmin(created.principalId());
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
    return created.key();
  }

  /** True when some API key holds the global admin right and was handed to someone when made. */
  private static boolean adminKeyKnown(AccessControl access, ApiKeys keys) {
    for (String principal : access.admins(10_000)) {
      if (principal.startsWith("service_account:")
          && keys.handedOut(principal.substring("service_account:".length()))) {
        return true;
      }
    }
    return false;
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

  private static AuditEvent tlsEvent(TlsListener.Status status) {
    boolean rejected = !status.error().isEmpty();
    return new AuditEvent(
        java.time.Instant.now(),
        AuditEvent.Kind.CHANGE,
        "tls-reload",
        "castellan",
        "",
        List.of(),
        rejected ? "reject" : "load",
        status.subject(),
        rejected ? AuditEvent.Outcome.ERROR : AuditEvent.Outcome.OK,
        rejected
            ? status.error()
            : "valid until " + status.notAfter() + ", sha256 " + status.sha256(),
        "",
        0,
        "",
        "");
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
      ServerMetrics metrics,
      AuditTrail audit,
      boolean metricsPublic,
      TrustedProxies proxies,
      AuthFailureLimiter limiter,
      AuthMode auth) {
    String given = ctx.header("X-Request-Id");
    String requestId = given != null && wellFormedRequestId(given) ? given : newRequestId();
    MDC.put("request_id", requestId);
    ctx.header("X-Request-Id", requestId);
    String client =
        proxies.isEmpty()
            ? ctx.ip()
            : proxies.client(
                ctx.ip(), java.util.Collections.list(ctx.req().getHeaders("X-Forwarded-For")));
    ctx.attribute(RequestAudit.CLIENT_ADDRESS, client);
    String path = ctx.path();
    if (!path.startsWith("/authz/") && !PathParams.wellFormedEscapes(path)) {
      // The router would fail to decode a parameter (an exception, a 500) before any handler runs.
      // Forward-auth refuses such targets itself, with the 403 a gateway expects.
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "the path holds a '%' that is not followed by two hex digits; check its percent-encoding");
    }
    // Only skips authentication for the public routes' exact paths (the router ignores one
    // trailing slash); any other spelling is authenticated, and the route's guard decides.
    String bare =
        path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    if (bare.equals("/healthz")
        || bare.equals("/readyz")
        || (metricsPublic && bare.equals("/metrics"))) {
      return;
    }
    if (auth == AuthMode.NONE) {
      // Local development: the header is not read, so no credential can fail or be limited. What
      // a browser sends on behalf of a web page is refused, or any page could administer this.
      Optional<String> foreign =
          LocalDevelopment.foreignRequest(ctx.header("Host"), ctx.header("Origin"));
      if (foreign.isPresent()) {
        audit.record(
            RequestAudit.decision(
                ctx, "api-access", "", ctx.method().name(), path, false, foreign.get(), "", 0));
        throw new CastellanException(ErrorCode.FORBIDDEN, foreign.get());
      }
      ctx.attribute("principal", LocalDevelopment.CALLER);
      return;
    }
    // Forward-auth and /api/authorize pass on end users' credentials for a gateway or an app: a
    // 429 there would refuse every user behind it (nginx turns it into a 500, castellan-client
    // into a 503), so their failures are neither limited nor counted against the address.
    boolean relaysEndUsers = path.startsWith("/authz/") || path.equals("/api/authorize");
    if (!relaysEndUsers) {
      long wait = limiter.retryAfterSeconds(client);
      if (wait > 0) {
        metrics.authenticationThrottled();
        String why = "too many failed authentications from " + client;
        audit.authFailure(
            RequestAudit.decision(
                ctx,
                "auth-failure",
                "",
                "authenticate",
                path,
                false,
                why + "; refused without checking credentials",
                "",
                0),
            true);
        ctx.header("Retry-After", Long.toString(wait));
        throw new CastellanException(
            ErrorCode.TOO_MANY_AUTHENTICATION_FAILURES, why + "; try again in " + wait + " s");
      }
    }
    Principal principal;
    try {
      principal = authentication.authenticate(ctx.header("Authorization"));
    } catch (CastellanException e) {
      metrics.authenticationFailure(ctx.header("Authorization"));
      if (!relaysEndUsers) {
        limiter.failed(client);
      }
      audit.authFailure(
          RequestAudit.decision(
              ctx,
              "auth-failure",
              "",
              "authenticate",
              path,
              false,
              Objects.requireNonNullElse(e.getMessage(), ""),
              "",
              0),
          false);
      throw e;
    }
    // Authorization is the route's own (SecuredRoutes): it runs on the router's decoded
    // parameters, once a route matched.
    ctx.attribute("principal", principal);
  }

  /** A caller's request id is kept when it is 1 to 64 of {@code [A-Za-z0-9._-]}. */
  private static boolean wellFormedRequestId(String id) {
    if (id.isEmpty() || id.length() > 64) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (!((c >= 'A' && c <= 'Z')
          || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9')
          || c == '.'
          || c == '_'
          || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /**
   * A random version-4 UUID for a request's id. It only has to be unique, not unguessable, so it
   * comes from the thread's own generator: {@code UUID.randomUUID()} draws from one shared
   * SecureRandom, a lock every request of the node took.
   */
  private static String newRequestId() {
    java.util.concurrent.ThreadLocalRandom random =
        java.util.concurrent.ThreadLocalRandom.current();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L;
    long low = (random.nextLong() & ~(0xC000L << 48)) | (0x8000L << 48);
    return new UUID(high, low).toString();
  }

  /** Every route this server serves and the right it needs (the authorization matrix's source). */
  public List<SecuredRoutes.Route> routes() {
    return routes;
  }

  /** The port the server listens on. */
  public int port() {
    return app.port();
  }

  /** The certificate served, when the server speaks HTTPS. */
  public Optional<TlsListener.Status> tls() {
    return Optional.ofNullable(tls).map(TlsListener::status);
  }

  /**
   * The admin key made on the first start of an empty database without a bootstrap token; empty
   * otherwise (it is shown once and only its hash is kept).
   */
  public String generatedToken() {
    return generatedToken;
  }

  /**
   * True when this start printed no admin key, none was configured ({@code bootstrapToken}), and no
   * API key holding the global admin right is known to have been handed to anyone: a database whose
   * first start failed under an earlier version, or whose admin keys were all revoked. The caller
   * should say how to make one ({@code castellan keys create --admin}).
   */
  public boolean adminKeyUnknown() {
    return adminKeyUnknown;
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
    if (tls != null) {
      tls.close();
    }
    app.stop();
    keys.close(); // the last uses not yet written, while the store is still open
    audit.close();
    runtime.close();
    metrics.close();
    store.close();
  }
}
