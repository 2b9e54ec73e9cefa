package dev.castellan.engine;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import org.jspecify.annotations.Nullable;

/** Parses the string forms of objects and users; the only place that knows their syntax. */
final class Refs {
  /** Longest accepted object or user string; OpenFGA allows 256 bytes for ids. */
  static final int MAX_LENGTH = 512;

  private Refs() {}

  /**
   * {@code type:id}, or {@code type:*} when {@code wildcard}; {@code relation} is "" for objects.
   */
  record UserRef(String type, String object, String relation, boolean wildcard) {
    boolean isUserset() {
      return !relation.isEmpty();
    }
  }

  /** Splits {@code type:id}; returns null when the string is not of that form. */
  static String @Nullable [] splitObject(String object) {
    if (object.length() > MAX_LENGTH) {
      return null;
    }
    int colon = object.indexOf(':');
    if (colon <= 0 || colon == object.length() - 1) {
      return null;
    }
    if (object.indexOf(':', colon + 1) >= 0 || object.indexOf('#') >= 0) {
      return null;
    }
    for (int i = 0; i < object.length(); i++) {
      char c = object.charAt(i);
      if (c > ' ' && c < 0x7F) {
        continue; // printable ASCII, nearly every character: skip the Unicode tables
      }
      if (Character.isWhitespace(c) || Character.isISOControl(c)) {
        return null;
      }
    }
    return new String[] {object.substring(0, colon), object.substring(colon + 1)};
  }

  static String[] requireObject(String object, ErrorCode code) {
    String[] parts = splitObject(object);
    if (parts == null) {
      throw new CastellanException(
          code, "invalid object '" + shorten(object) + "': expected 'type:id'");
    }
    return parts;
  }

  /** Parses {@code type:id}, {@code type:*} or {@code type:id#relation}; null when malformed. */
  static @Nullable UserRef parseUser(String user) {
    int hash = user.indexOf('#');
    String objectPart = hash < 0 ? user : user.substring(0, hash);
    String relation = hash < 0 ? "" : user.substring(hash + 1);
    if (hash >= 0 && (relation.isEmpty() || relation.indexOf('#') >= 0)) {
      return null;
    }
    String[] parts = splitObject(objectPart);
    if (parts == null) {
      return null;
    }
    boolean wildcard = parts[1].equals("*");
    if (wildcard && hash >= 0) {
      return null;
    }
    return new UserRef(parts[0], objectPart, relation, wildcard);
  }

  static UserRef requireUser(String user, ErrorCode code) {
    UserRef ref = parseUser(user);
    if (ref == null) {
      throw new CastellanException(
          code,
          "invalid user '"
              + shorten(user)
              + "': expected 'type:id', 'type:*' or 'type:id#relation'");
    }
    return ref;
  }

  static String shorten(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
