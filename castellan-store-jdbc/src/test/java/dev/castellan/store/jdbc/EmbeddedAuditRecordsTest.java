package dev.castellan.store.jdbc;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.io.TempDir;

/** {@link AuditRecordsTest} on the embedded H2 database. */
class EmbeddedAuditRecordsTest extends AuditRecordsTest {
  @TempDir Path dataDir;

  @Override
  protected JdbcStore open() {
    return JdbcStore.embedded(dataDir);
  }

  @Override
  protected JdbcStore second() {
    return store;
  }

  @Override
  protected void tamper(String... statements) throws SQLException {
    store.close();
    String url = "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("castellan");
    try (Connection connection = DriverManager.getConnection(url, "sa", "");
        Statement statement = connection.createStatement()) {
      for (String sql : statements) {
        statement.execute(sql);
      }
    }
    store = open();
  }
}
