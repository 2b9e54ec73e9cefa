package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** OpenFGA's store test files (modeling guide, language samples) pass through `model test`. */
class StoreFileConformanceTest {

  static Path conformance() {
    String dir = System.getProperty("castellan.conformance.dir");
    assertThat(dir).as("system property castellan.conformance.dir").isNotBlank();
    Path path = Path.of(dir);
    assertThat(path).isDirectory();
    return path;
  }

  @TestFactory
  Stream<DynamicTest> modelingGuideStores_allAssertionsPass() throws IOException {
    List<Path> files;
    try (Stream<Path> listing = Files.list(conformance().resolve("sample-stores/modeling-guide"))) {
      files = listing.filter(p -> p.toString().endsWith(".fga.yaml")).sorted().toList();
    }
    assertThat(files).hasSize(10);
    return files.stream()
        .map(
            file ->
                DynamicTest.dynamicTest(
                    file.getFileName().toString(),
                    () -> {
                      List<StoreTestRunner.Outcome> outcomes =
                          StoreTestRunner.run(StoreFile.read(file));
                      assertThat(outcomes).isNotEmpty();
                      assertThat(outcomes).filteredOn(o -> !o.passed()).isEmpty();
                    }));
  }

  @Test
  void languageStores_validOnesPass_invalidOnesAreRejected() {
    Path stores = conformance().resolve("language/stores");
    for (String valid : List.of("00-valid-model", "01-valid-model-file")) {
      List<StoreTestRunner.Outcome> outcomes =
          StoreTestRunner.run(StoreFile.read(stores.resolve(valid).resolve("store.fga.yaml")));
      assertThat(outcomes).as(valid).hasSize(3).allMatch(StoreTestRunner.Outcome::passed);
    }
    assertThatThrownBy(() -> StoreFile.read(stores.resolve("02-missing-model/store.fga.yaml")))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("'model' or 'model_file' must be present");
    assertThatThrownBy(
            () -> StoreFile.read(stores.resolve("03-additional-properties/store.fga.yaml")))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("unexpected key");
  }

  @Test
  void modelTest_failingAssertion_exitsNonZeroAndSaysWhich(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("wrong.fga.yaml");
    Files.writeString(
        file,
        """
        model: |
          model
            schema 1.1
          type user
          type document
            relations
              define viewer: [user]
        tuples:
          - user: user:anne
            relation: viewer
            object: document:1
        tests:
          - name: wrong expectation
            check:
              - user: user:anne
                object: document:1
                assertions:
                  viewer: false
        """);
    StringWriter out = new StringWriter();
    int exit =
        new CommandLine(new Main())
            .setOut(new PrintWriter(out))
            .execute("model", "test", file.toString());
    assertThat(exit).isEqualTo(1);
    assertThat(out.toString())
        .contains("FAIL wrong.fga.yaml: wrong expectation: check document:1#viewer@user:anne")
        .contains("0 passed, 1 failed");
  }

  @Test
  void check_withExplain_printsTheDecisionAndWhy(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("store.fga.yaml");
    Files.writeString(
        file,
        """
        model: |
          model
            schema 1.1
          type user
          type folder
            relations
              define viewer: [user]
          type document
            relations
              define parent: [folder]
              define viewer: [user] or viewer from parent
        tuples:
          - {user: user:anne, relation: viewer, object: "folder:deals"}
          - {user: "folder:deals", relation: parent, object: "document:q3"}
        """);
    StringWriter out = new StringWriter();
    int exit =
        new CommandLine(new Main())
            .setOut(new PrintWriter(out))
            .execute(
                "check",
                "--store",
                file.toString(),
                "--user",
                "user:anne",
                "--relation",
                "viewer",
                "--object",
                "document:q3",
                "--explain");
    assertThat(exit).isZero();
    assertThat(out.toString())
        .startsWith("allowed")
        .contains("tuple folder:deals#viewer@user:anne -> granted");
  }
}
