package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The offline {@code castellan check}, as a process. */
class CheckCommandTest {
  @TempDir Path dir;

  private Path conditionalStore() throws Exception {
    Path file = dir.resolve("deploy.fga.yaml");
    Files.writeString(
        file,
        """
        model: |
          model
            schema 1.1
          type user
          type model
            relations
              define deployer: [user with business_hours]
          condition business_hours(hour_utc: int) {
            hour_utc >= 9 && hour_utc < 18
          }
        tuples:
          - {user: "user:dave", relation: deployer, object: "model:fraud", condition: {name: business_hours}}
        """);
    return file;
  }

  /** Regression: without --context a conditional model could not be checked offline. */
  @Test
  void context_feedsTheConditions_ofAConditionalModel() throws Exception {
    String file = conditionalStore().toString();
    Cli.Result day =
        Cli.run(
            dir,
            "check",
            "--file",
            file,
            "--user",
            "user:dave",
            "--relation",
            "deployer",
            "--object",
            "model:fraud",
            "--context",
            "{\"hour_utc\": 10}");
    assertThat(day.exit()).as(day.toString()).isZero();
    assertThat(day.out()).isEqualTo("allowed\n");
    Cli.Result night =
        Cli.run(
            dir,
            "check",
            "--file",
            file,
            "--user",
            "user:dave",
            "--relation",
            "deployer",
            "--object",
            "model:fraud",
            "--context",
            "{\"hour_utc\": 23}");
    assertThat(night.exit()).as(night.toString()).isEqualTo(1);
    assertThat(night.out()).isEqualTo("denied\n");
    assertThat(night.err()).isEmpty();
  }

  /** The file option was --store, which everywhere else means a store id: kept, with a warning. */
  @Test
  void theOldStoreOption_stillWorks_andSaysToUseFile() throws Exception {
    String file = conditionalStore().toString();
    Cli.Result old =
        Cli.run(
            dir,
            "check",
            "--store",
            file,
            "--user",
            "user:dave",
            "--relation",
            "deployer",
            "--object",
            "model:fraud",
            "--context",
            "{\"hour_utc\": 10}");
    assertThat(old.exit()).as(old.toString()).isZero();
    assertThat(old.out()).isEqualTo("allowed\n");
    assertThat(old.err())
        .startsWith("warning: 'castellan check --store FILE' is deprecated, use --file FILE");
    Cli.Result help = Cli.run(dir, "check", "--help");
    assertThat(help.out()).contains("--file").contains("--context").doesNotContain("--store");
  }
}
