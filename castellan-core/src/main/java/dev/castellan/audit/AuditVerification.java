package dev.castellan.audit;

import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;

/**
 * The outcome of walking an audit chain from its head's first entry to its last.
 *
 * @param intact whether every entry is in place and unchanged
 * @param entries how many entries were found intact before the first bad one (all of them when
 *     intact)
 * @param badSeq the seq of the first bad entry; 0 when intact
 * @param reason what is wrong with it; empty when intact
 */
public record AuditVerification(boolean intact, long entries, long badSeq, String reason) {

  /** Verifies the chain in {@code records}; entries appended while it runs are not looked at. */
  public static AuditVerification of(AuditRecords records) {
    AuditRecords.Head head = records.head();
    long expected = head.firstSeq();
    String previous = head.anchorHash();
    long count = 0;
    String token = "";
    walk:
    do {
      Page<AuditRecord> page =
          records.read(AuditFilter.ALL, new PageRequest(PageRequest.MAX_PAGE_SIZE, token));
      for (AuditRecord record : page.items()) {
        if (record.seq() > head.lastSeq()) {
          break walk;
        }
        if (record.seq() < expected) {
          return bad(count, record.seq(), "it comes before the chain's first entry " + expected);
        }
        if (record.seq() > expected) {
          return bad(
              count,
              expected,
              "it is missing: the entries go from "
                  + (expected - 1)
                  + " to "
                  + record.seq()
                  + " (deleted, or reordered)");
        }
        if (!record.contentIntact()) {
          return bad(count, record.seq(), "its hash does not match its content (edited)");
        }
        if (!record.previousHash().equals(previous)) {
          return bad(
              count,
              record.seq(),
              "its previous_hash is not the hash of entry "
                  + (record.seq() - 1)
                  + " (entries reordered or replaced)");
        }
        previous = record.hash();
        expected++;
        count++;
      }
      token = page.continuationToken();
    } while (!token.isEmpty());
    if (expected <= head.lastSeq()) {
      return bad(
          count,
          expected,
          "it is missing: the log ends at "
              + (expected - 1)
              + " but the chain's head records "
              + head.lastSeq()
              + " (deleted)");
    }
    if (!previous.equals(head.lastHash())) {
      return bad(count, head.lastSeq(), "its hash is not the one the chain's head records");
    }
    return new AuditVerification(true, count, 0, "");
  }

  private static AuditVerification bad(long count, long seq, String reason) {
    return new AuditVerification(false, count, seq, reason);
  }

  /** One line for people: {@code intact: 120 entries} or {@code entry 7: ...}. */
  public String describe() {
    return intact
        ? "intact: " + entries + " entries"
        : "TAMPERED: entry seq " + badSeq + ": " + reason;
  }
}
