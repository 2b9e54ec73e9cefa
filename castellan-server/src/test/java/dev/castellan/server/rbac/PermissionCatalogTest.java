package dev.castellan.server.rbac;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class PermissionCatalogTest {
  private final PermissionCatalog catalog = PermissionCatalog.defaults();

  @Test
  void defaults_holdSeed002s42GatewayPermissions_andTheAiResources() {
    assertThat(catalog.all().stream().filter(p -> p.id() < 100)).hasSize(42);
    assertThat(catalog.resources()).hasSize(16);
    assertThat(catalog.resources().get("Models"))
        .containsExactly("Read", "Write", "Deploy", "Delete", "Approve", "AccessSensitiveData");
    assertThat(catalog.byId(1)).map(Permission::name).contains("Logs.View");
  }

  @Test
  void resolve_acceptsFullNamesLooselyAndBareOperationsOfTheDefaultResource() {
    assertThat(catalog.resolve("logs.view", "Workflows").id()).isEqualTo(1);
    assertThat(catalog.resolve("models.access-sensitive-data", "Workflows").name())
        .isEqualTo("Models.AccessSensitiveData");
    assertThat(catalog.resolve("run", "Workflows").name()).isEqualTo("Workflows.Run");
    assertThat(catalog.resolve("deploy", "Models").name()).isEqualTo("Models.Deploy");
    assertThatThrownBy(() -> catalog.resolve("deploy", "Workflows"))
        .hasMessageContaining("unknown permission 'deploy'");
  }

  @Test
  void extensions_needIdsFrom1000_andUniqueNames() {
    PermissionCatalog extended = catalog.with(List.of(Permission.of(1001, "Datasets", "Read")));
    assertThat(extended.resolve("Datasets.Read", "Workflows").id()).isEqualTo(1001);
    assertThatThrownBy(() -> catalog.with(List.of(Permission.of(500, "Datasets", "Read"))))
        .hasMessageContaining("reserved");
    assertThatThrownBy(() -> catalog.with(List.of(Permission.of(1001, "Logs", "View"))))
        .hasMessageContaining("used twice");
    assertThatThrownBy(() -> catalog.with(List.of(Permission.of(1001, "Data sets", "Read"))))
        .hasMessageContaining("resource");
  }
}
