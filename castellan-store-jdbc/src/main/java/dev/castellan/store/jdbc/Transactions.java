package dev.castellan.store.jdbc;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * Runs work in a transaction on a pooled connection: committed when the work returns, rolled back
 * when it throws, and a database failure turned into {@code STORE_UNAVAILABLE} naming the data that
 * could not be reached, never a raw SQL error. Every JDBC store part goes through one. Connections
 * come from the pool in manual-commit mode at READ COMMITTED.
 *
 * <p>Work that is safe to run again goes through {@link #runRetrying}: a transaction the database
 * aborted for a serialization failure or a deadlock (SQLSTATE 40001, 40P01; what a database running
 * SERIALIZABLE, such as CockroachDB, answers under contention) is run again, a bounded number of
 * times after a jittered pause, before the failure reaches the caller as {@code STORE_UNAVAILABLE}.
 */
final class Transactions {
  /** Attempts in all, the first included, of a transaction aborted by 40001 or 40P01. */
  static final int MAX_ATTEMPTS = 4;

  private static final long FIRST_PAUSE_NANOS = 2_000_000L;
  private static final long LONGEST_PAUSE_NANOS = 50_000_000L;

  /** The work of one transaction. */
  @FunctionalInterface
  interface SqlWork<T extends @Nullable Object> {
    T run(Connection connection) throws SQLException;
  }

  private final DataSource pool;
  private final String what;
  private final LongAdder retries;

  /**
   * @param what the data behind the pool, as error messages name it ("the tuple store database")
   * @param retries counts the transactions {@link #runRetrying} ran again
   */
  Transactions(DataSource pool, String what, LongAdder retries) {
    this.pool = pool;
    this.what = what;
    this.retries = retries;
  }

  Transactions(DataSource pool, String what) {
    this(pool, what, new LongAdder());
  }

  /** Transactions run again since this helper was made (with others sharing its counter). */
  long retries() {
    return retries.sum();
  }

  /** Runs {@code work} in one transaction at the pool's isolation level. */
  <T extends @Nullable Object> T run(SqlWork<T> work) {
    try (Connection connection = pool.getConnection()) {
      return commitOrRollback(connection, work);
    } catch (SQLException e) {
      throw unavailable(e);
    }
  }

  /**
   * Runs {@code work} like {@link #run}, and again, up to {@link #MAX_ATTEMPTS} in all, when the
   * database aborts the transaction for a serialization failure or a deadlock. Only for work that
   * is safe to run again: everything it changes is inside the transaction (rolled back before the
   * next attempt), it reads what it depends on afresh, and it hands nothing out before it returns.
   */
  <T extends @Nullable Object> T runRetrying(SqlWork<T> work) {
    long pause = FIRST_PAUSE_NANOS;
    for (int attempt = 1; ; attempt++) {
      try (Connection connection = pool.getConnection()) {
        return commitOrRollback(connection, work);
      } catch (SQLException e) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(e)) {
          throw unavailable(e);
        }
      }
      retries.increment();
      // Full jitter: transactions that collided once do not collide again in step.
      LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(pause / 2, pause + 1));
      if (Thread.currentThread().isInterrupted()) {
        throw new CastellanException(
            ErrorCode.STORE_UNAVAILABLE, what + " is unavailable: interrupted before a retry");
      }
      pause = Math.min(pause * 2, LONGEST_PAUSE_NANOS);
    }
  }

  /** A serialization failure (40001) or a deadlock (40P01), anywhere in the exception's chain. */
  static boolean isRetryable(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql) {
        for (SQLException next = sql; next != null; next = next.getNextException()) {
          String state = next.getSQLState();
          if ("40001".equals(state) || "40P01".equals(state)) {
            return true;
          }
        }
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  /**
   * Runs {@code work} in one transaction at {@code isolation}, for reads that must see one snapshot
   * throughout.
   */
  <T extends @Nullable Object> T runAt(int isolation, SqlWork<T> work) {
    try (Connection connection = pool.getConnection()) {
      connection.setTransactionIsolation(isolation);
      return commitOrRollback(connection, work);
    } catch (SQLException e) {
      throw unavailable(e);
    }
  }

  private static <T extends @Nullable Object> T commitOrRollback(
      Connection connection, SqlWork<T> work) throws SQLException {
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
