package dev.castellan.store.jdbc;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A throw-away PostgreSQL database for one test class, made through the admin URL in {@code
 * CASTELLAN_TEST_PG_URL} and dropped afterwards. Each {@link #freshSchemaUrl()} is an empty schema
 * in it, so tests do not see each other's stores.
 */
final class PostgresTestDatabase implements AutoCloseable {
  static final String ENV = "CASTELLAN_TEST_PG_URL";

  private final String adminUrl;
  private final String name;
  private final String url;
  private final AtomicInteger schemas = new AtomicInteger();

  private PostgresTestDatabase(String adminUrl, String name) {
    this.adminUrl = adminUrl;
    this.name = name;
    this.url = withDatabase(adminUrl, name);
  }

  /** Creates the database; fails (never skips) when no PostgreSQL is configured. */
  static PostgresTestDatabase create() throws SQLException {
    String adminUrl = System.getenv(ENV);
    if (adminUrl == null || adminUrl.isBlank()) {
      throw new IllegalStateException(
          ENV
              + " is not set. The PostgreSQL store tests need a server to run against: set it to a"
              + " JDBC URL of a database whose user may CREATE DATABASE, for example "
              + ENV
              + "=jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres");
    }
    String name = "castellan_t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    try (Connection connection = DriverManager.getConnection(adminUrl);
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE DATABASE " + name);
    }
    return new PostgresTestDatabase(adminUrl, name);
  }

  /** The URL of the test database (its default schema). */
  String url() {
    return url;
  }

  /** The URL of a new, empty schema of the test database. */
  String freshSchemaUrl() throws SQLException {
    String schema = "s" + schemas.incrementAndGet();
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE SCHEMA " + schema);
    }
    return url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  @Override
  public void close() throws SQLException {
    try (Connection connection = DriverManager.getConnection(adminUrl);
        Statement statement = connection.createStatement()) {
      statement.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }
  }

  /** {@code jdbcUrl} with its database name replaced by {@code database}. */
  static String withDatabase(String jdbcUrl, String database) {
    int hostStart = jdbcUrl.indexOf("//");
    if (hostStart < 0) {
      throw new IllegalArgumentException("not a jdbc:postgresql://host/database URL: " + jdbcUrl);
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
