package dev.castellan.store.jdbc;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import org.jspecify.annotations.Nullable;

/**
 * Opaque continuation tokens: a kind byte and a few strings, base64url-encoded. Anything that does
 * not decode to the expected kind and arity is {@code INVALID_CONTINUATION_TOKEN}.
 */
final class Tokens {
  static final byte TUPLES = 't';
  static final byte STORES = 's';
  static final byte MODELS = 'm';
  static final byte CHANGES = 'c';
  static final byte PENDING = 'p';
  static final byte IDENTITIES = 'i';

  private static final int MAX_TOKEN_LENGTH = 8_192;

  private Tokens() {}

  static String encode(byte kind, String... parts) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(kind);
      out.writeByte(parts.length);
      for (String part : parts) {
        out.writeUTF(part);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes.toByteArray());
  }

  /** The parts of {@code token}, or null when the token is empty (start at the beginning). */
  static String @Nullable [] decode(@Nullable String token, byte kind, int arity) {
    if (token == null || token.isEmpty()) {
      return null;
    }
    if (token.length() > MAX_TOKEN_LENGTH) {
      throw invalid();
    }
    try {
      byte[] raw = Base64.getUrlDecoder().decode(token);
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(raw));
      if (in.readByte() != kind || in.readByte() != arity) {
        throw invalid();
      }
      String[] parts = new String[arity];
      for (int i = 0; i < arity; i++) {
        parts[i] = in.readUTF();
      }
      if (in.available() != 0) {
        throw invalid();
      }
      return parts;
    } catch (IllegalArgumentException | IOException e) {
      throw invalid();
    }
  }

  static long parseLong(String value) {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw invalid();
    }
  }

  static CastellanException invalid() {
    return new CastellanException(
        ErrorCode.INVALID_CONTINUATION_TOKEN, "continuation_token is not valid for this request");
  }
}
