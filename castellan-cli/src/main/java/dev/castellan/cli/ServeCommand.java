package dev.castellan.cli;

import dev.castellan.server.CastellanServer;
import dev.castellan.server.Demo;
import dev.castellan.server.EvaluationLimits;
import dev.castellan.server.Limits;
import dev.castellan.server.audit.AlertRules;
import dev.castellan.server.audit.AuditSettings;
import dev.castellan.server.auth.AuthFailureLimit;
import dev.castellan.server.auth.AuthMode;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.server.auth.LocalDevelopment;
import dev.castellan.server.auth.TrustedProxies;
import dev.castellan.store.Store;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code castellan serve}: the HTTP server, until interrupted. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Run the Castellan server until interrupted.",
      "The first start on an empty database creates it and prints an admin API key once."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  castellan serve --demo                  ./data, port 8080, a demo store",
      "  castellan serve --data /var/lib/castellan --port 9000",
      "  castellan serve --pg-url 'jdbc:postgresql://127.0.0.1/castellan?user=me'",
      "  castellan serve --pg-url 'jdbc:postgresql://db/castellan' --change-feed poll",
      "  castellan serve --config castellan.yaml  settings from a file",
      "  castellan serve --auth none             local development: no credentials, 127.0.0.1"
    })
final class ServeCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Mixin StoreOptions storeOptions = new StoreOptions();

  @Option(
      names = "--pg-read-url",
      paramLabel = "JDBC_URL",
      description =
          "a streaming replica of --pg-url that takes snapshot loads and reads; a read with a"
              + " consistency token waits for the replica to replay it (or $CASTELLAN_PG_READ_URL)")
  String pgReadUrl;

  @Option(
      names = "--pg-read-max-wait",
      paramLabel = "DURATION",
      description =
          "how long a read waits for --pg-read-url to replay its consistency token before it reads"
              + " the primary, e.g. 1s or 200ms (default 1s, or $CASTELLAN_PG_READ_MAX_WAIT)")
  String pgReadMaxWait;

  @Option(names = "--port", description = "HTTP port (default: 8080, or $CASTELLAN_PORT)")
  Integer port;

  @Option(
      names = "--host",
      description = "address to listen on (default: 0.0.0.0; 127.0.0.1 with --auth none)")
  String host;

  @Option(
      names = "--auth",
      paramLabel = "required|none",
      description =
          "required (default): callers need an API key or token; none: local development, every"
              + " request acts as an administrator without credentials, only on a loopback --host"
              + " (or $CASTELLAN_AUTH)")
  String auth;

  @Option(
      names = "--max-tuples-per-write",
      description = "tuples one write may carry (default 100, or $CASTELLAN_MAX_TUPLES_PER_WRITE)")
  Integer maxTuplesPerWrite;

  @Option(
      names = "--demo",
      description =
          "load a demo store (AI workflows, a model registry, documents) and print curl commands")
  boolean demo;

  @Option(
      names = "--jwt-secret",
      description =
          "accept HS256 JWTs signed with this secret, at least 32 bytes; visible in the process"
              + " list, so prefer --jwt-secret-file or $CASTELLAN_JWT_SECRET")
  String jwtSecret;

  @Option(
      names = "--jwt-secret-file",
      paramLabel = "FILE",
      description =
          "accept HS256 JWTs signed with the secret in FILE, its trailing line break dropped (or"
              + " $CASTELLAN_JWT_SECRET_FILE; or the secret itself in $CASTELLAN_JWT_SECRET)")
  java.nio.file.Path jwtSecretFile;

  @Option(
      names = "--oidc-issuer",
      description =
          "accept JWTs from this OIDC issuer (discovery and JWKS; or $CASTELLAN_OIDC_ISSUER)")
  String oidcIssuer;

  @Option(
      names = "--oidc-audience",
      description = "the audience those JWTs must carry (or $CASTELLAN_OIDC_AUDIENCE)")
  String oidcAudience;

  @Option(
      names = "--rbac-file",
      paramLabel = "FILE",
      description =
          "RBAC policy (rbac.yaml: roles, routes): loaded at start, reloaded on every edit (or"
              + " $CASTELLAN_RBAC_FILE)")
  java.nio.file.Path rbacFile;

  @Option(
      names = "--role-claims",
      paramLabel = "NAMES",
      description =
          "token claims holding roles, comma-separated, dotted paths allowed (default: role,roles;"
              + " or $CASTELLAN_ROLE_CLAIMS)")
  String roleClaims;

  @Option(
      names = "--group-claims",
      paramLabel = "NAMES",
      description = "token claims holding groups (default: groups; or $CASTELLAN_GROUP_CLAIMS)")
  String groupClaims;

  @Option(
      names = "--case-insensitive-claims",
      description =
          "match role and group claim values without regard to case (ADMIN is the role admin;"
              + " default: exactly; or $CASTELLAN_CASE_INSENSITIVE_CLAIMS=true)")
  Boolean caseInsensitiveClaims;

  @Option(
      names = "--metrics-public",
      description =
          "serve /metrics without credentials, for a Prometheus scraper (or"
              + " $CASTELLAN_METRICS_PUBLIC=true; default: a global admin's credentials)")
  Boolean metricsPublic;

  @Option(
      names = "--strict-responses",
      description =
          "answer OpenFGA's routes with OpenFGA's response fields only, without Castellan's"
              + " extensions (consistency_token, written/deleted, paging on list-objects and"
              + " list-users, ...), for clients that refuse unknown fields (or"
              + " $CASTELLAN_STRICT_RESPONSES=true; default: false)")
  Boolean strictResponses;

  @Option(
      names = "--log-format",
      paramLabel = "text|json",
      description =
          "log lines as text (default) or one JSON object each (or $CASTELLAN_LOG_FORMAT)")
  String logFormat;

  @Option(
      names = "--access-log",
      description = "log one line per request (or $CASTELLAN_ACCESS_LOG=true)")
  Boolean accessLog;

  @Option(
      names = "--tls-cert",
      paramLabel = "FILE",
      description =
          "serve HTTPS instead of HTTP on --port, with this PEM certificate chain (server"
              + " certificate first); reloaded when it changes (or $CASTELLAN_TLS_CERT)")
  java.nio.file.Path tlsCert;

  @Option(
      names = "--tls-key",
      paramLabel = "FILE",
      description =
          "the unencrypted PEM private key of --tls-cert: PKCS#8, or RSA or EC in the"
              + " traditional form (or $CASTELLAN_TLS_KEY)")
  java.nio.file.Path tlsKey;

  @Option(
      names = "--tls-only",
      description =
          "refuse plain HTTP: do not start unless --tls-cert and --tls-key are given (or"
              + " $CASTELLAN_TLS_ONLY=true)")
  Boolean tlsOnly;

  @Option(
      names = "--trusted-proxies",
      paramLabel = "CIDRS",
      description =
          "proxies whose X-Forwarded-For names the client, comma-separated addresses or CIDR"
              + " ranges (default: none; or $CASTELLAN_TRUSTED_PROXIES)")
  String trustedProxies;

  @Option(
      names = "--auth-failure-limit",
      paramLabel = "N",
      description =
          "failed authentications one client address may make per window before its API requests"
              + " get 429; 0 turns it off (default 100; or $CASTELLAN_AUTH_FAILURE_LIMIT)")
  Integer authFailureLimit;

  @Option(
      names = "--auth-failure-window",
      paramLabel = "DURATION",
      description =
          "the window of --auth-failure-limit, e.g. 1m or 30s (default 1m; or"
              + " $CASTELLAN_AUTH_FAILURE_WINDOW)")
  String authFailureWindow;

  @Option(
      names = "--import-max-bytes",
      paramLabel = "SIZE",
      description =
          "largest body POST /stores/{id}/import takes, in bytes or with KiB, MiB, GiB (default"
              + " 64MiB; or $CASTELLAN_IMPORT_MAX_BYTES)")
  String importMaxBytes;

  @Option(
      names = "--index-memory-budget",
      paramLabel = "SIZE",
      description =
          "estimated heap the indexes of all loaded stores may hold, e.g. 512m or 2GiB; past it the"
              + " least recently used stores are let go and loaded again on their next use"
              + " (default: half of the maximum heap; or $CASTELLAN_INDEX_MEMORY_BUDGET)")
  String indexMemoryBudget;

  @Option(
      names = "--check-timeout",
      paramLabel = "DURATION",
      description =
          "deadline of a check and of each batch-check item, e.g. 1s or 500ms (default 1s, or"
              + " $CASTELLAN_CHECK_TIMEOUT)")
  String checkTimeout;

  @Option(
      names = "--list-timeout",
      paramLabel = "DURATION",
      description =
          "deadline of list-objects, list-users, expand and a whole batch-check (default 3s, or"
              + " $CASTELLAN_LIST_TIMEOUT)")
  String listTimeout;

  @Option(
      names = "--max-evaluation-steps",
      paramLabel = "N",
      description =
          "steps (rewrite nodes, tuples) one evaluation may take (default 1000000, or"
              + " $CASTELLAN_MAX_EVALUATION_STEPS)")
  Long maxEvaluationSteps;

  @Option(
      names = "--max-explanation-bytes",
      paramLabel = "BYTES",
      description =
          "size of an explanation; longer ones are cut with a marker (default 256KiB, or"
              + " $CASTELLAN_MAX_EXPLANATION_BYTES)")
  String maxExplanationBytes;

  @Option(
      names = "--max-result-bytes",
      paramLabel = "BYTES",
      description =
          "results one request builds, e.g. a list page (default 8MiB, or"
              + " $CASTELLAN_MAX_RESULT_BYTES)")
  String maxResultBytes;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description =
          "YAML settings: port, host, auth, data, pg_url, pg_read_url, pg_read_max_wait, change_feed, bootstrap_token, jwt_secret, oidc_issuer,"
              + " oidc_audience, max_tuples_per_write, demo, rbac_file, role_claims, group_claims,"
              + " case_insensitive_claims, metrics.public, log.format, log.access, trusted_proxies,"
              + " auth_failure_limit, auth_failure_window, import_max_bytes, index_memory_budget, audit (allows,"
              + " sample_rate, queue_size, file, retention) and alerts (webhook, denials,"
              + " auth_failures, admin_grants, rejected_policy_reloads, audit_dropped,"
              + " deprovisioning),"
              + " jwt_secret_file, tls (cert, key, only), evaluation (check_timeout, list_timeout,"
              + " max_steps, max_explanation_bytes, max_result_bytes), strict_responses, issuers"
              + " (a list of OIDC issuers with claim mappings; docs/identity-providers.md);"
              + " nested or dotted. Flags win over"
              + " environment variables, which win over the file.")
  java.nio.file.Path configFile;

  private java.util.Map<String, String> config = java.util.Map.of();

  /** The config file's {@code issuers:} list (ADR 0020), or null. */
  private com.fasterxml.jackson.databind.JsonNode issuersConfig;

  private static final java.util.Set<String> CONFIG_KEYS =
      java.util.Set.of(
          "port",
          "host",
          "auth",
          "data",
          "pg_url",
          "pg_read_url",
          "pg_read_max_wait",
          "change_feed",
          "bootstrap_token",
          "jwt_secret",
          "oidc_issuer",
          "oidc_audience",
          "max_tuples_per_write",
          "demo",
          "rbac_file",
          "role_claims",
          "group_claims",
          "metrics.public",
          "log.format",
          "log.access",
          "audit.allows",
          "audit.sample_rate",
          "audit.queue_size",
          "audit.file",
          "audit.retention",
          "alerts.webhook",
          "alerts.denials.more_than",
          "alerts.denials.within",
          "alerts.auth_failures.more_than",
          "alerts.auth_failures.within",
          "alerts.admin_grants",
          "alerts.rejected_policy_reloads",
          "case_insensitive_claims",
          "jwt_secret_file",
          "tls.cert",
          "tls.key",
          "tls.only",
          "trusted_proxies",
          "auth_failure_limit",
          "auth_failure_window",
          "import_max_bytes",
          "index_memory_budget",
          "alerts.audit_dropped",
          "alerts.deprovisioning",
          "evaluation.check_timeout",
          "evaluation.list_timeout",
          "evaluation.max_steps",
          "evaluation.max_explanation_bytes",
          "evaluation.max_result_bytes",
          "strict_responses");

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    long started = System.nanoTime();
    config = readConfig();
    try {
      new LogSettings(
              LogSettings.Format.parse(
                  setting(logFormat, "CASTELLAN_LOG_FORMAT", "log.format", "text")),
              bool(
                  setting(flag(accessLog), "CASTELLAN_ACCESS_LOG", "log.access", "false"),
                  source(accessLog, "--access-log", "CASTELLAN_ACCESS_LOG", "log.access")))
          .apply();
    } catch (IllegalArgumentException e) {
      throw new CliFailure(CliFailure.INVALID_SETTING, e.getMessage(), e);
    }
    if (storeOptions.data == null && config.containsKey("data")) {
      storeOptions.data = java.nio.file.Path.of(config.get("data"));
    }
    if (storeOptions.pgUrl == null && config.containsKey("pg_url")) {
      storeOptions.pgUrl = config.get("pg_url");
    }
    storeOptions.changeFeedFromConfig = config.get("change_feed");
    storeOptions.changeFeedSource = "change_feed (in " + configFile + ")";
    demo = demo || bool(config.getOrDefault("demo", "false"), "demo in " + configFile);
    AuthMode authMode;
    try {
      authMode =
          AuthMode.parse(
              setting(auth, "CASTELLAN_AUTH", "auth", "required"),
              source(auth, "--auth", "CASTELLAN_AUTH", "auth"));
    } catch (IllegalArgumentException e) {
      throw new CliFailure(CliFailure.INVALID_SETTING, e.getMessage(), e);
    }
    String hostSource = source(host, "--host", "CASTELLAN_HOST", "host");
    // Without credentials the port must be this machine's alone: the default follows.
    host =
        setting(
            host, "CASTELLAN_HOST", "host", authMode == AuthMode.NONE ? "127.0.0.1" : "0.0.0.0");
    if (authMode == AuthMode.NONE && !LocalDevelopment.isLoopback(host)) {
      throw new CliFailure(
          CliFailure.INVALID_SETTING,
          "--auth none listens only on a loopback address (127.0.0.1, ::1 or localhost), since"
              + " anyone who reaches the port acts as a Castellan administrator without"
              + " credentials; "
              + hostSource
              + " is '"
              + host
              + "': drop it (auth none listens on 127.0.0.1) or require credentials");
    }
    int listenPort = intSetting(port, "--port", "CASTELLAN_PORT", "port", 8080, 0, 65_535);
    int tuplesPerWrite =
        intSetting(
            maxTuplesPerWrite,
            "--max-tuples-per-write",
            "CASTELLAN_MAX_TUPLES_PER_WRITE",
            "max_tuples_per_write",
            100,
            1,
            10_000); // Limits' own bounds
    String bootstrap = setting(null, "CASTELLAN_BOOTSTRAP_TOKEN", "bootstrap_token", "");
    CastellanServer.Options options =
        CastellanServer.Options.defaults()
            // Polling mode: the server never asks the store to LISTEN, on top of the store never
            // sending NOTIFY.
            .withChangeNotifications(
                storeOptions.changeSignal()
                    == dev.castellan.store.jdbc.JdbcStore.ChangeSignal.NOTIFY)
            .withHost(host)
            .withPort(listenPort)
            .withBootstrapToken(bootstrap)
            .withAuth(authMode)
            .withLimits(Limits.DEFAULT.withMaxTuplesPerWrite(tuplesPerWrite));
    AuditSettings audit;
    try {
      options = options.withJwt(jwtSettings());
      options =
          options.withIssuers(
              dev.castellan.server.auth.IssuerSettings.parse(
                  issuersConfig, String.valueOf(configFile)));
      if (authMode == AuthMode.NONE && (options.jwt() != null || !options.issuers().isEmpty())) {
        // Before the store is opened: the server would refuse it too, but later.
        throw new CliFailure(
            CliFailure.INVALID_SETTING,
            "--auth none reads no credentials, so the HS256 secret or OIDC issuer given would be"
                + " ignored; drop them, or require credentials");
      }
      audit = auditSettings();
    } catch (IllegalArgumentException e) {
      throw new CliFailure(CliFailure.INVALID_SETTING, e.getMessage(), e);
    }
    String policy =
        setting(
            rbacFile == null ? null : rbacFile.toString(), "CASTELLAN_RBAC_FILE", "rbac_file", "");
    if (!policy.isEmpty()) {
      options = options.withRbacFile(java.nio.file.Path.of(policy));
    }
    options =
        options.withClaimRoles(
            new dev.castellan.server.rbac.ClaimRoles(
                names(setting(roleClaims, "CASTELLAN_ROLE_CLAIMS", "role_claims", "role,roles")),
                names(setting(groupClaims, "CASTELLAN_GROUP_CLAIMS", "group_claims", "groups"))));
    options =
        options.withCaseInsensitiveClaims(
            bool(
                setting(
                    flag(caseInsensitiveClaims),
                    "CASTELLAN_CASE_INSENSITIVE_CLAIMS",
                    "case_insensitive_claims",
                    "false"),
                "case_insensitive_claims"));
    options =
        options.withMetricsPublic(
            bool(
                setting(flag(metricsPublic), "CASTELLAN_METRICS_PUBLIC", "metrics.public", "false"),
                source(
                    metricsPublic,
                    "--metrics-public",
                    "CASTELLAN_METRICS_PUBLIC",
                    "metrics.public")));
    options =
        options
            .withTls(tlsSettings())
            .withTlsOnly(
                bool(setting(flag(tlsOnly), "CASTELLAN_TLS_ONLY", "tls.only", "false"), "tls.only"))
            .withTrustedProxies(
                TrustedProxies.parse(
                    setting(trustedProxies, "CASTELLAN_TRUSTED_PROXIES", "trusted_proxies", "")))
            .withAuthFailureLimit(
                new AuthFailureLimit(
                    Integer.parseInt(
                        setting(
                            authFailureLimit == null ? null : authFailureLimit.toString(),
                            "CASTELLAN_AUTH_FAILURE_LIMIT",
                            "auth_failure_limit",
                            String.valueOf(AuthFailureLimit.DEFAULT.failures()))),
                    AuditSettings.parseDuration(
                        setting(
                            authFailureWindow,
                            "CASTELLAN_AUTH_FAILURE_WINDOW",
                            "auth_failure_window",
                            "1m"),
                        "auth_failure_window")))
            .withMaxImportBytes(
                bytes(
                    setting(
                        importMaxBytes,
                        "CASTELLAN_IMPORT_MAX_BYTES",
                        "import_max_bytes",
                        String.valueOf(CastellanServer.DEFAULT_MAX_IMPORT_BYTES)),
                    "import_max_bytes"));
    String budget =
        setting(indexMemoryBudget, "CASTELLAN_INDEX_MEMORY_BUDGET", "index_memory_budget", "");
    if (!budget.isEmpty()) {
      options = options.withIndexMemoryBudget(bytes(budget, "index_memory_budget"));
    }
    options = options.withEvaluation(evaluationLimits());
    options =
        options.withStrictResponses(
            bool(
                setting(
                    flag(strictResponses),
                    "CASTELLAN_STRICT_RESPONSES",
                    "strict_responses",
                    "false"),
                source(
                    strictResponses,
                    "--strict-responses",
                    "CASTELLAN_STRICT_RESPONSES",
                    "strict_responses")));
    String scheme = options.tls() == null ? "http" : "https";
    dev.castellan.store.jdbc.ReadReplica replica = readReplica();
    Store store = storeOptions.openOrCreate(replica);
    String demoStore = demo ? Demo.load(store) : "";
    CastellanServer server;
    try {
      server = CastellanServer.start(options, store, audit);
    } catch (RuntimeException e) {
      store.close();
      if (CliErrors.find(e, java.net.BindException.class).isPresent()) {
        throw new CliFailure(
            CliFailure.PORT_IN_USE,
            "port "
                + listenPort
                + " on "
                + host
                + " is in use by another program (another castellan serve?): stop it, or choose"
                + " another port with --port or CASTELLAN_PORT",
            e);
      }
      throw e;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                },
                "castellan-shutdown"));
    // One write: whoever sees the "serving" line (a person, a test, a log shipper) has the key and
    // the hints too, never a half-printed block cut off by a quick stop.
    java.io.StringWriter text = new java.io.StringWriter();
    PrintWriter banner = new PrintWriter(text);
    banner.printf(
        "Castellan is serving on %s://%s:%d (%s), ready in %d ms%n",
        scheme,
        displayHost(host),
        server.port(),
        storeOptions.describe()
            + (replica == null ? "" : ", reads on the replica " + replica.describe()),
        (System.nanoTime() - started) / 1_000_000);
    String base = scheme + "://" + displayHost(host) + ":" + server.port();
    if (authMode == AuthMode.NONE) {
      banner.println();
      banner.println(LocalDevelopment.banner(base));
      if (!demo) {
        banner.println();
        banner.println("Try:  curl " + base + "/stores");
      }
    }
    if (!server.generatedToken().isEmpty()) {
      banner.println();
      banner.println(
          "Admin API key (shown once; set CASTELLAN_BOOTSTRAP_TOKEN to choose your own):");
      banner.println("  " + server.generatedToken());
      banner.println();
      banner.println(
          "Try:  curl -H 'Authorization: Bearer "
              + server.generatedToken()
              + "' "
              + base
              + "/stores");
    } else if (server.adminKeyUnknown()) {
      banner.println();
      banner.println("No admin API key of this database is known to have been shown to anyone.");
      banner.println(howToGetAnAdminKey());
    }
    if (demo) {
      banner.println();
      banner.println("Demo store " + demoStore + " is loaded. Try:");
      banner.println();
      banner.println(
          authMode == AuthMode.NONE
              ? "export CASTELLAN_KEY=none   # auth none: the server reads no credentials"
              : demoKeyLine(server.generatedToken(), bootstrap));
      banner.print(Demo.curlCommands(base, demoStore, "$CASTELLAN_KEY"));
    }
    banner.flush();
    out.print(text);
    out.flush();
    stopped.await();
    return 0;
  }

  /** The streaming replica for reads (ADR 0018), or null when none is given. */
  private dev.castellan.store.jdbc.ReadReplica readReplica() {
    String url = setting(pgReadUrl, "CASTELLAN_PG_READ_URL", "pg_read_url", "").strip();
    String wait = setting(pgReadMaxWait, "CASTELLAN_PG_READ_MAX_WAIT", "pg_read_max_wait", "");
    String waitSource =
        source(
            pgReadMaxWait, "--pg-read-max-wait", "CASTELLAN_PG_READ_MAX_WAIT", "pg_read_max_wait");
    if (url.isEmpty()) {
      if (!wait.isBlank()) {
        throw new CliFailure(
            CliFailure.INVALID_SETTING,
            waitSource + " is given without --pg-read-url: there is no replica to wait for");
      }
      return null;
    }
    if (storeOptions.embedded()) {
      throw new CliFailure(
          CliFailure.INVALID_SETTING,
          "--pg-read-url is a streaming replica of a PostgreSQL primary: give the primary with"
              + " --pg-url too");
    }
    try {
      return new dev.castellan.store.jdbc.ReadReplica(
          url,
          wait.isBlank()
              ? dev.castellan.store.jdbc.ReadReplica.DEFAULT_MAX_WAIT
              : EvaluationLimits.parseTimeout(wait, waitSource));
    } catch (IllegalArgumentException e) {
      throw new CliFailure(CliFailure.INVALID_SETTING, e.getMessage(), e);
    }
  }

  /** A host as it goes in a URL: a wildcard as localhost, an IPv6 literal in brackets. */
  private static String displayHost(String host) {
    if (host.equals("0.0.0.0")) {
      return "localhost";
    }
    return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  /** The line that defines {@code $CASTELLAN_KEY} for the demo's curl commands. */
  private String demoKeyLine(String generated, String bootstrap) {
    if (!generated.isEmpty()) {
      return "export CASTELLAN_KEY=" + generated;
    }
    if (!bootstrap.isEmpty()) {
      // The token is the operator's own secret: named, never printed.
      return "export CASTELLAN_KEY=\"$CASTELLAN_BOOTSTRAP_TOKEN\"   # the token this server started"
          + " with";
    }
    return "export CASTELLAN_KEY=...   # an admin API key: the one printed by the first start of"
        + " this database.\n# Lost it? "
        + howToGetAnAdminKey().replace("\n", "\n# ");
  }

  /** How to make an admin key for this server's database, on the command line. */
  private String howToGetAnAdminKey() {
    String create = "castellan keys create --name admin --admin " + storeOptions.asArguments();
    return storeOptions.embedded()
        ? "Make one: stop the server, run '"
            + create
            + "', and start it again;\nor start it with CASTELLAN_BOOTSTRAP_TOKEN set to a secret"
            + " of 24 or more characters, which then works as an admin key."
        : "Make one: run '"
            + create
            + "' (the server sees it within a second);\nor start it with"
            + " CASTELLAN_BOOTSTRAP_TOKEN set to a secret of 24 or more characters.";
  }

  /**
   * A whole-number setting from the flag, the environment or the config file, refused with the name
   * of the one that gave it when it is not a number in range.
   */
  private int intSetting(
      Integer flagValue, String flag, String env, String key, int fallback, int min, int max) {
    String value =
        setting(
            flagValue == null ? null : flagValue.toString(), env, key, String.valueOf(fallback));
    try {
      int parsed = Integer.parseInt(value.strip());
      if (parsed >= min && parsed <= max) {
        return parsed;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new CliFailure(
        CliFailure.INVALID_SETTING,
        source(flagValue, flag, env, key)
            + " must be a whole number from "
            + min
            + " to "
            + max
            + ", got '"
            + value
            + "'");
  }

  /** Which of the flag, the environment variable and the config file gave a setting. */
  private String source(Object flagValue, String flag, String env, String key) {
    if (flagValue != null) {
      return flag;
    }
    String fromEnv = System.getenv(env);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return env;
    }
    return key + " (in " + configFile + ")";
  }

  private static java.util.List<String> names(String commaSeparated) {
    return java.util.Arrays.stream(commaSeparated.split(","))
        .map(String::strip)
        .filter(name -> !name.isEmpty())
        .toList();
  }

  /** A size: a number of bytes, or one with KiB, MiB or GiB after it ({@code 64MiB}). */
  static long bytes(String value, String name) {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("(?i)(\\d{1,12})\\s*(|b|k|kib|m|mib|g|gib)")
            .matcher(value.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          name
              + " must be a number of bytes, or one with KiB, MiB or GiB (e.g. 64MiB; k, m and g as"
              + " in -Xmx work too), not '"
              + value
              + "'");
    }
    long unit =
        switch (m.group(2).toLowerCase(java.util.Locale.ROOT)) {
          case "k", "kib" -> 1024L;
          case "m", "mib" -> 1024L * 1024;
          case "g", "gib" -> 1024L * 1024 * 1024;
          default -> 1L;
        };
    return Math.multiplyExact(Long.parseLong(m.group(1)), unit);
  }

  private static String flag(Boolean value) {
    return value == null ? null : value.toString();
  }

  /** A yes/no setting; anything but true or false stops startup rather than guessing. */
  private static boolean bool(String value, String name) {
    return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default ->
          throw new CliFailure(
              CliFailure.INVALID_SETTING, name + " must be true or false, got '" + value + "'");
    };
  }

  /** A setting: the flag, else the environment variable, else the config file, else the default. */
  private String setting(String flag, String env, String key, String fallback) {
    if (flag != null) {
      return flag;
    }
    String fromEnv = System.getenv(env);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv;
    }
    return config.getOrDefault(key, fallback);
  }

  private java.util.Map<String, String> readConfig() throws java.io.IOException {
    if (configFile == null) {
      return java.util.Map.of();
    }
    com.fasterxml.jackson.databind.JsonNode root;
    try {
      root =
          new com.fasterxml.jackson.databind.ObjectMapper(
                  new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
              .readTree(java.nio.file.Files.readString(configFile));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new CliFailure(
          CliFailure.INVALID_FILE, configFile + ": " + CliErrors.describe(e, "").getMessage(), e);
    }
    java.util.Map<String, String> values = new java.util.HashMap<>();
    if (root == null || root.isNull()) {
      return values;
    }
    if (!root.isObject()) {
      throw new CliFailure(
          CliFailure.INVALID_FILE, configFile + ": expected a mapping of settings");
    }
    // A list of mappings, unlike every other setting: parsed and checked whole by the server.
    issuersConfig = ((com.fasterxml.jackson.databind.node.ObjectNode) root).remove("issuers");
    for (var entry : flatten("", root).entrySet()) {
      String key = entry.getKey();
      if (!CONFIG_KEYS.contains(key)) {
        throw new CliFailure(
            CliFailure.INVALID_SETTING,
            configFile
                + ": unknown setting '"
                + key
                + "'; known: "
                + new java.util.TreeSet<>(CONFIG_KEYS));
      }
      if (!entry.getValue().isValueNode()) {
        throw new CliFailure(
            CliFailure.INVALID_SETTING, configFile + ": '" + key + "' must be a single value");
      }
      values.put(key, entry.getValue().asText());
    }
    return values;
  }

  /** Deadlines and sizes of evaluations (ADR 0012). */
  private EvaluationLimits evaluationLimits() {
    EvaluationLimits defaults = EvaluationLimits.DEFAULT;
    String maxSteps =
        setting(
            maxEvaluationSteps == null ? null : maxEvaluationSteps.toString(),
            "CASTELLAN_MAX_EVALUATION_STEPS",
            "evaluation.max_steps",
            String.valueOf(defaults.maxSteps()));
    long explanation =
        EvaluationLimits.parseBytes(
            setting(
                maxExplanationBytes,
                "CASTELLAN_MAX_EXPLANATION_BYTES",
                "evaluation.max_explanation_bytes",
                "256KiB"),
            "evaluation.max_explanation_bytes");
    if (explanation > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "evaluation.max_explanation_bytes must be below 2GiB, was " + explanation);
    }
    try {
      return new EvaluationLimits(
          EvaluationLimits.parseTimeout(
              setting(checkTimeout, "CASTELLAN_CHECK_TIMEOUT", "evaluation.check_timeout", "1s"),
              "evaluation.check_timeout"),
          EvaluationLimits.parseTimeout(
              setting(listTimeout, "CASTELLAN_LIST_TIMEOUT", "evaluation.list_timeout", "3s"),
              "evaluation.list_timeout"),
          Long.parseLong(maxSteps.trim()),
          (int) explanation,
          EvaluationLimits.parseBytes(
              setting(
                  maxResultBytes,
                  "CASTELLAN_MAX_RESULT_BYTES",
                  "evaluation.max_result_bytes",
                  "8MiB"),
              "evaluation.max_result_bytes"));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "evaluation.max_steps must be a whole number, e.g. 1000000; not '" + maxSteps + "'");
    }
  }

  /** The audit trail and alert settings: environment variables win over the file. */
  private AuditSettings auditSettings() {
    AuditSettings.Allows allows =
        AuditSettings.Allows.parse(setting(null, "CASTELLAN_AUDIT_ALLOWS", "audit.allows", "all"));
    double rate =
        number(
            setting(
                null,
                "CASTELLAN_AUDIT_SAMPLE_RATE",
                "audit.sample_rate",
                allows == AuditSettings.Allows.SAMPLED ? "0.1" : "1"),
            source(null, "", "CASTELLAN_AUDIT_SAMPLE_RATE", "audit.sample_rate"));
    AuditSettings defaults = AuditSettings.DEFAULT;
    return defaults
        .withAllows(allows, rate)
        .withQueue(
            (int)
                number(
                    setting(
                        null,
                        "CASTELLAN_AUDIT_QUEUE_SIZE",
                        "audit.queue_size",
                        String.valueOf(defaults.queueCapacity())),
                    source(null, "", "CASTELLAN_AUDIT_QUEUE_SIZE", "audit.queue_size")),
            defaults.batchSize())
        .withFile(setting(null, "CASTELLAN_AUDIT_FILE", "audit.file", ""))
        .withRetention(
            AuditSettings.parseDuration(
                setting(null, "CASTELLAN_AUDIT_RETENTION", "audit.retention", "90d"),
                "audit.retention"))
        .withAlerts(
            AlertRules.NONE
                .withWebhook(setting(null, "CASTELLAN_ALERTS_WEBHOOK", "alerts.webhook", ""))
                .withDenials(threshold("alerts.denials"))
                .withAuthFailures(threshold("alerts.auth_failures"))
                .withAdminGrants(
                    bool(
                        config.getOrDefault("alerts.admin_grants", "false"),
                        "alerts.admin_grants (in " + configFile + ")"))
                .withRejectedPolicyReloads(
                    bool(
                        config.getOrDefault("alerts.rejected_policy_reloads", "false"),
                        "alerts.rejected_policy_reloads (in " + configFile + ")"))
                .withAuditDropped(
                    bool(
                        config.getOrDefault("alerts.audit_dropped", "false"),
                        "alerts.audit_dropped (in " + configFile + ")"))
                .withDeprovisioning(
                    bool(
                        config.getOrDefault("alerts.deprovisioning", "false"),
                        "alerts.deprovisioning (in " + configFile + ")")));
  }

  /** A number setting; {@code name} says where it came from when it is not one. */
  private static double number(String value, String name) {
    try {
      double parsed = Double.parseDouble(value.strip());
      if (Double.isFinite(parsed)) {
        return parsed;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new CliFailure(
        CliFailure.INVALID_SETTING, name + " must be a number, got '" + value + "'");
  }

  private AlertRules.Threshold threshold(String rule) {
    String count = config.get(rule + ".more_than");
    if (count == null) {
      return AlertRules.Threshold.OFF;
    }
    return new AlertRules.Threshold(
        (int) number(count, rule + ".more_than (in " + configFile + ")"),
        AuditSettings.parseDuration(config.getOrDefault(rule + ".within", "5m"), rule + ".within"));
  }

  /** {@code log: {format: json}} and {@code log.format: json} both become {@code log.format}. */
  private static java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> flatten(
      String prefix, com.fasterxml.jackson.databind.JsonNode node) {
    java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> out =
        new java.util.LinkedHashMap<>();
    for (var it = node.properties().iterator(); it.hasNext(); ) {
      var entry = it.next();
      String key = prefix + entry.getKey();
      if (entry.getValue().isObject()) {
        out.putAll(flatten(key + ".", entry.getValue()));
      } else {
        out.put(key, entry.getValue());
      }
    }
    return out;
  }

  /** HTTPS when both files are given (flag, else variable, else config file); null: HTTP. */
  private dev.castellan.server.tls.TlsSettings tlsSettings() {
    String cert =
        setting(tlsCert == null ? null : tlsCert.toString(), "CASTELLAN_TLS_CERT", "tls.cert", "");
    String key =
        setting(tlsKey == null ? null : tlsKey.toString(), "CASTELLAN_TLS_KEY", "tls.key", "");
    if (cert.isEmpty() != key.isEmpty()) {
      throw configError(
          (cert.isEmpty()
                  ? "--tls-key is given without --tls-cert"
                  : "--tls-cert is given without --tls-key")
              + "; HTTPS needs both: the PEM certificate chain and its private key");
    }
    return cert.isEmpty()
        ? null
        : dev.castellan.server.tls.TlsSettings.of(
            java.nio.file.Path.of(cert), java.nio.file.Path.of(key));
  }

  /**
   * The HS256 secret, from the flags, else the environment, else the config file; at each level the
   * secret itself or a file holding it, not both. The flag with the secret itself works but warns:
   * every user of the machine sees it in the process list.
   */
  private String hs256Secret() {
    if (jwtSecret != null || jwtSecretFile != null) {
      if (jwtSecret != null && jwtSecretFile != null) {
        throw configError("give --jwt-secret or --jwt-secret-file, not both");
      }
      if (jwtSecret != null) {
        warn(
            "--jwt-secret puts the secret on the command line, where every user of this machine"
                + " can read it (ps, /proc) and shell history keeps it; use --jwt-secret-file FILE"
                + " or the CASTELLAN_JWT_SECRET environment variable instead");
        return jwtSecret;
      }
      return secretFile(jwtSecretFile, "--jwt-secret-file");
    }
    String fromEnv = System.getenv("CASTELLAN_JWT_SECRET");
    String fileFromEnv = System.getenv("CASTELLAN_JWT_SECRET_FILE");
    boolean hasEnv = fromEnv != null && !fromEnv.isEmpty();
    boolean hasFileEnv = fileFromEnv != null && !fileFromEnv.isBlank();
    if (hasEnv && hasFileEnv) {
      throw configError("set CASTELLAN_JWT_SECRET or CASTELLAN_JWT_SECRET_FILE, not both");
    }
    if (hasEnv) {
      return fromEnv;
    }
    if (hasFileEnv) {
      return secretFile(java.nio.file.Path.of(fileFromEnv.strip()), "CASTELLAN_JWT_SECRET_FILE");
    }
    String fromConfig = config.getOrDefault("jwt_secret", "");
    String fileFromConfig = config.getOrDefault("jwt_secret_file", "");
    if (!fromConfig.isEmpty() && !fileFromConfig.isEmpty()) {
      throw configError(configFile + ": give jwt_secret or jwt_secret_file, not both");
    }
    return fileFromConfig.isEmpty()
        ? fromConfig
        : secretFile(java.nio.file.Path.of(fileFromConfig), "jwt_secret_file");
  }

  private String secretFile(java.nio.file.Path file, String source) {
    String secret = SecretFile.read(file, source);
    SecretFile.readableByOthers(file, source).ifPresent(this::warn);
    return secret;
  }

  private void warn(String message) {
    PrintWriter err = spec.commandLine().getErr();
    err.println("warning: " + message);
    err.flush();
  }

  private static dev.castellan.CastellanException configError(String message) {
    return new dev.castellan.CastellanException(dev.castellan.ErrorCode.VALIDATION_ERROR, message);
  }

  private JwtSettings jwtSettings() {
    String secret = hs256Secret();
    String issuer = setting(oidcIssuer, "CASTELLAN_OIDC_ISSUER", "oidc_issuer", "");
    String audience = setting(oidcAudience, "CASTELLAN_OIDC_AUDIENCE", "oidc_audience", "");
    if (!secret.isEmpty() && !issuer.isEmpty()) {
      throw new IllegalArgumentException(
          "give either an HS256 secret (--jwt-secret-file, CASTELLAN_JWT_SECRET) or"
              + " --oidc-issuer, not both");
    }
    if (!secret.isEmpty()) {
      return JwtSettings.hs256(secret);
    }
    return issuer.isEmpty() ? null : JwtSettings.oidc(issuer, audience);
  }
}
