package dev.castellan.store;

import java.time.Instant;
import java.util.List;

/**
 * A user of the node's directory, as stored. {@code id} is a ULID the store assigned; {@code
 * version} starts at 1 and grows by one on every write of the user, so it serves as SCIM's {@code
 * meta.version} ({@link #etag()}).
 */
public record DirectoryUser(
    String id,
    String userName,
    String externalId,
    String displayName,
    boolean active,
    List<String> emails,
    String resourceJson,
    long version,
    Instant created,
    Instant lastModified) {

  public DirectoryUser {
    emails = List.copyOf(emails);
  }

  /** The weak entity tag of this version, {@code W/"<version>"}. */
  public String etag() {
    return DirectoryStore.etag(version);
  }

  /** What was written, without what the store assigned. */
  public UserDraft draft() {
    return new UserDraft(userName, externalId, displayName, active, emails, resourceJson);
  }
}
