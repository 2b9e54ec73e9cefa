package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.store.jdbc.JdbcStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression: while a server runs on the embedded store, every other command that opens it said
 * only "could not connect to the tuple store database"; the cause sat in castellan.trace.db.
 */
class StoreLockTest {
  @TempDir Path dir;

  @Test
  void everyCommandOnALockedEmbeddedStore_namesTheLockAndWhatToDo() throws Exception {
    Path data = dir.resolve("data");
    Path tuples = dir.resolve("tuples.jsonl");
    Files.writeString(
        tuples, "{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:a\"}\n");
    String lock = JdbcStore.embeddedFile(data).toString();
    try (ServerProcess server = ServerProcess.start("--data", data.toString())) {
      String store = server.post("/stores", "{\"name\":\"docs\"}").body().get("id").asText();
      List<List<String>> commands =
          List.of(
              List.of("keys", "list", "--data", data.toString()),
              List.of("keys", "create", "--name", "ops", "--admin", "--data", data.toString()),
              List.of("audit", "verify", "--data", data.toString()),
              List.of("import", tuples.toString(), "--store", store, "--data", data.toString()),
              List.of("serve", "--port", "0", "--data", data.toString()));
      for (List<String> command : commands) {
        Cli.Result result = Cli.run(dir, command.toArray(String[]::new));
        String what = String.join(" ", command) + "\n" + result;
        assertThat(result.exit()).as(what).isEqualTo(2);
        assertThat(result.errorLines())
            .as(what)
            .singleElement()
            .asString()
            .startsWith("error[store_locked]: the embedded store in " + data.toAbsolutePath())
            .contains("holds the lock on " + lock)
            .contains("Stop that server first")
            .contains("HTTP API")
            .contains("--pg-url");
        assertThat(result.err()).as(what).doesNotContain("java.").doesNotContain("Exception");
      }
      // The server itself is unaffected.
      assertThat(server.get("/stores").status()).isEqualTo(200);
    }
  }
}
