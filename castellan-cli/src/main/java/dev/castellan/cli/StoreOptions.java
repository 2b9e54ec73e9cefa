package dev.castellan.cli;

import dev.castellan.CastellanException;
import dev.castellan.store.Store;
import dev.castellan.store.jdbc.JdbcStore;
import dev.castellan.store.jdbc.ReadReplica;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where Castellan keeps its data: the embedded store under a directory, or PostgreSQL. */
final class StoreOptions {
  @Option(
      names = "--data",
      paramLabel = "DIR",
      description = "directory of the embedded store (default: ./data, or $CASTELLAN_DATA)")
  Path data;

  @Option(
      names = "--pg-url",
      paramLabel = "JDBC_URL",
      description =
          "PostgreSQL instead of the embedded store, e.g."
              + " jdbc:postgresql://127.0.0.1:5432/castellan?user=postgres (or $CASTELLAN_PG_URL)")
  String pgUrl;

  @Option(
      names = "--change-feed",
      paramLabel = "notify|poll",
      description =
          "how nodes over one PostgreSQL learn of each other's writes: notify (default: NOTIFY at"
              + " commit, LISTEN on one connection, plus polling) or poll (polling alone, no"
              + " LISTEN/NOTIFY, for CockroachDB or YugabyteDB; or $CASTELLAN_CHANGE_FEED)")
  String changeFeed;

  /** {@code change_feed} of serve's config file, and where it was read, for error messages. */
  String changeFeedFromConfig;

  String changeFeedSource = "change_feed";

  /**
   * Opens an existing store. An embedded directory that holds no database is refused rather than
   * filled with an empty one: a mistyped {@code --data} should not look like a server with no keys.
   */
  Store open() {
    return open(false);
  }

  /** Opens the store, creating an empty embedded database when there is none ({@code serve}). */
  Store openOrCreate() {
    return open(true, null);
  }

  /** {@link #openOrCreate()} with reads on {@code replica} too, when it is not null. */
  Store openOrCreate(ReadReplica replica) {
    return open(true, replica);
  }

  private Store open(boolean create) {
    return open(create, null);
  }

  private Store open(boolean create, ReadReplica replica) {
    String url = pgUrl();
    if (!url.isEmpty()) {
      if (data != null) {
        throw new CliFailure(CliFailure.USAGE, "give either --data or --pg-url, not both");
      }
      JdbcStore.ChangeSignal signal = changeSignal();
      try {
        return replica == null
            ? JdbcStore.postgres(url, signal)
            : JdbcStore.postgres(url, signal, replica);
      } catch (CastellanException e) {
        throw new CliFailure(
            CliFailure.STORE_UNAVAILABLE,
            CliErrors.describe(e, "").getMessage()
                + " ("
                + describe()
                + "; check --pg-url or CASTELLAN_PG_URL, and that PostgreSQL is running)",
            e);
      }
    }
    Path dir = dataDirectory();
    Path file = JdbcStore.embeddedFile(dir);
    if (!create && !Files.exists(file)) {
      throw new CliFailure(
          CliFailure.NO_DATABASE,
          "no Castellan database in "
              + dir.toAbsolutePath()
              + " (there is no "
              + file.getFileName()
              + "): check --data or CASTELLAN_DATA (default ./data); only 'castellan serve'"
              + " creates a database");
    }
    try {
      return JdbcStore.embedded(dir);
    } catch (CastellanException e) {
      if (CliErrors.lockedFile(e).isPresent()) {
        throw new CliFailure(
            CliFailure.STORE_LOCKED,
            "the embedded store in "
                + dir.toAbsolutePath()
                + " is in use: another process (a running castellan serve?) holds the lock on "
                + file
                + ". Stop that server first, or use its HTTP API instead, or use PostgreSQL"
                + " (--pg-url), which several processes can share",
            e);
      }
      throw e;
    }
  }

  /**
   * The change feed's mode from {@code --change-feed}, else {@code $CASTELLAN_CHANGE_FEED}, else
   * what {@code serve} read from its config file: a wrong value stops the command, whatever store
   * it names, rather than fall back to a mode the database may not support.
   */
  JdbcStore.ChangeSignal changeSignal() {
    String value = changeFeed;
    String source = "--change-feed";
    if (value == null) {
      String env = System.getenv("CASTELLAN_CHANGE_FEED");
      value = env == null || env.isBlank() ? changeFeedFromConfig : env;
      source = env == null || env.isBlank() ? changeFeedSource : "CASTELLAN_CHANGE_FEED";
    }
    if (value == null) {
      return JdbcStore.ChangeSignal.NOTIFY;
    }
    return switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
      case "notify" -> JdbcStore.ChangeSignal.NOTIFY;
      case "poll" -> JdbcStore.ChangeSignal.POLL;
      default ->
          throw new CliFailure(
              CliFailure.INVALID_SETTING,
              source
                  + " is '"
                  + value.strip()
                  + "': give notify (LISTEN/NOTIFY, the default) or poll (for a database without"
                  + " LISTEN/NOTIFY, such as CockroachDB or YugabyteDB)");
    };
  }

  /** True for the embedded store, which one process at a time may open. */
  boolean embedded() {
    return pgUrl().isEmpty();
  }

  /** The options that name this store on another command's line, without credentials. */
  String asArguments() {
    return embedded() ? "--data " + dataDirectory().toAbsolutePath() : "--pg-url <the same URL>";
  }

  private String pgUrl() {
    String url = pgUrl != null ? pgUrl : System.getenv("CASTELLAN_PG_URL");
    return url == null ? "" : url.strip();
  }

  Path dataDirectory() {
    if (data != null) {
      return data;
    }
    String env = System.getenv("CASTELLAN_DATA");
    return Path.of(env == null || env.isBlank() ? "data" : env);
  }

  String describe() {
    String url = pgUrl();
    if (!url.isEmpty()) {
      int query = url.indexOf('?');
      return "PostgreSQL " + (query < 0 ? url : url.substring(0, query)); // no credentials in logs
    }
    return "embedded store in " + dataDirectory().toAbsolutePath();
  }
}
