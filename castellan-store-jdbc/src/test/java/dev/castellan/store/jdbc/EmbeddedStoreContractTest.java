package dev.castellan.store.jdbc;

import dev.castellan.audit.AuditRecordsContract;
import dev.castellan.store.CredentialStoreContract;
import dev.castellan.store.DocumentStoreContract;
import dev.castellan.store.ModelStoreContract;
import dev.castellan.store.Store;
import dev.castellan.store.StoreCatalogContract;
import dev.castellan.store.TupleStoreContract;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/** Every store contract on the embedded H2 database, a fresh data directory per test. */
class EmbeddedStoreContractTest {
  @TempDir Path dataDir;

  private Store fresh() {
    return JdbcStore.embedded(dataDir);
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
