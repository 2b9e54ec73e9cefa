package dev.castellan.store.jdbc;

import dev.castellan.store.Store;
import dev.castellan.store.StoreContracts;
import java.sql.SQLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Every store contract on PostgreSQL ({@code CASTELLAN_TEST_PG_URL}), in a database of its own with
 * a fresh schema per test.
 */
class PostgresStoreContractTest extends StoreContracts {
  private static PostgresTestDatabase database;

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
  protected Store fresh() {
    try {
      return JdbcStore.postgres(database.freshSchemaUrl());
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
