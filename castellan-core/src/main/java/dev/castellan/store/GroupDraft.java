package dev.castellan.store;

import java.util.List;

/**
 * What a client says about a directory group, to create or replace it. {@code members} are the ids
 * of directory users; they are kept sorted, without duplicates.
 */
public record GroupDraft(String displayName, String externalId, List<String> members) {

  public GroupDraft {
    DirectoryLimits.text("displayName", displayName, DirectoryStore.MAX_NAME, true);
    DirectoryLimits.text("externalId", externalId, DirectoryStore.MAX_NAME, false);
    members = DirectoryStore.memberIds(members);
  }
}
