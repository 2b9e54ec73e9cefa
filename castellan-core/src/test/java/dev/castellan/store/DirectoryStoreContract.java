package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.ErrorCode;
import dev.castellan.store.DirectoryQuery.Attribute;
import dev.castellan.store.DirectoryQuery.Compare;
import dev.castellan.store.DirectoryQuery.Operator;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link DirectoryStore} does; the in-memory, H2 and PostgreSQL ones all run it. */
public abstract class DirectoryStoreContract extends StoreFixture {
  protected DirectoryStore directory;

  @BeforeEach
  void parts() {
    directory = store.directoryStore();
  }

  private static UserDraft draft(String userName, String... emails) {
    return new UserDraft(
        userName, "", "", true, List.of(emails), "{\"userName\":\"" + userName + "\"}");
  }

  private List<String> userNames(DirectoryQuery query) {
    return directory.findUsers(query, 1, 100).items().stream()
        .map(DirectoryUser::userName)
        .toList();
  }

  @Test
  void createUser_assignsUlidAndVersionOne_andReadsBackEveryField() {
    UserDraft draft =
        new UserDraft(
            "Alice@Example.com",
            "okta-00u1",
            "Alice Liddell",
            true,
            List.of("alice@example.com", "a.liddell@example.com"),
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"]}");
    DirectoryUser created = directory.createUser(draft);
    assertThat(Ulids.isValid(created.id())).isTrue();
    assertThat(created.version()).isEqualTo(1);
    assertThat(created.etag()).isEqualTo("W/\"1\"");
    assertThat(created.draft()).isEqualTo(draft);
    assertThat(created.created()).isEqualTo(created.lastModified());
    assertThat(directory.user(created.id())).contains(created);
    assertThat(directory.user("01ARZ3NDEKTSV4RRFFQ69G5FAV")).isEmpty();
  }

  @Test
  void users_readsTheExistingOfManyIds_inIdOrder_withTheirEmails() {
    DirectoryUser bob = directory.createUser(draft("bob", "bob@example.com", "b@example.com"));
    DirectoryUser alice = directory.createUser(draft("alice"));
    List<DirectoryUser> read =
        directory.users(List.of(bob.id(), "01NOSUCHUSER00000000000000", alice.id(), bob.id()));
    // ULIDs grow with time: bob's, made first, sorts first.
    assertThat(read).extracting(DirectoryUser::id).containsExactly(bob.id(), alice.id());
    assertThat(read.get(0).emails()).containsExactly("bob@example.com", "b@example.com");
    assertThat(directory.users(List.of())).isEmpty();
    assertCode(
        () ->
            directory.users(
                java.util.Collections.nCopies(DirectoryStore.MAX_COUNT + 1, alice.id())),
        ErrorCode.VALIDATION_ERROR);
  }

  @Test
  void userName_isUniqueIgnoringCase_onCreateAndUpdate() {
    DirectoryUser alice = directory.createUser(draft("alice"));
    DirectoryUser bob = directory.createUser(draft("bob"));
    assertCode(() -> directory.createUser(draft("ALICE")), ErrorCode.UNIQUENESS_CONFLICT);
    assertCode(
        () -> directory.updateUser(bob.id(), DirectoryStore.ANY_VERSION, draft("Alice")),
        ErrorCode.UNIQUENESS_CONFLICT);
    assertThat(directory.user(bob.id())).contains(bob);
    // A user may change the case of its own name, and its old name is free afterwards.
    assertThat(directory.updateUser(alice.id(), 1, draft("ALICE")).userName()).isEqualTo("ALICE");
    directory.updateUser(alice.id(), 2, draft("carol"));
    assertThat(directory.createUser(draft("alice")).userName()).isEqualTo("alice");
  }

  @Test
  void updateUser_raisesVersion_andRefusesAStaleOne() {
    DirectoryUser user = directory.createUser(draft("alice"));
    UserDraft inactive = new UserDraft("alice", "x1", "Alice", false, List.of(), "{}");
    DirectoryUser updated = directory.updateUser(user.id(), 1, inactive);
    assertThat(updated.version()).isEqualTo(2);
    assertThat(updated.etag()).isNotEqualTo(user.etag());
    assertThat(updated.created()).isEqualTo(user.created());
    assertThat(updated.lastModified()).isAfterOrEqualTo(user.lastModified());
    assertThat(updated.draft()).isEqualTo(inactive);
    assertCode(
        () -> directory.updateUser(user.id(), 1, draft("alice")), ErrorCode.VERSION_MISMATCH);
    assertThat(directory.user(user.id())).contains(updated);
    assertThat(directory.updateUser(user.id(), DirectoryStore.ANY_VERSION, draft("a")).version())
        .isEqualTo(3);
    assertCode(
        () -> directory.updateUser("01ARZ3NDEKTSV4RRFFQ69G5FAV", 1, draft("x")),
        ErrorCode.NOT_FOUND);
  }

