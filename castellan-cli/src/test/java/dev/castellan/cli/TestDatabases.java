package dev.castellan.cli;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ThreadLocalRandom;

/** Throwaway PostgreSQL databases on the server named by {@code CASTELLAN_TEST_PG_URL}. */
final class TestDatabases {
  private TestDatabases() {}

  static String baseUrl() {
    String url = System.getenv("CASTELLAN_TEST_PG_URL");
    if (url == null || url.isBlank()) {
      throw new IllegalStateException(
          "CASTELLAN_TEST_PG_URL is not set: PostgreSQL tests need it (./run-tests sets it up)");
    }
    return url;
  }

  /** Creates an empty database and returns its JDBC URL (same server, user and options). */
  static String create(String prefix) throws SQLException {
    String base = baseUrl();
    String name =
        prefix + "_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
    try (Connection connection = DriverManager.getConnection(base);
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE DATABASE " + name);
    }
    return withDatabase(base, name);
  }

  static void drop(String url) {
    String name = databaseOf(url);
    try (Connection connection = DriverManager.getConnection(withDatabase(url, "postgres"));
        Statement statement = connection.createStatement()) {
      statement.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (SQLException e) {
      // best effort: the CI run drops its whole server-side state anyway
    }
  }

  private static String databaseOf(String url) {
    String rest = url.substring(url.indexOf("//") + 2);
    String path = rest.substring(rest.indexOf('/') + 1);
    int query = path.indexOf('?');
    return query < 0 ? path : path.substring(0, query);
  }

  private static String withDatabase(String url, String database) {
    String prefix = url.substring(0, url.indexOf('/', url.indexOf("//") + 2) + 1);
    int query = url.indexOf('?');
    return prefix + database + (query < 0 ? "" : url.substring(query));
  }
}
