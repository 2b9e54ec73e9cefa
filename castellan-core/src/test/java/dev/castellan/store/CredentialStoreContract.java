package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.store.ApiKeyRecord.Rotation;
import dev.castellan.store.ApiKeyRecord.SecretCheck;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
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

  private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");

  @Test
  void everyFieldOfAKey_roundTrips() {
    ApiKeyRecord aged =
        new ApiKeyRecord(
            "k1",
            "ci",
            "key:k1",
            "a".repeat(64),
            T0,
            T0.plus(Duration.ofDays(90)),
            new Rotation(T0.plusSeconds(60), "b".repeat(64), T0.plus(Duration.ofHours(25))),
            T0.plusSeconds(120));
    credentials.saveApiKey(aged);
    assertThat(credentials.apiKey("k1")).contains(aged);
    assertThat(credentials.apiKeys()).containsExactly(aged);
    ApiKeyRecord plain = new ApiKeyRecord("k2", "svc", "key:k2", "c".repeat(64), T0.plusSeconds(1));
    credentials.saveApiKey(plain);
    ApiKeyRecord stored = credentials.apiKey("k2").orElseThrow();
    assertThat(stored.expiresAt()).isNull();
    assertThat(stored.rotation()).isNull();
    assertThat(stored.lastUsedAt()).isNull();
  }

  @Test
  void rotation_demotesTheCurrentSecret_andKeepsEverythingElse() {
    credentials.saveApiKey(
        new ApiKeyRecord("k1", "ci", "key:k1", "a".repeat(64), T0, null, null, T0.plusSeconds(5)));
    Instant rotatedAt = T0.plusSeconds(60);
    Instant graceEnds = rotatedAt.plus(Duration.ofHours(24));
    Instant expires = T0.plus(Duration.ofDays(90));
    ApiKeyRecord rotated =
        credentials.rotateApiKey("k1", "b".repeat(64), rotatedAt, graceEnds, expires).orElseThrow();
    assertThat(rotated)
        .isEqualTo(
            new ApiKeyRecord(
                "k1",
                "ci",
                "key:k1",
                "b".repeat(64),
                T0,
                expires,
                new Rotation(rotatedAt, "a".repeat(64), graceEnds),
                T0.plusSeconds(5)));
    assertThat(credentials.apiKey("k1")).contains(rotated);

    // A second rotation forgets the first secret: only the one it replaced stays in grace.
    ApiKeyRecord again =
        credentials
            .rotateApiKey("k1", "c".repeat(64), graceEnds, graceEnds.plusSeconds(10), null)
            .orElseThrow();
    assertThat(again.secretHash()).isEqualTo("c".repeat(64));
    assertThat(again.rotation().previousSecretHash()).isEqualTo("b".repeat(64));
    assertThat(again.expiresAt()).isNull();
    assertThat(again.check("a".repeat(64), graceEnds)).isEqualTo(SecretCheck.WRONG_SECRET);
    assertThat(credentials.rotateApiKey("none", "d".repeat(64), T0, T0, null)).isEmpty();
    assertThat(credentials.apiKey("none")).isEmpty();
  }

  @Test
  void aStoredKey_checksItsSecrets_byExpiryAndGrace() {
    Instant expires = T0.plus(Duration.ofDays(30));
    credentials.saveApiKey(
        new ApiKeyRecord("k1", "ci", "key:k1", "a".repeat(64), T0, expires, null, null));
    Instant graceEnds = T0.plus(Duration.ofDays(1));
    credentials.rotateApiKey("k1", "b".repeat(64), T0, graceEnds, expires);
    ApiKeyRecord key = credentials.apiKey("k1").orElseThrow();
    String old = "a".repeat(64);
    String current = "b".repeat(64);
    assertThat(key.check(current, T0)).isEqualTo(SecretCheck.VALID);
    assertThat(key.check(old, graceEnds.minusMillis(1))).isEqualTo(SecretCheck.VALID);
    assertThat(key.check(old, graceEnds)).isEqualTo(SecretCheck.GRACE_ENDED);
    assertThat(key.check(current, graceEnds)).isEqualTo(SecretCheck.VALID);
    assertThat(key.check(current, expires)).isEqualTo(SecretCheck.KEY_EXPIRED);
    assertThat(key.check(old, expires)).isEqualTo(SecretCheck.KEY_EXPIRED);
    assertThat(key.check("f".repeat(64), T0)).isEqualTo(SecretCheck.WRONG_SECRET);
    assertThat(key.check("f".repeat(64), expires))
        .as("a wrong secret learns nothing about expiry")
        .isEqualTo(SecretCheck.WRONG_SECRET);
    assertThat(key.usableAt(expires.minusNanos(1000))).isTrue();
    assertThat(key.usableAt(expires)).isFalse();
  }

  @Test
  void lastUse_movesForwardOnly_andSkipsUnknownKeys() {
    credentials.saveApiKey(new ApiKeyRecord("k1", "ci", "key:k1", "a".repeat(64), T0));
    credentials.saveApiKey(new ApiKeyRecord("k2", "svc", "key:k2", "b".repeat(64), T0));
    credentials.recordApiKeyUses(
        Map.of("k1", T0.plusSeconds(60), "k2", T0.plusSeconds(30), "gone", T0));
    assertThat(credentials.apiKey("k1").orElseThrow().lastUsedAt()).isEqualTo(T0.plusSeconds(60));
    assertThat(credentials.apiKey("k2").orElseThrow().lastUsedAt()).isEqualTo(T0.plusSeconds(30));
    credentials.recordApiKeyUses(Map.of("k1", T0.plusSeconds(10), "k2", T0.plusSeconds(90)));
    assertThat(credentials.apiKey("k1").orElseThrow().lastUsedAt())
        .as("a late flush from another server does not move it back")
        .isEqualTo(T0.plusSeconds(60));
    assertThat(credentials.apiKey("k2").orElseThrow().lastUsedAt()).isEqualTo(T0.plusSeconds(90));
    assertThat(credentials.apiKey("gone")).isEmpty();
    credentials.recordApiKeyUses(Map.of());
  }
}
