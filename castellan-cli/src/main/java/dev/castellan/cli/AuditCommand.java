package dev.castellan.cli;

import dev.castellan.store.AuditRecords;
import dev.castellan.store.AuditVerification;
import dev.castellan.store.Store;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code castellan audit verify}: checks the audit trail's hash chain in a store's database. */
@Command(
    name = "audit",
    description = "Check the audit trail.",
    subcommands = {AuditCommand.Verify.class})
final class AuditCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "verify",
      description =
          "Walk the audit trail's hash chain. Exits 0 when every entry is in place and unchanged,"
              + " 1 naming the first entry that was edited, deleted or reordered.")
  static final class Verify implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions storeOptions = new StoreOptions();

    @Override
    public Integer call() {
      try (Store store = storeOptions.open()) {
        AuditRecords records = store.auditRecords();
        AuditVerification result = AuditVerification.of(records);
        if (result.intact()) {
          AuditRecords.Head head = records.head();
          spec.commandLine()
              .getOut()
              .printf(
                  "audit trail intact: %d entries (seq %d to %d) in the %s%n",
                  result.entries(), head.firstSeq(), head.lastSeq(), storeOptions.describe());
          spec.commandLine().getOut().flush();
          return 0;
        }
        spec.commandLine()
            .getErr()
            .printf(
                "audit trail TAMPERED: first bad entry is seq %d: %s (%d entries before it are"
                    + " intact)%n",
                result.badSeq(), result.reason(), result.entries());
        spec.commandLine().getErr().flush();
        return 1;
      }
    }
  }
}
