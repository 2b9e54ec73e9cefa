package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.CredentialStore;
import dev.castellan.store.DocumentStore;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * API keys of the form {@code cst_<id>_<secret>}, kept in the store as the SHA-256 of the secret:
 * the secret has 256 random bits, so a fast hash is enough and a leaked table reveals no key. A
 * bootstrap token chosen by the operator may be free-form (at least 24 characters).
 *
 * <p>Lookups are cached for a few seconds, which bounds how long a revoked key keeps working on
 * other nodes. A cached record past that age is looked up again off the request path (the request
 * that finds it old is answered from it), so a key in steady use costs no database call per
 * request; one unused for longer than {@link #MAX_AGE_MILLIS} is looked up on its request's path.
 */
public final class ApiKeys {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int MAX_KEY_LENGTH = 200;
  private static final long CACHE_MILLIS = 5_000;

  /** The oldest a cached record may be and still answer while it is looked up again. */
  private static final long MAX_AGE_MILLIS = 60_000;

  /** Documents marking the keys whose secret was handed to someone (see {@link #handedOut}). */
  private static final String HANDED_OUT = "api-key-handed-out";

  private final CredentialStore credentials;
  private final DocumentStore documents;
  private final Clock clock;
  private final Map<String, Cached> cache = new ConcurrentHashMap<>();
  private final java.util.Set<String> refreshing = ConcurrentHashMap.newKeySet();

  private record Cached(ApiKeyRecord record, long at) {}

  /**
   * @param credentials where key records are kept
   * @param documents where the marks of handed-out keys are kept
   */
  public ApiKeys(CredentialStore credentials, DocumentStore documents, Clock clock) {
    this.credentials = credentials;
    this.documents = documents;
    this.clock = clock;
  }

  /** A new key: its id, and the key itself, which is shown once and never stored. */
  public record Created(String id, String principalId, String key) {}

  /** Creates a key; it authenticates as {@code key:<id>}, with no rights until granted some. */
  public Created create(String name) {
    if (name == null || name.isBlank() || name.length() > 128) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR, "a key needs a name of 1 to 128 characters");
    }
    String id = random(9);
    String secret = random(32);
    credentials.saveApiKey(new ApiKeyRecord(id, name, "key:" + id, hash(secret), clock.instant()));
    markHandedOut(id);
    return new Created(id, "key:" + id, "cst_" + id + "_" + secret);
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

  /** The principal a presented key authenticates, if any. */
  public Optional<Principal> authenticate(String key) {
    if (key == null || key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
      return Optional.empty();
    }
    String[] parts = split(key);
    String id = parts != null ? parts[0] : freeFormId(key);
    String secretHash = hash(parts != null ? parts[1] : key);
    ApiKeyRecord record = lookup(id);
    if (record == null) {
      return Optional.empty();
    }
    boolean match =
        MessageDigest.isEqual(
            record.secretHash().getBytes(StandardCharsets.US_ASCII),
            secretHash.getBytes(StandardCharsets.US_ASCII));
    return match
        ? Optional.of(new Principal(record.principal(), record.name(), java.util.Map.of()))
        : Optional.empty();
  }

  public List<ApiKeyRecord> list() {
    return credentials.apiKeys();
  }

  public boolean revoke(String id) {
    cache.remove(id);
    documents.deleteDocument(HANDED_OUT, id);
    return credentials.revokeApiKey(id);
  }

  private ApiKeyRecord lookup(String id) {
    long now = clock.millis();
    Cached cached = cache.get(id);
    if (cached != null) {
      long age = now - cached.at();
      if (age < CACHE_MILLIS) {
        return cached.record();
      }
      if (age < MAX_AGE_MILLIS) {
        if (refreshing.add(id)) {
          Thread.ofVirtual()
              .name("castellan-api-key-refresh")
              .start(
                  () -> {
                    try {
                      fetch(id, clock.millis());
                    } catch (RuntimeException e) {
                      // The cached record answers until it is too old; then a request asks itself.
                    } finally {
                      refreshing.remove(id);
                    }
                  });
        }
        return cached.record();
      }
    }
    return fetch(id, now);
  }

  private ApiKeyRecord fetch(String id, long now) {
    ApiKeyRecord record = credentials.apiKey(id).orElse(null);
    if (record != null) {
      cache.put(id, new Cached(record, now));
    } else {
      cache.remove(id);
    }
    return record;
  }

  private static String freeFormId(String key) {
    return "t" + hash("id:" + key).substring(0, 16);
  }

  private static String[] split(String key) {
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
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  private static String random(int bytes) {
    byte[] data = new byte[bytes];
    RANDOM.nextBytes(data);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(data).replace('_', 'x');
  }
}
