package dev.castellan.store;

import java.util.Locale;

/**
 * One way of naming a person outside the directory: a {@code kind} ({@code email}, {@code oidc},
 * {@code slack}, ...), the {@code namespace} it is unique in (an OIDC issuer, a Slack workspace;
 * empty where the kind is global, as for emails) and the {@code value} (the address, the subject).
 * An identity names at most one directory user. Email values are kept in lower case, so an address
 * matches however it is written.
 */
public record Identity(String kind, String namespace, String value) {
  public static final String EMAIL = "email";

  public Identity {
    DirectoryLimits.kind(kind);
    DirectoryLimits.text("an identity namespace", namespace, DirectoryStore.MAX_NAMESPACE, false);
    DirectoryLimits.text("an identity value", value, DirectoryStore.MAX_IDENTITY_VALUE, true);
    if (kind.equals(EMAIL)) {
      value = value.toLowerCase(Locale.ROOT);
    }
  }

  public static Identity email(String address) {
    return new Identity(EMAIL, "", address);
  }
}
