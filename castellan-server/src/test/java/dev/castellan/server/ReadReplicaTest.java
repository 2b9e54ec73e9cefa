package dev.castellan.server;

import static dev.castellan.server.ServerHttp.json;
import static dev.castellan.server.ServerHttp.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.store.ReplicaStats;
import dev.castellan.store.jdbc.JdbcStore;
import dev.castellan.store.jdbc.ReadReplica;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 14 point 4, {@code --pg-read-url}: a node whose snapshot loads and reads go to a real
 * PostgreSQL streaming replica answers a request carrying the consistency token of a write made on
 * another node once the replica has replayed it; a replica that lags past the bound, or is down (at
 * start or later), leaves the request to the primary (ADR 0018).
 */
class ReadReplicaTest {
  @RegisterExtension static final StreamingReplica PG = new StreamingReplica();

  private static final String TOKEN = "read-replica-token-0123456789abcdef";
  private static final Duration MAX_WAIT = Duration.ofSeconds(2);
  private static final String DSL =
      """
      model
        schema 1.1

      type user

      type doc
        relations
          define viewer: [user]
      """;

  private final List<AutoCloseable> closing = new ArrayList<>();
  private String database;
  private CastellanServer primaryNode;
  private String storeId;

  @BeforeEach
  void startPrimaryNode() throws Exception {
    database = PG.createDatabase();
    primaryNode = start(JdbcStore.postgres(PG.primaryUrl(database)));
    createStoreWithModel();
  }

  /** A new store with the model, made on the primary node; the tests' {@link #storeId}. */
  private void createStoreWithModel() throws Exception {
    storeId =
        json(send(primaryNode, TOKEN, "POST", "/stores", "{\"name\":\"replicated\"}"), 201)
            .get("id")
            .asText();
    json(
        send(
            primaryNode,
            TOKEN,
            "POST",
            "/stores/" + storeId + "/authorization-models",
            ModelJson.write(ModelDsl.parse(DSL))),
        201);
  }

  @AfterEach
  void stop() throws Exception {
    try {
      for (AutoCloseable c : closing.reversed()) {
        c.close();
      }
    } finally {
      PG.startReplica();
      PG.resumeReplayIfPaused();
    }
  }

  private CastellanServer start(JdbcStore store) {
    closing.add(store);
    CastellanServer server =
        CastellanServer.start(ServerHttp.loopback().withBootstrapToken(TOKEN), store);
    closing.add(server);
    return server;
  }

  private JdbcStore replicaStore() {
    return JdbcStore.postgres(
        PG.primaryUrl(database), new ReadReplica(PG.replicaUrl(database), MAX_WAIT));
  }

  /** Writes {@code doc:object#viewer@user:anne} on {@code node}; the answer's consistency token. */
  private String write(CastellanServer node, String object) throws Exception {
    return json(
            send(
                node,
                TOKEN,
                "POST",
                "/stores/" + storeId + "/write",
                HttpApiTest.writeBody("doc:" + object, "viewer", "user:anne")),
            200)
        .get("consistency_token")
        .asText();
  }

  private boolean check(CastellanServer node, String object, String token) throws Exception {
    return checkWith(
        node, object, token.isEmpty() ? "" : ",\"consistency_token\":\"" + token + "\"");
  }

  private boolean checkWith(CastellanServer node, String object, String extra) throws Exception {
    return json(
            send(
                node,
                TOKEN,
                "POST",
                "/stores/" + storeId + "/check",
                HttpApiTest.checkBody("doc:" + object, "viewer", "user:anne", extra)),
            200)
        .get("allowed")
        .asBoolean();
  }

  /** The objects read-tuples returns for {@code user:anne} on {@code node}. */
  private List<String> read(CastellanServer node, String token) throws Exception {
    String extra = token.isEmpty() ? "" : ",\"consistency_token\":\"" + token + "\"";
    JsonNode page =
        json(
            send(
                node,
                TOKEN,
                "POST",
                "/stores/" + storeId + "/read",
                "{\"tuple_key\":{\"object\":\"doc:\",\"user\":\"user:anne\"}" + extra + "}"),
            200);
    List<String> objects = new ArrayList<>();
    page.get("tuples").forEach(t -> objects.add(t.get("key").get("object").asText()));
    return objects;
  }

