package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModuleSource;
import dev.castellan.store.Store;
import dev.castellan.store.jdbc.JdbcStore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Modular models (an {@code fga.mod} manifest and its module files) in {@code castellan model}. */
class ModularModelCommandTest {
  @TempDir Path dir;

  private Path manifest;

  record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    CommandLine command = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    command.setOut(new PrintWriter(out, true));
    command.setErr(new PrintWriter(err, true));
    int exit = command.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @BeforeEach
  void modularModel() throws Exception {
    Files.createDirectories(dir.resolve("model/wiki"));
    manifest = dir.resolve("model/fga.mod");
    Files.writeString(manifest, "schema: '1.2'\ncontents:\n  - core.fga\n  - wiki/wiki.fga\n");
    Files.writeString(
        dir.resolve("model/core.fga"),
        """
        module core

        type user

        type team
          relations
            define member: [user]
        """);
    Files.writeString(
        dir.resolve("model/wiki/wiki.fga"),
        """
        module wiki

        extend type team
          relations
            define editor: [user] or member

        type page
          relations
            define owner: [team]
            define can_edit: editor from owner
        """);
  }

  @Test
  void validate_aValidManifest_sayingSo() {
    Run run = run("model", "validate", manifest.toString());

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).isEqualTo(manifest + ": valid\n");
  }

  @Test
  void validate_errorsInModuleFiles_nameTheFileLineAndColumn() throws Exception {
    Files.writeString(
        dir.resolve("model/wiki/wiki.fga"),
        "module wiki\n\ntype page\n  relations\n    define owner: reader\n\nextend type nope\n");

    Run run = run("model", "validate", manifest.toString());

    assertThat(run.exit()).isEqualTo(1);
    String wiki = dir.resolve("model/wiki/wiki.fga").toString();
    // Combination and validation errors come in one run, as OpenFGA reports them.
    assertThat(run.err().lines())
        .containsExactly(
            wiki + ":7:13: extended type nope does not exist [extended-type-missing]",
            wiki + ":5:19: the relation `reader` does not exist. [missing-definition]");
  }

  @Test
  void validate_aManifestBreakingOpenFgasRules_givesItsMessagesAndPositions() throws Exception {
    Files.writeString(manifest, "schema: '1.1'\ncontents:\n  - ../core.fga\n");

    Run run = run("model", "validate", manifest.toString());

    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err().lines())
        .containsExactly(
            manifest
                + ":1:9: unsupported schema version, fga.mod only supported in version `1.2`"
                + " [invalid-fga-mod]",
            manifest + ":3:5: invalid contents item ../core.fga [invalid-fga-mod]");
  }

  @Test
  void transform_anInvalidManifest_isOneErrorLinePerProblem_namingTheManifest() throws Exception {
    Files.writeString(manifest, "contents:\n  - core.txt\n");

    Run run = run("model", "transform", manifest.toString());

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.out()).isEmpty();
    assertThat(run.err().lines())
        .containsExactly(
            "error[invalid_file]: "
                + manifest
                + ":2:5: contents items should use fga file extension, got core.txt",
            "error[invalid_file]: " + manifest + ":1:1: missing schema field");
  }

  @Test
  void transform_aManifest_printsTheCombinedModelWithModuleMetadata() throws Exception {
    Run json = run("model", "transform", manifest.toString());

    assertThat(json.exit()).as(json.err()).isZero();
    JsonNode model = new ObjectMapper().readTree(json.out());
    assertThat(model.get("schema_version").asText()).isEqualTo("1.2");
    JsonNode team = model.get("type_definitions").get(1);
    assertThat(team.at("/metadata/module").asText()).isEqualTo("core");
    assertThat(team.at("/metadata/source_info/file").asText()).isEqualTo("core.fga");
    assertThat(team.at("/metadata/relations/editor/module").asText()).isEqualTo("wiki");
    assertThat(team.at("/metadata/relations/editor/source_info/file").asText())
        .isEqualTo("wiki/wiki.fga");

    Run dsl = run("model", "transform", manifest.toString(), "--to", "dsl");
    assertThat(dsl.out())
        .contains("type team # module: core, file: core.fga\n")
        .contains(
            "    define editor: [user] or member # extended by: module: wiki, file: wiki/wiki.fga");
  }

  @Test
  void test_aStoreFileWhoseModelFileIsAManifest_runsOnTheCombinedModel() throws Exception {
    Path storeFile = dir.resolve("wiki.fga.yaml");
    Files.writeString(
        storeFile,
        """
        model_file: model/fga.mod
        tuples:
          - {user: "user:anne", relation: member, object: "team:docs"}
          - {user: "team:docs", relation: owner, object: "page:home"}
        tests:
          - name: members edit the team's pages
            check:
              - user: user:anne
                object: page:home
                assertions: {can_edit: true}
              - user: user:bob
                object: page:home
                assertions: {can_edit: false}
        """);

    Run run = run("model", "test", storeFile.toString());

    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    assertThat(run.out()).contains("2 passed, 0 failed");
  }

  @Test
  void write_aManifest_storesTheCombinedModelWithItsSources() throws Exception {
    String url = TestDatabases.create("castellan_model_write");
    try {
      String storeId;
      try (Store store = JdbcStore.postgres(url)) {
        storeId = store.createStore("wiki").id();
      }

      Run run = run("model", "write", "--store", storeId, "--pg-url", url, manifest.toString());

      assertThat(run.exit()).as(run.err()).isZero();
      String modelId = run.out().strip();
      try (Store store = JdbcStore.postgres(url)) {
        AuthorizationModel model = store.readModel(storeId, modelId).orElseThrow().model();
        assertThat(model.schemaVersion()).isEqualTo("1.2");
        assertThat(model.type("page").orElseThrow().source())
            .isEqualTo(new ModuleSource("wiki", "wiki/wiki.fga"));
        assertThat(model.type("team").orElseThrow().relations().get("editor").source())
            .isEqualTo(new ModuleSource("wiki", "wiki/wiki.fga"));
      }
      Run missing = run("model", "write", "--store", "nope", "--pg-url", url, manifest.toString());
      assertThat(missing.exit()).isNotZero();
      assertThat(missing.err()).contains("no store nope");
    } finally {
      TestDatabases.drop(url);
    }
  }
}
