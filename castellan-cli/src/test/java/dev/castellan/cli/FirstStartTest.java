package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.server.auth.AccessControl;
import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.jdbc.JdbcStore;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first start, as a newcomer meets it: the admin key is made only when it can be printed, a
 * database whose admin key nobody has says how to make one, and {@code --demo} prints commands that
 * run as pasted.
 */
class FirstStartTest {
  private static final Pattern KEY = Pattern.compile("cst_[A-Za-z0-9-]+_[A-Za-z0-9-]+");

  @TempDir Path dir;

  /** Regression: a first start that failed to listen made the admin key and never printed it. */
  @Test
  void aFirstStartThatCannotListen_makesNoKey_andTheNextStartPrintsOne() throws Exception {
    Path data = dir.resolve("data");
    int port;
    Cli.Result failed;
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      port = taken.getLocalPort();
      failed =
          Cli.run(
              dir,
              "serve",
              "--host",
              "127.0.0.1",
              "--port",
              String.valueOf(port),
              "--data",
              data.toString());
    }
    assertThat(failed.exit()).as(failed.toString()).isEqualTo(2);
    assertThat(failed.errorLines())
        .as(failed.toString())
        .singleElement()
        .asString()
        .startsWith("error[port_in_use]: port " + port + " on 127.0.0.1 is in use")
        .contains("--port");
    assertThat(failed.err()).doesNotContain("java.").doesNotContain("Exception");
    assertThat(failed.out() + failed.err()).doesNotContainPattern(KEY.pattern());
    // The database was made before the failure, as in the report: the next start must cope.
    assertThat(JdbcStore.embeddedFile(data)).exists();

    String key;
    try (ServerProcess server =
        ServerProcess.start(Map.of(), "--port", String.valueOf(port), "--data", data.toString())) {
      String output = server.awaitOutput("/stores");
      Matcher matcher = KEY.matcher(output);
      assertThat(matcher.find()).as(output).isTrue();
      key = matcher.group();
      assertThat(output).contains("Admin API key (shown once");
      assertThat(server.get("/stores", key).status()).isEqualTo(200);
    }

    // Shown once: a restart prints neither the key nor a hint.
    ServerProcess again = ServerProcess.start(Map.of(), "--data", data.toString());
    again.close();
    assertThat(again.output())
        .doesNotContain(key)
        .doesNotContain("Admin API key")
        .doesNotContain("No admin API key");
  }

  /**
   * A database whose first start failed under an earlier version holds an admin key nobody saw:
   * every start says how to make one, until someone does.
   */
  @Test
  void aDatabaseWhoseAdminKeyWasNeverShown_saysOnEachStartHowToMakeOne() throws Exception {
    Path data = dir.resolve("data");
    try (JdbcStore store = JdbcStore.embedded(data)) {
      // What the earlier version left behind: a key, an admin, and no record of handing it out.
      store.saveApiKey(
          new ApiKeyRecord("lost", "bootstrap", "key:lost", "0".repeat(64), Instant.now()));
      AccessControl.open(store).grantAdmin("key:lost");
    }
    for (int start = 0; start < 2; start++) {
      ServerProcess server = ServerProcess.start(Map.of(), "--data", data.toString());
      server.close();
      assertThat(server.output())
          .contains("No admin API key of this database is known to have been shown")
          .contains(
              "stop the server, run 'castellan keys create --name admin --admin --data "
                  + data.toAbsolutePath()
                  + "'")
          .contains("CASTELLAN_BOOTSTRAP_TOKEN")
          .doesNotContainPattern(KEY.pattern());
    }

    // Following the hint works, and then the hint is gone.
    Cli.Result created =
        Cli.run(dir, "keys", "create", "--name", "admin", "--admin", "--data", data.toString());
    assertThat(created.exit()).as(created.toString()).isZero();
    Matcher matcher = KEY.matcher(created.out());
    assertThat(matcher.find()).as(created.toString()).isTrue();
    try (ServerProcess server = ServerProcess.start(Map.of(), "--data", data.toString())) {
      assertThat(server.get("/stores", matcher.group()).status()).isEqualTo(200);
      server.close();
      assertThat(server.output()).doesNotContain("No admin API key");
    }
  }

  /** Regression: on an existing directory the demo's commands used an undefined $CASTELLAN_KEY. */
  @Test
  void demoCommands_runAsPasted_onTheFirstStart_andSayWhereTheKeyIsAfterwards() throws Exception {
    Path data = dir.resolve("data");
    String key;
    try (ServerProcess first = ServerProcess.start(Map.of(), "--demo", "--data", data.toString())) {
      String output = first.awaitOutput("list-objects");
      String exportLine = line(output, "export CASTELLAN_KEY=");
      key = exportLine.substring("export CASTELLAN_KEY=".length());
      assertThat(key).matches(KEY.pattern());
      // The block as printed, pasted into a shell: the export line and the first check.
      assertThat(shell(exportLine + "\n" + line(output, "curl "), Map.of()))
          .startsWith("{\"allowed\":true");
    }

    ServerProcess second = ServerProcess.start(Map.of(), "--demo", "--data", data.toString());
    String output = second.awaitOutput("list-objects");
    assertThat(output).doesNotContain(key);
    List<String> curls = output.lines().filter(l -> l.startsWith("curl ")).toList();
    assertThat(curls).hasSize(5).allMatch(l -> l.contains("Bearer $CASTELLAN_KEY"));
    // $CASTELLAN_KEY is defined before its first use, and the definition says where a key comes
    // from.
    int defined = output.indexOf("export CASTELLAN_KEY=");
    assertThat(defined).isPositive().isLessThan(output.indexOf("$CASTELLAN_KEY\""));
    assertThat(output)
        .contains("the one printed by the first start")
        .contains("castellan keys create --name admin --admin --data " + data.toAbsolutePath());
    // With the key from the first start, the printed commands work.
    assertThat(shell(curls.getFirst(), Map.of("CASTELLAN_KEY", key)))
        .startsWith("{\"allowed\":true");
    second.close();

    // A bootstrap token is named, never printed.
    String token = "demo-bootstrap-token-0123456789";
    ServerProcess third =
        ServerProcess.start(
            Map.of("CASTELLAN_BOOTSTRAP_TOKEN", token), "--demo", "--data", data.toString());
    third.close();
    assertThat(third.output())
        .contains("export CASTELLAN_KEY=\"$CASTELLAN_BOOTSTRAP_TOKEN\"")
        .doesNotContain(token);
  }

  private static String line(String output, String prefix) {
    return output
        .lines()
        .filter(l -> l.startsWith(prefix))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no line starting with " + prefix + ":\n" + output));
  }

  private static String shell(String script, Map<String, String> env) throws Exception {
    ProcessBuilder builder = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true);
    builder.environment().keySet().removeIf(name -> name.startsWith("CASTELLAN_"));
    builder.environment().putAll(env);
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor()).as(output).isZero();
    return output;
  }
}
