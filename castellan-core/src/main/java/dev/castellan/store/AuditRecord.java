package dev.castellan.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
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

  static String hash(String previousHash, long seq, AuditEntry entry) {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    digest.update(previousHash.getBytes(StandardCharsets.UTF_8));
    digest.update((byte) '\n');
    digest.update(canonical(seq, entry).getBytes(StandardCharsets.UTF_8));
    return HexFormat.of().formatHex(digest.digest());
  }

  /**
   * The canonical form that is hashed: a JSON object with every field in a fixed order and fixed
   * escaping, so any implementation in any language can recompute it.
   */
  public static String canonical(long seq, AuditEntry entry) {
    StringBuilder out = new StringBuilder(256);
    out.append("{\"seq\":").append(seq);
    field(out, "time", entry.time().toString());
    field(out, "kind", entry.kind());
    field(out, "api", entry.api());
    field(out, "caller", entry.caller());
    field(out, "subject", entry.subject());
    out.append(",\"roles\":[");
    for (int i = 0; i < entry.roles().size(); i++) {
      if (i > 0) {
        out.append(',');
      }
      string(out, entry.roles().get(i));
    }
    out.append(']');
    field(out, "action", entry.action());
    field(out, "resource", entry.resource());
    field(out, "outcome", entry.outcome());
    field(out, "reason", entry.reason());
    field(out, "store_id", entry.storeId());
    out.append(",\"revision\":").append(entry.revision());
    field(out, "request_id", entry.requestId());
    field(out, "client_address", entry.clientAddress());
    return out.append('}').toString();
  }

  private static void field(StringBuilder out, String name, String value) {
    out.append(",\"").append(name).append("\":");
    string(out, value);
  }

  private static void string(StringBuilder out, String value) {
    out.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
