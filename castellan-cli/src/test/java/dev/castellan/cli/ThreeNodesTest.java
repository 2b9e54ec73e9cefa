package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.audit.AuditVerification;
import dev.castellan.cli.ServerProcess.Response;
import dev.castellan.store.jdbc.JdbcStore;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Three real {@code castellan serve} processes over one PostgreSQL database, in both change feed
 * modes: a write's consistency token is honoured on every node, a node killed and restarted while
 * another keeps writing catches up, and a node that joins late serves everything written before.
 *
 * <p>In {@code poll} mode the database is one where LISTEN/NOTIFY must not be used: {@code
 * pg_notify} is shadowed by a function that fails (so a write that sends it fails), and no session
 * of the database may be listening. In {@code notify} mode the same look finds every node's
 * listener, which shows the look can fail.
 */
class ThreeNodesTest {
  private static final String MODEL =
      """
      {"schema_version":"1.1","type_definitions":[{"type":"user"},
       {"type":"doc","relations":{"viewer":{"this":{}}},
        "metadata":{"relations":{"viewer":{"directly_related_user_types":[{"type":"user"}]}}}}]}
      """;

  private record Written(String object, String token) {}

  @ParameterizedTest(name = "--change-feed {0}")
  @ValueSource(strings = {"notify", "poll"})
  void tokensRestartAndLateJoin_overOneDatabase(String mode) throws Exception {
    String url = TestDatabases.create("castellan_three_nodes");
    try {
      boolean polling = mode.equals("poll");
      if (polling) {
        forbidNotify(url);
      }
      threeNodes(url, polling, mode);
    } finally {
      TestDatabases.drop(url);
    }
  }

  private static void threeNodes(String url, boolean polling, String mode) throws Exception {
    List<ServerProcess> nodes = new ArrayList<>();
    try {
      writeRestartAndJoin(url, polling, mode, nodes);
    } finally {
      for (ServerProcess node : nodes) {
        node.close();
      }
    }
    try (JdbcStore store = JdbcStore.postgres(url, JdbcStore.ChangeSignal.POLL)) {
      AuditVerification chain = AuditVerification.of(store.auditRecords());
      assertThat(chain.intact()).as(chain.describe()).isTrue();
    }
  }

