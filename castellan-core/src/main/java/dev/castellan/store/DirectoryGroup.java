package dev.castellan.store;

import java.time.Instant;
import java.util.List;

/**
 * A group of the node's directory, as stored: its members are user ids, sorted. {@code version}
 * grows by one on every change of the group, membership changes included (a member's deletion too).
 */
public record DirectoryGroup(
    String id,
    String displayName,
    String externalId,
    List<String> members,
    long version,
    Instant created,
    Instant lastModified) {

  public DirectoryGroup {
    members = List.copyOf(members);
  }

  /** The weak entity tag of this version, {@code W/"<version>"}. */
  public String etag() {
    return DirectoryStore.etag(version);
  }
}
