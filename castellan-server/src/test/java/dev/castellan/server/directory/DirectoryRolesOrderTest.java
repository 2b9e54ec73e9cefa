package dev.castellan.server.directory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.server.StoreKind;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.rbac.DirectorySubjects;
import dev.castellan.server.rbac.Rbac;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.GroupDraft;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.PageRequest;
import dev.castellan.store.Store;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.UserDraft;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The regression of ADR 0019's known gap, with the interleaving forced: node A's PATCH commits in
 * the directory first, node B's second, but B's projection lands first. Two {@link DirectoryRoles}
 * over one directory and one system store stand for the two nodes (each node has its own lock), on
 * every store.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class DirectoryRolesOrderTest {
  @Parameter StoreKind kind;

  private StoreKind.TestStore testStore;
  private Store store;
  private StoreRuntime runtime;
  private String systemStoreId;
  private Rbac rbac;
  private DirectoryStore directory;

  @BeforeEach
  void start() {
    testStore = kind.create();
    store = testStore.store();
    systemStoreId = AccessControl.open(store).systemStoreId();
    runtime =
        new StoreRuntime(
            store, IndexFeed.Options.DEFAULT, Duration.ofSeconds(5), Clock.systemUTC());
    rbac = Rbac.open(runtime, systemStoreId);
    directory = store.directoryStore();
  }

  @AfterEach
  void stop() {
    runtime.close();
    testStore.close();
  }

  /** {@code directory}, but {@code changeMembers} waits for {@code resume} once it committed. */
  private DirectoryStore pausingAfterCommit(CountDownLatch committed, CountDownLatch resume) {
    return (DirectoryStore)
        Proxy.newProxyInstance(
            DirectoryStore.class.getClassLoader(),
            new Class<?>[] {DirectoryStore.class},
            (proxy, method, args) -> {
              Object result;
              try {
                result = method.invoke(directory, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
              if (method.getName().equals("changeMembers")) {
                committed.countDown();
                assertThat(resume.await(10, TimeUnit.SECONDS)).isTrue();
              }
              return result;
            });
  }

  private Set<String> projected(String groupId) {
    return store
        .read(
            systemStoreId,
            new TupleFilter(DirectorySubjects.group(groupId), "member", ""),
            new PageRequest(PageRequest.MAX_PAGE_SIZE, ""))
        .items()
        .stream()
        .map(t -> t.tuple().key().user())
        .collect(Collectors.toSet());
  }

  private Set<String> members(String groupId) {
    return directory.group(groupId).orElseThrow().members().stream()
        .map(DirectorySubjects::ofId)
        .collect(Collectors.toSet());
  }

  @Test
  void twoPatchesProjectedInTheOtherOrder_leaveTheProjectionEqualToTheDirectory() throws Exception {
    CountDownLatch committed = new CountDownLatch(1);
    CountDownLatch resume = new CountDownLatch(1);
    DirectoryRoles nodeA =
        new DirectoryRoles(pausingAfterCommit(committed, resume), runtime, systemStoreId, rbac);
    DirectoryRoles nodeB = new DirectoryRoles(directory, runtime, systemStoreId, rbac);
    String ann = directory.createUser(new UserDraft("ann", "", "", true, List.of(), "")).id();
    String group = nodeB.createGroup(new GroupDraft("Team", "", List.of(ann))).value().id();
    assertThat(projected(group)).containsExactly(DirectorySubjects.ofId(ann));

    // A removes ann and stops between its directory write and its projection.
    CompletableFuture<DirectoryRoles.Written<?>> removal =
        CompletableFuture.supplyAsync(
            () ->
                nodeA.changeGroup(
                    group, DirectoryStore.ANY_VERSION, "Team", "", List.of(), List.of(ann)));
    assertThat(committed.await(10, TimeUnit.SECONDS)).isTrue();
    // B adds her back: later in the directory, earlier in the projection.
    nodeB.changeGroup(group, DirectoryStore.ANY_VERSION, "Team", "", List.of(ann), List.of());
    resume.countDown();
    removal.get(10, TimeUnit.SECONDS);

    assertThat(members(group)).containsExactly(DirectorySubjects.ofId(ann));
    assertThat(projected(group))
        .as("A's late delete was rebuilt from the directory")
        .isEqualTo(members(group));
  }

  @Test
  void reconcile_rebuildsEachGroup_andDropsTheTuplesOfGroupsNoLongerInTheDirectory() {
    DirectoryRoles roles = new DirectoryRoles(directory, runtime, systemStoreId, rbac);
    String ann = directory.createUser(new UserDraft("ann", "", "", true, List.of(), "")).id();
    String bob = directory.createUser(new UserDraft("bob", "", "", true, List.of(), "")).id();
    // Written to the directory only, as after a crash before the projection.
    String kept = directory.createGroup(new GroupDraft("Kept", "", List.of(ann, bob))).id();
    String gone = roles.createGroup(new GroupDraft("Gone", "", List.of(ann))).value().id();
    directory.deleteGroup(gone);

    assertThat(roles.reconcile()).isEqualTo(3);
    assertThat(projected(kept)).isEqualTo(members(kept));
    assertThat(projected(gone)).isEmpty();
    assertThat(roles.reconcile()).isZero();
  }
}
