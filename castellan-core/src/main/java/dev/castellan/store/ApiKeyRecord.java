package dev.castellan.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A stored API key: never the key itself, only the SHA-256 of its secret part (and, during a
 * rotation's grace, of the secret it replaced).
 *
 * <p>Whether a presented secret works at an instant is decided here and nowhere else ({@link
 * #check}), so that a cache of records in front of the store applies the same rule.
 *
 * @param id the public part of the key ({@code cst_<id>_<secret>})
 * @param principal who the key authenticates, e.g. {@code admin} or {@code apikey:ci}
 * @param expiresAt when the key stops working, whichever secret is presented; null: never
 * @param rotation the last rotation, whose replaced secret works until its grace ends; null: never
 *     rotated
 * @param lastUsedAt when the key last authenticated a request, as far as the store knows (servers
 *     write it lazily); null: never, or not yet written
 */
public record ApiKeyRecord(
    String id,
    String name,
    String principal,
    String secretHash,
    Instant createdAt,
    @Nullable Instant expiresAt,
    @Nullable Rotation rotation,
    @Nullable Instant lastUsedAt) {

  public ApiKeyRecord {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(principal, "principal");
    Objects.requireNonNull(secretHash, "secretHash");
    Objects.requireNonNull(createdAt, "createdAt");
  }

  /** A key that never expires, never rotated and not yet used. */
  public ApiKeyRecord(
      String id, String name, String principal, String secretHash, Instant createdAt) {
    this(id, name, principal, secretHash, createdAt, null, null, null);
  }

  /**
   * A rotation: the secret it replaced keeps working until {@code graceEndsAt} (never after the
   * key's own expiry).
   */
  public record Rotation(Instant rotatedAt, String previousSecretHash, Instant graceEndsAt) {
    public Rotation {
      Objects.requireNonNull(rotatedAt, "rotatedAt");
      Objects.requireNonNull(previousSecretHash, "previousSecretHash");
      Objects.requireNonNull(graceEndsAt, "graceEndsAt");
    }
  }

  /** What a presented secret is worth at an instant. */
  public enum SecretCheck {
    /** The current secret, or the replaced one within its grace, of a key that has not expired. */
    VALID,
    /** A secret of this key, but the key has expired. */
    KEY_EXPIRED,
    /** The secret a rotation replaced, after its grace ended. */
    GRACE_ENDED,
    /** Not a secret of this key. */
    WRONG_SECRET
  }

  /** True when the key has not expired at {@code now} (its expiry is exclusive). */
  public boolean usableAt(Instant now) {
    return expiresAt == null || now.isBefore(expiresAt);
  }

  /**
   * Whether {@code presentedHash} (the SHA-256 hex of a presented secret) works at {@code now}. The
   * hashes are compared in constant time, and expiry is reported only for a secret that matched, so
   * a guess learns nothing about a key's state.
   */
  public SecretCheck check(String presentedHash, Instant now) {
    boolean current = sameHash(secretHash, presentedHash);
    Rotation last = rotation;
    boolean previous = last != null && sameHash(last.previousSecretHash(), presentedHash);
    if (!current && !previous) {
      return SecretCheck.WRONG_SECRET;
    }
    if (!usableAt(now)) {
      return SecretCheck.KEY_EXPIRED;
    }
    // Not the current secret: the previous one matched, so there was a rotation.
    if (!current && last != null && !now.isBefore(last.graceEndsAt())) {
      return SecretCheck.GRACE_ENDED;
    }
    return SecretCheck.VALID;
  }

  /** This record with {@code lastUsedAt} as its last use. */
  public ApiKeyRecord withLastUsedAt(@Nullable Instant value) {
    return new ApiKeyRecord(id, name, principal, secretHash, createdAt, expiresAt, rotation, value);
  }

  private static boolean sameHash(String stored, String presented) {
    return MessageDigest.isEqual(
        stored.getBytes(StandardCharsets.US_ASCII), presented.getBytes(StandardCharsets.US_ASCII));
  }
}
