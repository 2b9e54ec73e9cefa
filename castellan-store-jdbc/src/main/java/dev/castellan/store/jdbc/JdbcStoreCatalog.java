package dev.castellan.store.jdbc;

import static dev.castellan.store.jdbc.JdbcStoreCatalog.requireStore;
import static dev.castellan.store.jdbc.Timestamps.getRequiredInstant;
import static dev.castellan.store.jdbc.Timestamps.now;
import static dev.castellan.store.jdbc.Timestamps.setTimestamp;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.StoreCatalog;
import dev.castellan.store.StoreInfo;
import dev.castellan.store.Ulids;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code stores} table: one row per store with its revision counter. The other parts check a
 * store exists through {@link #requireStore} and take its next revision through {@link
 * #nextRevision}; deleting a store marks its row deleted and removes its rows from every table the
 * parts name as per-store.
 */
final class JdbcStoreCatalog implements StoreCatalog {
  private final Transactions transactions;
  private final List<String> storeTables;

  /**
   * @param storeTables the tables whose rows belong to one store (a {@code store_id} column),
   *     emptied of a store's rows when it is deleted
   */
  JdbcStoreCatalog(Transactions transactions, List<String> storeTables) {
    this.transactions = transactions;
    this.storeTables = List.copyOf(storeTables);
  }

  static CastellanException storeNotFound(String storeId) {
    return new CastellanException(ErrorCode.STORE_ID_NOT_FOUND, "store " + storeId + " not found");
  }

  /** The store's revision; throws {@code STORE_ID_NOT_FOUND} for a missing or deleted store. */
  static long requireStore(Connection connection, String storeId) throws SQLException {
    if (storeId == null) {
      throw storeNotFound(storeId);
    }
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT revision FROM stores WHERE id = ? AND deleted_at IS NULL")) {
      statement.setString(1, storeId);
      try (ResultSet rs = statement.executeQuery()) {
        if (!rs.next()) {
          throw storeNotFound(storeId);
        }
        return rs.getLong(1);
      }
    }
  }

  /**
   * Takes the store's next revision: the row lock this update takes orders the writers of a store
   * until commit. Returns the new revision.
   */
  static long nextRevision(Connection connection, String storeId, Instant now) throws SQLException {
    if (storeId == null) {
      throw storeNotFound(storeId);
    }
    try (PreparedStatement statement =
        connection.prepareStatement(
            "UPDATE stores SET revision = revision + 1, updated_at = ?"
                + " WHERE id = ? AND deleted_at IS NULL")) {
      setTimestamp(statement, 1, now);
      statement.setString(2, storeId);
      if (statement.executeUpdate() == 0) {
        throw storeNotFound(storeId);
      }
    }
    return requireStore(connection, storeId);
  }

  @Override
  public StoreInfo createStore(String name) {
    Objects.requireNonNull(name, "name");
    StoreCatalog.checkName(name);
    String id = Ulids.next();
    Instant now = now();
    return transactions.runRetrying(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "INSERT INTO stores (id, name, revision, created_at, updated_at)"
                      + " VALUES (?, ?, 0, ?, ?)")) {
            statement.setString(1, id);
            statement.setString(2, name);
            setTimestamp(statement, 3, now);
            setTimestamp(statement, 4, now);
            statement.executeUpdate();
          }
          return new StoreInfo(id, name, now, now);
        });
  }

  @Override
  public Optional<StoreInfo> getStore(String storeId) {
    if (storeId == null) {
      return Optional.empty();
    }
    return transactions.run(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT id, name, created_at, updated_at FROM stores"
                      + " WHERE id = ? AND deleted_at IS NULL")) {
            statement.setString(1, storeId);
            try (ResultSet rs = statement.executeQuery()) {
              return rs.next() ? Optional.of(readStore(rs)) : Optional.<StoreInfo>empty();
            }
          }
        });
  }

  private static StoreInfo readStore(ResultSet rs) throws SQLException {
    return new StoreInfo(
        rs.getString(1), rs.getString(2), getRequiredInstant(rs, 3), getRequiredInstant(rs, 4));
  }

  @Override
  public Page<StoreInfo> listStores(PageRequest page) {
    String[] after = Tokens.decode(page.continuationToken(), Tokens.STORES, 1);
    return transactions.run(
        connection -> {
          String sql =
              "SELECT id, name, created_at, updated_at FROM stores WHERE deleted_at IS NULL"
                  + (after == null ? "" : " AND id > ?")
                  + " ORDER BY id LIMIT ?";
          try (PreparedStatement statement = connection.prepareStatement(sql)) {
            int i = 1;
            if (after != null) {
              statement.setString(i++, after[0]);
            }
            statement.setInt(i, page.pageSize() + 1);
            List<StoreInfo> stores = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                stores.add(readStore(rs));
              }
            }
            if (stores.size() <= page.pageSize()) {
              return new Page<>(stores, "");
            }
            List<StoreInfo> items = stores.subList(0, page.pageSize());
            return new Page<>(items, Tokens.encode(Tokens.STORES, items.getLast().id()));
          }
        });
  }

  @Override
  public boolean deleteStore(String storeId) {
    if (storeId == null) {
      return false;
    }
    Instant now = now();
    return transactions.runRetrying(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "UPDATE stores SET deleted_at = ?, updated_at = ?"
                      + " WHERE id = ? AND deleted_at IS NULL")) {
            setTimestamp(statement, 1, now);
            setTimestamp(statement, 2, now);
            statement.setString(3, storeId);
            if (statement.executeUpdate() == 0) {
              return false;
            }
          }
          for (String table : storeTables) {
            try (PreparedStatement statement =
                connection.prepareStatement("DELETE FROM " + table + " WHERE store_id = ?")) {
              statement.setString(1, storeId);
              statement.executeUpdate();
            }
          }
          return true;
        });
  }
}
