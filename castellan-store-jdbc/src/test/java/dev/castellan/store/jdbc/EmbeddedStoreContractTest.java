package dev.castellan.store.jdbc;

import dev.castellan.store.Store;
import dev.castellan.store.StoreContract;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on the embedded H2 database, a fresh data directory per test. */
class EmbeddedStoreContractTest extends StoreContract {
  @TempDir Path dataDir;

  @Override
  protected Store newStore() {
    return JdbcStore.embedded(dataDir);
  }
}
