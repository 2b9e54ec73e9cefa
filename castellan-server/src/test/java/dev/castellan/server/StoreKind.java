package dev.castellan.server;

import dev.castellan.store.MemoryStore;
import dev.castellan.store.Store;
import dev.castellan.store.jdbc.JdbcStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The stores a server test suite runs over: the same suite runs once per kind, against one server
 * per kind (a {@code @ParameterizedClass} over this enum). {@link #create()} gives a fresh, empty
 * store; PostgreSQL comes from {@code CASTELLAN_TEST_PG_URL} and its absence fails the suite, as
 * the store tests do, rather than skipping it. Surefire's reports name a run by its index in this
 * enum's order: {@code foo()[1]} ran on memory, {@code [2]} on H2, {@code [3]} on PostgreSQL.
 */
public enum StoreKind {
  MEMORY("memory") {
    @Override
    public TestStore create() {
      return new TestStore(new MemoryStore(), () -> {});
    }
  },
  EMBEDDED("H2 (embedded)") {
    @Override
    public TestStore create() {
      Path dir;
      try {
        dir = Files.createTempDirectory("castellan-server-test-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return new TestStore(JdbcStore.embedded(dir), () -> deleteTree(dir));
    }
  },
  POSTGRES("PostgreSQL") {
    @Override
    public TestStore create() {
      String adminUrl = System.getenv(PG_ENV);
      if (adminUrl == null || adminUrl.isBlank()) {
        throw new IllegalStateException(
            PG_ENV
                + " is not set. The server suites run over PostgreSQL too: set it to a JDBC URL of a"
                + " database whose user may CREATE DATABASE, for example "
                + PG_ENV
                + "=jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres (./run-tests sets it)");
      }
      String database =
          "castellan_srv_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
      sql(adminUrl, "CREATE DATABASE " + database);
      Store store;
      try {
        store = JdbcStore.postgres(withDatabase(adminUrl, database));
      } catch (RuntimeException e) {
        sql(adminUrl, "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
        throw e;
      }
      return new TestStore(
          store, () -> sql(adminUrl, "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)"));
    }
  };

  /** The environment variable naming the PostgreSQL server the tests may create databases on. */
  public static final String PG_ENV = "CASTELLAN_TEST_PG_URL";

  private final String label;

  StoreKind(String label) {
    this.label = label;
  }

  /** A fresh, empty store of this kind. */
  public abstract TestStore create();

  @Override
  public String toString() {
    return label;
  }

  /**
   * A store made for a test, the server started on it, and what removes its data directory or
   * database. {@link #close()} undoes all three, once.
   */
  public static final class TestStore implements AutoCloseable {
    private final Store store;
    private final Runnable remove;
    private CastellanServer server;
    private boolean closed;

    TestStore(Store store, Runnable remove) {
      this.store = store;
      this.remove = remove;
    }

    /** The store, for a test that starts its server itself. */
    public Store store() {
      return store;
    }

    /** Starts a server on this store with {@code options}; {@link #close()} stops it. */
    public CastellanServer startServer(CastellanServer.Options options) {
      if (server != null) {
        throw new IllegalStateException("a server already runs on this test store");
      }
      server = CastellanServer.start(options, store);
      return server;
    }

    /** Stops the server, closes the store (again, harmlessly, if the server did) and removes it. */
    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      try {
        if (server != null) {
          server.close();
        }
      } finally {
        try {
          store.close();
        } finally {
          remove.run();
        }
      }
    }
  }

  public static void sql(String url, String statement) {
    try (Connection connection = DriverManager.getConnection(url);
        Statement sql = connection.createStatement()) {
      sql.execute(statement);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "PostgreSQL at " + PG_ENV + " refused: " + statement + ": " + e.getMessage(), e);
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not remove the test data directory " + dir, e);
    }
  }

  /** {@code jdbcUrl} with its database name replaced by {@code database}. */
  public static String withDatabase(String jdbcUrl, String database) {
    int hostStart = jdbcUrl.indexOf("//");
    if (hostStart < 0) {
      throw new IllegalArgumentException(
          PG_ENV + " is not a jdbc:postgresql://host/database URL: " + jdbcUrl);
    }
    int query = jdbcUrl.indexOf('?', hostStart);
    int end = query < 0 ? jdbcUrl.length() : query;
    int slash = jdbcUrl.indexOf('/', hostStart + 2);
    if (slash < 0 || slash > end) {
      return jdbcUrl.substring(0, end) + "/" + database + jdbcUrl.substring(end);
    }
    return jdbcUrl.substring(0, slash + 1) + database + jdbcUrl.substring(end);
  }
}
