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

  @Test
  void listen_hearsCommittedWrites_fromAnotherStoreInstance() throws Exception {
    BlockingQueue<String> heard = new LinkedBlockingQueue<>();
    AutoCloseable listener = store.listen(heard::add);
    try (JdbcStore other = JdbcStore.postgres(database.url())) {
      String otherStore = other.createStore("other").id();
      // The listener connects in the background: write until it hears one.
      String first = null;
      for (int i = 0; i < 40 && first == null; i++) {
        other.write(otherStore, TupleWrite.writes(Tuple.of("doc:" + i, "r", "u:a")));
        first = heard.poll(250, TimeUnit.MILLISECONDS);
      }
      assertThat(first).isEqualTo(otherStore);
      Thread.sleep(300);
      heard.clear();

      store.write(storeId, TupleWrite.writes(Tuple.of("doc:1", "r", "u:a")));
      assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(storeId);
      // A write that changes nothing notifies nobody.
      store.write(
          storeId, new TupleWrite(List.of(Tuple.of("doc:1", "r", "u:a")), List.of(), true, false));
      assertThat(heard.poll(500, TimeUnit.MILLISECONDS)).isNull();

      listener.close();
      heard.clear();
      other.write(otherStore, TupleWrite.writes(Tuple.of("doc:after-close", "r", "u:a")));
      assertThat(heard.poll(500, TimeUnit.MILLISECONDS)).isNull();
    } finally {
      listener.close();
    }
  }

  @Test
  void postgresUrl_withSeparateCredentials() throws SQLException {
    // The factory with user and password arguments; the test URL carries the user itself.
    try (JdbcStore other = JdbcStore.postgres(database.freshSchemaUrl(), null, null)) {
      assertThat(other.isEmbedded()).isFalse();
      assertThat(other.createStore("x").id()).hasSize(26);
    }
  }
}
