package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.server.auth.ApiKeys;
import dev.castellan.store.jdbc.JdbcStore;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan keys} as a process: rights are chosen on purpose, and listed. */
class KeysCommandTest {
  @TempDir Path dir;

  /** Regression: {@code keys create --name ci} made a key with no rights, without a word. */
  @Test
  void aKeyWithoutRights_isRefused_namingTheChoices_andNothingIsCreated() throws Exception {
    Path data = database();
    Cli.Result refused = Cli.run(dir, "keys", "create", "--name", "ci", "--data", data.toString());
    assertThat(refused.exit()).as(refused.toString()).isEqualTo(2);
    assertThat(refused.errorLines())
        .singleElement()
        .asString()
        .startsWith("error[usage]: say what the key may do")
        .contains("--admin")
        .contains("--auditor")
        .contains("--store ID --role admin|writer|reader")
        .contains("--no-rights");
    Cli.Result list = Cli.run(dir, "keys", "list", "--data", data.toString());
    assertThat(list.exit()).as(list.toString()).isZero();
    assertThat(list.out()).startsWith("no keys in the embedded store in " + data.toAbsolutePath());
  }

  /** Regression: {@code keys list} had no header and did not say what a key may do. */
  @Test
  void keysList_hasAHeader_andARightsColumn() throws Exception {
    Path data = dir.resolve("data");
    String storeId;
    try (JdbcStore store = JdbcStore.embedded(data)) {
      storeId = store.createStore("docs").id();
    }
    String d = data.toString();
    for (List<String> args :
        List.of(
            List.of("--name", "ops", "--admin"),
            List.of("--name", "compliance", "--auditor"),
            List.of("--name", "ci", "--store", storeId, "--role", "writer"),
            List.of("--name", "svc", "--no-rights"))) {
      String[] command =
          java.util.stream.Stream.concat(
                  java.util.stream.Stream.of("keys", "create", "--data", d), args.stream())
              .toArray(String[]::new);
      Cli.Result created = Cli.run(dir, command);
      assertThat(created.exit()).as(created.toString()).isZero();
      assertThat(created.out()).contains("rights:  ").contains("key:     cst_");
    }
    Cli.Result list = Cli.run(dir, "keys", "list", "--data", d);
    assertThat(list.exit()).as(list.toString()).isZero();
    List<String> lines = list.out().lines().toList();
    assertThat(lines.getFirst())
        .matches("ID\\s+NAME\\s+RIGHTS\\s+CREATED\\s+EXPIRES\\s+LAST-USED\\s+ROTATION");
    assertThat(lines).hasSize(5);
    assertThat(row(lines, "ops")).contains(" admin ");
    assertThat(row(lines, "compliance")).contains(" auditor ");
    assertThat(row(lines, "ci")).contains(" writer on " + storeId);
    assertThat(row(lines, "svc")).contains(" none ");
  }

  @Test
  void aKeyWithAnExpiry_isRotated_andTheListShowsExpiryLastUseAndTheOldSecretsGrace()
      throws Exception {
    Path data = database();
    String d = data.toString();
    Cli.Result created =
        Cli.run(
            dir,
            "keys",
            "create",
            "--name",
            "ci",
            "--no-rights",
            "--expires-in",
            "90d",
            "--data",
            d);
    assertThat(created.exit()).as(created.toString()).isZero();
    String id = field(created.out(), "id");
    String oldKey = field(created.out(), "key").split(" ")[0];
    Instant expires = Instant.parse(field(created.out(), "expires"));
    assertThat(expires)
        .isBetween(
            Instant.now().plus(Duration.ofDays(90)).minusSeconds(120),
            Instant.now().plus(Duration.ofDays(90)));

    // A server used the key and wrote its last use.
    try (JdbcStore store = JdbcStore.embedded(data)) {
      ApiKeys keys = new ApiKeys(store, store, Clock.systemUTC());
      assertThat(keys.authenticate(oldKey)).isPresent();
      keys.close();
    }

    Cli.Result rotated = Cli.run(dir, "keys", "rotate", id, "--grace", "2h", "--data", d);
    assertThat(rotated.exit()).as(rotated.toString()).isZero();
    String newKey = field(rotated.out(), "key").split(" ")[0];
    assertThat(newKey).startsWith("cst_" + id + "_").isNotEqualTo(oldKey);
    assertThat(rotated.out()).contains("(shown once)");
    Instant graceEnds = Instant.parse(field(rotated.out(), "old key").replace("works until ", ""));
    assertThat(graceEnds)
        .isBetween(
            Instant.now().plus(Duration.ofHours(2)).minusSeconds(120),
            Instant.now().plus(Duration.ofHours(2)));
    assertThat(field(rotated.out(), "expires")).isEqualTo(expires.toString());

    Cli.Result list = Cli.run(dir, "keys", "list", "--data", d);
    assertThat(list.exit()).as(list.toString()).isZero();
    String row = row(list.out().lines().toList(), "ci");
    assertThat(row)
        .contains(" " + expires + " ")
        .contains("old secret works until " + graceEnds)
        .doesNotContain("never")
        .doesNotContain(newKey.substring(newKey.lastIndexOf('_') + 1))
        .doesNotContain(oldKey.substring(oldKey.lastIndexOf('_') + 1));

    try (JdbcStore store = JdbcStore.embedded(data)) {
      ApiKeys keys = new ApiKeys(store, store, Clock.systemUTC());
      assertThat(keys.authenticate(newKey)).as("the new secret").isPresent();
      assertThat(keys.authenticate(oldKey)).as("the old one, within its grace").isPresent();
    }

    Cli.Result tooLong = Cli.run(dir, "keys", "rotate", id, "--grace", "31d", "--data", d);
    assertThat(tooLong.exit()).as(tooLong.toString()).isEqualTo(2);
    assertThat(tooLong.errorLines())
        .singleElement()
        .asString()
        .startsWith("error[validation_error]: a grace of")
        .contains("at most 30d");
    Cli.Result missing = Cli.run(dir, "keys", "rotate", "nokey", "--data", d);
    assertThat(missing.exit()).as(missing.toString()).isEqualTo(2);
    assertThat(missing.errorLines())
        .singleElement()
        .asString()
        .startsWith("error[not_found]: no key nokey");
  }

