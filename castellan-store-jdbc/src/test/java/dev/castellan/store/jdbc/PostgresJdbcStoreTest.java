package dev.castellan.store.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.engine.Tuple;
import dev.castellan.store.TupleWrite;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link JdbcStoreTest} on PostgreSQL ({@code CASTELLAN_TEST_PG_URL}), plus LISTEN/NOTIFY. */
class PostgresJdbcStoreTest extends JdbcStoreTest {
  private static PostgresTestDatabase database;

  @BeforeAll
  static void createDatabase() throws SQLException {
    database = PostgresTestDatabase.create();
  }

  @AfterAll
  static void dropDatabase() throws SQLException {
    if (database != null) {
      database.close();
    }
  }

  @Override
  protected JdbcStore open() throws SQLException {
    return JdbcStore.postgres(database.freshSchemaUrl());
  }

  @Override
  protected JdbcStore openUpgradedFrom(String version, Transactions.SqlWork<Void> before)
      throws SQLException {
    String url = database.freshSchemaUrl();
    org.flywaydb.core.Flyway.configure()
        .dataSource(url, null, null)
        .locations("classpath:db/migration/postgresql")
        .javaMigrations(new V7__Audit_rows_into_segments())
        .target(version)
        .load()
        .migrate();
    try (java.sql.Connection connection = java.sql.DriverManager.getConnection(url)) {
      connection.setAutoCommit(true);
      before.run(connection);
    }
    return JdbcStore.postgres(url);
  }

  /**
   * PostgreSQL delivers notifications in the order their transactions committed. So when a write to
   * a marker store is heard, everything committed before it has been heard too: what has not come
   * by then was never sent. The test proves absences with that, not with a wait.
   */
  @Test
  void listen_hearsCommittedWrites_fromAnotherStoreInstance() throws Exception {
    BlockingQueue<String> heard = new LinkedBlockingQueue<>();
    AutoCloseable listener = store.listen(heard::add);
    try (JdbcStore other = JdbcStore.postgres(database.url())) {
      String otherStore = other.createStore("other").id();
      String marker = other.createStore("marker").id();
      // The listener connects in the background: write until it hears one.
      String first = null;
      for (int i = 0; i < 40 && first == null; i++) {
        other.write(otherStore, TupleWrite.writes(Tuple.of("doc:" + i, "r", "u:a")));
        first = heard.poll(250, TimeUnit.MILLISECONDS);
      }
      assertThat(first).isEqualTo(otherStore);
      drainThroughMarker(other, marker, heard); // the warm-up writes still on their way

      store.write(storeId, TupleWrite.writes(Tuple.of("doc:1", "r", "u:a")));
      assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(storeId);
      // A write that changes nothing notifies nobody: the next thing heard is the marker.
      store.write(
          storeId, new TupleWrite(List.of(Tuple.of("doc:1", "r", "u:a")), List.of(), true, false));
      other.write(marker, TupleWrite.writes(Tuple.of("doc:no-op", "r", "u:a")));
      assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(marker);

      // A closed listener hears nothing more: a listener opened after it hears the next write,
      // and by then the closed one has not.
      listener.close();
      BlockingQueue<String> later = new LinkedBlockingQueue<>();
      try (AutoCloseable second = store.listen(later::add)) {
        String heardLater = null;
        for (int i = 0; i < 40 && heardLater == null; i++) {
          other.write(otherStore, TupleWrite.writes(Tuple.of("doc:after-close-" + i, "r", "u:a")));
          heardLater = later.poll(250, TimeUnit.MILLISECONDS);
        }
        assertThat(heardLater).as("the second listener hears writes").isEqualTo(otherStore);
        drainThroughMarker(other, marker, later);
      }
      assertThat(heard).as("heard by the closed listener").isEmpty();
    } finally {
      listener.close();
    }
  }

  /**
   * A polling store's writes send no NOTIFY: a listener hears the marker written after them next,
   * and notifications arrive in commit order. Its {@code listen} hears nothing either.
   */
  @Test
  void aPollingStore_notifiesNoWrite_andItsListenHearsNothing() throws Exception {
    BlockingQueue<String> heard = new LinkedBlockingQueue<>();
    BlockingQueue<String> heardByPolling = new LinkedBlockingQueue<>();
    try (AutoCloseable listener = store.listen(heard::add);
        JdbcStore polling = JdbcStore.postgres(database.url(), JdbcStore.ChangeSignal.POLL);
        JdbcStore notifying = JdbcStore.postgres(database.url());
        AutoCloseable pollingListener = polling.listen(heardByPolling::add)) {
      String marker = notifying.createStore("marker").id();
      String quiet = polling.createStore("quiet").id();
      String first = null;
      for (int i = 0; i < 40 && first == null; i++) { // the listener connects in the background
        notifying.write(marker, TupleWrite.writes(Tuple.of("doc:warm-" + i, "r", "u:a")));
        first = heard.poll(250, TimeUnit.MILLISECONDS);
      }
      assertThat(first).isEqualTo(marker);
      drainThroughMarker(notifying, marker, heard);

      long revision =
          polling.write(quiet, TupleWrite.writes(Tuple.of("doc:1", "r", "u:a"))).revision();
      assertThat(notifying.tupleStore().revisions(List.of(quiet)))
          .as("the polling store's write committed")
          .containsEntry(quiet, revision);
      notifying.write(marker, TupleWrite.writes(Tuple.of("doc:after", "r", "u:a")));
      assertThat(heard.poll(10, TimeUnit.SECONDS)).as("the next thing heard").isEqualTo(marker);
      assertThat(heardByPolling).as("heard by the polling store's listen").isEmpty();
    }
  }

  /** Writes to {@code marker} and takes from {@code heard} until that write is heard. */
  private static void drainThroughMarker(
      JdbcStore other, String marker, BlockingQueue<String> heard) throws InterruptedException {
    other.write(marker, TupleWrite.writes(Tuple.of("doc:" + System.nanoTime(), "r", "u:a")));
    String next;
    do {
      next = heard.poll(10, TimeUnit.SECONDS);
      assertThat(next).as("the marker write is heard").isNotNull();
    } while (!next.equals(marker));
  }

  @Test
  void postgresUrl_withSeparateCredentials() throws SQLException {
    // The factory with user and password arguments; the test URL carries the user itself.
    try (JdbcStore other =
        JdbcStore.postgres(database.freshSchemaUrl(), (String) null, (String) null)) {
      assertThat(other.isEmbedded()).isFalse();
      assertThat(other.createStore("x").id()).hasSize(26);
    }
  }
}
