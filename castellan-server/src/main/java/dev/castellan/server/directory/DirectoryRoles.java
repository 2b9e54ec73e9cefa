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
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Directory membership as RBAC sees it (ADR 0019). The directory is the one source of truth for who
 * is in a group; the system store holds its projection, {@code group:<id>#member@user:<user id>}
 * for each member ({@link DirectorySubjects}), so that binding a role to {@code group:<id>} gives
 * it to every member in the same engine check as any other role. Every directory write that changes
 * membership goes through here: the directory first, then the projection's tuples, whose revision
 * is the write's consistency token. After the projection's write, a membership write reads the
 * group's version again: when another write of the group (on any node) came after it, the order of
 * the two projections is unknown, so the group's projection is rebuilt from the directory until its
 * version holds still ({@link #settle}). {@link #reconcile} does the same for every group on every
 * start, so a crash between the two writes heals; so does the IdP's retry or the group's next
 * write.
 */
public final class DirectoryRoles {
  /** Tuples per system-store write when a large group's projection changes. */
  private static final int CHUNK = 1_000;

  private static final int STRIPES = 64;

  /** Stands for a deleted group where a version is compared. */
  private static final long GONE = Long.MIN_VALUE;

  /**
   * Rebuilds of one group after one write before giving up: each round means yet another write of
   * the group committed meanwhile, and that write settles the group too.
   */
  private static final int MAX_SETTLE_ROUNDS = 50;

  private static final Logger LOG = LoggerFactory.getLogger(DirectoryRoles.class);

  private final DirectoryStore directory;
  private final StoreRuntime runtime;
  private final String systemStoreId;
  private final Rbac rbac;

  // Orders the two writes of one group on this node, so that two PATCHes of the same group leave
  // the projection as they left the directory. Across nodes, settle() checks the order afterwards.
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
        () -> {
          String token = project(created.id(), created.members(), List.of());
          return new Written<>(created, settle(created.id(), created.version()).orElse(token));
        });
  }

  /** Replaces a group's names and members; the projection follows the difference. */
  public Written<DirectoryGroup> replaceGroup(String id, long expectedVersion, GroupDraft draft) {
    return locked(
        id,
        () -> {
          DirectoryGroup updated = directory.updateGroup(id, expectedVersion, draft);
          // A member list read before the update may miss another node's write in between, so
          // the projection is compared with the stored tuples rather than with that list.
          long revision = sync(id, updated.members());
          String token = afterWrite(revision);
          return new Written<>(updated, settle(id, updated.version()).orElse(token));
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
          String token = project(id, added, removed);
          return new Written<>(updated, settle(id, updated.version()).orElse(token));
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
    if (!directory.deleteUser(id)) {
      return Optional.empty();
    }
    // The user's tuples as they are after the delete, not its groups read before it: a group
    // another node added it to meanwhile is among them, or that node's settle() finds it.
    List<TupleKey> deletes = new ArrayList<>();
    forEachTuple(
        new TupleFilter("group:", "member", DirectorySubjects.ofId(id)),
        key -> {
          if (isProjected(key)) {
            deletes.add(key);
          }
        });
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
   * tuples of the subjects of earlier releases). Reads a page of groups at a time and one group's
   * tuples at a time; what it holds beyond that is the set of group ids. Returns how many tuples it
   * changed.
   */
  public int reconcile() {
    Set<String> groups = new HashSet<>();
    int changed = 0;
    long revision = -1;
    int start = 1;
    while (true) {
      DirectoryPage<DirectoryGroup> page =
          directory.findGroups(DirectoryQuery.ALL, start, DirectoryStore.MAX_COUNT);
      // The differences of a page of groups go in shared chunks, not a write per group.
      List<Tuple> missing = new ArrayList<>();
      List<TupleKey> extra = new ArrayList<>();
      List<DirectoryGroup> written = new ArrayList<>();
      for (DirectoryGroup group : page.items()) {
        groups.add(group.id());
        Difference difference = difference(group.id(), group.members());
        if (!difference.isEmpty()) {
          missing.addAll(difference.missing());
          extra.addAll(difference.extra());
          written.add(group);
        }
      }
      long pageRevision = writeTuples(missing, extra);
      revision = Math.max(revision, pageRevision);
      changed += missing.size() + extra.size();
      // As after any write of a group's tuples: another node's write since the read may have been
      // overtaken by this one.
      for (DirectoryGroup group : written) {
        if (directory.groupVersion(group.id()).orElse(GONE) != group.version()) {
          Synced synced = converge(group.id(), directory.group(group.id()));
          revision = Math.max(revision, synced.revision());
          changed += synced.changed();
        }
      }
      start += page.items().size();
      if (page.items().isEmpty() || start > page.totalResults()) {
        break;
      }
    }
    // Tuples of groups no longer in the directory (deleted while the delete of their tuples
    // failed).
    List<TupleKey> orphans = new ArrayList<>();
    forEachTuple(
        new TupleFilter("group:", "member", ""),
        key -> {
          if (isProjected(key) && !groups.contains(key.object().substring("group:".length()))) {
            orphans.add(key);
          }
        });
    // A group created since the listing above is no orphan: its own write settles it.
    List<TupleKey> deletes = new ArrayList<>();
    for (TupleKey key : orphans) {
      if (directory.groupVersion(key.object().substring("group:".length())).isEmpty()) {
        deletes.add(key);
      }
    }
    revision = Math.max(revision, writeTuples(List.of(), deletes));
    afterWrite(revision);
    return changed + deletes.size();
  }

  /**
   * After a membership write of group {@code id} that left it at version {@code written} and wrote
   * its projection: when the group's version moved on since (another write, on any node, whose
   * projection may have landed before this one), rebuilds the group's projection from the
   * directory. Empty when nothing was rebuilt, else the token of the rebuild.
   *
   * <p>Why this converges: every write of a group's tuples is followed, in the same thread, by this
   * check. A stale write (its directory state replaced by a later one) is either followed by the
   * later write's own projection of the same memberships, or its check sees the later version and
   * rebuilds from a read that comes after the stale write. The last check to pass read the final
   * version.
   */
  private Optional<String> settle(String id, long written) {
    long now = directory.groupVersion(id).orElse(GONE);
    if (now == written) {
      return Optional.empty();
    }
    Synced settled = converge(id, directory.group(id));
    return Optional.of(afterWrite(settled.revision()));
  }

  /**
   * Makes group {@code id}'s projection {@code read}'s members, then reads the version again and
   * repeats from a fresh read while it moved. A group that is gone has no tuples.
   */
  private Synced converge(String id, Optional<DirectoryGroup> read) {
    long revision = -1;
    int changed = 0;
    Optional<DirectoryGroup> group = read;
    for (int round = 0; round < MAX_SETTLE_ROUNDS; round++) {
      long version = group.map(DirectoryGroup::version).orElse(GONE);
      Synced synced = diff(id, group.map(DirectoryGroup::members).orElse(List.of()));
      if (synced.revision() >= 0) {
        revision = synced.revision();
      }
      changed += synced.changed();
      // A round that wrote nothing cannot have overtaken a later write: no check needed.
      if (synced.changed() == 0 || directory.groupVersion(id).orElse(GONE) == version) {
        return new Synced(revision, changed);
      }
      group = directory.group(id);
    }
    // Every round meant another committed write of the group; those writes settle it as well.
    LOG.warn(
        "group {} kept changing over {} rebuilds of its projection; its later writes settle it",
        id,
        MAX_SETTLE_ROUNDS);
    return new Synced(revision, changed);
  }

  /** Makes group {@code id}'s tuples {@code members}; the last revision written, or -1. */
  private long sync(String id, List<String> members) {
    return diff(id, members).revision();
  }

  /** What a rebuild wrote: the last revision (-1 for none) and how many tuples it changed. */
  private record Synced(long revision, int changed) {}

  /** Reads group {@code id}'s projected tuples and writes the difference to {@code members}. */
  private Synced diff(String id, List<String> members) {
    Difference difference = difference(id, members);
    return new Synced(
        writeTuples(difference.missing(), difference.extra()),
        difference.missing().size() + difference.extra().size());
  }

  /** The tuples group {@code id} lacks and those it has beyond {@code members}. */
  private record Difference(List<Tuple> missing, List<TupleKey> extra) {
    boolean isEmpty() {
      return missing.isEmpty() && extra.isEmpty();
    }
  }

  /** Reads group {@code id}'s projected tuples and compares them with {@code members}. */
  private Difference difference(String id, List<String> members) {
    String object = DirectorySubjects.group(id);
    Set<TupleKey> wanted = new HashSet<>();
    for (String member : members) {
      wanted.add(new TupleKey(object, "member", DirectorySubjects.ofId(member)));
    }
    List<TupleKey> extra = new ArrayList<>();
    Set<TupleKey> present = new HashSet<>();
    forEachTuple(
        new TupleFilter(object, "member", ""),
        key -> {
          if (wanted.contains(key)) {
            present.add(key);
          } else {
            extra.add(key);
          }
        });
    List<Tuple> missing = new ArrayList<>();
    for (TupleKey key : wanted) {
      if (!present.contains(key)) {
        missing.add(Tuple.of(key.object(), key.relation(), key.user()));
      }
    }
    return new Difference(missing, extra);
  }

  /** Every system-store tuple {@code filter} matches, read page by page. */
  private void forEachTuple(TupleFilter filter, Consumer<TupleKey> action) {
    String token = "";
    do {
      Page<StoredTuple> page =
          runtime
              .store()
              .read(systemStoreId, filter, new PageRequest(PageRequest.MAX_PAGE_SIZE, token));
      for (StoredTuple stored : page.items()) {
        action.accept(stored.tuple().key());
      }
      token = page.continuationToken();
    } while (!token.isEmpty());
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
    return afterWrite(writeTuples(writes, deletes));
  }

  /** Writes in chunks (deletes first); the last revision written, or -1 when nothing was. */
  private long writeTuples(List<Tuple> writes, List<TupleKey> deletes) {
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
    return revision;
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
