package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeSet;

/**
 * The node's user directory: users and groups as SCIM provisions them, group membership, and the
 * identities (emails, OIDC subjects per issuer, chat ids) linked to each user. One directory per
 * database, not per store.
 *
 * <p>Ids are ULIDs the store assigns. A {@code userName} is unique ignoring case. Every write of a
 * user or group raises its {@code version} by one; an update names the version it read ({@link
 * #ANY_VERSION} for none) and fails with {@code VERSION_MISMATCH} when the stored one differs.
 * Deleting a user removes it from every group (raising those groups' versions) and drops its
 * identities. Errors: {@code VALIDATION_ERROR} (a field over its limit, a bad query, a member that
 * is not a user), {@code NOT_FOUND}, {@code UNIQUENESS_CONFLICT}, {@code VERSION_MISMATCH}, and
 * {@code STORE_UNAVAILABLE} when the database fails.
 */
public interface DirectoryStore {

  /** Longest userName, externalId and displayName. */
  int MAX_NAME = 256;

  /** Longest email address. */
  int MAX_EMAIL = 320;

  /** Most emails of one user. */
  int MAX_EMAILS = 16;

  /** Longest stored SCIM resource (characters of JSON). */
  int MAX_RESOURCE = 65_536;

  /** Most members of one group. */
  int MAX_MEMBERS = 100_000;

  /** Most identities linked to one user. */
  int MAX_IDENTITIES = 64;

  /** Longest identity namespace (an issuer URL, say). */
  int MAX_NAMESPACE = 512;

  /** Longest identity value (and filter value). */
  int MAX_IDENTITY_VALUE = 512;

  /** Most items in one page. */
  int MAX_COUNT = 1_000;

  /** An expected version that matches any: an unconditional update. */
  long ANY_VERSION = -1;

  // ------------------------------------------------------------------ users

  /**
   * Creates a user with a new id at version 1.
   *
   * @throws CastellanException {@code UNIQUENESS_CONFLICT} when a user has the same userName
   *     (ignoring case)
   */
  DirectoryUser createUser(UserDraft user);

  Optional<DirectoryUser> user(String id);

  /**
   * The users among {@code ids} that exist, sorted by id, in one read: what a membership change
   * needs to know about the members it adds. Unknown ids are left out.
   *
   * @throws CastellanException {@code VALIDATION_ERROR} for more than {@link #MAX_COUNT} ids
   */
  List<DirectoryUser> users(List<String> ids);

  /**
   * Replaces what the client says about user {@code id} and raises its version.
   *
   * @throws CastellanException {@code NOT_FOUND}, {@code VERSION_MISMATCH}, {@code
   *     UNIQUENESS_CONFLICT}
   */
  DirectoryUser updateUser(String id, long expectedVersion, UserDraft user);

  /** Deletes a user, its memberships and its identities; false when there was none. */
  boolean deleteUser(String id);

  /**
   * The users matching {@code query}, in creation order, from the 1-based {@code startIndex}, at
   * most {@code count} (0 counts only).
   */
  DirectoryPage<DirectoryUser> findUsers(DirectoryQuery query, int startIndex, int count);

  // ------------------------------------------------------------------ groups

  /**
   * Creates a group with a new id at version 1.
   *
   * @throws CastellanException {@code VALIDATION_ERROR} when a member is not a user
   */
  DirectoryGroup createGroup(GroupDraft group);

  Optional<DirectoryGroup> group(String id);

  /**
   * The version of group {@code id} without its members, or empty when there is no such group: how
   * a membership write learns cheaply whether another write of the group came after it.
   */
  default OptionalLong groupVersion(String id) {
    return group(id).map(g -> OptionalLong.of(g.version())).orElse(OptionalLong.empty());
  }

  /**
   * Replaces group {@code id}'s names and members and raises its version.
   *
   * @throws CastellanException {@code NOT_FOUND}, {@code VERSION_MISMATCH}, {@code
   *     VALIDATION_ERROR}
   */
  DirectoryGroup updateGroup(String id, long expectedVersion, GroupDraft group);

