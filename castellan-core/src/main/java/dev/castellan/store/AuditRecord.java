package dev.castellan.store;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
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

  private static final JsonFactory JSON = new JsonFactory();

  /** A digest and an output buffer per thread: the writer hashes thousands of entries a second. */
  private static final class Hasher {
    final MessageDigest digest;
    final ByteArrayBuilder buffer = new ByteArrayBuilder(512);

    Hasher() {
      try {
        digest = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JDK has SHA-256", e);
      }
    }
  }

  private static final ThreadLocal<Hasher> HASHER = ThreadLocal.withInitial(Hasher::new);

  static String hash(String previousHash, long seq, AuditEntry entry) {
    Hasher hasher = HASHER.get();
    MessageDigest digest = hasher.digest;
    digest.reset();
    digest.update(previousHash.getBytes(StandardCharsets.US_ASCII));
    digest.update((byte) '\n');
    hasher.buffer.reset();
    writeCanonical(hasher.buffer, seq, entry);
    digest.update(hasher.buffer.toByteArray());
    return HexFormat.of().formatHex(digest.digest());
  }

  /**
   * The canonical form that is hashed: a JSON object, in UTF-8, with every field in a fixed order,
   * no spaces, and JSON's standard escapes ({@code \"}, {@code \\}, {@code \n} and the like, other
   * control characters as {@code \}{@code u00XX}), so any implementation can recompute it.
   */
  public static String canonical(long seq, AuditEntry entry) {
    ByteArrayBuilder out = new ByteArrayBuilder(512);
    writeCanonical(out, seq, entry);
    return new String(out.toByteArray(), StandardCharsets.UTF_8);
  }

  private static void writeCanonical(ByteArrayBuilder out, long seq, AuditEntry entry) {
    try (JsonGenerator json = JSON.createGenerator(out)) {
      json.writeStartObject();
      json.writeNumberField("seq", seq);
      json.writeStringField("time", entry.time().toString());
      json.writeStringField("kind", entry.kind());
      json.writeStringField("api", entry.api());
      json.writeStringField("caller", entry.caller());
      json.writeStringField("subject", entry.subject());
      json.writeArrayFieldStart("roles");
      for (String role : entry.roles()) {
        json.writeString(role);
      }
      json.writeEndArray();
      json.writeStringField("action", entry.action());
      json.writeStringField("resource", entry.resource());
      json.writeStringField("outcome", entry.outcome());
      json.writeStringField("reason", entry.reason());
      json.writeStringField("store_id", entry.storeId());
      json.writeNumberField("revision", entry.revision());
      json.writeStringField("request_id", entry.requestId());
      json.writeStringField("client_address", entry.clientAddress());
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory does not fail", e);
    }
  }
}
