package dev.castellan.cli;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;

/**
 * A secret read from a file (a Docker or Kubernetes secret, or {@code openssl rand -hex 32 >
 * FILE}), so that it never appears in the process list: the whole file is the secret, less its
 * trailing line break.
 */
final class SecretFile {
  /** A secret is a line; anything this large is the wrong file. */
  static final int MAX_BYTES = 4096;

  private SecretFile() {}

  /**
   * The secret in {@code file}; {@code source} names where the path came from (a flag or a
   * variable) in error messages.
   */
  static String read(Path file, String source) {
    byte[] bytes;
    try {
      if (Files.isDirectory(file)) {
        throw invalid(source + " " + file + " is a directory; give the file holding the secret");
      }
      if (Files.size(file) > MAX_BYTES) {
        throw invalid(
            source
                + " "
                + file
                + " has more than "
                + MAX_BYTES
                + " bytes; it should hold only the secret (make one with: openssl rand -hex 32 > "
                + file
                + ")");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw invalid(
          source
              + " "
              + file
              + " does not exist; make it with: openssl rand -hex 32 > "
              + file
              + " && chmod 600 "
              + file);
    } catch (AccessDeniedException e) {
      throw invalid(
          source
              + " "
              + file
              + " cannot be read by this user (permission denied); make it readable by the user"
              + " running Castellan");
    } catch (IOException e) {
      throw invalid(source + " " + file + " cannot be read: " + e.getMessage());
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      throw invalid(
          source
              + " "
              + file
              + " is not UTF-8 text; the secret is used as text, so make a text one: openssl rand"
              + " -hex 32 > "
              + file);
    }
    int end = text.length();
    while (end > 0 && (text.charAt(end - 1) == '\n' || text.charAt(end - 1) == '\r')) {
      end--;
    }
    String secret = text.substring(0, end);
    if (secret.isEmpty()) {
      throw invalid(
          source + " " + file + " is empty; put the secret in it: openssl rand -hex 32 > " + file);
    }
    return secret;
  }

  /** A warning when every user of the machine may read {@code file}; empty otherwise. */
  static Optional<String> readableByOthers(Path file, String source) {
    try {
      Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
      if (permissions.contains(PosixFilePermission.OTHERS_READ)) {
        return Optional.of(
            source
                + " "
                + file
                + " can be read by every user of this machine ("
                + PosixFilePermissions.toString(permissions)
                + "); restrict it: chmod 600 "
                + file);
      }
    } catch (IOException | UnsupportedOperationException e) {
      // not a POSIX file system, or gone: read() reports the latter
    }
    return Optional.empty();
  }

  private static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }
}
