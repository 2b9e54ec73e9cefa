package dev.castellan.server;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A PostgreSQL primary and a streaming replica of it (a hot standby), made for one test class and
 * gone after it, failed or not: {@code initdb}, then {@code pg_basebackup -R}, each cluster run by
 * the {@code postgres} OS user on a free port of 127.0.0.1 with trust authentication, in a
 * temporary directory. Register it as a static {@code @RegisterExtension} field. The PostgreSQL 15
 * server binaries must be installed (the {@code postgresql} package): without them the tests fail,
 * they are not skipped.
 */
public final class StreamingReplica implements BeforeAllCallback, AfterAllCallback {
  /** Where the server binaries are; {@code CASTELLAN_TEST_PG_BIN} names another directory. */
  static final Path BIN =
      Path.of(System.getenv().getOrDefault("CASTELLAN_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"));

  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(120);

  private Path base;
  private Path primaryData;
  private Path replicaData;
  private int primaryPort;
  private int replicaPort;
  private boolean replicaRunning;
  private boolean replayPaused;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    for (String tool : List.of("initdb", "pg_ctl", "pg_basebackup", "postgres")) {
      if (!Files.isExecutable(BIN.resolve(tool))) {
        throw new IllegalStateException(
            BIN.resolve(tool)
                + " is missing: the streaming replica tests need the PostgreSQL 15 server binaries"
                + " (apt-get install postgresql), or CASTELLAN_TEST_PG_BIN naming their directory");
      }
    }
    base = Files.createTempDirectory("castellan-replica-");
    try {
      start();
    } catch (Exception | Error e) {
      afterAll(context);
      throw e;
    }
  }

  private void start() throws Exception {
    run("chown", "postgres:postgres", base.toString());
    primaryData = base.resolve("primary");
    replicaData = base.resolve("replica");
    primaryPort = freePort();
    asPostgres(
        "initdb", "-D", primaryData.toString(), "-A", "trust", "-U", "postgres", "--no-sync");
    configure(
        primaryData,
        primaryPort,
        "wal_level = replica",
        "max_wal_senders = 4",
        "wal_keep_size = '64MB'");
    asPostgres(
        "pg_ctl",
        "-D",
        primaryData.toString(),
        "-l",
        base.resolve("primary.log").toString(),
        "-w",
        "start");
    // -R writes standby.signal and primary_conninfo: the copy starts as a streaming standby.
    asPostgres(
        "pg_basebackup",
        "-h",
        "127.0.0.1",
        "-p",
        String.valueOf(primaryPort),
        "-U",
        "postgres",
        "-D",
        replicaData.toString(),
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
        "--no-sync");
    replicaPort = freePort();
    configure(replicaData, replicaPort, "hot_standby = on");
    startReplica();
    try (Connection connection = DriverManager.getConnection(replicaUrl("postgres"));
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SELECT pg_is_in_recovery()")) {
      rs.next();
      if (!rs.getBoolean(1)) {
        throw new IllegalStateException("the replica on port " + replicaPort + " is no standby");
      }
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    List<Exception> failures = new ArrayList<>();
    for (Path data : new Path[] {replicaData, primaryData}) {
      if (data != null && Files.exists(data.resolve("postmaster.pid"))) {
        try {
          asPostgres("pg_ctl", "-D", data.toString(), "-m", "immediate", "-w", "stop");
        } catch (Exception e) {
          failures.add(e);
        }
      }
    }
    if (base != null) {
      try (Stream<Path> files = Files.walk(base)) {
        for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(file);
        }
      }
    }
    if (!failures.isEmpty()) {
      throw failures.getFirst();
    }
  }

  /** A JDBC URL of {@code database} on the primary. */
  public String primaryUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + primaryPort + "/" + database + "?user=postgres";
  }

  /** A JDBC URL of {@code database} on the replica. */
  public String replicaUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + replicaPort + "/" + database + "?user=postgres";
  }

  /**
   * A new database on the primary, returned once the replica has replayed its creation (a database
   * made by a test is seen by the replica a moment later).
   */
  public String createDatabase() throws SQLException {
    String name = "castellan_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    onPrimary("CREATE DATABASE " + name);
    Poll.until(
        "the replica to replay CREATE DATABASE " + name,
        Duration.ofSeconds(30),
        () -> {
          try (Connection connection = DriverManager.getConnection(replicaUrl(name))) {
            return connection.isValid(1);
          } catch (SQLException e) {
            return false;
          }
        });
    return name;
  }

  /** Runs {@code sql} on the primary's {@code postgres} database. */
  public void onPrimary(String sql) throws SQLException {
    try (Connection connection = DriverManager.getConnection(primaryUrl("postgres"));
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  /**
   * Stops applying the primary's WAL on the replica ({@code pg_wal_replay_pause()}): it keeps
   * receiving and answering, at the point it has reached, as a lagging replica does.
   */
  public void pauseReplay() throws SQLException {
    onReplica("SELECT pg_wal_replay_pause()");
    replayPaused = true;
  }

  /** Applies the primary's WAL again after {@link #pauseReplay()}. */
  public void resumeReplay() throws SQLException {
    onReplica("SELECT pg_wal_replay_resume()");
    replayPaused = false;
  }

  /** {@link #resumeReplay()} when a test left replay paused: for its clean-up. */
  public void resumeReplayIfPaused() throws SQLException {
    if (replicaRunning && replayPaused) {
      resumeReplay();
    }
  }

  /** Stops the replica's server at once, as a crash would. */
  public void stopReplica() throws IOException, InterruptedException {
    asPostgres("pg_ctl", "-D", replicaData.toString(), "-m", "immediate", "-w", "stop");
    replicaRunning = false;
    replayPaused = false; // a restarted standby replays again
  }

  /** Starts the replica again (it catches up with the primary by streaming). */
  public void startReplica() throws IOException, InterruptedException {
    if (replicaRunning) {
      return;
    }
    asPostgres(
        "pg_ctl",
        "-D",
        replicaData.toString(),
        "-l",
        base.resolve("replica.log").toString(),
        "-w",
        "start");
    replicaRunning = true;
  }

  private void onReplica(String sql) throws SQLException {
    try (Connection connection = DriverManager.getConnection(replicaUrl("postgres"));
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  /** Settings appended to a cluster's postgresql.conf: later lines win over earlier ones. */
  private void configure(Path data, int port, String... settings) throws IOException {
    List<String> lines = new ArrayList<>();
    lines.add("port = " + port);
    lines.add("listen_addresses = '127.0.0.1'");
    lines.add("unix_socket_directories = '" + base + "'");
    lines.add("shared_buffers = '16MB'");
    lines.add("fsync = off"); // a throw-away cluster: speed over crash safety
    lines.add("max_connections = 50");
    lines.addAll(List.of(settings));
    Files.writeString(
        data.resolve("postgresql.conf"),
        "\n# castellan test\n" + String.join("\n", lines) + "\n",
        StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.APPEND);
  }

  private void asPostgres(String tool, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
    command.add(BIN.resolve(tool).toString());
    command.addAll(List.of(args));
    run(command.toArray(String[]::new));
  }

  /**
   * Runs a command to its end; its output goes to a file, not a pipe, since a server started by
   * {@code pg_ctl} could hold a pipe open after the command itself has exited.
   */
  private void run(String... command) throws IOException, InterruptedException {
    Path output = Files.createTempFile(base, "command-", ".out");
    Process process =
        new ProcessBuilder(command)
            .directory(base.toFile())
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    if (!process.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException(
          String.join(" ", command) + " did not finish in " + COMMAND_TIMEOUT);
    }
    if (process.exitValue() != 0) {
      throw new IllegalStateException(
          String.join(" ", command)
              + " failed with exit code "
              + process.exitValue()
              + ":\n"
              + Files.readString(output)
              + logs());
    }
    Files.delete(output);
  }

  private String logs() throws IOException {
    StringBuilder out = new StringBuilder();
    for (String log : List.of("primary.log", "replica.log")) {
      Path file = base.resolve(log);
      if (Files.exists(file)) {
        out.append("\n--- ").append(log).append(":\n").append(Files.readString(file));
      }
    }
    return out.toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
