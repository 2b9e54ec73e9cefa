package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link CredentialStore} does; the in-memory, H2 and PostgreSQL ones all run it. */
public abstract class CredentialStoreContract extends StoreFixture {
  protected CredentialStore credentials;

  @BeforeEach
  void parts() {
    credentials = store.credentialStore();
  }

  @Test
  void apiKeys_areSavedListedAndRevoked() {
    Instant created = Instant.parse("2030-01-01T00:00:00Z");
    ApiKeyRecord first = new ApiKeyRecord("k1", "ci", "admin", "a".repeat(64), created);
    ApiKeyRecord second =
        new ApiKeyRecord("k2", "reader", "apikey:reader", "b".repeat(64), created.plusSeconds(1));
    credentials.saveApiKey(first);
    credentials.saveApiKey(second);
    assertThat(credentials.apiKey("k1")).contains(first);
    assertThat(credentials.apiKeys()).containsExactly(first, second);
    assertThat(credentials.revokeApiKey("k1")).isTrue();
    assertThat(credentials.revokeApiKey("k1")).isFalse();
    assertThat(credentials.apiKey("k1")).isEmpty();
    assertThat(credentials.apiKeys()).containsExactly(second);
  }

  @Test
  void savingAKeyAgain_replacesIt() {
    Instant created = Instant.parse("2030-01-01T00:00:00Z");
    credentials.saveApiKey(new ApiKeyRecord("k1", "ci", "admin", "a".repeat(64), created));
    ApiKeyRecord renamed = new ApiKeyRecord("k1", "deploy", "admin", "c".repeat(64), created);
    credentials.saveApiKey(renamed);
    assertThat(credentials.apiKeys()).containsExactly(renamed);
    assertThat(credentials.revokeApiKey("none")).isFalse();
  }
}
