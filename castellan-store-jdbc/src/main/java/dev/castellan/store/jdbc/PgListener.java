package dev.castellan.store.jdbc;

import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Listens on PostgreSQL's {@code castellan_changes} channel over one dedicated connection and hands
 * the store id of each notification to a callback. Reconnects after a lost connection; changes
 * committed while it was disconnected are not reported, so consumers should also poll.
 */
final class PgListener implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(PgListener.class.getName());
  private static final int POLL_MILLIS = 250;
  private static final long RECONNECT_MILLIS = 1_000;

  private final String url;
  private final Properties properties;
  private final Consumer<String> callback;
  private final Thread thread;
  private volatile boolean closed;

  PgListener(String url, Properties properties, Consumer<String> callback) {
    this.url = url;
    this.properties = properties;
    this.callback = callback;
    this.thread = Thread.ofVirtual().name("castellan-pg-listen").unstarted(this::run);
  }

  PgListener start() {
    thread.start();
    return this;
  }

  private void run() {
    while (!closed) {
      try (Connection connection = DriverManager.getConnection(url, properties)) {
        connection.setAutoCommit(true);
        try (Statement statement = connection.createStatement()) {
          statement.execute("LISTEN " + JdbcTuples.NOTIFY_CHANNEL);
        }
        PGConnection pg = connection.unwrap(PGConnection.class);
        while (!closed) {
          PGNotification[] notifications = pg.getNotifications(POLL_MILLIS);
          if (notifications == null) {
            continue;
          }
          for (PGNotification notification : notifications) {
            deliver(notification.getParameter());
          }
        }
      } catch (SQLException e) {
        if (closed) {
          return;
        }
        LOG.log(Level.WARNING, "lost the PostgreSQL change listener; reconnecting", e);
        try {
          Thread.sleep(RECONNECT_MILLIS);
        } catch (InterruptedException interrupted) {
          return;
        }
      }
    }
  }

  private void deliver(String payload) {
    if (payload == null) {
      return;
    }
    int colon = payload.lastIndexOf(':');
    String storeId = colon < 0 ? payload : payload.substring(0, colon);
    try {
      callback.accept(storeId);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "change listener callback failed", e);
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
