package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.RefreshingCache;
import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.CredentialStore;
import dev.castellan.store.DocumentStore;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * API keys of the form {@code cst_<id>_<secret>}, kept in the store as the SHA-256 of the secret:
 * the secret has 256 random bits, so a fast hash is enough and a leaked table reveals no key. A
 * bootstrap token chosen by the operator may be free-form (at least 24 characters).
 *
 * <p>A key may expire, and may be rotated: a new secret, while the one it replaces keeps working
 * for a grace ({@link ApiKeyTerms}); whether a secret works is {@link ApiKeyRecord#check}'s rule.
 *
 * <p>Lookups are cached for a few seconds, which bounds how long a revoked key keeps working on
 * other nodes (and how long another node's rotation takes to reach this one). A cached record past
 * that age is looked up again off the request path (the request that finds it old is answered from
 * it), so a key in steady use costs no database call per request; one unused for longer than {@link
 * #MAX_AGE} is looked up on its request's path. Expiry and grace are decided on every request, at
 * the clock's time, whatever the cache holds.
 *
 * <p>Each key's last use is kept in memory, to the second, and written by {@link KeyUsage} at most
 * once per flush interval and on {@link #close()}: authenticating never waits for a write.
 */
public final class ApiKeys implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String ID_ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  private static final int MAX_KEY_LENGTH = 200;
  private static final Duration CACHE_FOR = Duration.ofSeconds(5);

  /** The oldest a cached record may be and still answer while it is looked up again. */
  private static final Duration MAX_AGE = Duration.ofSeconds(60);

  /** Documents marking the keys whose secret was handed to someone (see {@link #handedOut}). */
  private static final String HANDED_OUT = "api-key-handed-out";

  private final CredentialStore credentials;
  private final DocumentStore documents;
  private final Clock clock;
  private final RefreshingCache<String, Cached> cache;
  private final KeyUsage usage;

  /**
   * Free-form tokens (bootstrap tokens) that worked: the hash of the token, as stored, to the id
   * derived from it. Few are ever registered; the bound keeps the map small whatever happens.
   */
  private final Map<String, String> freeFormIds = new ConcurrentHashMap<>();

  private static final int MAX_FREE_FORM_IDS = 64;

  /** A key's record and the principal it authenticates (made once per read). */
  private record Cached(ApiKeyRecord record, Principal principal) {
    Cached(ApiKeyRecord record) {
      this(record, new Principal(record.principal(), record.name(), Map.of()));
    }
  }

  /**
   * @param credentials where key records are kept
   * @param documents where the marks of handed-out keys are kept
   */
  public ApiKeys(CredentialStore credentials, DocumentStore documents, Clock clock) {
    this.credentials = credentials;
    this.documents = documents;
    this.clock = clock;
    this.usage = new KeyUsage(credentials);
    this.cache =
        new RefreshingCache<>(
            clock,
            CACHE_FOR,
            MAX_AGE,
            RefreshingCache.virtualThreads("castellan-api-key-refresh"),
            id -> credentials.apiKey(id).map(Cached::new));
  }

  /**
   * A new key or secret: its id, the key itself, which is shown once and never stored, and the
   * record as stored.
   */
  public record Created(String id, String principalId, String key, ApiKeyRecord record) {
    @Override
    public String toString() {
      return "Created[id=" + id + ", principalId=" + principalId + ", key=(secret)]";
    }
  }

  /**
   * The time keys are made, rotated and checked at (the clock given, the system's in production).
   */
  public Instant now() {
    return clock.instant();
  }

  /** Creates a key that does not expire. */
  public Created create(String name) {
    return create(name, null);
  }

  /**
   * Creates a key; it authenticates as {@code key:<id>}, with no rights until granted some.
   *
   * @param expiresAt when it stops working, checked by {@link ApiKeyTerms#expiry}; null: never
   */
  public Created create(String name, @Nullable Instant expiresAt) {
    if (name == null || name.isBlank() || name.length() > 128) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR, "a key needs a name of 1 to 128 characters");
    }
    Instant now = clock.instant();
    Instant expiry = expiresAt == null ? null : ApiKeyTerms.expiry(now, expiresAt);
    String id = newId();
    String secret = random(32);
    ApiKeyRecord record =
        new ApiKeyRecord(id, name, "key:" + id, hash(secret), now, expiry, null, null);
    credentials.saveApiKey(record);
    markHandedOut(id);
    return new Created(id, "key:" + id, "cst_" + id + "_" + secret, record);
  }

  /**
   * Gives key {@code id} a new secret and keeps its expiry; see {@link #rotate(String, Duration,
   * Instant)}.
   */
  public Created rotate(String id, Duration grace) {
    ApiKeyRecord key = existing(id);
    if (key.expiresAt() != null && !key.usableAt(clock.instant())) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "key "
              + id
              + " expired at "
              + key.expiresAt()
              + "; a new secret would be expired too: give it a new expiry with the rotation");
    }
    return rotated(id, grace, key.expiresAt());
  }

  /**
   * Gives key {@code id} a new secret, returned once: the secret it had keeps working for {@code
   * grace} (at most {@link ApiKeyTerms#MAX_GRACE}; zero ends it at once), and a secret an earlier
   * rotation replaced stops at once. The key keeps its id, name and rights.
   *
   * @param expiresAt the key's new expiry (checked by {@link ApiKeyTerms#expiry}); it bounds both
   *     secrets
   */
  public Created rotate(String id, Duration grace, Instant expiresAt) {
    existing(id);
    return rotated(id, grace, ApiKeyTerms.expiry(clock.instant(), expiresAt));
  }

  private Created rotated(String id, Duration grace, @Nullable Instant expiresAt) {
    Duration checked = ApiKeyTerms.grace(grace);
    Instant now = clock.instant();
    String secret = random(32);
    ApiKeyRecord record =
        credentials
            .rotateApiKey(id, hash(secret), now, now.plus(checked), expiresAt)
            .orElseThrow(() -> noSuchKey(id));
    cache.remove(id);
    return new Created(id, record.principal(), "cst_" + id + "_" + secret, record);
  }

  private ApiKeyRecord existing(String id) {
    return credentials.apiKey(id).orElseThrow(() -> noSuchKey(id));
  }

  private static CastellanException noSuchKey(String id) {
    return new CastellanException(
        ErrorCode.NOT_FOUND, "no API key " + id + "; GET /api/keys lists the ids");
  }

  /**
   * True when key {@code id} exists and its secret went to someone when it was made: every key this
   * version creates is returned to its creator, and a registered bootstrap token is the operator's
   * own. Keys an earlier version made before a failed first start are the exception.
   */
  public boolean handedOut(String id) {
    return credentials.apiKey(id).isPresent() && documents.document(HANDED_OUT, id).isPresent();
  }

  private void markHandedOut(String id) {
    documents.putDocument(HANDED_OUT, id, "{\"at\":\"" + clock.instant() + "\"}");
  }

  /**
   * Registers a key the operator chose (the bootstrap token); idempotent; returns its principal.
   */
  public String register(String key, String name) {
    String[] parts = split(key);
    if (parts == null && key.length() < 24) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR, "a bootstrap token needs at least 24 characters");
    }
    String id = parts != null ? parts[0] : freeFormId(key);
    String secretHash = hash(parts != null ? parts[1] : key);
    Optional<ApiKeyRecord> existing = credentials.apiKey(id);
    if (existing.isEmpty() || !existing.get().secretHash().equals(secretHash)) {
      credentials.saveApiKey(new ApiKeyRecord(id, name, "key:" + id, secretHash, clock.instant()));
    }
    if (documents.document(HANDED_OUT, id).isEmpty()) {
      markHandedOut(id);
    }
    return "key:" + id;
  }

  /**
   * The principal a presented key authenticates; empty for an unknown key or a wrong secret.
   *
   * @throws CastellanException {@code CREDENTIAL_EXPIRED} for a secret of this key that no longer
   *     works: the key expired, or a rotation replaced it and its grace ended
   */
  public Optional<Principal> authenticate(String key) {
    if (key == null || key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
      return Optional.empty();
    }
    String[] parts = split(key);
    String secretHash = hash(parts != null ? parts[1] : key);
    // A free-form token's id is a second hash of it; a token seen to work has it remembered.
    String known = parts != null ? null : freeFormIds.get(secretHash);
    String id = parts != null ? parts[0] : known != null ? known : freeFormId(key);
    Cached found = cache.get(id).orElse(null);
    if (found == null) {
      return Optional.empty();
    }
    ApiKeyRecord record = found.record();
    Instant now = clock.instant();
    return switch (record.check(secretHash, now)) {
      case VALID -> {
        if (parts == null && known == null && freeFormIds.size() < MAX_FREE_FORM_IDS) {
          freeFormIds.put(secretHash, id);
        }
        usage.used(id, now);
        yield Optional.of(found.principal());
      }
      case WRONG_SECRET -> Optional.empty();
      case KEY_EXPIRED ->
          throw new CastellanException(
              ErrorCode.CREDENTIAL_EXPIRED,
              "API key "
                  + id
                  + " expired at "
                  + record.expiresAt()
                  + "; ask an administrator for a new key, or to rotate this one with a new expiry");
      case GRACE_ENDED ->
          throw new CastellanException(
              ErrorCode.CREDENTIAL_EXPIRED,
              "this secret of API key "
                  + id
                  + " was replaced at "
                  + Objects.requireNonNull(record.rotation()).rotatedAt()
                  + " and stopped working at "
                  + Objects.requireNonNull(record.rotation()).graceEndsAt()
                  + "; use the key the rotation returned");
    };
  }

  /**
   * Every key, oldest first, with the last use this node has seen but not yet written where it is
   * later than the stored one.
   */
  public List<ApiKeyRecord> list() {
    return credentials.apiKeys().stream().map(usage::latest).toList();
  }

  /**
   * Writes the last uses seen so far every {@code interval}, on a background thread, until {@link
   * #close()}.
   */
  public void flushUsesEvery(Duration interval) {
    usage.flushEvery(interval);
  }

  /** Writes the last uses seen so far now (the background flush does this on its own). */
  public void flushUses() {
    usage.flush();
  }

  /** Stops the background flush and writes the last uses seen so far. */
  @Override
  public void close() {
    usage.close();
  }

  public boolean revoke(String id) {
    usage.forget(id);
    cache.remove(id);
    documents.deleteDocument(HANDED_OUT, id);
    return credentials.revokeApiKey(id);
  }

  private static String freeFormId(String key) {
    return "t" + hash("id:" + key).substring(0, 16);
  }

  private static String @Nullable [] split(String key) {
    if (!key.startsWith("cst_")) {
      return null;
    }
    int underscore = key.indexOf('_', 4);
    if (underscore < 0 || underscore == key.length() - 1) {
      return null;
    }
    return new String[] {key.substring(4, underscore), key.substring(underscore + 1)};
  }

  static String hash(String secret) {
    byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
    // A digest taken from the pool is this thread's alone until it is given back; digest() leaves
    // it reset. Every request runs on a new virtual thread, so a thread-local would not be reused.
    int slot = (int) (Thread.currentThread().threadId() & (DIGESTS.length() - 1));
    MessageDigest digest = DIGESTS.getAndSet(slot, null);
    if (digest == null) {
      digest = sha256();
    }
    byte[] hashed = digest.digest(bytes);
    DIGESTS.compareAndSet(slot, null, digest);
    return HexFormat.of().formatHex(hashed);
  }

  /**
   * SHA-256 digests to reuse: a fresh one (a clone) is about 500 bytes of state, allocated on every
   * request before; a slot found empty (another thread holds its digest) makes a fresh one.
   */
  private static final AtomicReferenceArray<MessageDigest> DIGESTS = new AtomicReferenceArray<>(8);

  /**
   * A fresh SHA-256 digest, cloned from one made once: looking the algorithm up among the security
   * providers cost more than hashing a key, on every request.
   */
  private static MessageDigest sha256() {
    try {
      return (MessageDigest) SHA_256.clone();
    } catch (CloneNotSupportedException e) {
      try {
        return MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException missing) {
        throw new IllegalStateException("SHA-256 is part of every JDK", missing);
      }
    }
  }

  private static final MessageDigest SHA_256;

  static {
    try {
      SHA_256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  /**
   * A key id: 12 letters and digits (71 bits). Never a leading {@code -}, which a command line
   * reads as an option ({@code castellan keys rotate -x..} failed for one key in 64 before).
   */
  static String newId() {
    char[] id = new char[12];
    for (int i = 0; i < id.length; i++) {
      id[i] = ID_ALPHABET.charAt(RANDOM.nextInt(ID_ALPHABET.length()));
    }
    return new String(id);
  }

  private static String random(int bytes) {
    byte[] data = new byte[bytes];
    RANDOM.nextBytes(data);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(data).replace('_', 'x');
  }
}
