package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.server.auth.AccessControl;
import dev.castellan.store.PageRequest;
import dev.castellan.store.jdbc.JdbcStore;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The system store's model survives restarts on a durable store without piling up versions. */
class SystemStoreUpgradeTest {
  @TempDir Path dir;

  @Test
  void reopening_keepsOneSystemModel_whenTheCodesModelIsUnchanged() {
    String systemStore;
    try (JdbcStore store = JdbcStore.embedded(dir)) {
      systemStore = AccessControl.open(store).systemStoreId();
    }
    try (JdbcStore store = JdbcStore.embedded(dir)) {
      assertThat(AccessControl.open(store).systemStoreId()).isEqualTo(systemStore);
      assertThat(store.listModels(systemStore, PageRequest.first(10)).items()).hasSize(1);
    }
  }
}
