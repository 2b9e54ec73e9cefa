package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.model.ModelDsl;
import dev.castellan.server.CastellanServer;
import dev.castellan.store.PageRequest;
import dev.castellan.store.Store;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.UserDraft;
import dev.castellan.store.jdbc.JdbcStore;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan import} reads a condition context as the server does ({@code Body.context}). */
class ImportCommandTest {
  private static final String MODEL =
      """
      model
        schema 1.1
      type user
      type doc
        relations
          define viewer: [user with small]
      condition small(x: uint) {
        x < 10u
      }
      """;

  @TempDir Path dir;

  /**
   * Before, the command read {@code 1e999999999} with a mapper of its own as an infinite double;
   * now, as in the server, a number outside the range of a double is refused with the line it is
   * on, quickly, and nothing of the file is written.
   */
  @Test
  void import_aContextNumberOutsideTheRangeOfADouble_isRefusedWithItsLine() throws Exception {
    Path data = dir.resolve("data");
    String storeId;
    try (JdbcStore store = JdbcStore.embedded(data)) {
      storeId = store.createStore("docs").id();
      store.writeModel(storeId, ModelDsl.parse(MODEL));
    }
    Path bad = dir.resolve("bad.jsonl");
    Files.writeString(bad, line("doc:1", "3") + line("doc:2", "1e999999999"));
    long start = System.nanoTime();
    Cli.Result refused =
        Cli.run(dir, "import", bad.toString(), "--store", storeId, "--data", data.toString());
    assertThat(refused.exit()).as(refused.toString()).isEqualTo(CliErrors.EXIT);
    assertThat(refused.errorLines())
        .as(refused.toString())
        .singleElement()
        .asString()
        .startsWith(
            "error[validation_error]: line 2: 'condition.context.x' is the number 1E+999999999,"
                + " outside the range of a double");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(60));

    Path good = dir.resolve("good.jsonl");
    Files.writeString(good, line("doc:3", "0.1e1"));
    Cli.Result imported =
        Cli.run(dir, "import", good.toString(), "--store", storeId, "--data", data.toString());
    assertThat(imported.exit()).as(imported.toString()).isZero();
    try (JdbcStore store = JdbcStore.embedded(data)) {
      List<StoredTuple> tuples =
          store.read(storeId, TupleFilter.ALL, PageRequest.first(100)).items();
      assertThat(tuples).extracting(t -> t.tuple().key().object()).containsExactly("doc:3");
      assertThat(new BigDecimal(tuples.get(0).tuple().conditionContext().get("x").toString()))
          .isEqualByComparingTo("1");
    }
  }

  /**
   * Rows naming people by identity (ADR 0024): a known email is written as the directory user, an
   * unknown one held; a user created while no server runs gets its rows when a server starts.
   */
  @Test
  void import_identities_knownWritten_unknownHeld_andAppliedByTheNextServerStart()
      throws Exception {
    Path data = dir.resolve("data");
    String storeId;
    String annId;
    try (JdbcStore store = JdbcStore.embedded(data)) {
      storeId = store.createStore("drive").id();
      store.writeModel(
          storeId,
          ModelDsl.parse(
              """
              model
                schema 1.1
              type user
              type doc
                relations
                  define viewer: [user]
              """));
      annId =
          store
              .directoryStore()
              .createUser(new UserDraft("ann", "", "", true, List.of("ann@example.com"), ""))
              .id();
    }
    Path shares = dir.resolve("shares.jsonl");
    Files.writeString(
        shares,
        """
        {"object":"doc:1","relation":"viewer","identity":{"kind":"email","value":"ANN@example.com"}}
        {"object":"doc:2","relation":"viewer","identity":{"kind":"email","value":"bob@example.com"}}
        {"object":"doc:3","relation":"viewer","user":"user:carl"}
        """);
    Cli.Result imported =
        Cli.run(
            dir,
            "import",
            shares.toString(),
            "--store",
            storeId,
            "--data",
            data.toString(),
            "--source",
            "drive");
    assertThat(imported.exit()).as(imported.toString()).isZero();
    assertThat(imported.toString()).contains("held 1 rows");
    String bobId;
    try (JdbcStore store = JdbcStore.embedded(data)) {
      assertThat(users(store, storeId))
          .containsExactlyInAnyOrder("doc:1@user:" + annId, "doc:3@user:carl");
      assertThat(store.pendingStore().count(storeId)).isEqualTo(1);
      // Bob appears while no server runs (another node's SCIM, say): nothing applies his row yet.
      bobId =
          store
              .directoryStore()
              .createUser(new UserDraft("bob", "", "", true, List.of("bob@example.com"), ""))
              .id();
    }
    try (CastellanServer server =
        CastellanServer.start(
            CastellanServer.Options.defaults()
                .withHost("127.0.0.1")
                .withPort(0)
                .withBootstrapToken("admin-token-0123456789abcdef"),
            JdbcStore.embedded(data))) {
      Store store = server.runtime().store();
      assertThat(users(store, storeId))
          .containsExactlyInAnyOrder(
              "doc:1@user:" + annId, "doc:2@user:" + bobId, "doc:3@user:carl");
      assertThat(store.pendingStore().count(storeId)).isZero();
    }
  }

  private static List<String> users(Store store, String storeId) {
    return store.read(storeId, TupleFilter.ALL, PageRequest.first(100)).items().stream()
        .map(t -> t.tuple().key().object() + "@" + t.tuple().key().user())
        .toList();
  }

  private static String line(String object, String number) {
    return "{\"object\":\""
        + object
        + "\",\"relation\":\"viewer\",\"user\":\"user:a\","
        + "\"condition\":{\"name\":\"small\",\"context\":{\"x\":"
        + number
        + "}}}\n";
  }
}
