package dev.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.MemoryStore;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The refusal of a deactivated directory user's tokens, on this node and others (ADR 0021, 0023).
 */
class DeactivatedUsersTest {
  private static final String ALICE = "01JALICE0000000000000000AA";

  private static Principal token(String userId) {
    return new Principal("user:" + userId, userId, Map.of());
  }

  @Test
  void aRefusedToken_isUserDeactivated_onThisNodeAtOnce_andOnAnotherWithinTheRefresh() {
    MemoryStore store = new MemoryStore();
    MutableClock clock = MutableClock.atSystemTime();
    DeactivatedUsers here = new DeactivatedUsers(store, clock);
    DeactivatedUsers there = new DeactivatedUsers(store, clock);

    here.refuse(ALICE);
    assertThatThrownBy(() -> here.check(token(ALICE)))
        .isInstanceOfSatisfying(
            CastellanException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.USER_DEACTIVATED);
              assertThat(e.getMessage()).contains(ALICE);
            });
    here.check(new Principal("key:" + ALICE, "k", Map.of())); // keys are nobody's in the directory
    here.check(token("01JALICIA00000000000000000"));
    there.check(token(ALICE)); // its copy is older than the refusal
    clock.advance(DeactivatedUsers.REFRESH);
    assertThatThrownBy(() -> there.check(token(ALICE))).isInstanceOf(CastellanException.class);

    there.accept(ALICE);
    there.check(token(ALICE));
    clock.advance(DeactivatedUsers.REFRESH.plus(Duration.ofMillis(1)));
    here.check(token(ALICE));
    assertThat(new DeactivatedUsers(store, clock).refused(ALICE)).isFalse();
  }

  @Test
  void aRefusalOfAnEarlierRelease_keyedByName_stillRefuses_andAcceptingRemovesIt() {
    MemoryStore store = new MemoryStore();
    MutableClock clock = MutableClock.atSystemTime();
    store.putDocument(DeactivatedUsers.KIND, "alice", "\"" + ALICE + "\"");
    store.putDocument(DeactivatedUsers.KIND, "dir/" + ALICE, "\"" + ALICE + "\"");
    DeactivatedUsers users = new DeactivatedUsers(store, clock);
    assertThatThrownBy(() -> users.check(token(ALICE))).isInstanceOf(CastellanException.class);

    users.accept(ALICE);
    users.check(token(ALICE));
    assertThat(store.documents(DeactivatedUsers.KIND)).isEmpty();
  }

  @Test
  void theIdentitiesOfADeletedUser_areRefused_onEveryNode_untilItsRefusalIsLifted() {
    MemoryStore store = new MemoryStore();
    MutableClock clock = MutableClock.atSystemTime();
    DeactivatedUsers here = new DeactivatedUsers(store, clock);
    DeactivatedUsers there = new DeactivatedUsers(store, clock);
    here.refuse(ALICE);
    here.refuseIdentities(
        ALICE, java.util.List.of(Map.entry("https://idp.example.com", "auth0|42")));
    assertThat(here.refusesIdentity("https://idp.example.com", "auth0|42")).isTrue();
    assertThat(here.refusesIdentity("https://other.example.com", "auth0|42")).isFalse();
    assertThat(here.refusesIdentity("https://idp.example.com", "auth0|43")).isFalse();
    clock.advance(DeactivatedUsers.REFRESH);
    assertThat(there.refusesIdentity("https://idp.example.com", "auth0|42")).isTrue();

    here.accept(ALICE);
    assertThat(here.refusesIdentity("https://idp.example.com", "auth0|42")).isFalse();
    assertThat(store.documents(DeactivatedUsers.KIND)).isEmpty();
  }
}