  /**
   * Adds and removes members of group {@code id} (removals after additions; ids already in, or not
   * in, are ignored) and raises its version, without sending every member.
   *
   * @throws CastellanException {@code NOT_FOUND}, {@code VERSION_MISMATCH}, {@code
   *     VALIDATION_ERROR} when an added id is not a user or the group would grow over {@link
   *     #MAX_MEMBERS}
   */
  DirectoryGroup changeMembers(
      String id, long expectedVersion, List<String> add, List<String> remove);

  boolean deleteGroup(String id);

  /** The groups matching {@code query}, in creation order, as {@link #findUsers}. */
  DirectoryPage<DirectoryGroup> findGroups(DirectoryQuery query, int startIndex, int count);

  /** The ids of the groups user {@code userId} is a member of, sorted; empty for no such user. */
  List<String> groupsOf(String userId);

  // ------------------------------------------------------------------ identities

  /**
   * Links {@code identity} to user {@code userId}; nothing changes when it is linked to that user
   * already.
   *
   * @throws CastellanException {@code NOT_FOUND} (no such user), {@code UNIQUENESS_CONFLICT}
   *     (linked to another user), {@code VALIDATION_ERROR} (the user has {@link #MAX_IDENTITIES})
   */
  void link(String userId, Identity identity);

  /** Removes a link; false when {@code identity} was not linked to {@code userId}. */
  boolean unlink(String userId, Identity identity);

  /** The identities linked to a user, sorted by kind, namespace and value. */
  List<Identity> identities(String userId);

  /** The user {@code identity} is linked to, or empty. */
  Optional<String> resolve(Identity identity);

  // ------------------------------------------------------------------ shared rules

  /** {@code W/"<version>"}. */
  static String etag(long version) {
    return "W/\"" + version + "\"";
  }

  /** Sorted, distinct member ids, refused over {@link #MAX_MEMBERS}. */
  static List<String> memberIds(List<String> ids) {
    if (ids == null) {
      throw DirectoryLimits.invalid("members is required (empty for none)");
    }
    TreeSet<String> sorted = new TreeSet<>(ids);
    if (sorted.size() > MAX_MEMBERS) {
      throw DirectoryLimits.invalid(
          "a group has at most " + MAX_MEMBERS + " members, was " + sorted.size());
    }
    return List.copyOf(sorted);
  }

  /**
   * Refuses paging outside {@code startIndex >= 1} and {@code 0 <= count <= MAX_COUNT}.
   *
   * @throws CastellanException {@code VALIDATION_ERROR}
   */
  static void checkPage(int startIndex, int count) {
    if (startIndex < 1 || count < 0 || count > MAX_COUNT) {
      throw DirectoryLimits.invalid(
          "startIndex is at least 1 and count between 0 and "
              + MAX_COUNT
              + ", were "
              + startIndex
              + " and "
              + count);
    }
  }

  /** Refuses a batch of more than {@link #MAX_COUNT} ids. */
  static void checkBatch(List<String> ids) {
    if (ids.size() > MAX_COUNT) {
      throw DirectoryLimits.invalid(
          "at most " + MAX_COUNT + " ids are read at once, were " + ids.size());
    }
  }

  static CastellanException notFound(String what, String id) {
    return new CastellanException(ErrorCode.NOT_FOUND, "no directory " + what + " '" + id + "'");
  }

  static CastellanException stale(String what, String id, long expected, long actual) {
    return new CastellanException(
        ErrorCode.VERSION_MISMATCH,
        "the directory "
            + what
            + " '"
            + id
            + "' is at version "
            + actual
            + ", not "
            + expected
            + "; read it again and retry");
  }

  static CastellanException userNameTaken(String userName) {
    return new CastellanException(
        ErrorCode.UNIQUENESS_CONFLICT, "a directory user has the userName '" + userName + "'");
  }

  static CastellanException identityTaken(Identity identity) {
    return new CastellanException(
        ErrorCode.UNIQUENESS_CONFLICT,
        "the identity "
            + identity.kind()
            + " '"
            + identity.value()
            + "' is linked to another directory user");
  }

  static CastellanException tooManyIdentities() {
    return DirectoryLimits.invalid(
        "a directory user has at most " + MAX_IDENTITIES + " linked identities");
  }

  static CastellanException notAUser(String id) {
    return DirectoryLimits.invalid("the member '" + id + "' is not a directory user");
  }
}
