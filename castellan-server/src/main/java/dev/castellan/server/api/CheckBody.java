package dev.castellan.server.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.castellan.engine.TupleKey;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * The common shape of a check body, read as a stream: {@code {"tuple_key": {"user", "relation",
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

  /** The body's values when it has the common shape and the tree path would accept it; or null. */
  static @Nullable CheckBody read(String text) {
    try (JsonParser p = Body.JSON.createParser(text)) {
      return read(p);
    } catch (IOException | RuntimeException e) {
      // Invalid JSON, a constraint Jackson enforces, a number it cannot hold: the tree path says.
      return null;
    }
  }

  private static @Nullable CheckBody read(JsonParser p) throws IOException {
    if (p.nextToken() != JsonToken.START_OBJECT) {
      return null;
    }
    TupleKey key = null;
    String modelId = null;
    String consistency = null;
    String token = null;
    Boolean explain = null;
    Boolean trace = null;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      switch (name) {
        case "tuple_key" -> {
          if (key != null || value != JsonToken.START_OBJECT) {
            return null;
          }
          key = key(p);
        }
        case "authorization_model_id" -> {
          if (modelId != null) {
            return null;
          }
          modelId = string(p, value, Body.MAX_NAME);
        }
        case "consistency" -> {
          if (consistency != null) {
            return null;
          }
          consistency = string(p, value, MAX_CONSISTENCY);
          if (consistency != null && !OpenFgaApi.CONSISTENCY.contains(consistency)) {
            return null;
          }
        }
        case "consistency_token" -> {
          if (token != null) {
            return null;
          }
          token = string(p, value, MAX_TOKEN);
        }
        case "explain" -> {
          if (explain != null) {
            return null;
          }
          explain = bool(value);
        }
        case "trace" -> {
          if (trace != null) {
            return null;
          }
          trace = bool(value);
        }
        default -> {
          return null;
        }
      }
      if (!readAs(name, key, modelId, consistency, token, explain, trace)) {
        return null; // a value of the wrong type, or one the tree path refuses
      }
    }
    // The object must have ended, with nothing after it (the tree path's trailing-token rule).
    if (t != JsonToken.END_OBJECT || key == null || p.nextToken() != null) {
      return null;
    }
    return new CheckBody(
        key,
        orEmpty(modelId),
        orEmpty(consistency),
        orEmpty(token),
        Boolean.TRUE.equals(explain) || Boolean.TRUE.equals(trace));
  }

  /**
   * Whether the field just read, {@code name}, gave a value (null: not one the tree path takes).
   */
  private static boolean readAs(
      String name,
      @Nullable TupleKey key,
      @Nullable String modelId,
      @Nullable String consistency,
      @Nullable String token,
      @Nullable Boolean explain,
      @Nullable Boolean trace) {
    return switch (name) {
      case "tuple_key" -> key != null;
      case "authorization_model_id" -> modelId != null;
      case "consistency" -> consistency != null;
      case "consistency_token" -> token != null;
      case "explain" -> explain != null;
      case "trace" -> trace != null;
      default -> false;
    };
  }

  /** The tuple key object after its START_OBJECT: exactly user, relation and object, each once. */
  private static @Nullable TupleKey key(JsonParser p) throws IOException {
    String user = null;
    String relation = null;
    String object = null;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      String text = string(p, value, Body.MAX_NAME);
      // Empty is "required" to the tree path, so its error.
      if (text == null || text.isEmpty()) {
        return null;
      }
      switch (name) {
        case "user" -> {
          if (user != null) {
            return null;
          }
          user = text;
        }
        case "relation" -> {
          if (relation != null) {
            return null;
          }
          relation = text;
        }
        case "object" -> {
          if (object != null) {
            return null;
          }
          object = text;
        }
        default -> {
          return null;
        }
      }
    }
    if (t != JsonToken.END_OBJECT || user == null || relation == null || object == null) {
      return null;
    }
    return new TupleKey(object, relation, user);
  }

  /** A string value Body.string would return unchanged; null for anything else. */
  private static @Nullable String string(JsonParser p, @Nullable JsonToken value, int maxLength)
      throws IOException {
    if (value != JsonToken.VALUE_STRING) {
      return null;
    }
    String text = p.getText();
    return text.length() <= maxLength && Body.isValidUnicode(text) ? text : null;
  }

  private static @Nullable Boolean bool(@Nullable JsonToken value) {
    if (value == JsonToken.VALUE_TRUE) {
      return Boolean.TRUE;
    }
    return value == JsonToken.VALUE_FALSE ? Boolean.FALSE : null;
  }

  private static String orEmpty(@Nullable String value) {
    return value == null ? "" : value;
  }
}
