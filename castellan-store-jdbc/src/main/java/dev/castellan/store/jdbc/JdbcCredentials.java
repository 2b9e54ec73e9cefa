package dev.castellan.store.jdbc;

import static dev.castellan.store.jdbc.Timestamps.getInstant;
import static dev.castellan.store.jdbc.Timestamps.setTimestamp;

import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.CredentialStore;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** API key records, in {@code api_keys}. */
final class JdbcCredentials implements CredentialStore {
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
                      "INSERT INTO api_keys (id, name, principal, secret_hash, created_at)"
                          + " VALUES (?, ?, ?, ?, ?)")) {
            delete.setString(1, key.id());
            delete.executeUpdate();
            insert.setString(1, key.id());
            insert.setString(2, key.name());
            insert.setString(3, key.principal());
            insert.setString(4, key.secretHash());
            setTimestamp(insert, 5, key.createdAt());
            insert.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public Optional<ApiKeyRecord> apiKey(String id) {
    return transactions.run(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT id, name, principal, secret_hash, created_at FROM api_keys WHERE id = ?")) {
            statement.setString(1, id);
            try (ResultSet rs = statement.executeQuery()) {
              return rs.next() ? Optional.of(apiKeyRecord(rs)) : Optional.<ApiKeyRecord>empty();
            }
          }
        });
  }

  @Override
  public List<ApiKeyRecord> apiKeys() {
    return transactions.run(
        connection -> {
          List<ApiKeyRecord> out = new ArrayList<>();
          try (PreparedStatement statement =
                  connection.prepareStatement(
                      "SELECT id, name, principal, secret_hash, created_at FROM api_keys"
                          + " ORDER BY created_at, id");
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

  private static ApiKeyRecord apiKeyRecord(ResultSet rs) throws SQLException {
    return new ApiKeyRecord(
        rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), getInstant(rs, 5));
  }
}
