package dev.castellan.cli;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.auth.ApiKeyTerms;
import dev.castellan.server.auth.ApiKeys;
import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.Store;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan keys create | list | rotate | revoke}: API keys, managed directly on the store
 * (for automation and recovery; a running server sees the change within a few seconds).
 */
@Command(
    name = "keys",
    mixinStandardHelpOptions = true,
    description = {
      "Create, list, rotate and revoke API keys, directly in the server's database.",
      "The embedded store (--data) can be open in one process only: stop the server first, or use"
          + " the HTTP API (/api/keys) while it runs. On PostgreSQL (--pg-url) both work at once."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  castellan keys create --name ops --admin          a Castellan administrator",
      "  castellan keys list --data /var/lib/castellan",
      "  castellan keys rotate AbC123xyz --grace 24h"
    },
    subcommands = {
      KeysCommand.Create.class,
      KeysCommand.ListKeys.class,
      KeysCommand.Rotate.class,
      KeysCommand.Revoke.class
    })
final class KeysCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = {
        "Create a key; it is printed once (only its hash is kept).",
        "Say what it may do: --admin, --auditor, --scim, --store ID --role ROLE, or --no-rights."
      },
      footerHeading = "%nExamples:%n",
      footer = {
        "  castellan keys create --name ops --admin           a Castellan administrator",
        "  castellan keys create --name ci --store 01J... --role writer",
        "  castellan keys create --name compliance --auditor  reads the audit trail",
        "  castellan keys create --name okta --scim           provisions users over /scim/v2",
        "  castellan keys create --name svc --no-rights       e.g. RBAC roles only",
        "  castellan keys create --name ci --admin --expires-in 90d"
      })
  static final class Create implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions storeOptions = new StoreOptions();

    @Option(names = "--name", required = true, description = "a name for people")
    String name;

    @Option(
        names = "--admin",
        description = "make it a Castellan administrator (every store, keys, roles, the policy)")
    boolean admin;

    @Option(names = "--auditor", description = "let it read the audit trail")
    boolean auditor;

    @Option(
        names = "--scim",
        description =
            "make it a provisioning key for an identity provider: it may call /scim/v2 and"
                + " nothing else")
    boolean scim;

    @Option(names = "--store", paramLabel = "ID", description = "a store to give it a role on")
    String storeId;

    @Option(names = "--role", description = "admin, writer or reader (with --store)")
    String role;

    @Option(
        names = "--no-rights",
        description =
            "create it with no Castellan rights (it can still ask /api/authorize about itself,"
                + " as service_account:<id>, and hold RBAC roles)")
    boolean noRights;

    @Option(
        names = "--expires-in",
        paramLabel = "DURATION",
        description =
            "the key stops working this long from now: 90d, 12h, 30m (at most 3650d); by default"
                + " it does not expire")
    String expiresIn;

    @Option(
        names = "--expires-at",
        paramLabel = "TIME",
        description = "the key stops working at this RFC 3339 time, e.g. 2027-03-01T00:00:00Z")
    String expiresAt;

    @Override
    public Integer call() {
      if (expiresIn != null && expiresAt != null) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "give --expires-in or --expires-at, not both");
      }
      if ((storeId == null) != (role == null)) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--store and --role go together");
      }
      if (scim && (admin || auditor || storeId != null)) {
        throw new CommandLine.ParameterException(
            spec.commandLine(),
            "a --scim key may only call /scim/v2: leave out --admin, --auditor and --store, and"
                + " make a second key for those");
      }
      boolean rights = admin || auditor || scim || storeId != null;
      if (!rights && !noRights) {
        throw new CommandLine.ParameterException(
            spec.commandLine(),
            "say what the key may do: --admin (a Castellan administrator), --auditor (reads the"
                + " audit trail), --scim (provisions users over /scim/v2), --store ID --role admin|writer|reader (one store), or"
                + " --no-rights (nothing yet)");
      }
      if (rights && noRights) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--no-rights contradicts --admin, --auditor, --scim and --role");
      }
      AccessControl.Role parsed = role == null ? null : AccessControl.Role.parse(role);
      try (Store store = storeOptions.open()) {
        if (storeId != null && store.getStore(storeId).isEmpty()) {
          throw new CastellanException(
              ErrorCode.STORE_ID_NOT_FOUND,
              "no store "
                  + storeId
                  + " in the "
                  + storeOptions.describe()
                  + "; GET /stores with an admin key lists them");
        }
        AccessControl access = AccessControl.open(store);
        ApiKeys keys = new ApiKeys(store, store, Clock.systemUTC());
        ApiKeys.Created created = keys.create(name, expiry(keys.now(), expiresIn, expiresAt));
        String subject = created.principalId();
        audit(store, "key-create", subject, "create", "key:" + created.id(), "");
        if (admin) {
          access.grantAdmin(subject);
          audit(store, "access-grant", subject, "admin", "castellan:global", "");
        }
        if (auditor) {
          access.grantAuditor(subject);
          audit(store, "access-grant", subject, "auditor", "castellan:global", "");
        }
        if (scim) {
          access.grantScim(subject);
          audit(store, "access-grant", subject, "scim", "castellan:global", "");
        }
        if (parsed != null) {
          access.grant(subject, storeId, parsed);
          audit(
              store,
              "access-grant",
              subject,
              parsed.name().toLowerCase(java.util.Locale.ROOT),
              "store:" + storeId,
              storeId);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("id:      " + created.id());
        out.println("subject: " + AccessControl.subject(created.principalId()));
        out.println("rights:  " + describeRights(access.rights(subject)));
        out.println("expires: " + describe(created.record().expiresAt()));
        out.println("key:     " + created.key() + "   (shown once)");
        out.flush();
      }
      return 0;
    }
  }

  /** The expiry {@code --expires-in} or {@code --expires-at} asks for; null: none. */
  static Instant expiry(Instant now, String expiresIn, String expiresAt) {
    if (expiresIn != null) {
      return ApiKeyTerms.expiryIn(
          "--expires-in", now, ApiKeyTerms.parseDuration("--expires-in", expiresIn));
    }
    if (expiresAt != null) {
      return ApiKeyTerms.expiry(now, ApiKeyTerms.parseInstant("--expires-at", expiresAt));
    }
    return null;
  }

  /** An instant to the second, or {@code never}. */
  static String describe(Instant instant) {
    return instant == null ? "never" : instant.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  static String describeRights(List<String> rights) {
    return rights.isEmpty() ? "none" : String.join(", ", rights);
  }

  /** Changes made here bypass the server, so they go into the audit trail from here. */
  static void audit(
      Store store, String api, String subject, String action, String resource, String storeId) {
    store
        .auditRecords()
        .append(
            java.util.List.of(
                new dev.castellan.audit.AuditEntry(
                    java.time.Instant.now(),
                    "change",
                    api,
                    "cli:" + System.getProperty("user.name", ""),
                    subject,
                    java.util.List.of(),
                    action,
                    resource,
                    "ok",
                    "castellan keys",
                    storeId,
                    0,
                    "",
                    "")));
  }

  private static final String ROW = "%-14s %-24s %-30s %-21s %-30s %-21s %s%n";

  /** A key's last rotation, as {@code keys list} shows it. */
  private static String rotation(ApiKeyRecord.Rotation rotation, Instant now) {
    if (rotation == null) {
      return "-";
    }
    return now.isBefore(rotation.graceEndsAt())
        ? "old secret works until " + describe(rotation.graceEndsAt())
        : "rotated " + describe(rotation.rotatedAt());
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = {
        "List keys (never their secrets), the Castellan rights each holds, its expiry, its last"
            + " use and its last rotation.",
        "A running server writes last uses about once a minute, so LAST-USED may lag by that much."
      },
      footerHeading = "%nExamples:%n",
      footer = {"  castellan keys list", "  castellan keys list --pg-url \"$CASTELLAN_PG_URL\""})
  static final class ListKeys implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions storeOptions = new StoreOptions();

    @Override
    public Integer call() {
      try (Store store = storeOptions.open()) {
        AccessControl access = AccessControl.open(store);
        PrintWriter out = spec.commandLine().getOut();
        List<ApiKeyRecord> keys = store.apiKeys();
        Instant now = Instant.now();
        if (keys.isEmpty()) {
          out.println("no keys in the " + storeOptions.describe());
        } else {
          out.printf(ROW, "ID", "NAME", "RIGHTS", "CREATED", "EXPIRES", "LAST-USED", "ROTATION");
        }
        for (ApiKeyRecord record : keys) {
          String expires = describe(record.expiresAt());
          out.printf(
              ROW,
              record.id(),
              record.name(),
              describeRights(access.rights(record.principal())),
              describe(record.createdAt()),
              record.usableAt(now) ? expires : expires + " (expired)",
              describe(record.lastUsedAt()),
              rotation(record.rotation(), now));
        }
        out.flush();
      }
      return 0;
    }
  }

  @Command(
      name = "rotate",
      mixinStandardHelpOptions = true,
      description = {
        "Give a key a new secret, printed once; the old secret keeps working for the grace.",
        "The key keeps its id and rights. Rotating again ends an earlier old secret at once."
      },
      footerHeading = "%nExamples:%n",
      footer = {
        "  castellan keys rotate AbC123xyz --grace 24h",
        "  castellan keys rotate AbC123xyz --grace 0s        the old secret stops at once",
        "  castellan keys rotate AbC123xyz --expires-in 90d  and a new expiry"
      })
  static final class Rotate implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions storeOptions = new StoreOptions();

    @Parameters(paramLabel = "ID", description = "the key id (the part after cst_)")
    String id;

    @Option(
        names = "--grace",
        paramLabel = "DURATION",
        defaultValue = "24h",
        description =
            "how long the old secret keeps working: 24h (the default), 7d, 0s; at most 30d")
    String grace;

    @Option(
        names = "--expires-in",
        paramLabel = "DURATION",
        description = "a new expiry, this long from now; by default the key keeps its own")
    String expiresIn;

    @Option(
        names = "--expires-at",
        paramLabel = "TIME",
        description = "a new expiry at this RFC 3339 time")
    String expiresAt;

    @Override
    public Integer call() {
      if (expiresIn != null && expiresAt != null) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "give --expires-in or --expires-at, not both");
      }
      Duration graceDuration = ApiKeyTerms.parseDuration("--grace", grace);
      try (Store store = storeOptions.open()) {
        ApiKeys keys = new ApiKeys(store, store, Clock.systemUTC());
        Instant expiry = expiry(keys.now(), expiresIn, expiresAt);
        ApiKeys.Created rotated;
        try {
          rotated =
              expiry == null
                  ? keys.rotate(id, graceDuration)
                  : keys.rotate(id, graceDuration, expiry);
        } catch (CastellanException e) {
          if (e.code() == ErrorCode.NOT_FOUND) {
            throw new CastellanException(
                ErrorCode.NOT_FOUND, "no key " + id + "; 'castellan keys list' shows the ids");
          }
          throw e;
        }
        ApiKeyRecord.Rotation rotation = rotated.record().rotation();
        audit(store, "key-rotate", rotated.principalId(), "rotate", "key:" + id, "");
        PrintWriter out = spec.commandLine().getOut();
        out.println("id:      " + id);
        out.println("subject: " + AccessControl.subject(rotated.principalId()));
        out.println("expires: " + describe(rotated.record().expiresAt()));
        out.println("old key: works until " + describe(rotation.graceEndsAt()));
        out.println("key:     " + rotated.key() + "   (shown once)");
        out.flush();
      }
      return 0;
    }
  }

  @Command(
      name = "revoke",
      mixinStandardHelpOptions = true,
      description = "Revoke a key and every right it held.",
      footerHeading = "%nExamples:%n",
      footer = {"  castellan keys revoke AbC123xyz      the id from 'castellan keys list'"})
  static final class Revoke implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions storeOptions = new StoreOptions();

    @Parameters(paramLabel = "ID", description = "the key id (the part after cst_)")
    String id;

    @Override
    public Integer call() {
      try (Store store = storeOptions.open()) {
        if (!new ApiKeys(store, store, Clock.systemUTC()).revoke(id)) {
          throw new CastellanException(
              ErrorCode.NOT_FOUND, "no key " + id + "; 'castellan keys list' shows the ids");
        }
        AccessControl.open(store).revokeAll("key:" + id);
        audit(store, "key-revoke", "key:" + id, "revoke", "key:" + id, "");
        spec.commandLine().getOut().println("revoked " + id);
        spec.commandLine().getOut().flush();
      }
      return 0;
    }
  }
}
