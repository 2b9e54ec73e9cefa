package dev.castellan.store;

import dev.castellan.audit.AuditRecordsContract;
import org.junit.jupiter.api.Nested;

/** Every store contract on the in-memory parts. */
class MemoryStoreContractTest {

  private static Store fresh() {
    return new MemoryStore();
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
