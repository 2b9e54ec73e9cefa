package dev.castellan.store.jdbc;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * Runs work in a transaction on a pooled connection: committed when the work returns, rolled back
 * when it throws, and a database failure turned into {@code STORE_UNAVAILABLE} naming the data that
 * could not be reached, never a raw SQL error. Every JDBC store part goes through one. Connections
 * come from the pool in manual-commit mode at READ COMMITTED.
 */
final class Transactions {

  /** The work of one transaction. */
  @FunctionalInterface
  interface SqlWork<T> {
    T run(Connection connection) throws SQLException;
  }

  private final DataSource pool;
  private final String what;

  /**
   * @param what the data behind the pool, as error messages name it ("the tuple store database")
   */
  Transactions(DataSource pool, String what) {
    this.pool = pool;
    this.what = what;
  }

  /** Runs {@code work} in one transaction at the pool's isolation level. */
  <T> T run(SqlWork<T> work) {
    try (Connection connection = pool.getConnection()) {
      return commitOrRollback(connection, work);
    } catch (SQLException e) {
      throw unavailable(e);
    }
  }

  /**
   * Runs {@code work} in one transaction at {@code isolation}, for reads that must see one snapshot
   * throughout.
   */
  <T> T runAt(int isolation, SqlWork<T> work) {
    try (Connection connection = pool.getConnection()) {
      connection.setTransactionIsolation(isolation);
      return commitOrRollback(connection, work);
    } catch (SQLException e) {
      throw unavailable(e);
    }
  }

  private static <T> T commitOrRollback(Connection connection, SqlWork<T> work)
      throws SQLException {
    try {
      T result = work.run(connection);
      connection.commit();
      return result;
    } catch (SQLException | RuntimeException | Error e) {
      try {
        connection.rollback();
      } catch (SQLException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** A connection outside any transaction's control, for maintenance statements. */
  Connection connection() throws SQLException {
    return pool.getConnection();
  }

  CastellanException unavailable(SQLException e) {
    return new CastellanException(ErrorCode.STORE_UNAVAILABLE, what + " is unavailable", e);
  }
}
