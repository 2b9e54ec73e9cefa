package dev.castellan.store;

import java.util.List;
import java.util.Optional;

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
}
