package dev.castellan.cli;

/**
 * An error the person at the terminal can act on: a stable code (documented in the README's
 * "Errors" section) and a one-line message that names the bad value and says what to do. {@link
 * CliErrors} prints it as {@code error[code]: message}.
 */
final class CliFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The command line is wrong: an unknown option, a missing or contradictory one. */
  static final String USAGE = "usage";

  /** A flag, environment variable or config-file value is not valid. */
  static final String INVALID_SETTING = "invalid_setting";

  static final String FILE_NOT_FOUND = "file_not_found";
  static final String FILE_UNREADABLE = "file_unreadable";

  /** A file exists but is not what the command expects (YAML or JSON that does not parse). */
  static final String INVALID_FILE = "invalid_file";

  /** The --data directory holds no Castellan database (only {@code serve} creates one). */
  static final String NO_DATABASE = "no_database";

  /** Another process (a running server) holds the embedded database's lock. */
  static final String STORE_LOCKED = "store_locked";

  static final String STORE_UNAVAILABLE = "store_unavailable";
  static final String PORT_IN_USE = "port_in_use";
  static final String SERVER_UNREACHABLE = "server_unreachable";
  static final String INVALID_ARGUMENT = "invalid_argument";

  /** Anything not foreseen; the message says how to see the details. */
  static final String INTERNAL = "internal";

  private final String code;

  CliFailure(String code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  CliFailure(String code, String message, Throwable cause) {
    super(message, cause, false, false);
    this.code = code;
  }

  String code() {
    return code;
  }
}
