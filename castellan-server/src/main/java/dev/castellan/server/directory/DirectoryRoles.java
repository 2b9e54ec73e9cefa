package dev.castellan.server.directory;

import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.rbac.DirectorySubjects;
import dev.castellan.server.rbac.Rbac;
import dev.castellan.store.DirectoryGroup;
import dev.castellan.store.DirectoryPage;
import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.GroupDraft;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleWrite;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Directory membership as RBAC sees it (ADR 0019). The directory is the one source of truth for who
 * is in a group; the system store holds its projection, {@code group:<id>#member@user:<user id>}
 * for each member ({@link DirectorySubjects}), so that binding a role to {@code group:<id>} gives
 * it to every member in the same engine check as any other role. Every directory write that changes
 * membership goes through here: the directory first, then the projection's tuples, whose revision
 * is the write's consistency token. {@link #reconcile} rebuilds the projection from the directory
 * (on every start), so a crash between the two writes heals; so does the IdP's retry.
 */
public final class DirectoryRoles {
  /** Tuples per system-store write when a large group's projection changes. */
  private static final int CHUNK = 1_000;

  private static final int STRIPES = 64;

  private final DirectoryStore directory;
  private final StoreRuntime runtime;
  private final String systemStoreId;
  private final Rbac rbac;

  // Orders the two writes of one group on this node, so that two PATCHes of the same group leave
  // the projection as they left the directory. Across nodes, reconcile() is the backstop.
  private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

  /** A directory write and the consistency token of the decisions that see it. */
  public record Written<T>(T value, String consistencyToken) {}

  public DirectoryRoles(
      DirectoryStore directory, StoreRuntime runtime, String systemStoreId, Rbac rbac) {
    this.directory = directory;
    this.runtime = runtime;
    this.systemStoreId = systemStoreId;
    this.rbac = rbac;
    for (int i = 0; i < STRIPES; i++) {
      locks[i] = new ReentrantLock();
    }
  }

  /** The directory this projects. */
  public DirectoryStore directory() {
    return directory;
  }

  /**
   * The token of the decisions as this node sees them now: for writes that change no membership.
   */
  public String token() {
    return rbac.consistencyToken(runtime.feed(systemStoreId).revision());
  }

  // ------------------------------------------------------------------ groups

  public Written<DirectoryGroup> createGroup(GroupDraft draft) {
    DirectoryGroup created = directory.createGroup(draft);
    return locked(
        created.id(),
        () -> new Written<>(created, project(created.id(), created.members(), List.of())));
  }

  /** Replaces a group's names and members; the projection follows the difference. */
  public Written<DirectoryGroup> replaceGroup(String id, long expectedVersion, GroupDraft draft) {
    return locked(
        id,
        () -> {
          List<String> before = directory.group(id).map(DirectoryGroup::members).orElse(List.of());
          DirectoryGroup updated = directory.updateGroup(id, expectedVersion, draft);
          Set<String> removed = new LinkedHashSet<>(before);
          removed.removeAll(new HashSet<>(updated.members()));
          Set<String> added = new LinkedHashSet<>(updated.members());
          added.removeAll(new HashSet<>(before));
          return new Written<>(updated, project(id, List.copyOf(added), List.copyOf(removed)));
        });
  }

  /**
   * Adds and removes members without sending the rest (SCIM PATCH as Okta and Entra ID send it),
   * changing names too when {@code names} differs from the stored ones.
   */
  public Written<DirectoryGroup> changeGroup(
      String id,
      long expectedVersion,
      String displayName,
      String externalId,
      List<String> add,
      List<String> remove) {
    return locked(
        id,
        () -> {
          DirectoryGroup updated = directory.changeMembers(id, expectedVersion, add, remove);
          if (!updated.displayName().equals(displayName)
              || !updated.externalId().equals(externalId)) {
            updated =
                directory.updateGroup(
                    id,
                    updated.version(),
                    new GroupDraft(displayName, externalId, updated.members()));
          }
          Set<String> kept = new HashSet<>(updated.members());
          List<String> added = add.stream().filter(kept::contains).distinct().toList();
          List<String> removed = remove.stream().filter(m -> !kept.contains(m)).distinct().toList();
          return new Written<>(updated, project(id, added, removed));
        });
  }

  /** Deletes a group and its projection; empty when there was no such group. */
  public Optional<String> deleteGroup(String id) {
    return locked(
        id,
        () -> {
          if (!directory.deleteGroup(id)) {
            return Optional.<String>empty();
          }
          var result =
              runtime
                  .store()
                  .deleteMatching(
                      systemStoreId, new TupleFilter(DirectorySubjects.group(id), "member", ""));
          return Optional.of(afterWrite(result.deleted() > 0 ? result.revision() : -1));
        });
  }

  // ------------------------------------------------------------------ users

  /**
   * After a user's record changed. A user's subject is its directory id (ADR 0023), which no write
   * changes, so its memberships stay; the answer is the current token.
   */
  public String userChanged(DirectoryUser before, DirectoryUser after) {
    return token();
  }

  /** Deletes a user with its memberships and their projection; empty when there was none. */
  public Optional<String> deleteUser(String id) {
    Optional<DirectoryUser> user = directory.user(id);
    if (user.isEmpty()) {
      return Optional.empty();
    }
    List<String> groups = directory.groupsOf(id);
    if (!directory.deleteUser(id)) {
      return Optional.empty();
    }
    List<TupleKey> deletes = new ArrayList<>();
    for (String group : groups) {
      deletes.add(
          new TupleKey(
              DirectorySubjects.group(group), "member", DirectorySubjects.ofId(user.get().id())));
    }
    return Optional.of(write(List.of(), deletes));
  }

  // ------------------------------------------------------------------ lookups

  /**
   * The directory groups whose {@code displayName} is {@code name} (ignoring case, as SCIM compares
   * it), at most {@code max}: how a token's group claim finds its directory group by name. Display
   * names are not unique; the caller decides what several mean.
   */
  public List<DirectoryGroup> groupsByDisplayName(String name, int max) {
    return directory
        .findGroups(DirectoryQuery.eq(DirectoryQuery.Attribute.DISPLAY_NAME, name), 1, max)
        .items();
  }

  /**
   * The directory groups whose {@code externalId} is exactly {@code externalId}, at most {@code
   * max}.
   */
  public List<DirectoryGroup> groupsByExternalId(String externalId, int max) {
    return directory
        .findGroups(DirectoryQuery.eq(DirectoryQuery.Attribute.EXTERNAL_ID, externalId), 1, max)
        .items();
  }

  // ------------------------------------------------------------------ the projection

  /**
   * Makes the system store's {@code group:*#member} tuples exactly the directory's memberships:
   * writes the missing, deletes the extra (a group deleted while the write of its tuples failed,
   * tuples of the subjects of earlier releases). Returns how many tuples it changed.
   */
  public int reconcile() {
    Set<String> users = new HashSet<>();
    int start = 1;
    while (true) {
      DirectoryPage<DirectoryUser> page =
          directory.findUsers(DirectoryQuery.ALL, start, DirectoryStore.MAX_COUNT);
      page.items().forEach(u -> users.add(u.id()));
      start += page.items().size();
      if (page.items().isEmpty() || start > page.totalResults()) {
        break;
      }
    }
    Set<TupleKey> wanted = new HashSet<>();
    start = 1;
    while (true) {
      DirectoryPage<DirectoryGroup> page =
          directory.findGroups(DirectoryQuery.ALL, start, DirectoryStore.MAX_COUNT);
      for (DirectoryGroup group : page.items()) {
        for (String member : group.members()) {
          if (users.contains(member)) {
            wanted.add(
                new TupleKey(
                    DirectorySubjects.group(group.id()), "member", DirectorySubjects.ofId(member)));
          }
        }
      }
      start += page.items().size();
      if (page.items().isEmpty() || start > page.totalResults()) {
        break;
      }
    }
    List<TupleKey> extra = new ArrayList<>();
    Set<TupleKey> present = new HashSet<>();
    String token = "";
    do {
      Page<StoredTuple> page =
          runtime
              .store()
              .read(
                  systemStoreId,
                  new TupleFilter("group:", "member", ""),
                  new PageRequest(PageRequest.MAX_PAGE_SIZE, token));
      for (StoredTuple stored : page.items()) {
        TupleKey key = stored.tuple().key();
        if (wanted.contains(key)) {
          present.add(key);
        } else if (isProjected(key)) {
          extra.add(key);
        }
      }
      token = page.continuationToken();
    } while (!token.isEmpty());
    List<Tuple> missing = new ArrayList<>();
    for (TupleKey key : wanted) {
      if (!present.contains(key)) {
        missing.add(Tuple.of(key.object(), key.relation(), key.user()));
      }
    }
    write(missing, extra);
    return missing.size() + extra.size();
  }

  /**
   * Whether a {@code group:*#member} tuple belongs to the projection: its group id is a directory
   * id. Other group tuples (none are written today) are left alone.
   */
  private static boolean isProjected(TupleKey key) {
    return DirectorySubjects.isDirectoryId(key.object().substring("group:".length()));
  }

  /** Writes the tuples of members added to and removed from group {@code id}; the token. */
  private String project(String groupId, List<String> added, List<String> removed) {
    String object = DirectorySubjects.group(groupId);
    List<Tuple> writes = new ArrayList<>();
    List<TupleKey> deletes = new ArrayList<>();
    for (DirectoryUser user : users(added)) {
      writes.add(Tuple.of(object, "member", DirectorySubjects.ofId(user.id())));
    }
    for (String member : removed) {
      // The subject is the id alone: a member deleted meanwhile is removed all the same.
      deletes.add(new TupleKey(object, "member", DirectorySubjects.ofId(member)));
    }
    return write(writes, deletes);
  }

  /** The users among {@code ids}, read a page of ids at a time rather than one by one. */
  private List<DirectoryUser> users(List<String> ids) {
    List<DirectoryUser> out = new ArrayList<>(ids.size());
    for (int i = 0; i < ids.size(); i += DirectoryStore.MAX_COUNT) {
      out.addAll(
          directory.users(ids.subList(i, Math.min(ids.size(), i + DirectoryStore.MAX_COUNT))));
    }
    return out;
  }

  /** Writes in chunks (deletes first), applies them on this node, and returns the token. */
  private String write(List<Tuple> writes, List<TupleKey> deletes) {
    long revision = -1;
    for (int i = 0; i < deletes.size(); i += CHUNK) {
      List<TupleKey> chunk = deletes.subList(i, Math.min(deletes.size(), i + CHUNK));
      revision =
          runtime
              .store()
              .write(systemStoreId, new TupleWrite(List.of(), chunk, true, true))
              .revision();
    }
    for (int i = 0; i < writes.size(); i += CHUNK) {
      List<Tuple> chunk = writes.subList(i, Math.min(writes.size(), i + CHUNK));
      revision =
          runtime
              .store()
              .write(systemStoreId, new TupleWrite(chunk, List.of(), true, true))
              .revision();
    }
    return afterWrite(revision);
  }

  private String afterWrite(long revision) {
    if (revision < 0) {
      return token();
    }
    runtime.afterWrite(systemStoreId);
    return rbac.consistencyToken(revision);
  }

  private <T> T locked(String groupId, Supplier<T> work) {
    ReentrantLock lock = locks[Math.floorMod(groupId.hashCode(), STRIPES)];
    lock.lock();
    try {
      return work.get();
    } finally {
      lock.unlock();
    }
  }
}