  @Test
  void aKeyThatWasUsed_showsItsLastUse_andAnUnusedOneShowsNever() throws Exception {
    Path data = database();
    String d = data.toString();
    Cli.Result used = Cli.run(dir, "keys", "create", "--name", "used", "--no-rights", "--data", d);
    Cli.Result idle = Cli.run(dir, "keys", "create", "--name", "idle", "--no-rights", "--data", d);
    assertThat(used.exit()).isZero();
    assertThat(idle.exit()).isZero();
    Instant at = Instant.parse("2031-05-06T07:08:09Z");
    try (JdbcStore store = JdbcStore.embedded(data)) {
      store.recordApiKeyUses(java.util.Map.of(field(used.out(), "id"), at));
    }
    List<String> lines = Cli.run(dir, "keys", "list", "--data", d).out().lines().toList();
    assertThat(row(lines, "used")).contains(" " + at + " ");
    assertThat(row(lines, "idle").split("\\s+"))
        .as("EXPIRES and LAST-USED of an unused key without expiry")
        .containsSubsequence("never", "never", "-");
  }

  /** The value of a {@code name: value} line of a command's output. */
  private static String field(String out, String name) {
    return out.lines()
        .filter(line -> line.startsWith(name + ":"))
        .map(line -> line.substring(name.length() + 1).strip())
        .findFirst()
        .orElseThrow(() -> new AssertionError("no '" + name + ":' line in " + out));
  }

  @Test
  void aScimKey_holdsOnlyTheScimRight_andRefusesOtherRights() throws Exception {
    Path data = database();
    String d = data.toString();
    Cli.Result mixed =
        Cli.run(dir, "keys", "create", "--name", "okta", "--scim", "--admin", "--data", d);
    assertThat(mixed.exit()).as(mixed.toString()).isEqualTo(2);
    assertThat(mixed.errorLines()).singleElement().asString().contains("--scim key may only");
    Cli.Result created = Cli.run(dir, "keys", "create", "--name", "okta", "--scim", "--data", d);
    assertThat(created.exit()).as(created.toString()).isZero();
    Cli.Result list = Cli.run(dir, "keys", "list", "--data", d);
    List<String> lines = list.out().lines().toList();
    assertThat(lines).hasSize(2);
    assertThat(row(lines, "okta")).contains(" scim ").doesNotContain("admin");
  }

  /** Regression: {@code keys list --data /typo} made an empty database there. */
  @Test
  void aDataDirectoryWithoutADatabase_isRefused_andLeftAlone() throws Exception {
    Path typo = dir.resolve("typo");
    for (String command : List.of("list", "create")) {
      Cli.Result result =
          command.equals("list")
              ? Cli.run(dir, "keys", "list", "--data", typo.toString())
              : Cli.run(dir, "keys", "create", "--name", "x", "--admin", "--data", typo.toString());
      assertThat(result.exit()).as(result.toString()).isEqualTo(2);
      assertThat(result.errorLines())
          .singleElement()
          .asString()
          .startsWith("error[no_database]: no Castellan database in " + typo.toAbsolutePath())
          .contains("--data")
          .contains("only 'castellan serve' creates a database");
    }
    Cli.Result audit = Cli.run(dir, "audit", "verify");
    assertThat(audit.errorLines()).singleElement().asString().startsWith("error[no_database]");
    assertThat(typo).doesNotExist();
    assertThat(dir.resolve("data")).doesNotExist();
  }

  private Path database() {
    Path data = dir.resolve("data");
    JdbcStore.embedded(data).close();
    return data;
  }

  private static String row(List<String> lines, String name) {
    return lines.stream()
        .filter(line -> line.split("\\s+").length > 1 && line.split("\\s+")[1].equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no row for " + name + " in " + lines));
  }
}
