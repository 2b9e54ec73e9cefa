package dev.castellan.server.directory;

import dev.castellan.store.DirectoryGroup;
import dev.castellan.store.DirectoryPage;
import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.GroupDraft;
import dev.castellan.store.Identity;
import dev.castellan.store.UserDraft;
import java.util.List;
import java.util.Optional;

/**
 * A directory that applies a user's held rows once an identity is linked to it ({@link
 * PendingIdentities#applyingOnLink}); every other call goes straight through.
 */
final class LinkHook implements DirectoryStore {
  private final DirectoryStore directory;
  private final PendingIdentities pending;

  LinkHook(DirectoryStore directory, PendingIdentities pending) {
    this.directory = directory;
    this.pending = pending;
  }

  @Override
  public void link(String userId, Identity identity) {
    directory.link(userId, identity);
    pending.applyFor(userId);
  }

  @Override
  public DirectoryUser createUser(UserDraft user) {
    return directory.createUser(user);
  }

  @Override
  public Optional<DirectoryUser> user(String id) {
    return directory.user(id);
  }

  @Override
  public List<DirectoryUser> users(List<String> ids) {
    return directory.users(ids);
  }

  @Override
  public DirectoryUser updateUser(String id, long expectedVersion, UserDraft user) {
    return directory.updateUser(id, expectedVersion, user);
  }

  @Override
  public boolean deleteUser(String id) {
    return directory.deleteUser(id);
  }

  @Override
  public DirectoryPage<DirectoryUser> findUsers(DirectoryQuery query, int startIndex, int count) {
    return directory.findUsers(query, startIndex, count);
  }

  @Override
  public DirectoryGroup createGroup(GroupDraft group) {
    return directory.createGroup(group);
  }

  @Override
  public Optional<DirectoryGroup> group(String id) {
    return directory.group(id);
  }

  @Override
  public DirectoryGroup updateGroup(String id, long expectedVersion, GroupDraft group) {
    return directory.updateGroup(id, expectedVersion, group);
  }

  @Override
  public DirectoryGroup changeMembers(
      String id, long expectedVersion, List<String> add, List<String> remove) {
    return directory.changeMembers(id, expectedVersion, add, remove);
  }

  @Override
  public boolean deleteGroup(String id) {
    return directory.deleteGroup(id);
  }

  @Override
  public DirectoryPage<DirectoryGroup> findGroups(DirectoryQuery query, int startIndex, int count) {
    return directory.findGroups(query, startIndex, count);
  }

  @Override
  public List<String> groupsOf(String userId) {
    return directory.groupsOf(userId);
  }

  @Override
  public boolean unlink(String userId, Identity identity) {
    return directory.unlink(userId, identity);
  }

  @Override
  public List<Identity> identities(String userId) {
    return directory.identities(userId);
  }

  @Override
  public Optional<String> resolve(Identity identity) {
    return directory.resolve(identity);
  }
}
