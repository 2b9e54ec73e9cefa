package dev.castellan.store;

import java.util.LinkedHashSet;
import java.util.List;

/**
 * What a client says about a directory user, to create or replace it: everything but the id, the
 * version and the timestamps, which the store assigns. {@code externalId} and {@code displayName}
 * are empty when absent; {@code resourceJson} is the full SCIM resource as the service keeps it
 * (the store keeps it as given and never reads it). Emails are kept in order, without duplicates.
 */
public record UserDraft(
    String userName,
    String externalId,
    String displayName,
    boolean active,
    List<String> emails,
    String resourceJson) {

  public UserDraft {
    DirectoryLimits.text("userName", userName, DirectoryStore.MAX_NAME, true);
    DirectoryLimits.text("externalId", externalId, DirectoryStore.MAX_NAME, false);
    DirectoryLimits.text("displayName", displayName, DirectoryStore.MAX_NAME, false);
    if (emails == null) {
      throw DirectoryLimits.invalid("emails is required (empty for none)");
    }
    emails = List.copyOf(new LinkedHashSet<>(emails));
    if (emails.size() > DirectoryStore.MAX_EMAILS) {
      throw DirectoryLimits.invalid(
          "a user has at most " + DirectoryStore.MAX_EMAILS + " emails, was " + emails.size());
    }
    for (String email : emails) {
      DirectoryLimits.text("an email", email, DirectoryStore.MAX_EMAIL, true);
    }
    DirectoryLimits.text("the resource", resourceJson, DirectoryStore.MAX_RESOURCE, false);
  }
}
