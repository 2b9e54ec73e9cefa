package dev.castellan.store.jdbc;

import static dev.castellan.store.jdbc.Timestamps.setTimestamp;

import dev.castellan.store.DocumentStore;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/** Small JSON documents, in {@code documents}, keyed by kind and key. */
final class JdbcDocuments implements DocumentStore {
  private final Transactions transactions;
  private final Dialect dialect;

  JdbcDocuments(Transactions transactions, Dialect dialect) {
    this.transactions = transactions;
    this.dialect = dialect;
  }

  @Override
  public Optional<String> document(String kind, String key) {
    return transactions.run(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT body FROM documents WHERE kind = ? AND doc_key = ?")) {
            statement.setString(1, kind);
            statement.setString(2, key);
            try (ResultSet rs = statement.executeQuery()) {
              return rs.next() ? Optional.of(rs.getString(1)) : Optional.<String>empty();
            }
          }
        });
  }

  @Override
  public java.util.SortedMap<String, String> documents(String kind) {
    return transactions.run(
        connection -> {
          java.util.SortedMap<String, String> out = new java.util.TreeMap<>();
          try (PreparedStatement statement =
              connection.prepareStatement("SELECT doc_key, body FROM documents WHERE kind = ?")) {
            statement.setString(1, kind);
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
              }
            }
          }
          return out;
        });
  }

  @Override
  public boolean createDocument(String kind, String key, String json) {
    return transactions.run(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(dialect.insertDocumentIfAbsent())) {
            bindDocument(statement, kind, key, json);
            return statement.executeUpdate() > 0;
          }
        });
  }

  @Override
  public void putDocument(String kind, String key, String json) {
    transactions.run(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(dialect.upsertDocument())) {
            bindDocument(statement, kind, key, json);
            statement.executeUpdate();
          }
          return null;
        });
  }

  private static void bindDocument(
      PreparedStatement statement, String kind, String key, String json) throws SQLException {
    DocumentStore.checkSize(kind, key);
    statement.setString(1, kind);
    statement.setString(2, key);
    statement.setString(3, json);
    setTimestamp(statement, 4, Instant.now());
  }

  @Override
  public boolean deleteDocument(String kind, String key) {
    return transactions.run(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement("DELETE FROM documents WHERE kind = ? AND doc_key = ?")) {
            statement.setString(1, kind);
            statement.setString(2, key);
            return statement.executeUpdate() > 0;
          }
        });
  }
}
