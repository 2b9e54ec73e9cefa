package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The opaque {@code consistency_token} of writes and reads: the store and the revision a response
 * saw. A request that carries one is answered only from an index that has applied that revision.
 */
public final class ConsistencyToken {
  private static final String PREFIX = "c1.";

  private ConsistencyToken() {}

  public static String encode(String storeId, long revision) {
    String raw = storeId + ":" + revision;
    return PREFIX
        + Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString(raw.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The revision in {@code token}.
   *
   * @throws CastellanException {@code INVALID_CONSISTENCY_TOKEN} when the token is malformed or
   *     belongs to another store
   */
  public static long decode(String token, String storeId) {
    if (token == null || !token.startsWith(PREFIX) || token.length() > 200) {
      throw invalid();
    }
    String raw;
    try {
      raw =
          new String(
              Base64.getUrlDecoder().decode(token.substring(PREFIX.length())),
              StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw invalid();
    }
    int colon = raw.lastIndexOf(':');
    if (colon < 0 || !raw.substring(0, colon).equals(storeId)) {
      throw invalid();
    }
    try {
      long revision = Long.parseLong(raw.substring(colon + 1));
      if (revision < 0) {
        throw invalid();
      }
      return revision;
    } catch (NumberFormatException e) {
      throw invalid();
    }
  }

  private static CastellanException invalid() {
    return new CastellanException(
        ErrorCode.INVALID_CONSISTENCY_TOKEN, "consistency_token is not a token this store issued");
  }
}
