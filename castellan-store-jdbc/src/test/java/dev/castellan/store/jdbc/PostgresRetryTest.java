package dev.castellan.store.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.store.PageRequest;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.WriteResult;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Transactions that PostgreSQL aborts for a serialization failure (40001) or a deadlock (40P01) are
 * run again by {@link Transactions#runRetrying}, provoked for real between two connections: what a
 * database running SERIALIZABLE (CockroachDB) answers under contention, and what two transactions
 * taking the same locks in opposite orders get on any.
 */
class PostgresRetryTest {
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

  /** A pool at REPEATABLE READ, as a store on a database that runs above READ COMMITTED. */
  private static HikariDataSource repeatableReadPool(String url) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setAutoCommit(false);
    config.setMaximumPoolSize(2);
    config.setTransactionIsolation("TRANSACTION_REPEATABLE_READ");
    return new HikariDataSource(config);
  }

  private static void execute(String url, String sql) throws SQLException {
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static int counter(String url) throws SQLException {
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SELECT v FROM counter WHERE id = 1")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /**
   * The work reads the row (taking its snapshot), another connection updates it and commits, then
   * the work updates it: "could not serialize access due to concurrent update" on its first {@code
   * collisions} attempts.
   */
  private static Transactions.SqlWork<Integer> incrementColliding(
      String url, int collisions, AtomicInteger attempts) {
    return connection -> {
      int attempt = attempts.incrementAndGet();
      try (Statement statement = connection.createStatement();
          ResultSet rs = statement.executeQuery("SELECT v FROM counter WHERE id = 1")) {
        rs.next();
      }
      if (attempt <= collisions) {
        execute(url, "UPDATE counter SET v = v + 10 WHERE id = 1");
      }
      try (Statement statement = connection.createStatement()) {
        statement.executeUpdate("UPDATE counter SET v = v + 1 WHERE id = 1");
      }
      return attempt;
    };
  }

  @Test
  void aSerializationFailure_isRunAgain_andTheWriteSucceeds() throws SQLException {
    String url = database.freshSchemaUrl();
    execute(url, "CREATE TABLE counter (id INT PRIMARY KEY, v INT NOT NULL)");
    execute(url, "INSERT INTO counter VALUES (1, 0)");
    try (HikariDataSource pool = repeatableReadPool(url)) {
      Transactions transactions = new Transactions(pool, "the test database");
      AtomicInteger attempts = new AtomicInteger();

      int attempt = transactions.runRetrying(incrementColliding(url, 1, attempts));

      assertThat(attempt).as("committed on the second attempt").isEqualTo(2);
      assertThat(counter(url)).as("the other update, then this one, each once").isEqualTo(11);
      assertThat(transactions.retries()).isEqualTo(1);

      // The same collision without retrying: the caller sees STORE_UNAVAILABLE, caused by 40001.
      AtomicInteger once = new AtomicInteger();
      assertThatThrownBy(() -> transactions.run(incrementColliding(url, 1, once)))
          .isInstanceOf(CastellanException.class)
          .satisfies(e -> assertThat(sqlState(e)).isEqualTo("40001"));
      assertThat(counter(url)).as("only the other connection's update").isEqualTo(21);
    }
  }

  @Test
  void retries_areBounded_thenTheFailureReachesTheCaller() throws SQLException {
    String url = database.freshSchemaUrl();
    execute(url, "CREATE TABLE counter (id INT PRIMARY KEY, v INT NOT NULL)");
    execute(url, "INSERT INTO counter VALUES (1, 0)");
    try (HikariDataSource pool = repeatableReadPool(url)) {
      Transactions transactions = new Transactions(pool, "the test database");
      AtomicInteger attempts = new AtomicInteger();

      assertThatThrownBy(
              () -> transactions.runRetrying(incrementColliding(url, Integer.MAX_VALUE, attempts)))
          .isInstanceOf(CastellanException.class)
          .hasMessage("the test database is unavailable")
          .satisfies(
              e -> {
                assertThat(((CastellanException) e).code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE);
                assertThat(sqlState(e)).isEqualTo("40001");
              });
      assertThat(attempts).hasValue(Transactions.MAX_ATTEMPTS);
      assertThat(transactions.retries()).isEqualTo(Transactions.MAX_ATTEMPTS - 1);
      assertThat(counter(url)).isEqualTo(10 * Transactions.MAX_ATTEMPTS);
    }
  }

  @Test
  void otherFailures_areNotRetried() throws SQLException {
    String url = database.freshSchemaUrl();
    try (HikariDataSource pool = repeatableReadPool(url)) {
      Transactions transactions = new Transactions(pool, "the test database");
      AtomicInteger attempts = new AtomicInteger();
      assertThatThrownBy(
              () ->
                  transactions.runRetrying(
                      connection -> {
                        attempts.incrementAndGet();
                        try (Statement statement = connection.createStatement()) {
                          statement.execute("SELECT * FROM missing_table");
                        }
                        return null;
                      }))
          .isInstanceOf(CastellanException.class);
      assertThat(attempts).hasValue(1);
      assertThat(transactions.retries()).isZero();
    }
  }

  /**
   * A tuple write deadlocked against another transaction (which holds the tuple's row and then asks
   * for the store's revision row, which the write holds): PostgreSQL aborts the write with 40P01,
   * the store runs it again, and it succeeds once the other transaction ends.
   */
  @Test
  void aTupleWriteAbortedByADeadlock_isRunAgain_andSucceeds() throws Exception {
    String url = database.freshSchemaUrl();
    try (JdbcStore store = JdbcStore.postgres(url)) {
      String storeId = store.createStore("deadlocked").id();
      Tuple tuple = Tuple.of("doc:1", "viewer", "user:anne");
      store.write(storeId, TupleWrite.writes(tuple));
      long before = store.revision(storeId);

      try (Connection other = DriverManager.getConnection(url);
          Connection watcher = DriverManager.getConnection(url)) {
        other.setAutoCommit(false);
        try (Statement statement = other.createStatement()) {
          // The write's own deadlock check (1 s, the server's default) runs first: it is the one
          // PostgreSQL aborts.
          statement.execute("SET LOCAL deadlock_timeout = '60s'");
        }
        try (PreparedStatement lock =
            other.prepareStatement("SELECT 1 FROM tuples WHERE store_id = ? FOR UPDATE")) {
          lock.setString(1, storeId);
          lock.executeQuery().close();
        }
        CompletableFuture<WriteResult> delete =
            CompletableFuture.supplyAsync(
                () -> store.write(storeId, TupleWrite.deletes(tuple.key())));
        awaitWaitingOnALock(watcher, "castellan");
        try (PreparedStatement revisionRow =
            other.prepareStatement("UPDATE stores SET updated_at = updated_at WHERE id = ?")) {
          revisionRow.setString(1, storeId);
          revisionRow.executeUpdate(); // returns once PostgreSQL has aborted the write's attempt
        }
        other.rollback();

        WriteResult result = delete.get(30, TimeUnit.SECONDS);
        assertThat(result.deleted()).isEqualTo(1);
        assertThat(result.revision()).isEqualTo(before + 1);
      }
      // Usually one retry; two when the retry takes the revision row back before the other
      // transaction, woken by the abort, gets it (PostgreSQL hands a row lock to whoever asks
      // first), deadlocking once more.
      assertThat(store.retriedTransactions()).isBetween(1L, Transactions.MAX_ATTEMPTS - 1L);
      assertThat(store.read(storeId, TupleFilter.ALL, PageRequest.first(10)).items()).isEmpty();
      assertThat(store.changesAfter(storeId, before, 10)).hasSize(1);
    }
  }

  /** Waits until a session of this database named {@code application} waits for a lock. */
  private static void awaitWaitingOnALock(Connection watcher, String application)
      throws SQLException, InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    try (PreparedStatement statement =
        watcher.prepareStatement(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                + " AND application_name = ? AND wait_event_type = 'Lock'")) {
      statement.setString(1, application);
      while (System.nanoTime() < deadline) {
        try (ResultSet rs = statement.executeQuery()) {
          rs.next();
          if (rs.getInt(1) > 0) {
            return;
          }
        }
        Thread.sleep(10);
      }
    }
    throw new AssertionError("the write never waited for the other transaction's lock");
  }

  private static String sqlState(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql) {
        return sql.getSQLState();
      }
    }
    return "";
  }
}
