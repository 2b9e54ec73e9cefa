package dev.castellan.store.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

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
  protected JdbcStore openUpgradedFromV5(Tampering beforeUpgrade) throws SQLException {
    String upgradeUrl = database.freshSchemaUrl();
    Flyway.configure()
        .dataSource(upgradeUrl, null, null)
        .locations("classpath:db/migration/postgresql")
        .target("5")
        .load()
        .migrate();
    try (Connection connection = DriverManager.getConnection(upgradeUrl)) {
      beforeUpgrade.on(connection);
    }
    return JdbcStore.postgres(upgradeUrl);
  }

  @Test
  void theAuditEntriesView_showsALineAndItsSeqPerEntry() throws SQLException {
    store
        .auditRecords()
        .append(List.of(entry(1, "user:anne", "deny"), entry(2, "user:bob", "allow")));
    store.auditRecords().append(List.of(entry(3, "user:carl", "deny")));
    List<String> rows = new ArrayList<>();
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT seq, line::jsonb ->> 'subject', line::jsonb ->> 'outcome'"
                    + " FROM audit_entries ORDER BY seq")) {
      while (rs.next()) {
        rows.add(rs.getLong(1) + " " + rs.getString(2) + " " + rs.getString(3));
      }
    }
    assertThat(rows).containsExactly("1 user:anne deny", "2 user:bob allow", "3 user:carl deny");
  }

  @Override
  protected JdbcStore second() {
    return JdbcStore.postgres(url);
  }

  @Override
  protected void tamper(Tampering work) throws SQLException {
    try (Connection connection = DriverManager.getConnection(url)) {
      work.on(connection);
    }
  }
}
