package dev.castellan.store;

import dev.castellan.store.DirectoryQuery.And;
import dev.castellan.store.DirectoryQuery.Attribute;
import dev.castellan.store.DirectoryQuery.Compare;
import dev.castellan.store.DirectoryQuery.Or;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/** The directory of a {@link MemoryStore}: one lock, maps by id. */
final class MemoryDirectory implements DirectoryStore {
  private static final Comparator<Identity> IDENTITY_ORDER =
      Comparator.comparing(Identity::kind)
          .thenComparing(Identity::namespace)
          .thenComparing(Identity::value);

  private final Clock clock;
  private final TreeMap<String, DirectoryUser> users = new TreeMap<>();
  private final Map<String, String> userIdsByName = new HashMap<>();
  private final TreeMap<String, DirectoryGroup> groups = new TreeMap<>();
  private final Map<Identity, String> identities = new HashMap<>();

  MemoryDirectory(Clock clock) {
    this.clock = clock;
  }

  private Instant now() {
    // The databases keep microseconds; so does this, so the contract compares equal everywhere.
    return clock.instant().truncatedTo(ChronoUnit.MICROS);
  }

  private static String nameKey(String userName) {
    return userName.toLowerCase(Locale.ROOT);
  }

  @Override
  public synchronized DirectoryUser createUser(UserDraft draft) {
    if (userIdsByName.containsKey(nameKey(draft.userName()))) {
      throw DirectoryStore.userNameTaken(draft.userName());
    }
    Instant now = now();
    DirectoryUser user = user(Ulids.next(), draft, 1, now, now);
    users.put(user.id(), user);
    userIdsByName.put(nameKey(draft.userName()), user.id());
    return user;
  }

  private static DirectoryUser user(
      String id, UserDraft draft, long version, Instant created, Instant modified) {
    return new DirectoryUser(
        id,
        draft.userName(),
        draft.externalId(),
        draft.displayName(),
        draft.active(),
        draft.emails(),
        draft.resourceJson(),
        version,
        created,
        modified);
  }

  @Override
  public synchronized Optional<DirectoryUser> user(String id) {
    return Optional.ofNullable(users.get(id));
  }

  @Override
  public synchronized List<DirectoryUser> users(List<String> ids) {
    DirectoryStore.checkBatch(ids);
    return new java.util.TreeSet<>(ids)
        .stream().map(users::get).filter(java.util.Objects::nonNull).toList();
  }

  @Override
  public synchronized DirectoryUser updateUser(String id, long expectedVersion, UserDraft draft) {
    DirectoryUser old = users.get(id);
    if (old == null) {
      throw DirectoryStore.notFound("user", id);
    }
    checkVersion("user", id, expectedVersion, old.version());
    String owner = userIdsByName.get(nameKey(draft.userName()));
    if (owner != null && !owner.equals(id)) {
      throw DirectoryStore.userNameTaken(draft.userName());
    }
    DirectoryUser user = user(id, draft, old.version() + 1, old.created(), now());
    userIdsByName.remove(nameKey(old.userName()));
    userIdsByName.put(nameKey(draft.userName()), id);
    users.put(id, user);
    return user;
  }

  private static void checkVersion(String what, String id, long expected, long actual) {
    if (expected != ANY_VERSION && expected != actual) {
      throw DirectoryStore.stale(what, id, expected, actual);
    }
  }

  @Override
  public synchronized boolean deleteUser(String id) {
    DirectoryUser user = users.remove(id);
    if (user == null) {
      return false;
    }
    userIdsByName.remove(nameKey(user.userName()));
    identities.values().removeIf(id::equals);
    Instant now = now();
    for (DirectoryGroup group : List.copyOf(groups.values())) {
      if (isMember(group, id)) {
        List<String> members = new ArrayList<>(group.members());
        members.remove(id);
        groups.put(
            group.id(), changed(group, group.displayName(), group.externalId(), members, now));
      }
    }
    return true;
  }

  /** Members are kept sorted: a binary search, not a scan of a 100,000-member list. */
  private static boolean isMember(DirectoryGroup group, String userId) {
    return java.util.Collections.binarySearch(group.members(), userId) >= 0;
  }

  @Override
  public synchronized DirectoryPage<DirectoryUser> findUsers(
      DirectoryQuery query, int startIndex, int count) {
    DirectoryQuery.check(query, true);
    DirectoryStore.checkPage(startIndex, count);
    return page(users.values(), u -> matches(query, u), startIndex, count);
  }

  private static <T> DirectoryPage<T> page(
      Iterable<T> all, Predicate<T> filter, int startIndex, int count) {
    List<T> items = new ArrayList<>();
    int total = 0;
    for (T item : all) {
      if (filter.test(item)) {
        total++;
        if (total >= startIndex && items.size() < count) {
          items.add(item);
        }
      }
    }
    return new DirectoryPage<>(items, startIndex, total);
  }

  private static boolean matches(DirectoryQuery query, DirectoryUser user) {
    return switch (query) {
      case DirectoryQuery.All all -> true;
      case And and -> matches(and.left(), user) && matches(and.right(), user);
      case Or or -> matches(or.left(), user) || matches(or.right(), user);
      case Compare compare ->
          switch (compare.attribute()) {
            case USER_NAME -> test(compare, List.of(user.userName()));
            case EXTERNAL_ID -> test(compare, List.of(user.externalId()));
            case DISPLAY_NAME -> test(compare, List.of(user.displayName()));
            case EMAIL -> test(compare, user.emails());
            case MEMBER -> false; // refused by DirectoryQuery.check
          };
    };
  }

