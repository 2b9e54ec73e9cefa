package dev.castellan.store.jdbc;

import static dev.castellan.store.jdbc.Timestamps.getInstant;
import static dev.castellan.store.jdbc.Timestamps.getRequiredInstant;
import static dev.castellan.store.jdbc.Timestamps.setTimestamp;

import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.CredentialStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/** API key records, in {@code api_keys}. */
final class JdbcCredentials implements CredentialStore {
  private static final String COLUMNS =
      "id, name, principal, secret_hash, created_at, expires_at, rotated_at,"
          + " previous_secret_hash, grace_ends_at, last_used_at";

  private final Transactions transactions;

  JdbcCredentials(Transactions transactions) {
    this.transactions = transactions;
  }

  @Override
  public void saveApiKey(ApiKeyRecord key) {
    transactions.run(
        connection -> {
          try (PreparedStatement delete =
                  connection.prepareStatement("DELETE FROM api_keys WHERE id = ?");
              PreparedStatement insert =
                  connection.prepareStatement(
                      "INSERT INTO api_keys ("
                          + COLUMNS
                          + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            delete.setString(1, key.id());
            delete.executeUpdate();
            ApiKeyRecord.Rotation rotation = key.rotation();
            insert.setString(1, key.id());
            insert.setString(2, key.name());
            insert.setString(3, key.principal());
            insert.setString(4, key.secretHash());
            setTimestamp(insert, 5, key.createdAt());
            setTimestamp(insert, 6, key.expiresAt());
            setTimestamp(insert, 7, rotation == null ? null : rotation.rotatedAt());
            insert.setString(8, rotation == null ? null : rotation.previousSecretHash());
            setTimestamp(insert, 9, rotation == null ? null : rotation.graceEndsAt());
            setTimestamp(insert, 10, key.lastUsedAt());
            insert.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public Optional<ApiKeyRecord> apiKey(String id) {
    return transactions.run(connection -> select(connection, id));
  }

  private static Optional<ApiKeyRecord> select(Connection connection, String id)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT " + COLUMNS + " FROM api_keys WHERE id = ?")) {
      statement.setString(1, id);
      try (ResultSet rs = statement.executeQuery()) {
        return rs.next() ? Optional.of(apiKeyRecord(rs)) : Optional.<ApiKeyRecord>empty();
      }
    }
  }

  @Override
  public List<ApiKeyRecord> apiKeys() {
    return transactions.run(
        connection -> {
          List<ApiKeyRecord> out = new ArrayList<>();
          try (PreparedStatement statement =
                  connection.prepareStatement(
                      "SELECT " + COLUMNS + " FROM api_keys ORDER BY created_at, id");
              ResultSet rs = statement.executeQuery()) {
            while (rs.next()) {
              out.add(apiKeyRecord(rs));
            }
          }
          return out;
        });
  }

  @Override
  public boolean revokeApiKey(String id) {
    return transactions.run(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement("DELETE FROM api_keys WHERE id = ?")) {
            statement.setString(1, id);
            return statement.executeUpdate() > 0;
          }
        });
  }

  @Override
  public Optional<ApiKeyRecord> rotateApiKey(
      String id,
      String newSecretHash,
      Instant rotatedAt,
      Instant graceEndsAt,
      @Nullable Instant expiresAt) {
    return transactions.run(
        connection -> {
          // One statement: the right-hand secret_hash is the row's value before the update, so
          // two rotations at once each demote the secret the other installed, and none is lost.
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE api_keys SET previous_secret_hash = secret_hash, secret_hash = ?,"
                      + " rotated_at = ?, grace_ends_at = ?, expires_at = ? WHERE id = ?")) {
            update.setString(1, newSecretHash);
            setTimestamp(update, 2, rotatedAt);
            setTimestamp(update, 3, graceEndsAt);
            setTimestamp(update, 4, expiresAt);
            update.setString(5, id);
            if (update.executeUpdate() == 0) {
              return Optional.<ApiKeyRecord>empty();
            }
          }
          return select(connection, id);
        });
  }

  @Override
  public void recordApiKeyUses(Map<String, Instant> lastUsed) {
    if (lastUsed.isEmpty()) {
      return;
    }
    transactions.run(
        connection -> {
          // In id order, so that two servers flushing at once lock the rows in the same order.
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE api_keys SET last_used_at = ? WHERE id = ?"
                      + " AND (last_used_at IS NULL OR last_used_at < ?)")) {
            for (Map.Entry<String, Instant> use : new TreeMap<>(lastUsed).entrySet()) {
              setTimestamp(update, 1, use.getValue());
              update.setString(2, use.getKey());
              setTimestamp(update, 3, use.getValue());
              update.addBatch();
            }
            update.executeBatch();
          }
          return null;
        });
  }

  private static ApiKeyRecord apiKeyRecord(ResultSet rs) throws SQLException {
    Instant rotatedAt = getInstant(rs, 7);
    String previous = rs.getString(8);
    Instant graceEndsAt = getInstant(rs, 9);
    ApiKeyRecord.Rotation rotation =
        rotatedAt == null || previous == null || graceEndsAt == null
            ? null
            : new ApiKeyRecord.Rotation(rotatedAt, previous, graceEndsAt);
    return new ApiKeyRecord(
        rs.getString(1),
        rs.getString(2),
        rs.getString(3),
        rs.getString(4),
        getRequiredInstant(rs, 5),
        getInstant(rs, 6),
        rotation,
        getInstant(rs, 10));
  }
}
