package dev.castellan.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Recent decisions, each kept for a fixed time. Keyed by a hash of the token so that the cache
 * never holds a usable credential.
 */
final class DecisionCache {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The cache key: SHA-256 of the token, the permission and the resource. */
  record Key(byte[] tokenHash, String permission, String resource) {
    @Override
    public boolean equals(Object other) {
      return other instanceof Key key
          && Arrays.equals(tokenHash, key.tokenHash)
          && permission.equals(key.permission)
          && resource.equals(key.resource);
    }

    @Override
    public int hashCode() {
      return (Arrays.hashCode(tokenHash) * 31 + permission.hashCode()) * 31 + resource.hashCode();
    }

    @Override
    public String toString() {
      return "Key[" + permission + ", " + resource + "]";
    }
  }

  private record Entry(Decision decision, long expiresAtMillis) {}

  private final long ttlMillis;
  private final int maxEntries;
  private final Clock clock;
  private final ConcurrentHashMap<Key, Entry> entries = new ConcurrentHashMap<>();

  DecisionCache(Duration ttl, int maxEntries, Clock clock) {
    this.ttlMillis = ttl.toMillis();
    this.maxEntries = maxEntries;
    this.clock = clock;
  }

  static Key key(String token, String permission, String resource) {
    try {
      byte[] hash =
          MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII));
      return new Key(hash, permission, resource);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }

  /** The cached decision, or null when there is none or it has expired. */
  @Nullable Decision get(Key key) {
    Entry entry = entries.get(key);
    if (entry == null) {
      return null;
    }
    if (clock.millis() >= entry.expiresAtMillis()) {
      entries.remove(key, entry);
      return null;
    }
    return entry.decision();
  }

  void put(Key key, String token, Decision decision) {
    long now = clock.millis();
    // A decision must not outlive the token it was made for: an allow cached for a token that
    // expires in one second would otherwise keep granting after Castellan started refusing it.
    long expiresAt = Math.min(now + ttlMillis, tokenExpiryMillis(token));
    if (expiresAt <= now) {
      return;
    }
    if (entries.size() >= maxEntries) {
      entries.values().removeIf(e -> now >= e.expiresAtMillis());
      if (entries.size() >= maxEntries) {
        entries.clear(); // simpler than LRU and rare: the cache only saves round trips
      }
    }
    entries.put(key, new Entry(decision, expiresAt));
  }

  int size() {
    return entries.size();
  }

  /**
   * The token's {@code exp} in milliseconds, read without verifying the signature (Castellan did
   * that), or {@code Long.MAX_VALUE} when the token is not a JWT or has no {@code exp}. Only ever
   * shortens how long a decision is kept.
   */
  static long tokenExpiryMillis(String token) {
    int first = token.indexOf('.');
    int second = first < 0 ? -1 : token.indexOf('.', first + 1);
    if (second < 0) {
      return Long.MAX_VALUE;
    }
    try {
      byte[] payload = Base64.getUrlDecoder().decode(token.substring(first + 1, second));
      JsonNode exp = JSON.readTree(payload).get("exp");
      if (exp == null || !exp.isNumber()) {
        return Long.MAX_VALUE;
      }
      return Math.multiplyExact(exp.asLong(), 1000L);
    } catch (Exception e) {
      // Not a JWT we can read: Castellan accepted it anyway (an API key, say), so use the TTL.
      return Long.MAX_VALUE;
    }
  }
}
