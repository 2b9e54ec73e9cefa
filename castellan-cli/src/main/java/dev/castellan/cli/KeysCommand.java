package dev.castellan.cli;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.auth.ApiKeys;
import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.Store;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan keys create | list | revoke}: API keys, managed directly on the store (for
 * automation and recovery; a running server sees the change within a second).
 */
@Command(
    name = "keys",
    mixinStandardHelpOptions = true,
    description = {
      "Create, list and revoke API keys, directly in the server's database.",
      "The embedded store (--data) can be open in one process only: stop the server first, or use"
          + " the HTTP API (/api/keys) while it runs. On PostgreSQL (--pg-url) both work at once."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  castellan keys create --name ops --admin          a Castellan administrator",
      "  castellan keys list --data /var/lib/castellan"
    },
    subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
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
        "  castellan keys create --name svc --no-rights       e.g. RBAC roles only"
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
                + " as service_account:key.<id>, and hold RBAC roles)")
    boolean noRights;

    @Override
    public Integer call() {
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
        ApiKeys.Created created = new ApiKeys(store, store, Clock.systemUTC()).create(name);
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
        out.println("subject: " + created.principalId());
        out.println("rights:  " + describeRights(access.rights(subject)));
        out.println("key:     " + created.key() + "   (shown once)");
        out.flush();
      }
      return 0;
    }
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

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List keys (never their secrets) and the Castellan rights each holds.",
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
        if (keys.isEmpty()) {
          out.println("no keys in the " + storeOptions.describe());
        } else {
          out.printf("%-14s %-24s %-30s %s%n", "ID", "NAME", "RIGHTS", "CREATED");
        }
        for (ApiKeyRecord record : keys) {
          out.printf(
              "%-14s %-24s %-30s %s%n",
              record.id(),
              record.name(),
              describeRights(access.rights(record.principal())),
              record.createdAt());
        }
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
