package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.store.jdbc.JdbcStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression: CLI errors showed Java exception names ({@code java.nio.file.NoSuchFileException},
 * {@code IllegalArgumentException: no store 01XYZ}, {@code JavalinBindException}, a raw {@code
 * NumberFormatException} for a bad CASTELLAN_PORT). Each known bad input, as a process: exit 2, one
 * line {@code error[code]: ...} that says what to do, and no Java in it.
 */
class CliErrorsTest {
  @TempDir Path dir;

  private record Case(Map<String, String> env, List<String> args, String code, String says) {
    static Case of(String code, String says, String... args) {
      return new Case(Map.of(), List.of(args), code, says);
    }

    Case env(String name, String value) {
      return new Case(Map.of(name, value), args, code, says);
    }
  }

  @Test
  void everyKnownBadInput_isOneLineWithAStableCode_andNoJava() throws Exception {
    Path data = dir.resolve("data");
    try (JdbcStore store = JdbcStore.embedded(data)) {
      store.createStore("docs");
    }
    Files.writeString(dir.resolve("bad.yaml"), "port: [8080\n");
    Files.writeString(dir.resolve("unknown.yaml"), "prot: 8080\n");
    Files.writeString(
        dir.resolve("issuers.yaml"),
        "issuers:\n  - {name: okta, issuer: 'https://a.example', group-match: displayName}\n");
    Files.writeString(
        dir.resolve("store.fga.yaml"),
        """
        model: |
          model
            schema 1.1
          type user
          type doc
            relations
              define viewer: [user]
        tuples:
          - {user: "user:anne", relation: viewer, object: "doc:1"}
        """);
    String missing = dir.resolve("missing.fga").toString();
    List<Case> cases =
        List.of(
            Case.of("invalid_setting", "CASTELLAN_PORT must be a whole number", "serve")
                .env("CASTELLAN_PORT", "abc"),
            Case.of(
                "invalid_setting",
                "--port must be a whole number from 0 to 65535",
                "serve",
                "--port",
                "70000"),
            Case.of("invalid_setting", "CASTELLAN_AUDIT_SAMPLE_RATE must be a number", "serve")
                .env("CASTELLAN_AUDIT_SAMPLE_RATE", "lots"),
            Case.of("invalid_setting", "json", "serve", "--log-format", "xml"),
            Case.of(
                "invalid_setting",
                "--pg-read-max-wait is given without --pg-read-url",
                "serve",
                "--pg-read-max-wait",
                "1s"),
            Case.of(
                "invalid_setting",
                "give the primary with --pg-url too",
                "serve",
                "--pg-read-url",
                "jdbc:postgresql://127.0.0.1:1/standby"),
            Case.of(
                    "invalid_setting",
                    "CASTELLAN_PG_READ_MAX_WAIT must be a number and a unit",
                    "serve",
                    "--pg-url",
                    "jdbc:postgresql://127.0.0.1:1/primary",
                    "--pg-read-url",
                    "jdbc:postgresql://127.0.0.1:1/standby")
                .env("CASTELLAN_PG_READ_MAX_WAIT", "soon"),
            Case.of(
                "file_not_found",
                "no such file or directory: " + dir.resolve("none.yaml"),
                "serve",
                "--config",
                dir.resolve("none.yaml").toString()),
            Case.of(
                "invalid_file",
                "bad.yaml: not valid YAML or JSON at line",
                "serve",
                "--config",
                dir.resolve("bad.yaml").toString()),
            Case.of(
                "invalid_setting",
                "issuers.yaml: issuers[0]: 'group-match' is one of [name, display-name,"
                    + " external-id], got 'displayName'",
                "serve",
                "--config",
                dir.resolve("issuers.yaml").toString()),
            Case.of(
                "invalid_setting",
                "--auth none reads no credentials",
                "serve",
                "--auth",
                "none",
                "--config",
                Path.of("../examples/issuers.yaml").toAbsolutePath().normalize().toString()),
            Case.of(
                "invalid_setting",
                "unknown setting 'prot'",
                "serve",
                "--config",
                dir.resolve("unknown.yaml").toString()),
            Case.of(
                "file_not_found",
                "no such file or directory: " + missing,
                "model",
                "validate",
                missing),
            Case.of("file_unreadable", "is a directory", "model", "transform", dir.toString()),
            Case.of(
                "file_not_found",
                "missing.yaml",
                "check",
                "--file",
                dir.resolve("missing.yaml").toString(),
                "--user",
                "user:anne",
                "--relation",
                "viewer",
                "--object",
                "doc:1"),
            Case.of(
                "usage",
                "--context must be a JSON object",
                "check",
                "--file",
                dir.resolve("store.fga.yaml").toString(),
                "--user",
                "user:anne",
                "--relation",
                "viewer",
                "--object",
                "doc:1",
                "--context",
                "hour=10"),
            Case.of(
                "usage",
                "say what the key may do: --admin",
                "keys",
                "create",
                "--name",
                "ci",
                "--data",
                data.toString()),
            Case.of(
                "store_id_not_found",
                "no store 01XYZ",
                "keys",
                "create",
                "--name",
                "ci",
                "--store",
                "01XYZ",
                "--role",
                "writer",
                "--data",
                data.toString()),
            Case.of(
                "validation_error",
                "role must be admin, writer or reader",
                "keys",
                "create",
                "--name",
                "ci",
                "--store",
                "01XYZ",
                "--role",
                "owner",
                "--data",
                data.toString()),
            Case.of(
                "no_database",
                "no Castellan database in " + dir.resolve("typo"),
                "keys",
                "list",
                "--data",
                dir.resolve("typo").toString()),
            Case.of(
                "not_found",
                "no key nosuchkey",
                "keys",
                "revoke",
                "nosuchkey",
                "--data",
                data.toString()),
            Case.of("usage", "Unknown option: '--frobnicate'", "keys", "list", "--frobnicate"),
            Case.of("usage", "did you mean list", "keys", "lists"),
            Case.of("usage", "did you mean --data", "keys", "list", "--dat", "x"),
            Case.of("usage", "Missing required option: '--name", "keys", "create", "--admin"),
            Case.of(
                "file_not_found",
                "no such file: " + dir.resolve("t.jsonl"),
                "import",
                dir.resolve("t.jsonl").toString(),
                "--store",
                "01XYZ",
                "--data",
                data.toString()),
            Case.of("usage", "no secret", "token", "mint", "--sub", "alice"),
            Case.of(
                "server_unreachable",
                "cannot reach the server",
                "rbac",
                "export",
                "--url",
                "http://127.0.0.1:1",
                "--token",
                "some-token"),
            Case.of(
                "usage",
                "--expect must be SEQ:HASH",
                "audit",
                "verify",
                "--expect",
                "7",
                "--data",
                data.toString()));
    for (Case c : cases) {
      Cli.Result result = Cli.run(dir, c.env(), c.args().toArray(String[]::new));
      String what = c.env() + " castellan " + String.join(" ", c.args()) + "\n" + result;
      assertThat(result.exit()).as(what).isEqualTo(2);
      assertThat(result.errorLines())
          .as(what)
          .singleElement()
          .asString()
          .startsWith("error[" + c.code() + "]: ")
          .contains(c.says());
      assertThat(result.err()).as(what).doesNotContain("java.").doesNotContain("Exception");
    }
    // Nothing was created by a command that failed: only serve makes a database.
    assertThat(dir.resolve("typo")).doesNotExist();
    assertThat(dir.resolve("data").resolve("castellan.mv.db")).exists();
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder(
              "data", "bad.yaml", "unknown.yaml", "issuers.yaml", "store.fga.yaml");
    }
  }
}
