package dev.castellan.server;

import static dev.castellan.server.ServerHttp.json;
import static dev.castellan.server.ServerHttp.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.store.ConsistencyToken;
import dev.castellan.store.IndexFeed;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 point 5: on a loaded store, a check, a batch-check, a list-objects or a list-users that
 * carries no consistency requirement makes no database call on its request's path. The store, its
 * latest model, the caller's key and its rights are served from memory; audit entries are written
 * by the trail's background writer. Proven on PostgreSQL by counting the statements the JDBC driver
 * sends ({@code Execute} and simple queries, as its protocol log reports them), by the thread that
 * sends them.
 */
class CheckPathQueriesTest {
  private static final String TOKEN = "check-path-token-0123456789abcdef";
  private static final int ROUNDS = 50;

  /**
   * Threads that may talk to the database while requests run, none of them a request's: the audit
   * writer, the change feed (it polls hourly here, and nothing is written during the count), the
   * notification listener, and the refreshes of a latest model id and an API key record that a
   * request past their freshness starts and does not wait for; and the connection pool's own
   * threads, which open, check and close connections (opening one sends the driver's set-up
   * statements) off every request's path.
   */
  private static final Set<String> BACKGROUND =
      Set.of(
          "castellan-audit-writer",
          "castellan-change-feed",
          "castellan-pg-listen",
          "castellan-latest-model",
          "castellan-api-key-refresh",
          "castellan-postgresql:connection-adder",
          "castellan-postgresql:housekeeper",
          "castellan-postgresql:connection-closer");

  private StoreKind.TestStore testStore;
  private CastellanServer server;
  private String storeId;
  private String readerKey;

  /** Counts the statements pgjdbc sends, by the name of the thread that sends them. */
  private static final class StatementCounter extends Handler {
    final Map<String, LongAdder> byThread = new ConcurrentHashMap<>();

    @Override
    public void publish(LogRecord record) {
      String message = record.getMessage();
      if (message != null
          && (message.startsWith(" FE=> Execute")
              || message.startsWith(" FE=> SimpleQuery")
              || message.startsWith(" FE=> FunctionCall"))) {
        String name = Thread.currentThread().getName();
        byThread
            .computeIfAbsent(name.isEmpty() ? "<request>" : name, k -> new LongAdder())
            .increment();
      }
    }

    Map<String, Long> onRequestThreads() {
      Map<String, Long> out = new TreeMap<>();
      byThread.forEach(
          (thread, count) -> {
            if (!BACKGROUND.contains(thread)) {
              out.put(thread, count.sum());
            }
          });
      return out;
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }

  private final Logger driverLog = Logger.getLogger("org.postgresql.core.v3.QueryExecutorImpl");
  private StatementCounter counter;
  private Level previousLevel;

  @BeforeEach
  void start() throws Exception {
    testStore = StoreKind.POSTGRES.create();
    server =
        testStore.startServer(
            ServerHttp.loopback()
                .withBootstrapToken(TOKEN)
                // No poll during the count, and no notifications: the writes below are applied
                // by their own requests; nothing else changes the database.
                .withChangeNotifications(false)
                .withFeed(new IndexFeed.Options(Duration.ofHours(1), 10_000, Duration.ZERO)));
    storeId =
        json(send(server, TOKEN, "POST", "/stores", "{\"name\":\"check-path\"}"), 201)
            .get("id")
            .asText();
    json(
        send(
            server,
            TOKEN,
            "POST",
            "/stores/" + storeId + "/authorization-models",
            """
            {"schema_version":"1.1","type_definitions":[
              {"type":"user"},
              {"type":"document","relations":{"viewer":{"this":{}}},
               "metadata":{"relations":{"viewer":{"directly_related_user_types":[{"type":"user"}]}}}}]}
            """),
        201);
    json(
        send(
            server,
            TOKEN,
            "POST",
            "/stores/" + storeId + "/write",
            """
            {"writes":{"tuple_keys":[
              {"user":"user:anne","relation":"viewer","object":"document:a"},
              {"user":"user:bob","relation":"viewer","object":"document:b"}]}}
            """),
        200);
    // A key holding only the reader right on the store: its requests go through the store-rights
    // lookup, not only the global admin one.
    readerKey =
        json(
                send(
                    server,
                    TOKEN,
                    "POST",
                    "/api/keys",
                    "{\"name\":\"reader\",\"store_id\":\"" + storeId + "\",\"role\":\"reader\"}"),
                201)
            .get("key")
            .asText();
    counter = new StatementCounter();
    previousLevel = driverLog.getLevel();
  }

  @AfterEach
  void stop() {
    driverLog.removeHandler(counter);
    driverLog.setLevel(previousLevel);
    if (testStore != null) {
      testStore.close();
    }
  }

  private void countFromNow() {
    driverLog.setLevel(Level.FINEST);
    driverLog.addHandler(counter);
  }

  private void stopCounting() {
    driverLog.removeHandler(counter);
    driverLog.setLevel(previousLevel);
  }

