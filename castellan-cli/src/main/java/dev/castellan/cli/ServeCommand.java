package dev.castellan.cli;

import dev.castellan.server.CastellanServer;
import dev.castellan.server.Demo;
import dev.castellan.server.EvaluationLimits;
import dev.castellan.server.Limits;
import dev.castellan.server.audit.AlertRules;
import dev.castellan.server.audit.AuditSettings;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.server.metrics.LogSettings;
import dev.castellan.store.Store;
import dev.castellan.store.jdbc.JdbcStore;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code castellan serve}: the HTTP server, until interrupted. */
@Command(name = "serve", description = "Run the Castellan server.")
final class ServeCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Mixin StoreOptions storeOptions = new StoreOptions();

  @Option(names = "--port", description = "HTTP port (default: 8080, or $CASTELLAN_PORT)")
  Integer port;

  @Option(names = "--host", description = "address to listen on (default: 0.0.0.0)")
  String host;

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
          "accept HS256 JWTs signed with this secret, at least 32 bytes (development; or"
              + " $CASTELLAN_JWT_SECRET)")
  String jwtSecret;

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
      names = "--metrics-public",
      description =
          "serve /metrics without credentials, for a Prometheus scraper (or"
              + " $CASTELLAN_METRICS_PUBLIC=true; default: a global admin's credentials)")
  Boolean metricsPublic;

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
          "YAML settings: port, host, data, pg_url, bootstrap_token, jwt_secret, oidc_issuer,"
              + " oidc_audience, max_tuples_per_write, demo, rbac_file, role_claims, group_claims,"
              + " metrics.public, log.format, log.access, audit (allows, sample_rate, queue_size,"
              + " file, retention) and alerts (webhook, denials, auth_failures, admin_grants,"
              + " rejected_policy_reloads), evaluation (check_timeout, list_timeout, max_steps,"
              + " max_explanation_bytes, max_result_bytes); nested or dotted. Flags win over"
              + " environment variables, which win over the file.")
  java.nio.file.Path configFile;

  private java.util.Map<String, String> config = java.util.Map.of();

  private static final java.util.Set<String> CONFIG_KEYS =
      java.util.Set.of(
          "port",
          "host",
          "data",
          "pg_url",
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
          "evaluation.check_timeout",
          "evaluation.list_timeout",
          "evaluation.max_steps",
          "evaluation.max_explanation_bytes",
          "evaluation.max_result_bytes");

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    long started = System.nanoTime();
    config = readConfig();
    new LogSettings(
            LogSettings.Format.parse(
                setting(logFormat, "CASTELLAN_LOG_FORMAT", "log.format", "text")),
            bool(
                setting(flag(accessLog), "CASTELLAN_ACCESS_LOG", "log.access", "false"),
                "log.access"))
        .apply();
    if (storeOptions.data == null && config.containsKey("data")) {
      storeOptions.data = java.nio.file.Path.of(config.get("data"));
    }
    if (storeOptions.pgUrl == null && config.containsKey("pg_url")) {
      storeOptions.pgUrl = config.get("pg_url");
    }
    demo = demo || Boolean.parseBoolean(config.getOrDefault("demo", "false"));
    host = setting(host, "CASTELLAN_HOST", "host", "0.0.0.0");
    Store store = storeOptions.open();
    String bootstrap = setting(null, "CASTELLAN_BOOTSTRAP_TOKEN", "bootstrap_token", "");
    CastellanServer.Options options =
        CastellanServer.Options.defaults()
            .withHost(host)
            .withPort(
                Integer.parseInt(
                    setting(
                        port == null ? null : port.toString(), "CASTELLAN_PORT", "port", "8080")))
            .withBootstrapToken(bootstrap)
            .withLimits(
                Limits.DEFAULT.withMaxTuplesPerWrite(
                    Integer.parseInt(
                        setting(
                            maxTuplesPerWrite == null ? null : maxTuplesPerWrite.toString(),
                            "CASTELLAN_MAX_TUPLES_PER_WRITE",
                            "max_tuples_per_write",
                            "100"))));
    options = options.withJwt(jwtSettings());
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
        options.withMetricsPublic(
            bool(
                setting(flag(metricsPublic), "CASTELLAN_METRICS_PUBLIC", "metrics.public", "false"),
                "metrics.public"));
    options = options.withEvaluation(evaluationLimits());
    String demoStore = demo ? Demo.load(store) : "";
    CastellanServer server = CastellanServer.start(options, store, auditSettings());
    AutoCloseable listener =
        store instanceof JdbcStore jdbc ? jdbc.listen(server.runtime()::wake) : () -> {};
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    listener.close();
                  } catch (Exception e) {
                    // shutting down anyway
                  }
                  server.close();
                  stopped.countDown();
                },
                "castellan-shutdown"));
    out.printf(
        "Castellan is serving on http://%s:%d (%s), ready in %d ms%n",
        host.equals("0.0.0.0") ? "localhost" : host,
        server.port(),
        storeOptions.describe(),
        (System.nanoTime() - started) / 1_000_000);
    String key =
        !server.generatedToken().isEmpty()
            ? server.generatedToken()
            : bootstrap.isEmpty() ? "$CASTELLAN_KEY" : "$CASTELLAN_BOOTSTRAP_TOKEN";
    if (demo) {
      out.println();
      out.println("Demo store " + demoStore + " is loaded. Try:");
      out.println();
      out.print(Demo.curlCommands("http://localhost:" + server.port(), demoStore, key));
    }
    if (!server.generatedToken().isEmpty()) {
      out.println();
      out.println("Admin API key (shown once; set CASTELLAN_BOOTSTRAP_TOKEN to choose your own):");
      out.println("  " + server.generatedToken());
      out.println();
      out.println(
          "Try:  curl -H 'Authorization: Bearer "
              + server.generatedToken()
              + "' "
              + "http://localhost:"
              + server.port()
              + "/stores");
    }
    out.flush();
    stopped.await();
    return 0;
  }

  private static java.util.List<String> names(String commaSeparated) {
    return java.util.Arrays.stream(commaSeparated.split(","))
        .map(String::strip)
        .filter(name -> !name.isEmpty())
        .toList();
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
          throw new IllegalArgumentException(name + " must be true or false, was '" + value + "'");
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
    com.fasterxml.jackson.databind.JsonNode root =
        new com.fasterxml.jackson.databind.ObjectMapper(
                new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
            .readTree(configFile.toFile());
    java.util.Map<String, String> values = new java.util.HashMap<>();
    if (root == null || root.isNull()) {
      return values;
    }
    if (!root.isObject()) {
      throw new IllegalArgumentException(configFile + ": expected a mapping of settings");
    }
    for (var entry : flatten("", root).entrySet()) {
      String key = entry.getKey();
      if (!CONFIG_KEYS.contains(key)) {
        throw new IllegalArgumentException(
            configFile
                + ": unknown setting '"
                + key
                + "'; known: "
                + new java.util.TreeSet<>(CONFIG_KEYS));
      }
      if (!entry.getValue().isValueNode()) {
        throw new IllegalArgumentException(configFile + ": '" + key + "' must be a single value");
      }
      values.put(key, entry.getValue().asText());
    }
    return values;
  }

  /** Deadlines and sizes of evaluations (issue 12). */
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
        Double.parseDouble(
            setting(
                null,
                "CASTELLAN_AUDIT_SAMPLE_RATE",
                "audit.sample_rate",
                allows == AuditSettings.Allows.SAMPLED ? "0.1" : "1"));
    AuditSettings defaults = AuditSettings.DEFAULT;
    return defaults
        .withAllows(allows, rate)
        .withQueue(
            Integer.parseInt(
                setting(
                    null,
                    "CASTELLAN_AUDIT_QUEUE_SIZE",
                    "audit.queue_size",
                    String.valueOf(defaults.queueCapacity()))),
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
                    Boolean.parseBoolean(config.getOrDefault("alerts.admin_grants", "false")))
                .withRejectedPolicyReloads(
                    Boolean.parseBoolean(
                        config.getOrDefault("alerts.rejected_policy_reloads", "false"))));
  }

  private AlertRules.Threshold threshold(String rule) {
    String count = config.get(rule + ".more_than");
    if (count == null) {
      return AlertRules.Threshold.OFF;
    }
    return new AlertRules.Threshold(
        Integer.parseInt(count),
        AuditSettings.parseDuration(config.getOrDefault(rule + ".within", "5m"), rule + ".within"));
  }

  /** {@code log: {format: json}} and {@code log.format: json} both become {@code log.format}. */
  private static java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> flatten(
      String prefix, com.fasterxml.jackson.databind.JsonNode node) {
    java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> out =
        new java.util.LinkedHashMap<>();
    for (var it = node.fields(); it.hasNext(); ) {
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

  private JwtSettings jwtSettings() {
    String secret = setting(jwtSecret, "CASTELLAN_JWT_SECRET", "jwt_secret", "");
    String issuer = setting(oidcIssuer, "CASTELLAN_OIDC_ISSUER", "oidc_issuer", "");
    String audience = setting(oidcAudience, "CASTELLAN_OIDC_AUDIENCE", "oidc_audience", "");
    if (!secret.isEmpty() && !issuer.isEmpty()) {
      throw new IllegalArgumentException("give either --jwt-secret or --oidc-issuer, not both");
    }
    if (!secret.isEmpty()) {
      return JwtSettings.hs256(secret);
    }
    return issuer.isEmpty() ? null : JwtSettings.oidc(issuer, audience);
  }
}
