package dev.castellan.audit;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

/**
 * The audit trail's storage: one hash chain of {@link AuditRecord}s per database, appended to by
 * every node that shares it. Kept apart from the tuple store because its life is apart:
 * append-only, retention by age, and its own verification.
 */
public interface AuditRecords {

  /** Entries an in-memory chain keeps unless told otherwise. */
  int DEFAULT_MEMORY_CAPACITY = MemoryAuditRecords.DEFAULT_CAPACITY;

  /**
   * A chain held in memory that keeps the newest {@code capacity} entries, moving its start past
   * older ones as retention does (for tests and embedded use).
   */
  static AuditRecords inMemory(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive, was " + capacity);
    }
    return new MemoryAuditRecords(capacity);
  }

  /**
   * Appends {@code entries}, in order, to the end of the chain in one transaction and returns them
   * as chained. Concurrent callers, here or on other nodes over the same database, are serialized:
   * each batch reads the last hash under a lock, so the chain never forks.
   */
  List<AuditRecord> append(List<AuditEntry> entries);

  /**
   * Records matching {@code filter}, oldest (lowest seq) first, a page at a time. The token is the
   * position after the last record returned; empty on the last page.
   */
  Page<AuditRecord> read(AuditFilter filter, PageRequest page);

  /** Where the chain starts and ends, as recorded with every append and every retention run. */
  Head head();

  /**
   * Deletes the oldest entries, up to the first one at or after {@code cutoff}, and moves the
   * chain's start after them, so the rest still verifies. Returns how many were deleted.
   */
  long deleteOlderThan(Instant cutoff);

  /**
   * The ends of the chain.
   *
   * @param firstSeq the seq of the oldest entry kept (entries before it were removed by retention)
   * @param anchorHash the previous hash the entry at {@code firstSeq} must carry
   * @param lastSeq the seq of the newest entry; {@code firstSeq - 1} when there is none
   * @param lastHash the hash of the newest entry ({@code anchorHash} when there is none)
   */
  record Head(long firstSeq, String anchorHash, long lastSeq, String lastHash) {
    public static final Head EMPTY = new Head(1, AuditRecord.GENESIS, 0, AuditRecord.GENESIS);
  }

  /** The continuation token that reads on after {@code seq}. */
  static String tokenAfter(long seq) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(("a1:" + seq).getBytes(StandardCharsets.UTF_8));
  }

  /** The seq a continuation token reads on after; 0 for the empty token. */
  static long afterSeq(String token) {
    if (token == null || token.isEmpty()) {
      return 0;
    }
    try {
      String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
      if (raw.startsWith("a1:")) {
        return Long.parseLong(raw.substring(3));
      }
    } catch (IllegalArgumentException e) {
      // fall through: NumberFormatException is one too
    }
    throw new CastellanException(
        ErrorCode.INVALID_CONTINUATION_TOKEN, "continuation_token is not an audit token");
  }
}
