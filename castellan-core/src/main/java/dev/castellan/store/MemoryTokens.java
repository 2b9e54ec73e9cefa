package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.TupleKey;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** Continuation tokens of the in-memory parts: {@code m1:} and a position, base64url-encoded. */
final class MemoryTokens {
  private MemoryTokens() {}

  static String encode(String raw) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(("m1:" + raw).getBytes(StandardCharsets.UTF_8));
  }

  static String decode(String token) {
    try {
      String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
      if (!raw.startsWith("m1:")) {
        throw invalidToken();
      }
      return raw.substring(3);
    } catch (IllegalArgumentException e) {
      throw invalidToken();
    }
  }

  static String encodeKey(TupleKey key) {
    return encode(key.object() + "\n" + key.relation() + "\n" + key.user());
  }

  static TupleKey decodeKey(String token) {
    String[] parts = decode(token).split("\n", -1);
    if (parts.length != 3) {
      throw invalidToken();
    }
    return new TupleKey(parts[0], parts[1], parts[2]);
  }

  static CastellanException invalidToken() {
    return new CastellanException(
        ErrorCode.INVALID_CONTINUATION_TOKEN, "continuation_token is not valid for this request");
  }
}
