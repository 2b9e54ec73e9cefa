package dev.castellan.server.scim;

import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * An attribute path (RFC 7644 section 3.10): an optional schema URN, an attribute name and an
 * optional sub-attribute, as in {@code urn:ietf:params:scim:schemas:core:2.0:User:name.familyName}.
 * Names keep the client's spelling; SCIM names are case-insensitive, so compare them with {@link
 * #is}.
 */
record AttributePath(@Nullable String schema, String name, @Nullable String subAttribute) {
  AttributePath {
    if (name.isEmpty()) {
      throw new IllegalArgumentException("an attribute path needs an attribute name");
    }
  }

  static AttributePath of(String name) {
    return new AttributePath(null, name, null);
  }

  static AttributePath of(String name, String subAttribute) {
    return new AttributePath(null, name, subAttribute);
  }

  /**
   * Whether this path names {@code dotted} ({@code "userName"} or {@code "emails.value"}), ignoring
   * case and the schema prefix.
   */
  boolean is(String dotted) {
    int dot = dotted.indexOf('.');
    if (dot < 0) {
      return subAttribute == null && name.equalsIgnoreCase(dotted);
    }
    return subAttribute != null
        && name.equalsIgnoreCase(dotted.substring(0, dot))
        && subAttribute.equalsIgnoreCase(dotted.substring(dot + 1));
  }

  /** The path without its schema, lower-cased: a key for lookups ({@code "emails.value"}). */
  String key() {
    String base = subAttribute == null ? name : name + "." + subAttribute;
    return base.toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder();
    if (schema != null) {
      text.append(schema).append(':');
    }
    text.append(name);
    if (subAttribute != null) {
      text.append('.').append(subAttribute);
    }
    return text.toString();
  }
}
