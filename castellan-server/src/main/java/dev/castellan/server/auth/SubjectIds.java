package dev.castellan.server.auth;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The one way an outside name (a token's {@code sub}, a group or role claim value) becomes the id
 * part of a Castellan subject ({@code user:<id>}, {@code group:<id>}, {@code
 * service_account:<id>}), without two names ever sharing an id (ADR 0010).
 *
 * <p>Letters, digits and {@code _ . @ | -} stand for themselves; every other character, {@code %}
 * included, is written as the percent-encoded bytes of its UTF-8 form with upper-case hex: {@code
 * bob smith} is {@code bob%20smith}, {@code bob:smith} is {@code bob%3Asmith}. Each name has
 * exactly one spelling (the <em>canonical</em> one), so the mapping is injective and reversible.
 * The result never holds {@code :}, {@code #}, {@code *} or white space, so it is a valid OpenFGA
 * object and user id (OpenFGA allows {@code [^#:\s]+} in ids, and {@code *} alone is a wildcard);
 * the characters it does hold are the ones Castellan's subjects always used, so a name made of them
 * alone keeps the id it had before.
 *
 * <p>{@code /} is never part of an escaped name: it is reserved to separate a per-issuer namespace
 * from the name ({@code okta/00u1ab}) once several issuers are configured.
 */
public final class SubjectIds {
  /**
   * Longest id: as many characters as a token subject may have before escaping, and with its type
   * ({@code user:}) well within OpenFGA's 512 bytes for a user.
   */
  public static final int MAX_LENGTH = 256;

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private SubjectIds() {}

  /** True for the characters that stand for themselves. */
  static boolean isSafe(int c) {
    return (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9')
        || c == '_'
        || c == '.'
        || c == '@'
        || c == '|'
        || c == '-';
  }

  /**
   * The canonical id of {@code name}, of any length; empty when {@code name} is empty or not valid
   * Unicode (a lone surrogate has no UTF-8 form, and replacing it would make two names one).
   */
  public static Optional<String> escape(String name) {
    if (name.isEmpty()) {
      return Optional.empty();
    }
    int i = 0;
    while (i < name.length() && isSafe(name.charAt(i))) {
      i++;
    }
    if (i == name.length()) {
      return Optional.of(name); // the common case: nothing to escape, nothing to copy
    }
    StringBuilder out = new StringBuilder(name.length() + 16).append(name, 0, i);
    while (i < name.length()) {
      char c = name.charAt(i);
      if (isSafe(c)) {
        out.append(c);
        i++;
        continue;
      }
      int cp;
      if (Character.isHighSurrogate(c)
          && i + 1 < name.length()
          && Character.isLowSurrogate(name.charAt(i + 1))) {
        cp = Character.toCodePoint(c, name.charAt(i + 1));
        i += 2;
      } else if (Character.isSurrogate(c)) {
        return Optional.empty(); // a lone surrogate has no UTF-8 form
      } else {
        cp = c;
        i++;
      }
      // UTF-8 by hand: the JDK's encoder costs an allocation or three per call.
      if (cp < 0x80) {
        percent(out, cp);
      } else if (cp < 0x800) {
        percent(out, 0xC0 | cp >> 6);
        percent(out, 0x80 | cp & 0x3F);
      } else if (cp < 0x10000) {
        percent(out, 0xE0 | cp >> 12);
        percent(out, 0x80 | cp >> 6 & 0x3F);
        percent(out, 0x80 | cp & 0x3F);
      } else {
        percent(out, 0xF0 | cp >> 18);
        percent(out, 0x80 | cp >> 12 & 0x3F);
        percent(out, 0x80 | cp >> 6 & 0x3F);
        percent(out, 0x80 | cp & 0x3F);
      }
    }
    return Optional.of(out.toString());
  }

  private static void percent(StringBuilder out, int b) {
    out.append('%').append(HEX[b >> 4]).append(HEX[b & 0xF]);
  }

  /** The name an id stands for; empty when {@code id} is not canonical. */
  public static Optional<String> unescape(String id) {
    if (id.isEmpty()) {
      return Optional.empty();
    }
    ByteBuffer bytes = ByteBuffer.allocate(id.length());
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (isSafe(c)) {
        bytes.put((byte) c);
      } else if (c == '%' && i + 2 < id.length()) {
        int high = hex(id.charAt(i + 1));
        int low = hex(id.charAt(i + 2));
        if (high < 0 || low < 0) {
          return Optional.empty();
        }
        int b = high << 4 | low;
        if (isSafe(b)) {
          return Optional.empty(); // %41 for A: a second spelling of the same name
        }
        bytes.put((byte) b);
        i += 2;
      } else {
        return Optional.empty();
      }
    }
    bytes.flip();
    try {
      return Optional.of(
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(bytes)
              .toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }

  /**
   * True when {@code id} is the canonical id of some name and at most {@value #MAX_LENGTH}
   * characters long: the ids Castellan accepts in grants.
   */
  public static boolean isCanonical(String id) {
    return id.length() <= MAX_LENGTH && unescape(id).isPresent();
  }

  /**
   * True for the ids a subject may have (ADR 0020): a {@link #isCanonical canonical} id, or one in
   * an issuer's namespace, {@code name/canonical} with a name of 1 to 32 of {@code a-z 0-9 -}
   * ({@code okta/00u1ab}); at most {@value #MAX_LENGTH} characters in all. The grant APIs take
   * these. (Subject migration keeps to {@link #isCanonical}: before namespaces, {@code a/b} was a
   * literal name, written {@code a%2Fb} now.)
   */
  public static boolean isSubjectId(String id) {
    int slash = id.indexOf('/');
    if (slash < 0) {
      return isCanonical(id);
    }
    if (id.length() > MAX_LENGTH || slash == 0 || slash > 32) {
      return false;
    }
    for (int i = 0; i < slash; i++) {
      char c = id.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')) {
        return false;
      }
    }
    return unescape(id.substring(slash + 1)).isPresent();
  }

  /** Upper-case hex only: {@code %2f} would be a second spelling of {@code %2F}. */
  private static int hex(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }
}
