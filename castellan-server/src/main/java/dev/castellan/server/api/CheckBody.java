package dev.castellan.server.api;

import dev.castellan.engine.TupleKey;
import org.jspecify.annotations.Nullable;

/**
 * The common shape of a check body, read by a scanner: {@code {"tuple_key": {"user", "relation",
 * "object"}}} with, optionally, {@code authorization_model_id}, {@code consistency}, {@code
 * consistency_token} (strings), {@code explain} and {@code trace} (booleans). Building and walking
 * a JSON tree for it was the largest part of Castellan's own CPU on a check.
 *
 * <p>{@link #read} accepts only bodies the tree path ({@link Body}) accepts, with the same values;
 * anything else (another field, a null, a number, a duplicate key, a value the tree path would
 * refuse, invalid JSON) gives null, and the caller reads the body through the tree path, which
 * gives every error exactly as before. So this can only make a valid check cheaper, never change an
 * answer.
 *
 * @param key the checked tuple
 * @param modelId {@code authorization_model_id}, empty when absent
 * @param consistency {@code consistency}, empty when absent, else one of the accepted values
 * @param consistencyToken {@code consistency_token}, empty when absent
 * @param explain {@code explain || trace}
 */
record CheckBody(
    TupleKey key, String modelId, String consistency, String consistencyToken, boolean explain) {

  // The limits Body.string applies to each field (OpenFgaApi.engine for the consistency fields).
  private static final int MAX_CONSISTENCY = 32;
  private static final int MAX_TOKEN = 256;

  private static final String[] BODY_FIELDS = {
    "tuple_key", "authorization_model_id", "consistency", "consistency_token", "explain", "trace"
  };
  private static final String[] KEY_FIELDS = {"user", "relation", "object"};

  /** The body's values when it has the common shape and the tree path would accept it; or null. */
  static @Nullable CheckBody read(String text) {
    return new Scanner(text).body();
  }

  /**
   * A scanner of a strict subset of JSON: structural characters, JSON's four whitespace characters,
   * {@code true}, {@code false}, and strings of printable ASCII without escapes (their value is
   * their text, so no decoding can differ from Jackson's). Anything else, valid JSON or not, stops
   * it (null), and the tree path reads the body.
   */
  private static final class Scanner {
    private final String text;
    private int at;

    Scanner(String text) {
      this.text = text;
    }

    @Nullable CheckBody body() {
      if (!take('{')) {
        return null;
      }
      TupleKey key = null;
      String modelId = null;
      String consistency = null;
      String token = null;
      Boolean explain = null;
      Boolean trace = null;
      do {
        String name = name(BODY_FIELDS);
        if (name == null || !take(':')) {
          return null;
        }
        switch (name) {
          case "tuple_key" -> {
            if (key != null || (key = key()) == null) {
              return null;
            }
          }
          case "authorization_model_id" -> {
            if (modelId != null || (modelId = string(Body.MAX_NAME)) == null) {
              return null;
            }
          }
          case "consistency" -> {
            if (consistency != null
                || (consistency = string(MAX_CONSISTENCY)) == null
                || !OpenFgaApi.CONSISTENCY.contains(consistency)) {
              return null;
            }
          }
          case "consistency_token" -> {
            if (token != null || (token = string(MAX_TOKEN)) == null) {
              return null;
            }
          }
          case "explain" -> {
            if (explain != null || (explain = bool()) == null) {
              return null;
            }
          }
          case "trace" -> {
            if (trace != null || (trace = bool()) == null) {
              return null;
            }
          }
          default -> {
            return null;
          }
        }
      } while (take(','));
      // The object ends, with only whitespace after it (the tree path's trailing-token rule).
      if (key == null || !take('}')) {
        return null;
      }
      skipWhitespace();
      if (at != text.length()) {
        return null;
      }
      return new CheckBody(
          key,
          orEmpty(modelId),
          orEmpty(consistency),
          orEmpty(token),
          Boolean.TRUE.equals(explain) || Boolean.TRUE.equals(trace));
    }

    /** The tuple key object: exactly user, relation and object, each once and not empty. */
    private @Nullable TupleKey key() {
      if (!take('{')) {
        return null;
      }
      String user = null;
      String relation = null;
      String object = null;
      do {
        String name = name(KEY_FIELDS);
        if (name == null || !take(':')) {
          return null;
        }
        String value = string(Body.MAX_NAME);
        // Empty is "required" to the tree path: its error.
        if (value == null || value.isEmpty()) {
          return null;
        }
        switch (name) {
          case "user" -> {
            if (user != null) {
              return null;
            }
            user = value;
          }
          case "relation" -> {
            if (relation != null) {
              return null;
            }
            relation = value;
          }
          case "object" -> {
            if (object != null) {
              return null;
            }
            object = value;
          }
          default -> {
            return null;
          }
        }
      } while (take(','));
      if (!take('}') || user == null || relation == null || object == null) {
        return null;
      }
      return new TupleKey(object, relation, user);
    }

    /**
     * A field name that is one of {@code names}, as that constant (no copy of the text); null for
     * any other name, or one the string rule below does not take.
     */
    private @Nullable String name(String[] names) {
      if (!take('"')) {
        return null;
      }
      int start = at;
      int end = text.indexOf('"', start);
      if (end < 0) {
        return null;
      }
      for (String name : names) {
        if (name.length() == end - start && text.startsWith(name, start)) {
          at = end + 1;
          return name; // printable ASCII without escapes, as each of names is
        }
      }
      return null;
    }

    /** A string of at most {@code maxLength} printable ASCII characters, none escaped; or null. */
    private @Nullable String string(int maxLength) {
      if (!take('"')) {
        return null;
      }
      int start = at;
      for (; at < text.length(); at++) {
        char c = text.charAt(at);
        if (c == '"') {
          if (at - start > maxLength) {
            return null;
          }
          return text.substring(start, at++);
        }
        if (c < 0x20 || c > 0x7e || c == '\\') {
          return null;
        }
      }
      return null;
    }

    private @Nullable Boolean bool() {
      skipWhitespace();
      if (text.startsWith("true", at)) {
        at += 4;
        return Boolean.TRUE;
      }
      if (text.startsWith("false", at)) {
        at += 5;
        return Boolean.FALSE;
      }
      return null;
    }

    /** Whether {@code c} comes next, after whitespace; if so, it is consumed. */
    private boolean take(char c) {
      skipWhitespace();
      if (at < text.length() && text.charAt(at) == c) {
        at++;
        return true;
      }
      return false;
    }

    private void skipWhitespace() {
      while (at < text.length()) {
        char c = text.charAt(at);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
          return;
        }
        at++;
      }
    }
  }

  private static String orEmpty(@Nullable String value) {
    return value == null ? "" : value;
  }
}