  /** Reads answered by the replica and by the primary in its place, as the store counts them. */
  private record Counts(long replica, long primary) {}

  private static Counts counts(JdbcStore store) {
    ReplicaStats stats = store.readReplicaStats().orElseThrow();
    return new Counts(stats.replicaReads(), stats.primaryReads());
  }

  /** The value of {@code series} (name and labels, as printed) in {@code node}'s /metrics. */
  private static double metric(CastellanServer node, String series) throws Exception {
    String scrape = send(node, TOKEN, "GET", "/metrics", null).body();
    for (String line : scrape.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim());
      }
    }
    throw new AssertionError("no series " + series + " in /metrics:\n" + scrape);
  }

  private static final String LAG_BOUND =
      "castellan_replica_primary_reads_total{reason=\"lag_bound\"}";
  private static final String LATEST =
      "castellan_replica_primary_reads_total{reason=\"higher_consistency\"}";
  private static final String DOWN =
      "castellan_replica_primary_reads_total{reason=\"replica_down\"}";
  private static final String REPLICA_READS = "castellan_replica_reads_total";
  private static final String LAG = "castellan_replica_lag_revisions";

  @Test
  void aTokenFromAWriteOnThePrimaryNode_isAnsweredFromTheReplica() throws Exception {
    JdbcStore reads = replicaStore();
    CastellanServer replicaNode = start(reads);
    String token = write(primaryNode, "plan");

    long before = counts(reads).replica();
    assertThat(check(replicaNode, "plan", token)).isTrue();
    assertThat(read(replicaNode, token)).containsExactly("doc:plan");
    assertThat(counts(reads).replica())
        .as("snapshot, catch-up and read-tuples answered by the replica")
        .isGreaterThan(before);

    // A write on the replica node goes to the primary, and the writer reads it at once.
    String own = write(replicaNode, "memo");
    assertThat(check(replicaNode, "memo", "")).isTrue();
    assertThat(check(primaryNode, "memo", own)).isTrue();
  }

  @Test
  void aReplicaBehindTheToken_leavesTheRequestToThePrimaryAfterTheBound() throws Exception {
    JdbcStore reads = replicaStore();
    CastellanServer replicaNode = start(reads);
    String first = write(primaryNode, "plan");
    assertThat(check(replicaNode, "plan", first)).isTrue();
    Poll.until(
        "the replica to replay the first write",
        Duration.ofSeconds(30),
        () -> read(replicaNode, "").contains("doc:plan"));

    PG.pauseReplay();
    String second = write(primaryNode, "memo");
    double lagBoundBefore = metric(replicaNode, LAG_BOUND);

    // Without a token the node reads the replica, which stands where it was paused: the feed
    // (which heard the primary's notification) and read-tuples both still miss the second write.
    assertThat(read(replicaNode, "")).containsExactly("doc:plan");
    assertThat(check(replicaNode, "memo", "")).isFalse();

    // With its token: the replica is waited for up to the bound, then the primary answers.
    long started = System.nanoTime();
    assertThat(check(replicaNode, "memo", second)).isTrue();
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertThat(took).isGreaterThanOrEqualTo(MAX_WAIT).isLessThan(Duration.ofSeconds(5));
    assertThat(metric(replicaNode, LAG_BOUND))
        .as("the check that waited out the bound counted as a fallback to the primary")
        .isEqualTo(lagBoundBefore + 1);
    assertThat(metric(replicaNode, LAG)).as("the replica was one revision behind").isEqualTo(1);
    assertThat(read(replicaNode, second)).containsExactlyInAnyOrder("doc:plan", "doc:memo");
    assertThat(metric(replicaNode, LAG_BOUND)).isEqualTo(lagBoundBefore + 2);

    // HIGHER_CONSISTENCY asks for the latest, which only the primary has: read there at once,
    // never waiting for the paused replica, and counted as such (not as a fallback after the
    // bound). Each of these would take at least MAX_WAIT if it waited for the replica.
    write(primaryNode, "note");
    double latestBefore = metric(replicaNode, LATEST);
    double lagBoundAfter = metric(replicaNode, LAG_BOUND);
    started = System.nanoTime();
    assertThat(checkWith(replicaNode, "note", ",\"consistency\":\"HIGHER_CONSISTENCY\"")).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(MAX_WAIT);
    assertThat(metric(replicaNode, LATEST)).isEqualTo(latestBefore + 1);

    // With a token as well, HIGHER_CONSISTENCY still wins: the token is not waited for on the
    // replica first.
    String fourth = write(primaryNode, "draft");
    started = System.nanoTime();
    assertThat(
            checkWith(
                replicaNode,
                "draft",
                ",\"consistency\":\"HIGHER_CONSISTENCY\",\"consistency_token\":\"" + fourth + "\""))
        .isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(MAX_WAIT);
    assertThat(metric(replicaNode, LATEST)).isEqualTo(latestBefore + 2);
    assertThat(metric(replicaNode, LAG_BOUND))
        .as("no HIGHER_CONSISTENCY request waited for the replica")
        .isEqualTo(lagBoundAfter);

    PG.resumeReplay();
    Poll.until(
        "reads from the replica again once it has replayed",
        Duration.ofSeconds(30),
        () -> read(replicaNode, "").size() == 4);
  }

  @Test
  void aStoreTheReplicaHasNotReplayed_isLoadedAndReadFromThePrimary() throws Exception {
    JdbcStore reads = replicaStore();
    CastellanServer replicaNode = start(reads);
    PG.pauseReplay();
    // A store made after the pause: the replica does not know it, the primary does.
    createStoreWithModel();
    write(primaryNode, "plan");

    assertThat(check(replicaNode, "plan", "")).isTrue();
    assertThat(read(replicaNode, "")).containsExactly("doc:plan");
    assertThat(counts(reads).primary()).isPositive();
  }

  @Test
  void aReplicaThatGoesDown_leavesReadsToThePrimary_untilItIsBack() throws Exception {
    JdbcStore reads = replicaStore();
    CastellanServer replicaNode = start(reads);
    assertThat(check(replicaNode, "plan", write(primaryNode, "plan"))).isTrue();

    PG.stopReplica();
    String token = write(primaryNode, "memo");
    long started = System.nanoTime();
    assertThat(check(replicaNode, "memo", token)).isTrue();
    assertThat(read(replicaNode, "")).containsExactlyInAnyOrder("doc:plan", "doc:memo");
    assertThat(Duration.ofNanos(System.nanoTime() - started))
        .as("a replica that is down costs a request no connection timeout")
        .isLessThan(Duration.ofSeconds(3));
    long primaryBefore = counts(reads).primary();
    assertThat(primaryBefore).isPositive();
    assertThat(metric(replicaNode, DOWN)).isPositive();

    PG.startReplica();
    long replicaBefore = counts(reads).replica();
    Poll.until(
        "reads on the replica again",
        Duration.ofSeconds(30),
        () -> {
          read(replicaNode, "");
          return counts(reads).replica() > replicaBefore;
        });
    assertThat(metric(replicaNode, REPLICA_READS)).isGreaterThan(replicaBefore);
    assertThat(read(replicaNode, token)).containsExactlyInAnyOrder("doc:plan", "doc:memo");
  }

  @Test
  void aNodeStartsWhileItsReplicaIsDown_andServesFromThePrimary() throws Exception {
    String token = write(primaryNode, "plan");
    PG.stopReplica();

    JdbcStore reads = replicaStore();
    CastellanServer replicaNode = start(reads);
    assertThat(check(replicaNode, "plan", token)).isTrue();
    assertThat(check(replicaNode, "memo", write(replicaNode, "memo"))).isTrue();
    assertThat(read(replicaNode, "")).containsExactlyInAnyOrder("doc:plan", "doc:memo");
    assertThat(counts(reads).replica()).isZero();
  }
}
