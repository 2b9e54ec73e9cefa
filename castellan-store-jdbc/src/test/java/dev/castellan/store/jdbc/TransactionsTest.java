package dev.castellan.store.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The one transaction helper every JDBC store part runs through, on an in-memory H2 database. */
class TransactionsTest {
  private HikariDataSource pool;
  private Transactions transactions;

  @BeforeEach
  void open() throws SQLException {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl("jdbc:h2:mem:tx" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    config.setAutoCommit(false);
    config.setMaximumPoolSize(2);
    pool = new HikariDataSource(config);
    transactions = new Transactions(pool, "the test database");
    transactions.run(
        connection -> {
          try (Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE t (v INT)");
          }
          return null;
        });
  }

  @AfterEach
  void close() {
    pool.close();
  }

  private int rows() {
    return transactions.run(
        connection -> {
          try (Statement statement = connection.createStatement();
              ResultSet rs = statement.executeQuery("SELECT COUNT(*) FROM t")) {
            rs.next();
            return rs.getInt(1);
          }
        });
  }

  private static void insert(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("INSERT INTO t VALUES (1)");
    }
  }

  @Test
  void work_thatReturns_isCommitted() {
    String result =
        transactions.run(
            connection -> {
              insert(connection);
              return "done";
            });
    assertThat(result).isEqualTo("done");
    assertThat(rows()).isEqualTo(1);
  }

  @Test
  void work_thatThrows_isRolledBack_andItsExceptionPassesUnchanged() {
    CastellanException refusal = new CastellanException(ErrorCode.VALIDATION_ERROR, "no");
    assertThatThrownBy(
            () ->
                transactions.run(
                    connection -> {
                      insert(connection);
                      throw refusal;
                    }))
        .isSameAs(refusal);
    assertThat(rows()).isZero();
  }

  @Test
  void aDatabaseFailure_isStoreUnavailable_namingTheData_andKeepingTheCause() {
    assertThatThrownBy(
            () ->
                transactions.run(
                    connection -> {
                      insert(connection);
                      try (Statement statement = connection.createStatement()) {
                        statement.execute("SELECT * FROM missing_table");
                      }
                      return null;
                    }))
        .isInstanceOf(CastellanException.class)
        .hasMessage("the test database is unavailable")
        .hasCauseInstanceOf(SQLException.class)
        .satisfies(
            e ->
                assertThat(((CastellanException) e).code()).isEqualTo(ErrorCode.STORE_UNAVAILABLE));
    assertThat(rows()).isZero();
  }

  @Test
  void runAt_runsTheWorkAtTheIsolationAsked() {
    int seen =
        transactions.runAt(
            Connection.TRANSACTION_SERIALIZABLE, Connection::getTransactionIsolation);
    assertThat(seen).isEqualTo(Connection.TRANSACTION_SERIALIZABLE);
  }
}