  private static boolean matches(DirectoryQuery query, DirectoryGroup group) {
    return switch (query) {
      case DirectoryQuery.All all -> true;
      case And and -> matches(and.left(), group) && matches(and.right(), group);
      case Or or -> matches(or.left(), group) || matches(or.right(), group);
      case Compare compare ->
          switch (compare.attribute()) {
            case EXTERNAL_ID -> test(compare, List.of(group.externalId()));
            case DISPLAY_NAME -> test(compare, List.of(group.displayName()));
            case MEMBER -> test(compare, group.members());
            case USER_NAME, EMAIL -> false; // refused by DirectoryQuery.check
          };
    };
  }

  /** One comparison over an attribute's values; empty values are absent. */
  private static boolean test(Compare compare, List<String> values) {
    Attribute attribute = compare.attribute();
    String wanted = attribute.normalize(compare.value());
    Predicate<String> any =
        switch (compare.operator()) {
          case EQ, NE -> v -> attribute.normalize(v).equals(wanted);
          case CO -> v -> attribute.normalize(v).contains(wanted);
          case SW -> v -> attribute.normalize(v).startsWith(wanted);
          case PR -> v -> true;
        };
    boolean found = values.stream().filter(v -> !v.isEmpty()).anyMatch(any);
    return switch (compare.operator()) {
      case NE -> !found;
      case EQ, CO, SW, PR -> found;
    };
  }

  // ------------------------------------------------------------------ groups

  @Override
  public synchronized DirectoryGroup createGroup(GroupDraft draft) {
    checkMembers(draft.members());
    Instant now = now();
    DirectoryGroup group =
        new DirectoryGroup(
            Ulids.next(), draft.displayName(), draft.externalId(), draft.members(), 1, now, now);
    groups.put(group.id(), group);
    return group;
  }

  private void checkMembers(List<String> members) {
    for (String member : members) {
      if (!users.containsKey(member)) {
        throw DirectoryStore.notAUser(member);
      }
    }
  }

  private static DirectoryGroup changed(
      DirectoryGroup old,
      String displayName,
      String externalId,
      List<String> members,
      Instant now) {
    return new DirectoryGroup(
        old.id(),
        displayName,
        externalId,
        DirectoryStore.memberIds(members),
        old.version() + 1,
        old.created(),
        now);
  }

  @Override
  public synchronized Optional<DirectoryGroup> group(String id) {
    return Optional.ofNullable(groups.get(id));
  }

  private DirectoryGroup existingGroup(String id, long expectedVersion) {
    DirectoryGroup old = groups.get(id);
    if (old == null) {
      throw DirectoryStore.notFound("group", id);
    }
    checkVersion("group", id, expectedVersion, old.version());
    return old;
  }

  @Override
  public synchronized DirectoryGroup updateGroup(
      String id, long expectedVersion, GroupDraft draft) {
    DirectoryGroup old = existingGroup(id, expectedVersion);
    checkMembers(draft.members());
    DirectoryGroup group =
        changed(old, draft.displayName(), draft.externalId(), draft.members(), now());
    groups.put(id, group);
    return group;
  }

  @Override
  public synchronized DirectoryGroup changeMembers(
      String id, long expectedVersion, List<String> add, List<String> remove) {
    DirectoryGroup old = existingGroup(id, expectedVersion);
    List<String> added = DirectoryStore.memberIds(add);
    List<String> removed = DirectoryStore.memberIds(remove);
    checkMembers(added);
    TreeSet<String> members = new TreeSet<>(old.members());
    members.addAll(added);
    removed.forEach(members::remove);
    DirectoryGroup group =
        changed(old, old.displayName(), old.externalId(), List.copyOf(members), now());
    groups.put(id, group);
    return group;
  }

  @Override
  public synchronized boolean deleteGroup(String id) {
    return groups.remove(id) != null;
  }

  @Override
  public synchronized DirectoryPage<DirectoryGroup> findGroups(
      DirectoryQuery query, int startIndex, int count) {
    DirectoryQuery.check(query, false);
    DirectoryStore.checkPage(startIndex, count);
    return page(groups.values(), g -> matches(query, g), startIndex, count);
  }

  @Override
  public synchronized List<String> groupsOf(String userId) {
    return groups.values().stream()
        .filter(g -> isMember(g, userId))
        .map(DirectoryGroup::id)
        .toList();
  }

  // ------------------------------------------------------------------ identities

  @Override
  public synchronized void link(String userId, Identity identity) {
    if (!users.containsKey(userId)) {
      throw DirectoryStore.notFound("user", userId);
    }
    String owner = identities.get(identity);
    if (owner != null) {
      if (owner.equals(userId)) {
        return;
      }
      throw DirectoryStore.identityTaken(identity);
    }
    if (identities(userId).size() >= MAX_IDENTITIES) {
      throw DirectoryStore.tooManyIdentities();
    }
    identities.put(identity, userId);
  }

  @Override
  public synchronized boolean unlink(String userId, Identity identity) {
    return identities.remove(identity, userId);
  }

  @Override
  public synchronized List<Identity> identities(String userId) {
    return identities.entrySet().stream()
        .filter(e -> e.getValue().equals(userId))
        .map(Map.Entry::getKey)
        .sorted(IDENTITY_ORDER)
        .toList();
  }

  @Override
  public synchronized Optional<String> resolve(Identity identity) {
    return Optional.ofNullable(identities.get(identity));
  }
}