  private JsonNode check(String user, String object) throws Exception {
    return json(
        send(
            server,
            readerKey,
            "POST",
            "/stores/" + storeId + "/check",
            "{\"tuple_key\":{\"user\":\""
                + user
                + "\",\"relation\":\"viewer\",\"object\":\""
                + object
                + "\"}}"),
        200);
  }

  private void everyQuery() throws Exception {
    assertThat(check("user:anne", "document:a").get("allowed").asBoolean()).isTrue();
    assertThat(check("user:anne", "document:b").get("allowed").asBoolean()).isFalse();
    JsonNode batch =
        json(
            send(
                server,
                readerKey,
                "POST",
                "/stores/" + storeId + "/batch-check",
                """
                {"checks":[
                  {"tuple_key":{"user":"user:bob","relation":"viewer","object":"document:b"},
                   "correlation_id":"1"},
                  {"tuple_key":{"user":"user:bob","relation":"viewer","object":"document:a"},
                   "correlation_id":"2"}]}
                """),
            200);
    assertThat(batch.at("/result/1/allowed").asBoolean()).isTrue();
    assertThat(batch.at("/result/2/allowed").asBoolean()).isFalse();
    JsonNode objects =
        json(
            send(
                server,
                readerKey,
                "POST",
                "/stores/" + storeId + "/list-objects",
                "{\"type\":\"document\",\"relation\":\"viewer\",\"user\":\"user:anne\"}"),
            200);
    assertThat(objects.get("objects").toString()).isEqualTo("[\"document:a\"]");
    JsonNode users =
        json(
            send(
                server,
                readerKey,
                "POST",
                "/stores/" + storeId + "/list-users",
                """
                {"object":{"type":"document","id":"b"},"relation":"viewer",
                 "user_filters":[{"type":"user"}]}
                """),
            200);
    assertThat(users.at("/users/0/object/id").asText()).isEqualTo("bob");
  }

  @Test
  void queriesOnALoadedStore_makeNoDatabaseCallOnTheRequestPath() throws Exception {
    everyQuery(); // warm: the store is loaded, its model compiled, the key and its rights known
    long storedBefore = server.audit().storedEntries();
    countFromNow();
    for (int i = 0; i < ROUNDS; i++) {
      everyQuery();
    }
    stopCounting();

    assertThat(counter.onRequestThreads())
        .as("statements sent by request threads (all threads: %s)", counter.byThread)
        .isEmpty();
    // Every decision was audited all the same, by the background writer: 6 per round.
    assertThat(server.audit().flush(Duration.ofSeconds(10))).isTrue();
    assertThat(server.audit().storedEntries() - storedBefore).isGreaterThanOrEqualTo(6L * ROUNDS);
    assertThat(server.audit().droppedAllows()).isZero();
  }

  @Test
  void theCounter_seesARequestThatDoesCallTheDatabase() throws Exception {
    countFromNow();
    // Reading tuples goes to the database by design: the counter must see it on a request thread.
    json(send(server, readerKey, "POST", "/stores/" + storeId + "/read", "{}"), 200);
    stopCounting();

    assertThat(counter.onRequestThreads()).isNotEmpty();
  }

  @Test
  void aCheck_namesTheRevisionItWasDecidedAt_inItsTokenAndItsAuditEntry() throws Exception {
    long written = server.runtime().feed(storeId).revision();
    JsonNode answer =
        json(
            send(
                server,
                readerKey,
                "POST",
                "/stores/" + storeId + "/check",
                "{\"tuple_key\":{\"user\":\"user:anne\",\"relation\":\"viewer\","
                    + "\"object\":\"document:a\"}}",
                Map.of("X-Request-Id", "revision-probe-1")),
            200);
    long revision = ConsistencyToken.decode(answer.get("consistency_token").asText(), storeId);
    assertThat(revision).isEqualTo(written).isPositive();

    assertThat(server.audit().flush(Duration.ofSeconds(10))).isTrue();
    JsonNode entries =
        json(send(server, TOKEN, "GET", "/api/audit?action=viewer&limit=100", null), 200)
            .get("entries");
    JsonNode entry = null;
    for (JsonNode candidate : entries) {
      if (candidate.get("request_id").asText().equals("revision-probe-1")) {
        entry = candidate;
      }
    }
    assertThat(entry).as("the check's audit entry in %s", entries).isNotNull();
    assertThat(entry.get("revision").asLong()).isEqualTo(revision);
  }

  @Test
  void aMalformedCheck_failsBeforeWaitingForItsToken() throws Exception {
    // A token from far ahead would make the request wait for the consistency timeout (5 s) and
    // fail with consistency_timeout; the body is read first, so the bad tuple answers at once.
    String ahead = ConsistencyToken.encode(storeId, 1_000_000);
    JsonNode error =
        json(
            send(
                server,
                readerKey,
                "POST",
                "/stores/" + storeId + "/check",
                "{\"tuple_key\":{\"user\":\"user:anne\",\"relation\":\"viewer\"},"
                    + "\"consistency_token\":\""
                    + ahead
                    + "\"}"),
            400);
    assertThat(error.get("code").asText()).isEqualTo("validation_error");
  }
}