  @Test
  void limits_areRefusedBeforeAnythingIsStored() {
    assertCode(() -> draft(""), ErrorCode.VALIDATION_ERROR);
    assertCode(() -> draft("a".repeat(DirectoryStore.MAX_NAME + 1)), ErrorCode.VALIDATION_ERROR);
    assertCode(
        () -> new UserDraft("a", "", "", true, List.of("e".repeat(321)), "{}"),
        ErrorCode.VALIDATION_ERROR);
    assertCode(
        () ->
            new UserDraft(
                "a", "", "", true, java.util.Collections.nCopies(1, "").stream().toList(), "{}"),
        ErrorCode.VALIDATION_ERROR);
    List<String> tooMany =
        java.util.stream.IntStream.range(0, DirectoryStore.MAX_EMAILS + 1)
            .mapToObj(i -> i + "@example.com")
            .toList();
    assertCode(() -> new UserDraft("a", "", "", true, tooMany, "{}"), ErrorCode.VALIDATION_ERROR);
    assertCode(
        () ->
            new UserDraft(
                "a", "", "", true, List.of(), "x".repeat(DirectoryStore.MAX_RESOURCE + 1)),
        ErrorCode.VALIDATION_ERROR);
    assertCode(() -> new GroupDraft(" ", "", List.of()), ErrorCode.VALIDATION_ERROR);
    assertCode(() -> new Identity("Slack", "", "U1"), ErrorCode.VALIDATION_ERROR);
    assertCode(() -> new Identity("slack", "", ""), ErrorCode.VALIDATION_ERROR);
    assertCode(() -> directory.findUsers(DirectoryQuery.ALL, 0, 10), ErrorCode.VALIDATION_ERROR);
    assertCode(
        () -> directory.findUsers(DirectoryQuery.ALL, 1, DirectoryStore.MAX_COUNT + 1),
        ErrorCode.VALIDATION_ERROR);
    // The largest values fit the database's columns.
    String longest = "n".repeat(DirectoryStore.MAX_NAME);
    List<String> emails =
        java.util.stream.IntStream.range(0, DirectoryStore.MAX_EMAILS)
            .mapToObj(i -> "e".repeat(DirectoryStore.MAX_EMAIL - 3) + (100 + i))
            .toList();
    UserDraft big =
        new UserDraft(
            longest, longest, longest, true, emails, "x".repeat(DirectoryStore.MAX_RESOURCE));
    DirectoryUser user = directory.createUser(big);
    assertThat(directory.user(user.id()).orElseThrow().draft()).isEqualTo(big);
    Identity identity =
        new Identity(
            "k".repeat(64),
            "i".repeat(DirectoryStore.MAX_NAMESPACE),
            "v".repeat(DirectoryStore.MAX_IDENTITY_VALUE));
    directory.link(user.id(), identity);
    assertThat(directory.resolve(identity)).contains(user.id());
  }

  @Test
  void queries_compareIgnoringCaseExceptExternalId() {
    directory.createUser(
        new UserDraft("Alice", "EXT-1", "Alice Liddell", true, List.of("Alice@Example.com"), "{}"));
    directory.createUser(
        new UserDraft(
            "bob", "ext-2", "Bob", false, List.of("bob@work.org", "b@example.com"), "{}"));
    directory.createUser(new UserDraft("carol", "", "", true, List.of(), "{}"));

    assertThat(userNames(DirectoryQuery.eq(Attribute.USER_NAME, "ALICE"))).containsExactly("Alice");
    assertThat(userNames(DirectoryQuery.eq(Attribute.EXTERNAL_ID, "ext-1"))).isEmpty();
    assertThat(userNames(DirectoryQuery.eq(Attribute.EXTERNAL_ID, "EXT-1")))
        .containsExactly("Alice");
    assertThat(userNames(DirectoryQuery.eq(Attribute.EMAIL, "alice@example.COM")))
        .containsExactly("Alice");
    assertThat(userNames(new Compare(Attribute.EMAIL, Operator.CO, "EXAMPLE")))
        .containsExactly("Alice", "bob");
    assertThat(userNames(new Compare(Attribute.DISPLAY_NAME, Operator.SW, "alice l")))
        .containsExactly("Alice");
    assertThat(userNames(new Compare(Attribute.USER_NAME, Operator.NE, "bob")))
        .containsExactly("Alice", "carol");
    assertThat(userNames(new Compare(Attribute.EXTERNAL_ID, Operator.NE, "EXT-1")))
        .containsExactly("bob", "carol");
    assertThat(userNames(new Compare(Attribute.EMAIL, Operator.NE, "bob@work.org")))
        .containsExactly("Alice", "carol");
    assertThat(userNames(DirectoryQuery.present(Attribute.EXTERNAL_ID)))
        .containsExactly("Alice", "bob");
    assertThat(userNames(DirectoryQuery.present(Attribute.EMAIL))).containsExactly("Alice", "bob");
    assertThat(
            userNames(
                DirectoryQuery.present(Attribute.EMAIL)
                    .and(new Compare(Attribute.USER_NAME, Operator.SW, "b"))
                    .or(DirectoryQuery.eq(Attribute.USER_NAME, "carol"))))
        .containsExactly("bob", "carol");
    assertThat(userNames(DirectoryQuery.ALL)).containsExactly("Alice", "bob", "carol");
  }

