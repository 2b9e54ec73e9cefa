package dev.castellan.store.jdbc;

import static dev.castellan.store.jdbc.JdbcStoreCatalog.requireStore;
import static dev.castellan.store.jdbc.Timestamps.getRequiredInstant;
import static dev.castellan.store.jdbc.Timestamps.now;
import static dev.castellan.store.jdbc.Timestamps.setTimestamp;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelJson;
import dev.castellan.store.ModelStore;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.StoredModel;
import dev.castellan.store.Ulids;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Authorization models and their assertions, in {@code authorization_models} and {@code
 * assertions}.
 */
final class JdbcModels implements ModelStore {
  /** The tables holding a store's rows. */
  static final List<String> STORE_TABLES = List.of("assertions", "authorization_models");

  private final Transactions transactions;
  private final Dialect dialect;

  JdbcModels(Transactions transactions, Dialect dialect) {
    this.transactions = transactions;
    this.dialect = dialect;
  }

  // ------------------------------------------------------------------ models

  @Override
  public String writeModel(String storeId, AuthorizationModel model) {
    Objects.requireNonNull(model, "model");
    String json = ModelJson.write(model);
    Instant now = now();
    return transactions.runRetrying(
        connection -> {
          requireStore(connection, storeId);
          String id = Ulids.next();
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "INSERT INTO authorization_models (store_id, id, model_json, created_at)"
                      + " VALUES (?, ?, ?, ?)")) {
            statement.setString(1, storeId);
            statement.setString(2, id);
            statement.setString(3, json);
            setTimestamp(statement, 4, now);
            statement.executeUpdate();
          }
          return id;
        });
  }

  @Override
  public Optional<StoredModel> readModel(String storeId, String modelId) {
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          if (modelId == null) {
            return Optional.<StoredModel>empty();
          }
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT id, model_json, created_at FROM authorization_models"
                      + " WHERE store_id = ? AND id = ?")) {
            statement.setString(1, storeId);
            statement.setString(2, modelId);
            try (ResultSet rs = statement.executeQuery()) {
              return rs.next() ? Optional.of(readModel(rs)) : Optional.<StoredModel>empty();
            }
          }
        });
  }

  private static StoredModel readModel(ResultSet rs) throws SQLException {
    return new StoredModel(
        rs.getString(1), ModelJson.read(rs.getString(2)), getRequiredInstant(rs, 3));
  }

  @Override
  public Optional<StoredModel> latestModel(String storeId) {
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT id, model_json, created_at FROM authorization_models"
                      + " WHERE store_id = ? ORDER BY id DESC LIMIT 1")) {
            statement.setString(1, storeId);
            try (ResultSet rs = statement.executeQuery()) {
              return rs.next() ? Optional.of(readModel(rs)) : Optional.<StoredModel>empty();
            }
          }
        });
  }

  @Override
  public Page<StoredModel> listModels(String storeId, PageRequest page) {
    String[] before = Tokens.decode(page.continuationToken(), Tokens.MODELS, 1);
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          String sql =
              "SELECT id, model_json, created_at FROM authorization_models WHERE store_id = ?"
                  + (before == null ? "" : " AND id < ?")
                  + " ORDER BY id DESC LIMIT ?";
          try (PreparedStatement statement = connection.prepareStatement(sql)) {
            int i = 1;
            statement.setString(i++, storeId);
            if (before != null) {
              statement.setString(i++, before[0]);
            }
            statement.setInt(i, page.pageSize() + 1);
            List<StoredModel> models = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                models.add(readModel(rs));
              }
            }
            if (models.size() <= page.pageSize()) {
              return new Page<>(models, "");
            }
            List<StoredModel> items = models.subList(0, page.pageSize());
            return new Page<>(items, Tokens.encode(Tokens.MODELS, items.getLast().id()));
          }
        });
  }

  // ------------------------------------------------------------------ assertions

  @Override
  public void writeAssertions(String storeId, String modelId, String assertionsJson) {
    Objects.requireNonNull(assertionsJson, "assertionsJson");
    transactions.runRetrying(
        connection -> {
          requireStore(connection, storeId);
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT 1 FROM authorization_models WHERE store_id = ? AND id = ?")) {
            statement.setString(1, storeId);
            statement.setString(2, modelId);
            try (ResultSet rs = statement.executeQuery()) {
              if (!rs.next()) {
                throw new CastellanException(
                    ErrorCode.AUTHORIZATION_MODEL_NOT_FOUND,
                    "authorization model " + modelId + " not found");
              }
            }
          }
          try (PreparedStatement statement =
              connection.prepareStatement(dialect.upsertAssertions())) {
            statement.setString(1, storeId);
            statement.setString(2, modelId);
            statement.setString(3, assertionsJson);
            statement.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public String readAssertions(String storeId, String modelId) {
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT assertions_json FROM assertions WHERE store_id = ? AND model_id = ?")) {
            statement.setString(1, storeId);
            statement.setString(2, modelId);
            try (ResultSet rs = statement.executeQuery()) {
              return rs.next() ? rs.getString(1) : "[]";
            }
          }
        });
  }
}
