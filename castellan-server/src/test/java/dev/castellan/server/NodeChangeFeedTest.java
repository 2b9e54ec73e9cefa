package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.engine.Tuple;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.jdbc.JdbcStore;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: a node follows all its stores with one change feed, wired by the server itself, so an
 * application that embeds {@link CastellanServer} gets PostgreSQL's notifications without the CLI;
 * and a node whose notifications are off or lost still converges by polling.
 */
class NodeChangeFeedTest {
  private static final String TOKEN = "node-feed-token-0123456789abcdef";
  private static final Duration AN_HOUR = Duration.ofHours(1);

  private String adminUrl;
  private String database;
  private String url;

  @BeforeEach
  void createDatabase() {
    adminUrl = System.getenv(StoreKind.PG_ENV);
    assertThat(adminUrl)
        .as(StoreKind.PG_ENV + " must name a PostgreSQL server (./run-tests sets it)")
        .isNotBlank();
    database = "castellan_feed_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    StoreKind.sql(adminUrl, "CREATE DATABASE " + database);
    url = StoreKind.withDatabase(adminUrl, database);
  }

  @AfterEach
  void dropDatabase() {
    StoreKind.sql(adminUrl, "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
  }

  private static CastellanServer.Options options(Duration pollInterval) {
    return CastellanServer.Options.defaults()
        .withHost("127.0.0.1")
        .withPort(0)
        .withBootstrapToken(TOKEN)
        .withFeed(new IndexFeed.Options(pollInterval, 10_000, Duration.ZERO));
  }

  /** Sessions of the test database that listen for changes (their last statement was LISTEN). */
  private int listeners() throws SQLException {
    try (Connection connection = DriverManager.getConnection(adminUrl);
        PreparedStatement statement =
            connection.prepareStatement(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = ? AND query LIKE 'LISTEN%'")) {
      statement.setString(1, database);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  private static long write(JdbcStore writer, String storeId, int n) {
    return writer
        .write(storeId, TupleWrite.writes(Tuple.of("doc:" + n, "viewer", "user:a")))
        .revision();
  }

  @Test
  void anEmbeddedServer_hearsAnotherNodesWrites_withoutPolling() throws Exception {
    try (JdbcStore writer = JdbcStore.postgres(url);
        CastellanServer node = CastellanServer.start(options(AN_HOUR), JdbcStore.postgres(url))) {
      String storeId = writer.createStore("tenant").id();
      IndexFeed feed = node.runtime().feed(storeId);
      // The listener connects in the background, and the next poll is an hour away: write until a
      // notification brings a write in.
      boolean heard = false;
      for (int i = 0; i < 40 && !heard; i++) {
        long revision = write(writer, storeId, i);
        long deadline = System.nanoTime() + Duration.ofMillis(250).toNanos();
        while (feed.revision() < revision && System.nanoTime() < deadline) {
          Thread.sleep(5);
        }
        heard = feed.revision() >= revision;
      }
      assertThat(heard).as("a write on another node reached this one by notification").isTrue();
      assertThat(listeners()).isEqualTo(1);

      long revision = write(writer, storeId, 1_000);
      Poll.until(
          "the next write by notification",
          Duration.ofSeconds(10),
          () -> feed.revision() == revision);
    }
  }

  @Test
  void withNotificationsOff_aNodeConvergesByPolling() throws Exception {
    try (JdbcStore writer = JdbcStore.postgres(url);
        CastellanServer node =
            CastellanServer.start(
                options(Duration.ofMillis(50)).withChangeNotifications(false),
                JdbcStore.postgres(url))) {
      String a = writer.createStore("a").id();
      String b = writer.createStore("b").id();
      IndexFeed feedA = node.runtime().feed(a);
      IndexFeed feedB = node.runtime().feed(b);
      assertThat(listeners()).isZero();

      long revisionA = write(writer, a, 1);
      long revisionB = write(writer, b, 1);
      write(writer, b, 2);
      Poll.until(
          "both stores by polling",
          Duration.ofSeconds(10),
          () -> feedA.revision() == revisionA && feedB.revision() == revisionB + 1);
      assertThat(feedB.index().size()).isEqualTo(2);
    }
  }

  @Test
  void whenNotificationsAreLost_aNodeStillConvergesByPolling() throws Exception {
    try (JdbcStore writer = JdbcStore.postgres(url);
        CastellanServer node =
            CastellanServer.start(options(Duration.ofMillis(100)), JdbcStore.postgres(url))) {
      String storeId = writer.createStore("tenant").id();
      IndexFeed feed = node.runtime().feed(storeId);
      Poll.until("the listener connected", Duration.ofSeconds(10), () -> listeners() == 1);

      // Drop the listening session: until it reconnects, a second later, whatever is written is
      // notified to nobody.
      StoreKind.sql(
          adminUrl,
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"
              + database
              + "' AND query LIKE 'LISTEN%'");
      Poll.until("the listener gone", Duration.ofSeconds(10), () -> listeners() == 0);
      long revision = write(writer, storeId, 1);

      Poll.until("the write by polling", Duration.ofSeconds(10), () -> feed.revision() == revision);
    }
  }

  /** Before issue 14 each store added a platform thread to the node; now the node has one feed. */
  @Test
  void aThousandStores_addNoThreadsToANode() throws Exception {
    int withOne = liveThreads(1);
    int withThousand = liveThreads(1_000);
    System.out.printf(
        "live threads of a node: with 1 store %d, with 1,000 stores %d%n", withOne, withThousand);
    // A thread per store would add 999; the margin is for threads other tests leave winding down.
    assertThat(withThousand - withOne).isLessThanOrEqualTo(20);
  }

  /** Live threads of the JVM while a node serves {@code stores} loaded stores. */
  private static int liveThreads(int stores) {
    MemoryStore memory = new MemoryStore();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < stores; i++) {
      String id = memory.createStore("s" + i).id();
      memory.write(id, TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:a")));
      ids.add(id);
    }
    // Other test classes' nodes may still be closing in this JVM: count what this node adds.
    long feedsBefore = changeFeedThreads();
    try (CastellanServer node = CastellanServer.start(options(Duration.ofMillis(200)), memory)) {
      ids.forEach(id -> node.runtime().feed(id)); // stores load on first use
      assertThat(node.runtime().loadedFeeds()).hasSizeGreaterThanOrEqualTo(stores);
      assertThat(node.runtime().changeFeed().followedStores()).isGreaterThanOrEqualTo(stores);
      assertThat(changeFeedThreads())
          .as("one feed thread for the node")
          .isLessThanOrEqualTo(feedsBefore + 1);
      return ManagementFactory.getThreadMXBean().getThreadCount();
    }
  }

  private static long changeFeedThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("castellan-change-feed"))
        .count();
  }
}
