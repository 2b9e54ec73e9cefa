package dev.castellan.server.api;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import io.javalin.http.Context;

/**
 * Path parameters as handlers and authorization both see them. The router decodes a parameter once
 * (so {@code %30} is {@code 0}, while {@code %2530} stays {@code %30}, a different id); this class
 * never decodes again. It refuses what cannot be an id: text that was not valid UTF-8 (the router
 * turns it into U+FFFD), control characters and overlong values. Store ids are compared exactly:
 * they are case-sensitive.
 */
public final class PathParams {
  /** Longer than any id Castellan issues (ULIDs are 26 characters, role ids are slugs). */
  static final int MAX_LENGTH = 256;

  private static final String STORE_ID_ATTRIBUTE = "castellan.store_id";

  private PathParams() {}

  /**
   * The route's {@code {store_id}}, decoded and checked once per request; authorization and the
   * handler read the same value.
   */
  public static String storeId(Context ctx) {
    String cached = ctx.attribute(STORE_ID_ATTRIBUTE);
    if (cached != null) {
      return cached;
    }
    String id = param(ctx, "store_id");
    ctx.attribute(STORE_ID_ATTRIBUTE, id);
    return id;
  }

  /** The decoded path parameter {@code name}; 400 {@code validation_error} when it is no id. */
  public static String param(Context ctx, String name) {
    String value;
    try {
      value = ctx.pathParam(name);
    } catch (RuntimeException e) {
      // The router could not decode it (a '%' not followed by two hex digits).
      throw invalid(name, "is not a valid percent-encoded path segment");
    }
    if (value.isEmpty()) {
      throw invalid(name, "is empty");
    }
    if (value.length() > MAX_LENGTH) {
      throw invalid(name, "is longer than " + MAX_LENGTH + " characters");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '\uFFFD') {
        throw invalid(name, "is not valid UTF-8 once decoded");
      }
      if (Character.isISOControl(c)) {
        throw invalid(name, "contains a control character");
      }
    }
    return value;
  }

  /** Whether every {@code %} in a raw path is followed by two hex digits. */
  public static boolean wellFormedEscapes(String rawPath) {
    for (int i = rawPath.indexOf('%'); i >= 0; i = rawPath.indexOf('%', i + 1)) {
      if (i + 2 >= rawPath.length()
          || Character.digit(rawPath.charAt(i + 1), 16) < 0
          || Character.digit(rawPath.charAt(i + 2), 16) < 0) {
        return false;
      }
    }
    return true;
  }

  private static CastellanException invalid(String name, String what) {
    return new CastellanException(
        ErrorCode.VALIDATION_ERROR,
        "the path parameter '" + name + "' " + what + "; check the URL's percent-encoding");
  }
}
