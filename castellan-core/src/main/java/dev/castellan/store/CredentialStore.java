package dev.castellan.store;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The server's own credentials: API key records, holding a key's hash, never the key. One set per
 * database, not per store; the rights a key carries are tuples in the system store.
 */
public interface CredentialStore {

  /** Saves an API key record (its hash only); replaces one with the same id. */
  void saveApiKey(ApiKeyRecord key);

  Optional<ApiKeyRecord> apiKey(String id);

  /** Every API key, oldest first. */
  List<ApiKeyRecord> apiKeys();

  /** Deletes an API key; false when there was none. */
  boolean revokeApiKey(String id);

  /**
   * Gives key {@code id} the secret whose hash is {@code newSecretHash}, in one step: the current
   * secret becomes the rotation's previous one, accepted until {@code graceEndsAt}; a secret an
   * earlier rotation replaced is forgotten. The key's expiry becomes {@code expiresAt} (null:
   * none); its name, principal, creation and last use stay.
   *
   * @return the key as rotated; empty when there is no key {@code id}
   */
  Optional<ApiKeyRecord> rotateApiKey(
      String id,
      String newSecretHash,
      Instant rotatedAt,
      Instant graceEndsAt,
      @Nullable Instant expiresAt);

  /**
   * Moves each key's last use forward to the instant given for it, never back (several servers
   * write it, each late); ids of keys that no longer exist are skipped.
   */
  void recordApiKeyUses(Map<String, Instant> lastUsed);
}
