package dev.castellan.store.jdbc;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** {@link AuditRecordsTest} on PostgreSQL ({@code CASTELLAN_TEST_PG_URL}). */
class PostgresAuditRecordsTest extends AuditRecordsTest {
  private static PostgresTestDatabase database;
  private String url;

  @BeforeAll
  static void createDatabase() throws SQLException {
    database = PostgresTestDatabase.create();
  }

  @AfterAll
  static void dropDatabase() throws SQLException {
    if (database != null) {
      database.close();
    }
  }

  @Override
  protected JdbcStore open() throws SQLException {
    url = database.freshSchemaUrl();
    return JdbcStore.postgres(url);
  }

  @Override
  protected JdbcStore second() {
    return JdbcStore.postgres(url);
  }

  @Override
  protected void tamper(String... statements) throws SQLException {
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement()) {
      for (String sql : statements) {
        statement.execute(sql);
      }
    }
  }
}
