package dev.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.ServerHttp;
import dev.castellan.server.audit.AuditEvent;
import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.Identity;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.UserDraft;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * The one way Castellan creates a person on its own ({@link Subjects#createAndLink}), through both
 * of its callers: a grant's alias ({@link Subjects#resolve}) and a first token (just in time). A
 * link that loses a race adopts the winner's user; a link that fails otherwise fails the request
 * and leaves no user behind; each created user is audited once, the same way as before.
 */
class CreateAndLinkTest {
  private static final String SECRET = "create-and-link-test-secret-0123456789";
  private static final Identity ALICE =
      new Identity(Subjects.OIDC, Subjects.DEFAULT_NAMESPACE, "alice");

  private final DirectoryStore real = new MemoryStore().directoryStore();
  private final List<AuditEvent> audited = new CopyOnWriteArrayList<>();

  /** {@code real}, with {@code beforeLink} run before each link (once it is set). */
  private volatile BiConsumer<String, Identity> beforeLink = (user, identity) -> {};

  private final DirectoryStore directory =
      (DirectoryStore)
          Proxy.newProxyInstance(
              DirectoryStore.class.getClassLoader(),
              new Class<?>[] {DirectoryStore.class},
              (proxy, method, args) -> {
                if (method.getName().equals("link")) {
                  beforeLink.accept((String) args[0], (Identity) args[1]);
                }
                try {
                  return method.invoke(real, args);
                } catch (InvocationTargetException e) {
                  throw e.getCause();
                }
              });

  /** Another node links the identity to its own user just before this one links it. */
  private void anotherNodeWins() {
    String[] winner = new String[1];
    beforeLink =
        (user, identity) -> {
          if (winner[0] == null) {
            winner[0] = real.createUser(draft("winner-" + identity.value())).id();
            real.link(winner[0], identity);
          }
        };
  }

  private void linkFailsWith(ErrorCode code) {
    beforeLink =
        (user, identity) -> {
          throw new CastellanException(code, "the directory is unreachable");
        };
  }

  private static UserDraft draft(String userName) {
    return new UserDraft(userName, "", "", true, List.of(), "");
  }

  private List<DirectoryUser> users() {
    return real.findUsers(DirectoryQuery.ALL, 1, 100).items();
  }

  private Subjects subjects() {
    return new Subjects(directory, List.of(), audited::add);
  }

  private JwtAuthenticator jit() {
    JwtAuthenticator auth =
        new JwtAuthenticator(
            JwtSettings.hs256(SECRET), List.of(), directory, java.time.Clock.systemUTC());
    auth.audit(audited::add);
    return auth;
  }

  private static String token(String sub) {
    try {
      return ServerHttp.hs256(SECRET, sub, Map.of(), Duration.ofHours(1));
    } catch (com.nimbusds.jose.JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aGrantAlias_createsALinkedUser_auditedOnce() {
    String subject = subjects().resolve("jwt:alice", "key:admin1");
    String id = subject.substring("user:".length());
    assertThat(real.resolve(ALICE)).contains(id);
    assertThat(users()).extracting(DirectoryUser::userName).containsExactly("alice");
    assertThat(audited).hasSize(1);
    AuditEvent created = audited.get(0);
    assertThat(created.api()).isEqualTo(Subjects.CREATED_API);
    assertThat(created.kind()).isEqualTo(AuditEvent.Kind.CHANGE);
    assertThat(created.action()).isEqualTo("create");
    assertThat(created.caller()).isEqualTo("key:admin1");
    assertThat(created.subject()).isEqualTo(subject);
    assertThat(created.resource()).isEqualTo("/scim/v2/Users/" + id);
    assertThat(created.outcome()).isEqualTo(AuditEvent.Outcome.OK);
    assertThat(created.reason())
        .isEqualTo("grant alias jwt:alice by key:admin1; linked to its oidc identity");
  }

  @Test
  void aGrantAlias_losingTheLinkRace_adoptsTheWinnersUser_andLeavesOneUser() {
    anotherNodeWins();
    String subject = subjects().resolve("jwt:alice", "");
    String winner = real.resolve(ALICE).orElseThrow();
    assertThat(subject).isEqualTo("user:" + winner);
    assertThat(users()).extracting(DirectoryUser::id).containsExactly(winner);
    assertThat(audited).as("the winner's node audits its user, this one nothing").isEmpty();
  }

  @Test
  void aGrantAlias_whoseLinkFailsOtherwise_failsTheGrant_andLeavesNoUser() {
    linkFailsWith(ErrorCode.STORE_UNAVAILABLE);
    assertThatThrownBy(() -> subjects().resolve("jwt:alice", ""))
        .isInstanceOfSatisfying(
            CastellanException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE));
    assertThat(users()).isEmpty();
    assertThat(audited).isEmpty();
  }

  @Test
  void aFirstToken_createsALinkedUser_auditedOnce() {
    String id = jit().authenticate(token("alice")).id();
    assertThat(id).isEqualTo("user:" + real.resolve(ALICE).orElseThrow());
    assertThat(users()).extracting(DirectoryUser::userName).containsExactly("alice");
    assertThat(audited).hasSize(1);
    AuditEvent created = audited.get(0);
    assertThat(created.api()).isEqualTo(Subjects.CREATED_API);
    assertThat(created.caller()).isEmpty();
    assertThat(created.subject()).isEqualTo(id);
    assertThat(created.reason()).startsWith("jit: first token of issuer ");
  }

  @Test
  void aFirstToken_losingTheLinkRace_adoptsTheWinnersUser_andLeavesOneUser() {
    anotherNodeWins();
    String id = jit().authenticate(token("alice")).id();
    String winner = real.resolve(ALICE).orElseThrow();
    assertThat(id).isEqualTo("user:" + winner);
    assertThat(users()).extracting(DirectoryUser::id).containsExactly(winner);
    assertThat(audited).isEmpty();
  }

  @Test
  void aFirstToken_whoseLinkFailsOtherwise_isRefused_andLeavesNoUser() {
    linkFailsWith(ErrorCode.STORE_UNAVAILABLE);
    JwtAuthenticator auth = jit();
    assertThatThrownBy(() -> auth.authenticate(token("alice")))
        .isInstanceOfSatisfying(
            CastellanException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE));
    assertThat(users()).as("no user left without its link").isEmpty();
    assertThat(audited).isEmpty();

    // Once the directory is back, the next token creates the person.
    beforeLink = (user, identity) -> {};
    String id = auth.authenticate(token("alice")).id();
    assertThat(users()).extracting(u -> "user:" + u.id()).containsExactly(id);
    assertThat(audited).hasSize(1);
  }

  @Test
  void whenEveryNameIsTaken_andTheIdentityIsLinkedToNobody_theConflictIsThrown() {
    real.createUser(draft("alice"));
    real.createUser(draft("other/alice"));
    assertThatThrownBy(
            () ->
                Subjects.createAndLink(
                    directory,
                    audited::add,
                    ALICE,
                    draft("alice"),
                    List.of("other/alice"),
                    "",
                    "test"))
        .isInstanceOfSatisfying(
            CastellanException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.UNIQUENESS_CONFLICT));
    assertThat(users()).hasSize(2);
    assertThat(audited).isEmpty();
  }

  @Test
  void anHs256FirstToken_whoseNameIsTaken_isNamedAfterItsLinkNamespace_inItsUserNameAndAudit() {
    // Differs only in case: the directory refuses the name, the token is not that user's.
    String other = real.createUser(draft("Alice")).id();
    String id = jit().authenticate(token("alice")).id().substring("user:".length());
    assertThat(id).isNotEqualTo(other);
    List<Identity> links = real.identities(id);
    assertThat(links).containsExactly(ALICE);
    String namespace = links.get(0).namespace();
    assertThat(namespace).isEqualTo(Subjects.DEFAULT_NAMESPACE);
    assertThat(real.user(id).orElseThrow().userName()).isEqualTo(namespace + "/alice");
    assertThat(audited)
        .singleElement()
        .extracting(AuditEvent::reason)
        .isEqualTo("jit: first token of issuer " + namespace + "; linked to its oidc identity");
  }
}
