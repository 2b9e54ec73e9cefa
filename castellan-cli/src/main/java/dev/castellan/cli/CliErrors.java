package dev.castellan.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.model.InvalidModelException;
import dev.castellan.model.ModelError;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * How the CLI reports a failure: one line per error, {@code error[code]: message}, with a stable
 * code and a message that says what to do, and never a Java class name or stack trace (set {@code
 * CASTELLAN_DEBUG=1} to see the stack trace as well). Every exception a command lets escape comes
 * through {@link #describe}, so a new failure mode gets a readable line even before anyone writes a
 * message for it.
 */
final class CliErrors {
  /** Exit status of every error (1 is a negative answer: denied, a failed test, a broken chain). */
  static final int EXIT = 2;

  /** A qualified exception class name such as {@code java.nio.file.NoSuchFileException: }. */
  private static final Pattern CLASS_NAME =
      Pattern.compile(
          "\\b(?:[a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*(?:Exception|Error)\\b(?::\\s*)?");

  /** H2 (MVStore) refusing a database file another process holds open. */
  private static final Pattern H2_LOCKED =
      Pattern.compile("The file is locked: ?(\\S+\\.mv\\.db)?");

  private CliErrors() {}

  /** Prints {@code failure} as {@code error[code]: message}. */
  static void print(PrintWriter err, CliFailure failure) {
    err.println("error[" + failure.code() + "]: " + clean(failure.getMessage()));
    if (debug()) {
      Throwable cause = failure.getCause() == null ? failure : failure.getCause();
      cause.printStackTrace(err);
    }
    err.flush();
  }

  /** The execution-exception handler of the {@code castellan} command line. */
  static int handle(Exception e, CommandLine command) {
    PrintWriter err = command.getErr();
    if (e instanceof InvalidModelException invalid) {
      for (ModelError error : invalid.errors()) {
        err.println(
            "error["
                + ErrorCode.INVALID_AUTHORIZATION_MODEL.wireName()
                + "]: "
                + clean(error.describe()));
      }
      err.flush();
      return EXIT;
    }
    if (e instanceof dev.castellan.model.ModularModel.InvalidModularModelException invalid) {
      for (dev.castellan.model.ModularModel.FileError error : invalid.errors()) {
        err.println(
            "error["
                + ErrorCode.INVALID_AUTHORIZATION_MODEL.wireName()
                + "]: "
                + clean(error.describe()));
      }
      err.flush();
      return EXIT;
    }
    if (e instanceof FgaModFile.InvalidManifestException invalid) {
      for (ModelError error : invalid.errors()) {
        err.println(
            "error["
                + CliFailure.INVALID_FILE
                + "]: "
                + clean(invalid.file() + ":" + error.describe()));
      }
      err.flush();
      return EXIT;
    }
    print(err, describe(e, command.getCommandSpec().qualifiedName()));
    return EXIT;
  }

  /** The parameter-exception handler: one line, and where to read the command's help. */
  static int handleUsage(CommandLine.ParameterException e, String[] args) {
    CommandLine command = e.getCommandLine();
    String message = e.getMessage();
    if (e instanceof CommandLine.UnmatchedArgumentException unmatched) {
      List<String> suggestions = unmatched.getSuggestions();
      if (!suggestions.isEmpty()) {
        message +=
            "; did you mean "
                + String.join(" or ", suggestions.subList(0, Math.min(3, suggestions.size())))
                + "?";
      }
    }
    String name = command.getCommandSpec().qualifiedName();
    print(
        command.getErr(),
        new CliFailure(CliFailure.USAGE, message + " (see '" + name + " --help')", e));
    return command.getCommandSpec().exitCodeOnInvalidInput();
  }

  /** What went wrong, as a code and a message a person can act on. */
  static CliFailure describe(Throwable e, String command) {
    if (e instanceof CliFailure failure) {
      return failure;
    }
    Optional<String> locked = lockedFile(e);
    if (locked.isPresent()) {
      return new CliFailure(
          CliFailure.STORE_LOCKED,
          "the embedded database "
              + locked.get()
              + " is locked by another process (a running castellan serve?): stop that server,"
              + " or use its HTTP API, or use PostgreSQL (--pg-url), which several processes can"
              + " share",
          e);
    }
    if (find(e, BindException.class).isPresent()) {
      return new CliFailure(
          CliFailure.PORT_IN_USE,
          "the port is in use by another program: stop it, or choose another port with --port or"
              + " CASTELLAN_PORT",
          e);
    }
    if (e instanceof CastellanException ce) {
      String message = ce.getMessage();
      if (ce.code() == ErrorCode.STORE_UNAVAILABLE) {
        message += rootSqlMessage(ce).map(m -> ": " + m).orElse("");
      }
      return new CliFailure(ce.code().wireName(), message, e);
    }
    if (e instanceof UncheckedIOException unchecked) {
      CliFailure inner = describe(unchecked.getCause(), command);
      String prefix = unchecked.getMessage();
      int cut = prefix == null ? -1 : prefix.indexOf(':');
      return new CliFailure(
          inner.code(),
          (cut > 0 && !prefix.startsWith("java.") ? prefix.substring(0, cut) + ": " : "")
              + inner.getMessage(),
          e);
    }
    if (e instanceof NoSuchFileException missing) {
      return new CliFailure(
          CliFailure.FILE_NOT_FOUND, "no such file or directory: " + missing.getFile(), e);
    }
    if (e instanceof AccessDeniedException denied) {
      return new CliFailure(
          CliFailure.FILE_UNREADABLE, "permission denied: " + denied.getFile(), e);
    }
    if (e instanceof FileSystemException fs) {
      return new CliFailure(
          CliFailure.FILE_UNREADABLE,
          fs.getFile() + (fs.getReason() == null ? "" : ": " + fs.getReason()),
          e);
    }
    if (e instanceof JsonProcessingException json) {
      String where =
          json.getLocation() == null
              ? ""
              : " at line "
                  + json.getLocation().getLineNr()
                  + ":"
                  + json.getLocation().getColumnNr();
      return new CliFailure(
          CliFailure.INVALID_FILE,
          "not valid YAML or JSON" + where + ": " + json.getOriginalMessage(),
          e);
    }
    if (e instanceof ConnectException || e instanceof HttpTimeoutException) {
      return new CliFailure(
          CliFailure.SERVER_UNREACHABLE,
          "cannot reach the server"
              + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")")
              + ": is it running? Give its address with --url or CASTELLAN_URL",
          e);
    }
    if (e instanceof IOException io) {
      return new CliFailure(CliFailure.FILE_UNREADABLE, String.valueOf(io.getMessage()), e);
    }
    if (e instanceof NumberFormatException) {
      return new CliFailure(CliFailure.INVALID_SETTING, "not a number: " + e.getMessage(), e);
    }
    if (e instanceof IllegalArgumentException && e.getMessage() != null) {
      return new CliFailure(CliFailure.INVALID_ARGUMENT, e.getMessage(), e);
    }
    return new CliFailure(
        CliFailure.INTERNAL,
        "'"
            + command
            + "' failed unexpectedly; run it again with CASTELLAN_DEBUG=1 to see the details, and"
            + " please report them",
        e);
  }

  /** The H2 database file named by a "file is locked" error anywhere in the chain. */
  static Optional<String> lockedFile(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String message = t.getMessage();
      Matcher matcher = message == null ? null : H2_LOCKED.matcher(message);
      if (matcher != null && matcher.find()) {
        return Optional.of(matcher.group(1) == null ? "(castellan.mv.db)" : matcher.group(1));
      }
      if (t instanceof SQLException sql && sql.getErrorCode() == 90020) {
        return Optional.of("(castellan.mv.db)"); // H2's DATABASE_ALREADY_OPEN
      }
    }
    return Optional.empty();
  }

  static <T extends Throwable> Optional<T> find(Throwable e, Class<T> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return Optional.of(type.cast(t));
      }
    }
    return Optional.empty();
  }

  /** The first line of the innermost SQL error: what the database itself said. */
  private static Optional<String> rootSqlMessage(Throwable e) {
    String found = null;
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLException && t.getMessage() != null) {
        found = t.getMessage();
      }
    }
    if (found == null) {
      return Optional.empty();
    }
    String line = found.lines().findFirst().orElse("").strip();
    return line.isEmpty() ? Optional.empty() : Optional.of(line);
  }

  /** One line, no Java class names. */
  static String clean(String message) {
    if (message == null || message.isBlank()) {
      return "(no details)";
    }
    String oneLine = message.strip().replaceAll("\\s*\\R\\s*", " ");
    return CLASS_NAME.matcher(oneLine).replaceAll("");
  }

  private static boolean debug() {
    String value = System.getenv("CASTELLAN_DEBUG");
    return value != null && !value.isBlank() && !value.equals("0") && !value.equals("false");
  }
}
