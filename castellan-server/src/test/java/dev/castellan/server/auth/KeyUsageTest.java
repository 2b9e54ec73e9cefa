package dev.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.Poll;
import dev.castellan.server.StoreKind;
import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.CredentialStore;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The last use of API keys on every store: kept in memory per request, written in one batch per
 * flush (on its interval, on demand and on close), never once per request.
 */
class KeyUsageTest {
  private StoreKind.TestStore testStore;
  private CountingCredentials credentials;
  private MutableClock clock;
  private ApiKeys keys;

  void open(StoreKind kind) {
    testStore = kind.create();
    credentials = new CountingCredentials(testStore.store());
    clock = new MutableClock(Instant.parse("2030-01-01T00:00:00.250Z"));
    keys = new ApiKeys(credentials, testStore.store(), clock);
  }

  @AfterEach
  void close() {
    if (keys != null) {
      keys.close();
    }
    if (testStore != null) {
      testStore.close();
    }
  }

  @ParameterizedTest
  @EnumSource(StoreKind.class)
  void manyRequests_costNoWrite_andAFlushWritesEachKeysLastUseOnce(StoreKind kind) {
    open(kind);
    ApiKeys.Created a = keys.create("a");
    ApiKeys.Created b = keys.create("b");
    ApiKeys.Created idle = keys.create("idle");
    for (int i = 0; i < 500; i++) {
      assertThat(keys.authenticate(a.key())).isPresent();
      assertThat(keys.authenticate(b.key())).isPresent();
      clock.advance(Duration.ofMillis(7));
    }
    assertThat(credentials.writes.get()).isZero();
    assertThat(stored(a.id()).lastUsedAt()).isNull();
    Instant last = clock.instant().minusMillis(7).truncatedTo(ChronoUnit.SECONDS);
    assertThat(keys.list())
        .filteredOn(k -> k.id().equals(a.id()))
        .singleElement()
        .extracting(ApiKeyRecord::lastUsedAt)
        .as("the list shows this node's uses before they are written")
        .isEqualTo(last);

    keys.flushUses();
    assertThat(credentials.writes.get()).isEqualTo(1);
    assertThat(stored(a.id()).lastUsedAt()).isEqualTo(last);
    assertThat(stored(b.id()).lastUsedAt()).isEqualTo(last);
    assertThat(stored(idle.id()).lastUsedAt()).isNull();
    keys.flushUses();
    assertThat(credentials.writes.get()).as("nothing new, nothing written").isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(StoreKind.class)
  void close_writesWhatIsPending(StoreKind kind) {
    open(kind);
    ApiKeys.Created a = keys.create("a");
    keys.authenticate(a.key());
    keys.close();
    assertThat(stored(a.id()).lastUsedAt()).isEqualTo(Instant.parse("2030-01-01T00:00:00Z"));
    keys = null;
  }

  @ParameterizedTest
  @EnumSource(StoreKind.class)
  void theBackgroundFlush_writesOnItsInterval(StoreKind kind) {
    open(kind);
    ApiKeys.Created a = keys.create("a");
    keys.flushUsesEvery(Duration.ofMillis(20));
    keys.authenticate(a.key());
    Poll.until(
        "the background flush", Duration.ofSeconds(10), () -> stored(a.id()).lastUsedAt() != null);
  }

  @ParameterizedTest
  @EnumSource(
      value = StoreKind.class,
      names = {"MEMORY"})
  void aFailedFlush_keepsTheUses_forTheNextOne(StoreKind kind) {
    open(kind);
    ApiKeys.Created a = keys.create("a");
    keys.authenticate(a.key());
    credentials.failNext.set(true);
    assertThatThrownBy(keys::flushUses).isInstanceOf(CastellanException.class);
    assertThat(stored(a.id()).lastUsedAt()).isNull();
    keys.flushUses();
    assertThat(stored(a.id()).lastUsedAt()).isNotNull();
  }

  private ApiKeyRecord stored(String id) {
    return testStore.store().apiKey(id).orElseThrow();
  }

  /** The store's credentials, counting (and, when asked, failing) the writes of last uses. */
  private static final class CountingCredentials implements CredentialStore {
    private final CredentialStore store;
    final AtomicInteger writes = new AtomicInteger();
    final AtomicBoolean failNext = new AtomicBoolean();

    CountingCredentials(CredentialStore store) {
      this.store = store;
    }

    @Override
    public void recordApiKeyUses(Map<String, Instant> lastUsed) {
      if (failNext.getAndSet(false)) {
        throw new CastellanException(ErrorCode.STORE_UNAVAILABLE, "the database is down");
      }
      writes.incrementAndGet();
      store.recordApiKeyUses(lastUsed);
    }

    @Override
    public void saveApiKey(ApiKeyRecord key) {
      store.saveApiKey(key);
    }

    @Override
    public Optional<ApiKeyRecord> apiKey(String id) {
      return store.apiKey(id);
    }

    @Override
    public List<ApiKeyRecord> apiKeys() {
      return store.apiKeys();
    }

    @Override
    public boolean revokeApiKey(String id) {
      return store.revokeApiKey(id);
    }

    @Override
    public Optional<ApiKeyRecord> rotateApiKey(
        String id,
        String newSecretHash,
        Instant rotatedAt,
        Instant graceEndsAt,
        @Nullable Instant expiresAt) {
      return store.rotateApiKey(id, newSecretHash, rotatedAt, graceEndsAt, expiresAt);
    }
  }
}
