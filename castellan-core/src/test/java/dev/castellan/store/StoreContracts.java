package dev.castellan.store;

import dev.castellan.audit.AuditRecordsContract;
import org.junit.jupiter.api.Nested;

/**
 * Every store contract, as nested suites over one implementation: a store implementation's test
 * extends this and says how to make a fresh store. A new store interface adds its contract here
 * once, and it runs on every implementation.
 */
public abstract class StoreContracts {

  /** A store with nothing in it, for one test. */
  protected abstract Store fresh();

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
  class Directory extends DirectoryStoreContract {
    @Override
    protected Store newStore() {
      return fresh();
    }
  }

  @Nested
  class Pending extends PendingStoreContract {
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
