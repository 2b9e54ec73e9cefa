package dev.castellan.cli;

import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.auth.ApiKeys;
import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.Store;
import java.io.PrintWriter;
import java.time.Clock;
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
    description = "Create, list and revoke API keys.",
    subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
final class KeysCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "create", description = "Create a key; it is printed once.")
  static final class Create implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions storeOptions = new StoreOptions();

    @Option(names = "--name", required = true, description = "a name for people")
    String name;

    @Option(names = "--admin", description = "make it a Castellan administrator")
    boolean admin;

    @Option(names = "--auditor", description = "let it read the audit trail")
    boolean auditor;

    @Option(names = "--store", description = "a store to give it a role on")
    String storeId;

    @Option(names = "--role", description = "admin, writer or reader (with --store)")
    String role;

    @Override
    public Integer call() {
      if ((storeId == null) != (role == null)) {
        throw new IllegalArgumentException("--store and --role go together");
      }
      try (Store store = storeOptions.open()) {
        AccessControl access = AccessControl.open(store);
        ApiKeys.Created created = new ApiKeys(store, Clock.systemUTC()).create(name);
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
        if (storeId != null) {
          store
              .getStore(storeId)
              .orElseThrow(() -> new IllegalArgumentException("no store " + storeId));
          AccessControl.Role parsed = AccessControl.Role.parse(role);
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
        out.println("key:     " + created.key() + "   (shown once)");
        out.flush();
      }
      return 0;
    }
  }

  /** Changes made here bypass the server, so they go into the audit trail from here. */
  static void audit(
      Store store, String api, String subject, String action, String resource, String storeId) {
    store
        .auditRecords()
        .append(
            java.util.List.of(
                new dev.castellan.store.AuditEntry(
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

  @Command(name = "list", description = "List keys (never their secrets).")
  static final class ListKeys implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions storeOptions = new StoreOptions();

    @Override
    public Integer call() {
      try (Store store = storeOptions.open()) {
        PrintWriter out = spec.commandLine().getOut();
        for (ApiKeyRecord record : store.apiKeys()) {
          out.printf("%-14s %-24s %s%n", record.id(), record.name(), record.createdAt());
        }
        out.flush();
      }
      return 0;
    }
  }

  @Command(name = "revoke", description = "Revoke a key and every right it held.")
  static final class Revoke implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions storeOptions = new StoreOptions();

    @Parameters(paramLabel = "ID", description = "the key id (the part after cst_)")
    String id;

    @Override
    public Integer call() {
      try (Store store = storeOptions.open()) {
        if (!store.revokeApiKey(id)) {
          spec.commandLine().getErr().println("no key " + id);
          return 1;
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
