package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.util.regex.Pattern;

/** The size limits of directory data, checked once here for every implementation. */
final class DirectoryLimits {
  private static final Pattern KIND = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,63}");

  private DirectoryLimits() {}

  static String text(String field, String value, int max, boolean required) {
    if (value == null) {
      throw invalid(field + " is required");
    }
    if (required && value.isBlank()) {
      throw invalid(field + " must not be empty");
    }
    if (value.length() > max) {
      throw invalid(field + " is at most " + max + " characters, was " + value.length());
    }
    return value;
  }

  static String kind(String kind) {
    if (kind == null || !KIND.matcher(kind).matches()) {
      throw invalid(
          "an identity kind is 1 to 64 characters of a-z, 0-9, '_', '.', '-', starting with a"
              + " letter or digit, was '"
              + kind
              + "'");
    }
    return kind;
  }

  static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }
}
