package dev.castellan.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.MemoryStore;
import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What {@link ApiKeys#authenticate} remembers between requests (records, the ids of free-form
 * tokens) never outlives a revocation or rotation on this node.
 */
class ApiKeysAuthenticateTest {
  private final MutableClock clock = MutableClock.atSystemTime();
  private final MemoryStore store = new MemoryStore();
  private final ApiKeys keys = new ApiKeys(store, store, clock);

  @AfterEach
  void close() {
    keys.close();
    store.close();
  }

  @Test
  void aFreeFormTokenWorksUntilRevokedAndOnlyItself() {
    String token = "a-bootstrap-token-of-the-operator-0123";
    String principal = keys.register(token, "bootstrap");
    for (int i = 0; i < 3; i++) {
      assertEquals(principal, keys.authenticate(token).orElseThrow().id());
    }
    assertEquals(Optional.empty(), keys.authenticate(token + "x"));
    assertEquals(Optional.empty(), keys.authenticate(token.substring(1)));
    assertTrue(keys.revoke(principal.substring("key:".length())));
    assertEquals(Optional.empty(), keys.authenticate(token));
  }

  @Test
  void keyIdsAreLettersAndDigits_soACommandLineNeverTakesOneForAnOption() {
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 2_000; i++) {
      String id = ApiKeys.newId();
      assertTrue(id.matches("[A-Za-z0-9]{12}"), id);
      ids.add(id);
    }
    assertEquals(2_000, ids.size());
    ApiKeys.Created created = keys.create("app");
    assertTrue(created.key().startsWith("cst_" + created.id() + "_"), created.key());
    assertEquals(created.principalId(), keys.authenticate(created.key()).orElseThrow().id());
  }

  @Test
  void aKeyInUseAuthenticatesAsOnePrincipalMadeOnce() {
    ApiKeys.Created created = keys.create("app");
    Principal first = keys.authenticate(created.key()).orElseThrow();
    assertEquals("service_account:" + created.id(), first.subject());
    // Every request of a cached key shares the principal, and so its subject, made once.
    assertSame(first, keys.authenticate(created.key()).orElseThrow());
    assertTrue(keys.revoke(created.id()));
    assertEquals(Optional.empty(), keys.authenticate(created.key()));
  }

  @Test
  void aRotatedOrRevokedKeyStopsAtOnce() {
    ApiKeys.Created created = keys.create("app");
    assertEquals(created.principalId(), keys.authenticate(created.key()).orElseThrow().id());
    ApiKeys.Created rotated = keys.rotate(created.id(), Duration.ZERO);
    CastellanException old =
        assertThrows(CastellanException.class, () -> keys.authenticate(created.key()));
    assertEquals(ErrorCode.CREDENTIAL_EXPIRED, old.code());
    assertEquals(created.principalId(), keys.authenticate(rotated.key()).orElseThrow().id());
    assertEquals(Optional.empty(), keys.authenticate(rotated.key() + "x"));
    assertTrue(keys.revoke(created.id()));
    assertEquals(Optional.empty(), keys.authenticate(rotated.key()));
  }

  @Test
  void anExpiredKeyIsRefusedThoughItsRecordIsRemembered() {
    ApiKeys.Created created = keys.create("app", clock.instant().plus(Duration.ofHours(2)));
    assertEquals(created.principalId(), keys.authenticate(created.key()).orElseThrow().id());
    clock.advance(Duration.ofHours(2));
    CastellanException e =
        assertThrows(CastellanException.class, () -> keys.authenticate(created.key()));
    assertEquals(ErrorCode.CREDENTIAL_EXPIRED, e.code());
  }
}
