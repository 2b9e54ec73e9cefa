package dev.castellan.store.jdbc;

import dev.castellan.audit.AuditRecordsContract;
import dev.castellan.store.CredentialStoreContract;
import dev.castellan.store.DocumentStoreContract;
import dev.castellan.store.ModelStoreContract;
import dev.castellan.store.Store;
import dev.castellan.store.StoreCatalogContract;
import dev.castellan.store.TupleStoreContract;
import java.sql.SQLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;

/**
 * Every store contract on PostgreSQL ({@code CASTELLAN_TEST_PG_URL}), in a database of its own with
 * a fresh schema per test.
 */
class PostgresStoreContractTest {
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

  private static Store fresh() {
    try {
      return JdbcStore.postgres(database.freshSchemaUrl());
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Nested
  class Catalog extends StoreCatalogContract {
    @Override
    protected Store newStore() {
      return fresh();
    }
  }

  @Nested
  class Tuples extends TupleStoreContract {
    @Override
    protected Store newStore() {
      return fresh();
    }
  }

  @Nested
  class Models extends ModelStoreContract {
    @Override
    protected Store newStore() {
      return fresh();
    }
  }

  @Nested
  class Credentials extends CredentialStoreContract {
    @Override
    protected Store newStore() {
      return fresh();
    }
  }

  @Nested
  class Documents extends DocumentStoreContract {
    @Override
    protected Store newStore() {
      return fresh();
    }
  }

  @Nested
  class Audit extends AuditRecordsContract {
    @Override
    protected Store newStore() {
      return fresh();
    }
  }
}