  @Test
  void queries_treatLikeWildcardsAsPlainCharacters() {
    directory.createUser(draft("a%b_c\\d"));
    directory.createUser(draft("axbxcxd"));
    assertThat(userNames(new Compare(Attribute.USER_NAME, Operator.CO, "%b_c\\")))
        .containsExactly("a%b_c\\d");
    assertThat(userNames(new Compare(Attribute.USER_NAME, Operator.SW, "a%")))
        .containsExactly("a%b_c\\d");
    assertThat(userNames(DirectoryQuery.eq(Attribute.USER_NAME, "' OR 1=1 --"))).isEmpty();
  }

  @Test
  void queries_refuseAttributesOfTheOtherKind_andTooManyTerms() {
    assertCode(
        () -> directory.findUsers(DirectoryQuery.eq(Attribute.MEMBER, "x"), 1, 10),
        ErrorCode.VALIDATION_ERROR);
    assertCode(
        () -> directory.findGroups(DirectoryQuery.eq(Attribute.USER_NAME, "x"), 1, 10),
        ErrorCode.VALIDATION_ERROR);
    DirectoryQuery big = DirectoryQuery.eq(Attribute.USER_NAME, "x");
    for (int i = 0; i < DirectoryQuery.MAX_TERMS; i++) {
      big = big.or(DirectoryQuery.eq(Attribute.USER_NAME, "x" + i));
    }
    DirectoryQuery tooBig = big;
    assertCode(() -> directory.findUsers(tooBig, 1, 10), ErrorCode.VALIDATION_ERROR);
  }

  @Test
  void paging_countsEveryMatch_andReturnsTheAskedSlice() {
    for (int i = 0; i < 7; i++) {
      directory.createUser(draft("user" + i));
    }
    DirectoryPage<DirectoryUser> page = directory.findUsers(DirectoryQuery.ALL, 3, 2);
    assertThat(page.totalResults()).isEqualTo(7);
    assertThat(page.startIndex()).isEqualTo(3);
    assertThat(page.items()).extracting(DirectoryUser::userName).containsExactly("user2", "user3");
    assertThat(directory.findUsers(DirectoryQuery.ALL, 7, 5).items()).hasSize(1);
    assertThat(directory.findUsers(DirectoryQuery.ALL, 9, 5).items()).isEmpty();
    DirectoryPage<DirectoryUser> countOnly =
        directory.findUsers(new Compare(Attribute.USER_NAME, Operator.SW, "USER"), 1, 0);
    assertThat(countOnly.items()).isEmpty();
    assertThat(countOnly.totalResults()).isEqualTo(7);
  }

