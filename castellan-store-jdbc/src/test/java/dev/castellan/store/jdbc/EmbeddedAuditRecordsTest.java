package dev.castellan.store.jdbc;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.io.TempDir;

/** {@link AuditRecordsTest} on the embedded H2 database. */
class EmbeddedAuditRecordsTest extends AuditRecordsTest {
  @TempDir Path dataDir;

  @Override
  protected JdbcStore open() {
    return JdbcStore.embedded(dataDir);
  }

  @Override
  protected JdbcStore openUpgradedFromV5(Tampering beforeUpgrade) throws SQLException {
    Path dir = dataDir.resolve("from-v5");
    String url = "jdbc:h2:file:" + dir.toAbsolutePath().resolve("castellan");
    Flyway.configure()
        .dataSource(url, "sa", "")
        .locations("classpath:db/migration/h2")
        .target("5")
        .load()
        .migrate();
    try (Connection connection = DriverManager.getConnection(url, "sa", "")) {
      beforeUpgrade.on(connection);
    }
    return JdbcStore.embedded(dir);
  }

  @Override
  protected JdbcStore second() {
    return store;
  }

  @Override
  protected void tamper(Tampering work) throws SQLException {
    store.close();
    String url = "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("castellan");
    try (Connection connection = DriverManager.getConnection(url, "sa", "")) {
      work.on(connection);
    }
    store = open();
  }
}
