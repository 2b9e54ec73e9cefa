package dev.castellan.store;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/** The API key records of a {@link MemoryStore}. */
final class MemoryCredentials implements CredentialStore {
  private final Map<String, ApiKeyRecord> apiKeys = new ConcurrentHashMap<>();

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

  @Override
  public Optional<ApiKeyRecord> rotateApiKey(
      String id,
      String newSecretHash,
      Instant rotatedAt,
      Instant graceEndsAt,
      @Nullable Instant expiresAt) {
    return Optional.ofNullable(
        apiKeys.computeIfPresent(
            id,
            (key, old) ->
                new ApiKeyRecord(
                    old.id(),
                    old.name(),
                    old.principal(),
                    newSecretHash,
                    old.createdAt(),
                    expiresAt,
                    new ApiKeyRecord.Rotation(rotatedAt, old.secretHash(), graceEndsAt),
                    old.lastUsedAt())));
  }

  @Override
  public void recordApiKeyUses(Map<String, Instant> lastUsed) {
    lastUsed.forEach(
        (id, at) ->
            apiKeys.computeIfPresent(
                id,
                (key, old) ->
                    old.lastUsedAt() == null || old.lastUsedAt().isBefore(at)
                        ? old.withLastUsedAt(at)
                        : old));
  }
}
