package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Regression: {@code --help} failed on every subcommand ({@code Unknown option: '--help'}, exit 2).
 * The tree is walked from picocli's own model, so a command added later cannot forget it.
 */
class HelpTest {
  @TempDir Path dir;

  /** Every command path in the tree, e.g. [keys, create]; the root is the empty path. */
  private static List<List<String>> commandPaths(CommandLine command, List<String> path) {
    List<List<String>> out = new ArrayList<>();
    out.add(path);
    command
        .getSubcommands()
        .forEach(
            (name, sub) -> {
              if (sub.getCommandSpec().name().equals(name)) { // aliases once
                List<String> longer = new ArrayList<>(path);
                longer.add(name);
                out.addAll(commandPaths(sub, longer));
              }
            });
    return out;
  }

  private record Run(int exit, String out, String err) {}

  private static Run inProcess(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        Main.commandLine()
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true))
            .execute(args.toArray(String[]::new));
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void everyCommandAndSubcommand_acceptsHelpAndH_withUsageAndExamples() {
    List<List<String>> paths = commandPaths(Main.commandLine(), List.of());
    assertThat(paths)
        .contains(
            List.of("serve"),
            List.of("keys", "create"),
            List.of("keys", "list"),
            List.of("audit", "verify"),
            List.of("token", "mint"),
            List.of("rbac", "export"),
            List.of("model", "test"),
            List.of("check"),
            List.of("import"),
            List.of("help"));
    for (List<String> path : paths) {
      for (String flag : List.of("--help", "-h")) {
        List<String> args = new ArrayList<>(path);
        args.add(flag);
        Run run = inProcess(args);
        String what = "castellan " + String.join(" ", args) + "\n" + run.err();
        assertThat(run.exit()).as(what).isZero();
        assertThat(run.err()).as(what).isEmpty();
        assertThat(run.out())
            .as(what)
            .contains("Usage: castellan" + (path.isEmpty() ? "" : " " + String.join(" ", path)));
        assertThat(run.out())
            .as(what + " speaks of the project's internal issue or seed numbers")
            .doesNotContainPattern(ReadmeTourTest.INTERNAL_WORDS);
        if (!path.equals(List.of("help"))) { // picocli's own help command has no examples
          assertThat(run.out()).as(what).contains("Examples:").contains("  castellan ");
        }
      }
    }
  }

  @Test
  void helpAndSubcommandHelp_workAsProcesses() throws Exception {
    Cli.Result help = Cli.run(dir, "help");
    assertThat(help.exit()).as(help.toString()).isZero();
    assertThat(help.out())
        .contains("Usage: castellan")
        .contains("serve")
        .contains("keys")
        .contains("Examples:");

    for (String[] args :
        new String[][] {
          {"serve", "--help"},
          {"keys", "--help"},
          {"audit", "verify", "--help"},
          {"token", "mint", "-h"},
          {"help", "keys", "create"}
        }) {
      Cli.Result run = Cli.run(dir, args);
      assertThat(run.exit()).as(String.join(" ", args) + "\n" + run).isZero();
      assertThat(run.out())
          .as(String.join(" ", args))
          .contains("Usage: castellan")
          .contains("Examples:");
      assertThat(run.err()).as(String.join(" ", args)).isEmpty();
    }
    // Help opens no store: no ./data appears.
    assertThat(dir.resolve("data")).doesNotExist();
  }
}