  @Test
  void groups_keepMembers_answerMembershipQueries_andRaiseVersions() {
    DirectoryUser alice = directory.createUser(draft("alice"));
    DirectoryUser bob = directory.createUser(draft("bob"));
    DirectoryGroup admins =
        directory.createGroup(
            new GroupDraft("Admins", "g-1", List.of(bob.id(), alice.id(), bob.id())));
    assertThat(Ulids.isValid(admins.id())).isTrue();
    assertThat(admins.version()).isEqualTo(1);
    assertThat(admins.members()).containsExactly(alice.id(), bob.id());
    assertThat(directory.group(admins.id())).contains(admins);
    DirectoryGroup staff = directory.createGroup(new GroupDraft("Staff", "", List.of(alice.id())));
    assertThat(directory.groupsOf(alice.id())).containsExactly(admins.id(), staff.id());
    assertThat(directory.groupsOf(bob.id())).containsExactly(admins.id());

    DirectoryGroup changed =
        directory.changeMembers(admins.id(), 1, List.of(), List.of(alice.id(), "nobody"));
    assertThat(changed.members()).containsExactly(bob.id());
    assertThat(changed.version()).isEqualTo(2);
    assertCode(
        () -> directory.changeMembers(admins.id(), 1, List.of(alice.id()), List.of()),
        ErrorCode.VERSION_MISMATCH);
    assertCode(
        () ->
            directory.changeMembers(
                admins.id(), 2, List.of("01ARZ3NDEKTSV4RRFFQ69G5FAV"), List.of()),
        ErrorCode.VALIDATION_ERROR);
    assertThat(directory.group(admins.id())).contains(changed);

    DirectoryGroup replaced =
        directory.updateGroup(
            admins.id(), 2, new GroupDraft("Administrators", "", List.of(alice.id())));
    assertThat(replaced.displayName()).isEqualTo("Administrators");
    assertThat(replaced.members()).containsExactly(alice.id());
    assertThat(replaced.version()).isEqualTo(3);
    assertThat(directory.groupVersion(admins.id())).hasValue(3);
    assertCode(
        () -> directory.updateGroup(admins.id(), 2, new GroupDraft("x", "", List.of())),
        ErrorCode.VERSION_MISMATCH);
    assertCode(
        () -> directory.createGroup(new GroupDraft("x", "", List.of("nobody"))),
        ErrorCode.VALIDATION_ERROR);
    assertThat(directory.findGroups(DirectoryQuery.ALL, 1, 10).totalResults()).isEqualTo(2);

    assertThat(directory.deleteGroup(staff.id())).isTrue();
    assertThat(directory.deleteGroup(staff.id())).isFalse();
    assertThat(directory.groupVersion(staff.id())).isEmpty();
    assertThat(directory.groupsOf(alice.id())).containsExactly(admins.id());
    assertCode(
        () ->
            directory.updateGroup(
                staff.id(), DirectoryStore.ANY_VERSION, new GroupDraft("x", "", List.of())),
        ErrorCode.NOT_FOUND);
  }

  @Test
  void groupQueries_testNamesAndMembers() {
    DirectoryUser alice = directory.createUser(draft("alice"));
    directory.createGroup(new GroupDraft("Engineering", "E-1", List.of(alice.id())));
    directory.createGroup(new GroupDraft("Sales", "", List.of()));
    assertThat(directory.findGroups(DirectoryQuery.eq(Attribute.MEMBER, alice.id()), 1, 10).items())
        .extracting(DirectoryGroup::displayName)
        .containsExactly("Engineering");
    assertThat(
            directory.findGroups(DirectoryQuery.eq(Attribute.DISPLAY_NAME, "sales"), 1, 10).items())
        .extracting(DirectoryGroup::displayName)
        .containsExactly("Sales");
    assertThat(
            directory
                .findGroups(new Compare(Attribute.MEMBER, Operator.NE, alice.id()), 1, 10)
                .items())
        .extracting(DirectoryGroup::displayName)
        .containsExactly("Sales");
    assertThat(directory.findGroups(DirectoryQuery.present(Attribute.EXTERNAL_ID), 1, 10).items())
        .extracting(DirectoryGroup::members)
        .containsExactly(List.of(alice.id()));
  }

  @Test
  void identities_areUniqueAndResolveToTheirUser() {
    DirectoryUser alice = directory.createUser(draft("alice"));
    DirectoryUser bob = directory.createUser(draft("bob"));
    Identity subject = new Identity("oidc", "https://issuer-a", "sub-1");
    Identity sameSubjectOtherIssuer = new Identity("oidc", "https://issuer-b", "sub-1");
    directory.link(alice.id(), subject);
    directory.link(alice.id(), subject); // again: nothing changes
    directory.link(alice.id(), Identity.email("Alice@Example.com"));
    directory.link(bob.id(), sameSubjectOtherIssuer);
    assertCode(() -> directory.link(bob.id(), subject), ErrorCode.UNIQUENESS_CONFLICT);
    assertCode(
        () -> directory.link(bob.id(), Identity.email("ALICE@example.com")),
        ErrorCode.UNIQUENESS_CONFLICT);
    assertCode(
        () -> directory.link("01ARZ3NDEKTSV4RRFFQ69G5FAV", new Identity("slack", "T1", "U1")),
        ErrorCode.NOT_FOUND);
    assertThat(directory.resolve(subject)).contains(alice.id());
    assertThat(directory.resolve(Identity.email("alice@example.COM"))).contains(alice.id());
    assertThat(directory.resolve(sameSubjectOtherIssuer)).contains(bob.id());
    assertThat(directory.resolve(new Identity("oidc", "https://issuer-c", "sub-1"))).isEmpty();
    assertThat(directory.identities(alice.id()))
        .containsExactly(Identity.email("alice@example.com"), subject);
    assertThat(directory.unlink(bob.id(), subject)).isFalse();
    assertThat(directory.unlink(alice.id(), subject)).isTrue();
    assertThat(directory.resolve(subject)).isEmpty();
    directory.link(bob.id(), subject);
    assertThat(directory.resolve(subject)).contains(bob.id());
  }

