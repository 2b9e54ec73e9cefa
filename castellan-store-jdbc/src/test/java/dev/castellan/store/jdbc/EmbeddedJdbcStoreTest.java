package dev.castellan.store.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.engine.Tuple;
import dev.castellan.model.ModelDsl;
import dev.castellan.store.PageRequest;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleWrite;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link JdbcStoreTest} on the embedded H2 database, plus durability across restarts. */
class EmbeddedJdbcStoreTest extends JdbcStoreTest {
  @TempDir Path dataDir;

  @Override
  protected JdbcStore open() {
    return JdbcStore.embedded(dataDir);
  }

  @Override
  protected JdbcStore openUpgradedFrom(String version, Transactions.SqlWork<Void> before)
      throws java.sql.SQLException {
    Path dir = dataDir.resolve("from-" + version);
    String url = "jdbc:h2:file:" + dir.toAbsolutePath().resolve("castellan");
    org.flywaydb.core.Flyway.configure()
        .dataSource(url, "sa", "")
        .locations("classpath:db/migration/h2")
        .javaMigrations(new V7__Audit_rows_into_segments())
        .target(version)
        .load()
        .migrate();
    try (java.sql.Connection connection = java.sql.DriverManager.getConnection(url, "sa", "")) {
      before.run(connection);
    }
    return JdbcStore.embedded(dir);
  }

  @Test
  void reopening_keepsTheDirectory() {
    dev.castellan.store.DirectoryUser user =
        store
            .directoryStore()
            .createUser(
                new dev.castellan.store.UserDraft(
                    "alice", "x", "Alice", true, List.of("a@example.com"), "{\"a\":1}"));
    dev.castellan.store.Identity subject =
        new dev.castellan.store.Identity("oidc", "https://issuer", "sub-1");
    store.directoryStore().link(user.id(), subject);
    store.close();
    store = open();
    assertThat(store.directoryStore().user(user.id())).contains(user);
    assertThat(store.directoryStore().resolve(subject)).contains(user.id());
  }

  @Test
  void reopening_keepsEverything() {
    String model =
        store.writeModel(
            storeId,
            ModelDsl.parse(
                """
                model
                  schema 1.1
                type user
                """));
    store.write(storeId, TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:a")));
    store.write(storeId, TupleWrite.writes(Tuple.of("doc:2", "viewer", "user:a")));
    store.close();

    store = JdbcStore.embedded(dataDir);
    assertThat(store.isEmbedded()).isTrue();
    assertThat(store.getStore(storeId)).isPresent();
    assertThat(store.revision(storeId)).isEqualTo(2);
    assertThat(store.latestModel(storeId).orElseThrow().id()).isEqualTo(model);
    assertThat(all()).hasSize(2);
    assertThat(store.changesAfter(storeId, 0, 10)).hasSize(2);
    assertThat(
            store
                .write(storeId, TupleWrite.writes(Tuple.of("doc:3", "viewer", "user:a")))
                .revision())
        .isEqualTo(3);
  }

  @Test
  void committedWrites_surviveAProcessThatDiesAtOnce() throws Exception {
    store.close();
    Path crashDir = dataDir.resolve("crash");
    Process process =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                CrashingWriter.class.getName(),
                crashDir.toString(),
                "40")
            .redirectErrorStream(false)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    AtomicReference<String> output = new AtomicReference<>();
    Thread reader =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    output.set(
                        new String(
                            process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                  } catch (IOException e) {
                    output.set("");
                  }
                });
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    reader.join();
    List<String> lines = output.get().lines().toList();
    assertThat(lines).as("child output").isNotEmpty();
    String crashedStore = lines.getLast().split(" ")[0];
    long committed = Long.parseLong(lines.getLast().split(" ")[1]);
    assertThat(committed).isEqualTo(40);

    store = JdbcStore.embedded(crashDir);
    assertThat(store.revision(crashedStore)).isEqualTo(committed);
    List<Tuple> tuples = new ArrayList<>();
    store.snapshot(crashedStore, t -> tuples.add(t.tuple()));
    assertThat(tuples).hasSize(40);
    assertThat(store.read(crashedStore, TupleFilter.ALL, PageRequest.first(100)).items())
        .hasSize(40);
  }

  @Test
  void listen_isANoOp() throws Exception {
    AutoCloseable listener = store.listen(id -> {});
    listener.close();
  }
}
