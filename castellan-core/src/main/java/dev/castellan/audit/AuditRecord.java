package dev.castellan.audit;

import java.util.Objects;

/**
 * An audit entry in its place in the hash chain: {@code hash} is the SHA-256 of {@code
 * previousHash}, a line feed and the {@link #canonical canonical form} of {@code seq} and the
 * entry. Changing, removing or reordering a stored entry breaks the chain at that entry.
 */
public record AuditRecord(long seq, AuditEntry entry, String previousHash, String hash) {

  /** The previous hash of the very first entry. */
  public static final String GENESIS = "0".repeat(64);

  public AuditRecord {
    Objects.requireNonNull(entry, "entry");
    Objects.requireNonNull(previousHash, "previousHash");
    Objects.requireNonNull(hash, "hash");
  }

  /** The record for {@code entry} at {@code seq}, following a record whose hash is given. */
  public static AuditRecord chain(long seq, AuditEntry entry, String previousHash) {
    return new AuditRecord(seq, entry, previousHash, hash(previousHash, seq, entry));
  }

  /** Whether {@code hash} is the hash of this record's content and previous hash. */
  public boolean contentIntact() {
    return hash.equals(hash(previousHash, seq, entry));
  }

  /** An encoder per thread: chaining needs a digest and a buffer, and allocating them costs. */
  private static final ThreadLocal<AuditLines.Encoder> ENCODER =
      ThreadLocal.withInitial(() -> new AuditLines.Encoder(1024));

  static String hash(String previousHash, long seq, AuditEntry entry) {
    return ENCODER.get().hashOf(previousHash, seq, entry);
  }

  /**
   * The canonical form that is hashed: a JSON object, in UTF-8, with every field in a fixed order,
   * no spaces, and JSON's standard escapes ({@code \"}, {@code \\}, {@code \n} and the like, other
   * control characters as {@code \}{@code u00XX}), so any implementation can recompute it.
   */
  public static String canonical(long seq, AuditEntry entry) {
    return ENCODER.get().canonical(seq, entry);
  }
}
