package dev.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.Identity;
import dev.castellan.store.MemoryStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The subjects of a directory user, and the refusal of their tokens on this node and others. */
class DeactivatedUsersTest {
  private static DirectoryUser user(String id, String userName, List<String> emails) {
    return new DirectoryUser(
        id, userName, "", "", false, emails, "", 1, Instant.EPOCH, Instant.EPOCH);
  }

  private static Principal token(String subjectId) {
    return new Principal("jwt:" + subjectId, subjectId, Map.of());
  }

  @Test
  void subjects_areTheId_userName_emails_andOidcLinks_escaped_withoutDuplicates() {
    DirectoryUserNames subjects =
        DirectoryUserNames.of(
            user("01JUSER", "bob smith", List.of("bob@example.com")),
            List.of(
                new Identity("oidc", "https://idp.example.com", "auth0|42"),
                new Identity("slack", "T1", "U99"),
                Identity.email("bob@example.com")));
    assertThat(subjects.names())
        .containsExactly("dir/01JUSER", "bob%20smith", "bob@example.com", "auth0|42");
    assertThat(subjects.tupleUsers())
        .contains("user:bob%20smith", "user:dir/01JUSER", "principal:jwt.auth0|42")
        .doesNotContain("user:U99");
    assertThat(subjects.names(token("bob%20smith"))).isTrue();
    assertThat(subjects.names(new Principal("key:bob%20smith", "k", Map.of()))).isFalse();
  }

  @Test
  void aNameWithoutASubjectId_isLeftOut_ratherThanFailing() {
    String long256 = "ä".repeat(200); // 1,200 characters once escaped
    DirectoryUserNames subjects =
        DirectoryUserNames.of(user("01JUSER", long256, List.of()), List.of());
    assertThat(subjects.names()).containsExactly("dir/01JUSER");
  }

  @Test
  void aRefusedToken_isUserDeactivated_onThisNodeAtOnce_andOnAnotherWithinTheRefresh() {
    MemoryStore store = new MemoryStore();
    MutableClock clock = MutableClock.atSystemTime();
    DeactivatedUsers here = new DeactivatedUsers(store, clock);
    DeactivatedUsers there = new DeactivatedUsers(store, clock);
    DirectoryUserNames alice =
        DirectoryUserNames.of(user("01JALICE", "alice", List.of()), List.of());

    here.refuse(alice);
    assertThatThrownBy(() -> here.check(token("alice")))
        .isInstanceOfSatisfying(
            CastellanException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.USER_DEACTIVATED);
              assertThat(e.getMessage()).contains("01JALICE");
            });
    here.check(new Principal("key:alice", "k", Map.of())); // keys are nobody's in the directory
    here.check(token("alicia"));
    there.check(token("alice")); // its copy is older than the refusal
    clock.advance(DeactivatedUsers.REFRESH);
    assertThatThrownBy(() -> there.check(token("alice"))).isInstanceOf(CastellanException.class);

    there.accept(alice);
    there.check(token("alice"));
    clock.advance(DeactivatedUsers.REFRESH.plus(Duration.ofMillis(1)));
    here.check(token("alice"));
    assertThat(new DeactivatedUsers(store, clock).refused(List.of("alice", "01JALICE"))).isEmpty();
  }
}
