package dev.castellan.cli;

import dev.castellan.audit.AuditFilter;
import dev.castellan.audit.AuditRecord;
import dev.castellan.audit.AuditRecords;
import dev.castellan.audit.AuditVerification;
import dev.castellan.store.PageRequest;
import dev.castellan.store.Store;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code castellan audit verify}: checks the audit trail's hash chain in a store's database. */
@Command(
    name = "audit",
    mixinStandardHelpOptions = true,
    description = "Check the audit trail.",
    footerHeading = "%nExamples:%n",
    footer = {"  castellan audit verify --data ./data      (with the server stopped)"},
    subcommands = {AuditCommand.Verify.class})
final class AuditCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "verify",
      mixinStandardHelpOptions = true,
      description = {
        "Walk the audit trail's hash chain. Exits 0 when every entry is in place and unchanged,"
            + " 1 naming the first entry that was edited, deleted or reordered, or when the"
            + " chain does not pass through --expect; 3 when --expect names an entry retention"
            + " has removed.",
        "The embedded store (--data) can be open in one process only: stop the server first. On"
            + " PostgreSQL (--pg-url) it runs beside the servers."
      },
      footerHeading = "%nExamples:%n",
      footer = {
        "  castellan audit verify --data ./data",
        "  castellan audit verify --pg-url \"$CASTELLAN_PG_URL\" --expect 18204:5d1c..."
      })
  static final class Verify implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions storeOptions = new StoreOptions();

    @CommandLine.Option(
        names = "--expect",
        paramLabel = "SEQ:HASH",
        description =
            "An entry the chain must still hold with this hash, such as a head the server logged"
                + " (\"audit trail head: seq 7 hash 9f...\"): whoever rewrites the whole chain"
                + " cannot rewrite the copies of it kept elsewhere.")
    String expect;

    @Override
    public Integer call() {
      long expectedSeq = 0;
      String expectedHash = "";
      if (expect != null) {
        int colon = expect.indexOf(':');
        try {
          expectedSeq = Long.parseLong(expect.substring(0, Math.max(0, colon)));
        } catch (NumberFormatException e) {
          expectedSeq = 0;
        }
        expectedHash = colon < 0 ? "" : expect.substring(colon + 1).trim().toLowerCase();
        if (expectedSeq < 1 || !expectedHash.matches("[0-9a-f]{64}")) {
          throw new CommandLine.ParameterException(
              spec.commandLine(),
              "--expect must be SEQ:HASH, a positive seq and a 64-digit hex SHA-256");
        }
      }
      try (Store store = storeOptions.open()) {
        AuditRecords records = store.auditRecords();
        AuditVerification result = AuditVerification.of(records);
        if (result.intact()) {
          AuditRecords.Head head = records.head();
          if (expect != null) {
            int anchored = checkExpected(records, head, expectedSeq, expectedHash);
            if (anchored != 0) {
              return anchored;
            }
          }
          spec.commandLine()
              .getOut()
              .printf(
                  "audit trail intact: %d entries (seq %d to %d) in the %s%n"
                      + "head: seq %d hash %s%n",
                  result.entries(),
                  head.firstSeq(),
                  head.lastSeq(),
                  storeOptions.describe(),
                  head.lastSeq(),
                  head.lastHash());
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

    /** 0 when the intact chain holds entry {@code seq} with {@code hash}; else says why. */
    private int checkExpected(AuditRecords records, AuditRecords.Head head, long seq, String hash) {
      if (seq < head.firstSeq()) {
        spec.commandLine()
            .getErr()
            .printf(
                "audit trail: cannot check --expect: entry %d was removed by retention (the chain"
                    + " now starts at %d)%n",
                seq, head.firstSeq());
        spec.commandLine().getErr().flush();
        return 3;
      }
      List<AuditRecord> found =
          records
              .read(AuditFilter.ALL, new PageRequest(1, AuditRecords.tokenAfter(seq - 1)))
              .items();
      if (found.isEmpty() || found.getFirst().seq() != seq) {
        return tampered(
            "the chain ends at " + head.lastSeq() + " and does not hold the expected entry " + seq);
      }
      if (!found.getFirst().hash().equals(hash)) {
        return tampered(
            "entry "
                + seq
                + " has hash "
                + found.getFirst().hash()
                + ", not the expected "
                + hash
                + " (the chain was rewritten from there or before)");
      }
      return 0;
    }

    private int tampered(String why) {
      spec.commandLine().getErr().printf("audit trail TAMPERED: %s%n", why);
      spec.commandLine().getErr().flush();
      return 1;
    }
  }
}
