package dev.castellan.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.server.CastellanServer;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.Store;
import dev.castellan.store.jdbc.JdbcStore;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code /healthz} says the process answers; {@code /readyz} says the node can serve: not while its
 * system store is still loading, its change feed is stopped, or its PostgreSQL database is
 * unreachable; stores of tenants load on first use, after the node is ready.
 */
class ReadinessTest {
  private static final String TOKEN = "readiness-token-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  record Answer(int status, JsonNode body) {}

  private static Answer get(int port, String path) throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return new Answer(response.statusCode(), JSON.readTree(response.body()));
  }

  /** Polls until {@code path} answers {@code status}, for at most {@code seconds}. */
  private static Answer await(int port, String path, int status, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    Answer last;
    do {
      try {
        last = get(port, path);
        if (last.status() == status) {
          return last;
        }
      } catch (java.io.IOException e) {
        last = new Answer(-1, JSON.createObjectNode());
      }
      Thread.sleep(100);
    } while (System.nanoTime() < deadline);
    return last;
  }

  private static CastellanServer.Options options(int port) {
    return CastellanServer.Options.defaults()
        .withHost("127.0.0.1")
        .withPort(port)
        .withBootstrapToken(TOKEN);
  }

  /** A store whose snapshots block until {@code release}, when {@code blocks} says so. */
  private static Store slowSnapshots(
      MemoryStore memory, java.util.function.Predicate<String> blocks, CountDownLatch release) {
    return (Store)
        Proxy.newProxyInstance(
            Store.class.getClassLoader(),
            new Class<?>[] {Store.class},
            (proxy, method, args) -> {
              if (method.getName().equals("snapshot") && blocks.test((String) args[0])) {
                release.await(30, TimeUnit.SECONDS);
              }
              try {
                return method.invoke(memory, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  @Test
  void readyz_answers503WhileTheSystemStoreLoads_whileHealthzAnswers200_thenBoth200()
      throws Exception {
    MemoryStore memory = new MemoryStore();
    String tenant = memory.createStore("tenant").id();
    CountDownLatch release = new CountDownLatch(1);
    // Every snapshot but the tenant's blocks until released: the system store's, at start.
    Store store = slowSnapshots(memory, id -> !id.equals(tenant), release);
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    CompletableFuture<CastellanServer> starting =
        CompletableFuture.supplyAsync(() -> CastellanServer.start(options(port), store));
    try {
      assertThat(await(port, "/healthz", 200, 30).status()).isEqualTo(200);
      Answer loading = get(port, "/readyz");
      assertThat(loading.status()).isEqualTo(503);
      assertThat(loading.body().get("status").asText()).isEqualTo("NOT_SERVING");
      assertThat(loading.body().get("reason").asText()).contains("system store");
      assertThat(starting).isNotDone();
    } finally {
      release.countDown();
    }
    try (CastellanServer server = starting.get(30, TimeUnit.SECONDS)) {
      Answer ready = get(server.port(), "/readyz");
      assertThat(ready.status()).isEqualTo(200);
      assertThat(ready.body().get("status").asText()).isEqualTo("SERVING");
    }
  }

  /** Issue 14: ready means "can serve", not "every store is loaded"; stores load on first use. */
  @Test
  void readyz_answers200BeforeAnyTenantStoreIsLoaded_andAClosedFeedMakesItNotReady()
      throws Exception {
    MemoryStore memory = new MemoryStore();
    String tenant = memory.createStore("tenant").id();
    CountDownLatch never = new CountDownLatch(1);
    // The tenant's snapshot would block start for 30 s if start loaded it.
    Store store = slowSnapshots(memory, tenant::equals, never);
    try (CastellanServer server =
        CompletableFuture.supplyAsync(() -> CastellanServer.start(options(0), store))
            .get(20, TimeUnit.SECONDS)) {
      Answer ready = get(server.port(), "/readyz");
      assertThat(ready.status()).isEqualTo(200);
      assertThat(server.runtime().loadedFeeds()).doesNotContainKey(tenant).hasSize(1);

      server.runtime().changeFeed().close();
      Answer stopped = get(server.port(), "/readyz");
      assertThat(stopped.status()).isEqualTo(503);
      assertThat(stopped.body().get("reason").asText()).contains("change feed");
    } finally {
      never.countDown();
    }
  }

  @Test
  void readyz_answers503WhenPostgresBecomesUnreachable_and200WhenItIsBack() throws Exception {
    String adminUrl = System.getenv("CASTELLAN_TEST_PG_URL");
    assertThat(adminUrl)
        .as("CASTELLAN_TEST_PG_URL must name a PostgreSQL server (./run-tests sets it)")
        .isNotBlank();
    String database = "castellan_ready_" + UUID.randomUUID().toString().substring(0, 8);
    sql(adminUrl, "CREATE DATABASE " + database);
    try {
      String url = withDatabase(adminUrl, database);
      try (CastellanServer server = CastellanServer.start(options(0), JdbcStore.postgres(url))) {
        int port = server.port();
        assertThat(get(port, "/readyz").status()).isEqualTo(200);

        // The database refuses new connections and drops the server's: a real outage.
        sql(adminUrl, "ALTER DATABASE " + database + " ALLOW_CONNECTIONS false");
        sql(
            adminUrl,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"
                + database
                + "'");
        long asked = System.nanoTime();
        Answer down = await(port, "/readyz", 503, 20);
        assertThat(down.status()).isEqualTo(503);
        assertThat(down.body().get("status").asText()).isEqualTo("NOT_SERVING");
        assertThat(down.body().get("reason").asText()).contains("database");
        assertThat(Duration.ofNanos(System.nanoTime() - asked)).isLessThan(Duration.ofSeconds(10));
        assertThat(get(port, "/healthz").status()).isEqualTo(200);

        sql(adminUrl, "ALTER DATABASE " + database + " ALLOW_CONNECTIONS true");
        assertThat(await(port, "/readyz", 200, 30).status()).isEqualTo(200);
      }
    } finally {
      sql(adminUrl, "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
    }
  }

  private static void sql(String url, String statement) throws SQLException {
    try (Connection connection = DriverManager.getConnection(url);
        Statement s = connection.createStatement()) {
      s.execute(statement);
    }
  }

  private static String withDatabase(String url, String database) {
    String prefix = url.substring(0, url.indexOf('/', url.indexOf("//") + 2) + 1);
    int query = url.indexOf('?');
    return prefix + database + (query < 0 ? "" : url.substring(query));
  }
}
