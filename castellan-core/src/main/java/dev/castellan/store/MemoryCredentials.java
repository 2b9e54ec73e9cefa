package dev.castellan.store;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The API key records of a {@link MemoryStore}. */
final class MemoryCredentials implements CredentialStore {
  private final Map<String, ApiKeyRecord> apiKeys = new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public void saveApiKey(ApiKeyRecord key) {
    apiKeys.put(key.id(), key);
  }

  @Override
  public Optional<ApiKeyRecord> apiKey(String id) {
    return Optional.ofNullable(apiKeys.get(id));
  }

  @Override
  public List<ApiKeyRecord> apiKeys() {
    List<ApiKeyRecord> all = new ArrayList<>(apiKeys.values());
    all.sort(Comparator.comparing(ApiKeyRecord::createdAt).thenComparing(ApiKeyRecord::id));
    return all;
  }

  @Override
  public boolean revokeApiKey(String id) {
    return apiKeys.remove(id) != null;
  }
}