  @Test
  void identities_perUserAreLimited() {
    DirectoryUser alice = directory.createUser(draft("alice"));
    for (int i = 0; i < DirectoryStore.MAX_IDENTITIES; i++) {
      directory.link(alice.id(), new Identity("slack", "T1", "U" + i));
    }
    assertCode(
        () -> directory.link(alice.id(), new Identity("slack", "T1", "U-last")),
        ErrorCode.VALIDATION_ERROR);
    assertThat(directory.identities(alice.id())).hasSize(DirectoryStore.MAX_IDENTITIES);
  }

  @Test
  void deletingAUser_removesItsMembershipsAndIdentities() {
    DirectoryUser alice = directory.createUser(draft("alice"));
    DirectoryUser bob = directory.createUser(draft("bob"));
    DirectoryGroup group =
        directory.createGroup(new GroupDraft("Admins", "", List.of(alice.id(), bob.id())));
    Identity subject = new Identity("oidc", "https://issuer", "alice");
    directory.link(alice.id(), subject);

    assertThat(directory.deleteUser(alice.id())).isTrue();
    assertThat(directory.deleteUser(alice.id())).isFalse();
    assertThat(directory.user(alice.id())).isEmpty();
    DirectoryGroup after = directory.group(group.id()).orElseThrow();
    assertThat(after.members()).containsExactly(bob.id());
    assertThat(after.version()).isEqualTo(2);
    assertThat(directory.groupVersion(group.id())).hasValue(2);
    assertThat(directory.groupsOf(alice.id())).isEmpty();
    assertThat(directory.resolve(subject)).isEmpty();
    assertThat(directory.identities(alice.id())).isEmpty();
    // The name is free again, and a new user with it is another id.
    assertThat(directory.createUser(draft("alice")).id()).isNotEqualTo(alice.id());
    assertThat(directory.findUsers(DirectoryQuery.ALL, 1, 10).totalResults()).isEqualTo(2);
  }

  @Test
  void concurrentWriters_oneWinsAndTheOthersGetTheirConflictCode() throws Exception {
    DirectoryUser user = directory.createUser(draft("alice"));
    int writers = 6;
    List<ErrorCode> creates = race(writers, i -> directory.createUser(draft("Bob")));
    List<ErrorCode> updates =
        race(writers, i -> directory.updateUser(user.id(), 1, draft("alice" + i)));
    assertThat(creates).filteredOn(c -> c == null).hasSize(1);
    assertThat(creates).filteredOn(c -> c != null).containsOnly(ErrorCode.UNIQUENESS_CONFLICT);
    assertThat(updates).filteredOn(c -> c == null).hasSize(1);
    assertThat(updates).filteredOn(c -> c != null).containsOnly(ErrorCode.VERSION_MISMATCH);
    assertThat(directory.user(user.id()).orElseThrow().version()).isEqualTo(2);
    assertThat(directory.findUsers(DirectoryQuery.ALL, 1, 10).totalResults()).isEqualTo(2);
  }

  /** Runs {@code writers} calls at once; null for each that succeeded, else its error code. */
  private static List<ErrorCode> race(int writers, java.util.function.IntConsumer call)
      throws Exception {
    java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
    try (java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(writers)) {
      List<java.util.concurrent.Future<ErrorCode>> results = new java.util.ArrayList<>();
      for (int i = 0; i < writers; i++) {
        int n = i;
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  try {
                    call.accept(n);
                    return null;
                  } catch (dev.castellan.CastellanException e) {
                    return e.code();
                  }
                }));
      }
      start.countDown();
      List<ErrorCode> codes = new java.util.ArrayList<>();
      for (java.util.concurrent.Future<ErrorCode> result : results) {
        codes.add(result.get(60, java.util.concurrent.TimeUnit.SECONDS));
      }
      return codes;
    }
  }
}
