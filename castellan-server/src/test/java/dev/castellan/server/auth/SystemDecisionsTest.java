package dev.castellan.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.auth.AccessControl.Role;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.TupleWrite;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The rights every request checks are answered from memory ({@link SystemDecisions}); a change to
 * them must still be seen by the next request, and an expiring grant must stop at its expiry.
 */
class SystemDecisionsTest {
  private final MutableClock clock = MutableClock.atSystemTime();
  private MemoryStore store;
  private StoreRuntime runtime;
  private AccessControl access;
  private final Principal alice = new Principal("key:alice", "alice", Map.of());
  private final Principal bob = new Principal("key:bob", "bob", Map.of());

  @BeforeEach
  void start() {
    store = new MemoryStore();
    access = AccessControl.open(store);
    runtime = new StoreRuntime(store, IndexFeed.Options.DEFAULT, Duration.ofSeconds(5), clock);
    runtime.keepLoaded(access.systemStoreId());
  }

  @AfterEach
  void stop() {
    runtime.close();
    store.close();
  }

  @Test
  void aGrantAndARevocationAreSeenByTheNextCheck() {
    assertFalse(access.allowed(runtime, alice, "s1", Role.READER));
    access.grant("key:alice", "s1", Role.READER);
    runtime.afterWrite(access.systemStoreId());
    assertTrue(access.allowed(runtime, alice, "s1", Role.READER));
    assertTrue(access.allowed(runtime, alice, "s1", Role.READER)); // from memory
    assertFalse(access.allowed(runtime, alice, "s1", Role.WRITER));
    assertFalse(access.allowed(runtime, bob, "s1", Role.READER));

    access.revoke("key:alice", "s1", Role.READER);
    runtime.afterWrite(access.systemStoreId());
    assertFalse(access.allowed(runtime, alice, "s1", Role.READER));

    access.grantAdmin("key:bob");
    runtime.afterWrite(access.systemStoreId());
    assertTrue(access.isAdmin(runtime, bob));
    assertTrue(access.allowed(runtime, bob, "s1", Role.ADMIN));
    access.revokeAll("key:bob"); // the key was revoked
    runtime.afterWrite(access.systemStoreId());
    assertFalse(access.isAdmin(runtime, bob));
    assertFalse(access.allowed(runtime, bob, "s1", Role.READER));
  }

  @Test
  void aChangeMadeElsewhereIsSeenOnceTheFeedAppliesIt() {
    assertFalse(access.allowed(runtime, alice, "s1", Role.WRITER));
    // Another node's write: this node's index learns it from the changelog.
    store.write(
        access.systemStoreId(),
        TupleWrite.writes(Tuple.of("store:s1", "writer", AccessControl.subject("key:alice"))));
    assertFalse(access.allowed(runtime, alice, "s1", Role.WRITER)); // not applied here yet
    runtime.feed(access.systemStoreId()).catchUp();
    assertTrue(access.allowed(runtime, alice, "s1", Role.WRITER));
    assertTrue(access.allowed(runtime, alice, "s1", Role.READER));
  }

  @Test
  void anExpiringGrantStopsAtItsExpiryThoughNothingElseChanged() {
    store.write(
        access.systemStoreId(),
        TupleWrite.writes(
            new Tuple(
                new TupleKey("store:s1", "reader", AccessControl.subject("key:alice")),
                "",
                Map.of(),
                clock.instant().plusSeconds(10))));
    runtime.afterWrite(access.systemStoreId());
    long revision = runtime.feed(access.systemStoreId()).revision();
    assertTrue(access.allowed(runtime, alice, "s1", Role.READER));
    clock.advance(Duration.ofSeconds(9));
    assertTrue(access.allowed(runtime, alice, "s1", Role.READER));
    clock.advance(Duration.ofSeconds(1));
    assertFalse(access.allowed(runtime, alice, "s1", Role.READER));
    assertEquals(revision, runtime.feed(access.systemStoreId()).revision());
  }

  @Test
  void oneRequestsCallerLooksTheEngineUpOnceAndStillSeesEachRevision() {
    // A request decides all its rights through one caller; a write between two of its decisions
    // is seen by the second, as it was when each decision looked the engine up again.
    AccessControl.Caller caller = access.caller(runtime, alice);
    assertFalse(caller.isProvisioner());
    assertFalse(caller.allowed("s1", Role.WRITER));
    access.grant("key:alice", "s1", Role.WRITER);
    runtime.afterWrite(access.systemStoreId());
    assertTrue(caller.allowed("s1", Role.WRITER));
    assertTrue(caller.allowed("s1", Role.READER));
    assertFalse(caller.allowed("s1", Role.ADMIN));
    assertFalse(caller.allowed("s2", Role.READER));
    assertFalse(caller.isAdmin());
    assertFalse(caller.isAuditor());
    access.grantScim("key:alice");
    runtime.afterWrite(access.systemStoreId());
    assertTrue(caller.isProvisioner());
    access.revokeAll("key:alice");
    runtime.afterWrite(access.systemStoreId());
    assertFalse(caller.isProvisioner());
    assertFalse(caller.allowed("s1", Role.READER));
  }

  @Test
  void theAnswersHeldAreBounded() {
    SystemDecisions decisions = new SystemDecisions();
    var engine = runtime.engine(access.systemStoreId(), "", null, false);
    for (int i = 0; i < SystemDecisions.MAX_ANSWERS + 500; i++) {
      assertFalse(decisions.allowed(engine, "castellan:global", "admin", "service_account:k" + i));
      assertTrue(decisions.size() <= SystemDecisions.MAX_ANSWERS);
    }
    access.grantAdmin("key:k1");
    runtime.afterWrite(access.systemStoreId());
    assertTrue(decisions.allowed(engine, "castellan:global", "admin", "service_account:k1"));
    assertEquals(1, decisions.size()); // the old revision's answers are gone
    assertFalse(decisions.allowed(engine, "castellan:global", "admin", "service_account:k2"));
  }
}