  /** Starts nodes into {@code nodes} (closed by the caller) and puts them through the scenario. */
  private static void writeRestartAndJoin(
      String url, boolean polling, String mode, List<ServerProcess> nodes) throws Exception {
    String[] args = {"--pg-url", url, "--change-feed", mode};
    ServerProcess a = ServerProcess.start(args); // alone: the first start migrates the schema
    nodes.add(a);
    ServerProcess b = ServerProcess.start(args);
    nodes.add(b);

    String store = a.post("/stores", "{\"name\":\"three-nodes\"}").body().get("id").asText();
    assertThat(a.post("/stores/" + store + "/authorization-models", MODEL).status()).isEqualTo(201);

    // A token from A is honoured on B.
    Written first = write(a, store, "doc:first", "user:anne");
    assertThat(allowed(b, store, first.object(), "user:anne", first.token())).isTrue();

    // Without a token, B converges by itself: by notification, or by polling alone.
    assertThat(allowed(b, store, "doc:second", "user:anne", null)).isFalse();
    Written second = write(a, store, "doc:second", "user:anne");
    eventually(
        "B sees A's write without a token",
        Duration.ofSeconds(10), // a 200 ms poll, on a machine that may be busy
        () -> allowed(b, store, second.object(), "user:anne", null));

    // B is killed and restarted while A keeps writing.
    List<Written> during = new CopyOnWriteArrayList<>();
    AtomicBoolean writing = new AtomicBoolean(true);
    CompletableFuture<Void> writer =
        CompletableFuture.runAsync(
            () -> {
              try {
                for (int i = 0; writing.get(); i++) {
                  during.add(write(a, store, "doc:w" + i, "user:bob"));
                  Thread.sleep(20); // a steady trickle while B is down, not a flood
                }
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    eventually("A's writer started", Duration.ofSeconds(10), () -> during.size() >= 5);
    b.kill();
    nodes.remove(b);
    ServerProcess restarted = ServerProcess.start(args);
    nodes.add(restarted);
    int beforeLastWrites = during.size();
    eventually(
        "A writes after B's restart",
        Duration.ofSeconds(10),
        () -> during.size() >= beforeLastWrites + 5);
    writing.set(false);
    writer.join();
    assertThat(during.size()).as("writes went on while B was down").isGreaterThan(10);

    String last = during.getLast().token();
    for (int i = 0; i < during.size(); i += Math.max(1, during.size() / 20)) {
      Written w = during.get(i);
      assertThat(allowed(restarted, store, w.object(), "user:bob", w.token()))
          .as("restarted B with the token of " + w.object())
          .isTrue();
    }
    List<String> written = during.stream().map(Written::object).toList();
    assertThat(bobsDocs(restarted, store, last)).containsExactlyInAnyOrderElementsOf(written);

    // A revoke on A, and a node that joins late: it serves everything, no new-enemy miss.
    Response revoke =
        a.post(
            "/stores/" + store + "/write",
            "{\"deletes\":{\"tuple_keys\":[" + tuple("doc:first", "user:anne") + "]}}");
    assertThat(revoke.status()).isEqualTo(200);
    String revokeToken = revoke.body().get("consistency_token").asText();
    ServerProcess c = ServerProcess.start(args);
    nodes.add(c);
    assertThat(allowed(c, store, "doc:first", "user:anne", revokeToken)).isFalse();
    assertThat(allowed(restarted, store, "doc:first", "user:anne", revokeToken)).isFalse();
    assertThat(allowed(c, store, "doc:second", "user:anne", last)).isTrue();
    assertThat(bobsDocs(c, store, null)).containsExactlyInAnyOrderElementsOf(written);

    // C's own writes reach A and B.
    Written fromC = write(c, store, "doc:from-c", "user:carol");
    assertThat(allowed(a, store, fromC.object(), "user:carol", fromC.token())).isTrue();
    assertThat(allowed(restarted, store, fromC.object(), "user:carol", fromC.token())).isTrue();

    if (polling) {
      assertThat(listeners(url)).as("sessions that ran LISTEN in polling mode").isZero();
    } else {
      // One listener per live node (B's killed session is gone once PostgreSQL notices).
      eventually("three listeners", Duration.ofSeconds(10), () -> listeners(url) == 3);
    }
  }

  /**
   * Makes {@code pg_notify} fail in the database: a function of the same name in a schema that the
   * database's search path puts before {@code pg_catalog}.
   */
  private static void forbidNotify(String url) throws SQLException {
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement()) {
      // Not in public: the schema Castellan migrates must be empty on first start.
      statement.execute("CREATE SCHEMA trap");
      statement.execute(
          "CREATE FUNCTION trap.pg_notify(text, text) RETURNS void LANGUAGE plpgsql AS"
              + " $$ BEGIN RAISE EXCEPTION 'NOTIFY is not available on this database'; END $$");
      statement.execute(
          "ALTER DATABASE "
              + connection.getCatalog()
              + " SET search_path = public, trap, pg_catalog");
    }
    try (Connection connection = DriverManager.getConnection(url);
        PreparedStatement notify = connection.prepareStatement("SELECT pg_notify(?, ?)")) {
      notify.setString(1, "castellan_changes");
      notify.setString(2, "x:1");
      assertThatThrownBy(notify::execute)
          .as("the trap works")
          .hasMessageContaining("NOTIFY is not available");
    }
  }

  /** Sessions of the database whose last statement was a LISTEN (a listener idles after it). */
  private static int listeners(String url) throws SQLException {
    try (Connection connection = DriverManager.getConnection(url);
        PreparedStatement statement =
            connection.prepareStatement(
                "SELECT count(*) FROM pg_stat_activity"
                    + " WHERE datname = current_database() AND query ILIKE 'LISTEN%'")) {
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  private static String tuple(String object, String user) {
    return "{\"object\":\"" + object + "\",\"relation\":\"viewer\",\"user\":\"" + user + "\"}";
  }

  private static Written write(ServerProcess node, String store, String object, String user)
      throws Exception {
    Response response =
        node.post(
            "/stores/" + store + "/write",
            "{\"writes\":{\"tuple_keys\":[" + tuple(object, user) + "]}}");
    assertThat(response.status()).as(response.body().toString()).isEqualTo(200);
    return new Written(object, response.body().get("consistency_token").asText());
  }

  private static boolean allowed(
      ServerProcess node, String store, String object, String user, String token) throws Exception {
    Response response =
        node.post(
            "/stores/" + store + "/check",
            "{\"tuple_key\":"
                + tuple(object, user)
                + (token == null ? "" : ",\"consistency_token\":\"" + token + "\"")
                + "}");
    assertThat(response.status()).as(response.body().toString()).isEqualTo(200);
    return response.body().get("allowed").asBoolean();
  }

  /** The docs {@code user:bob} may view, from list-objects (not cut: a few hundred at most). */
  private static List<String> bobsDocs(ServerProcess node, String store, String token)
      throws Exception {
    Response response =
        node.post(
            "/stores/" + store + "/list-objects",
            "{\"type\":\"doc\",\"relation\":\"viewer\",\"user\":\"user:bob\""
                + (token == null ? "" : ",\"consistency_token\":\"" + token + "\"")
                + "}");
    assertThat(response.status()).as(response.body().toString()).isEqualTo(200);
    assertThat(response.body().path("continuation_token").asText("")).isEmpty();
    List<String> objects = new ArrayList<>();
    response.body().get("objects").forEach(o -> objects.add(o.asText()));
    return objects;
  }

  @FunctionalInterface
  private interface Condition {
    boolean holds() throws Exception;
  }

  /** Returns once {@code condition} holds; fails naming {@code what} after {@code max}. */
  private static void eventually(String what, Duration max, Condition condition) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    while (!condition.holds()) {
      assertThat(System.nanoTime())
          .as("waited " + max.toMillis() + " ms for " + what)
          .isLessThan(deadline);
      Thread.sleep(5);
    }
  }
}
