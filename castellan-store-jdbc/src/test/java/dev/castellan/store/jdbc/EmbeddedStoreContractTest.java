package dev.castellan.store.jdbc;

import dev.castellan.store.Store;
import dev.castellan.store.StoreContracts;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** Every store contract on the embedded H2 database, a fresh data directory per test. */
class EmbeddedStoreContractTest extends StoreContracts {
  @TempDir Path dataDir;

  @Override
  protected Store fresh() {
    return JdbcStore.embedded(dataDir);
  }
}
