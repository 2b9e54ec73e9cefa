package dev.castellan.store.jdbc;

import static dev.castellan.store.jdbc.JdbcStoreCatalog.requireStore;
import static dev.castellan.store.jdbc.Timestamps.getRequiredInstant;
import static dev.castellan.store.jdbc.Timestamps.now;
import static dev.castellan.store.jdbc.Timestamps.setTimestamp;

import dev.castellan.engine.Tuple;
import dev.castellan.store.HeldTuple;
import dev.castellan.store.Identity;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.PendingStore;
import dev.castellan.store.PendingTuple;
import dev.castellan.store.Ulids;
import dev.castellan.store.WriteResult;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Held rows in {@code pending_tuples}, with each store's count in {@code pending_counts}, whose row
 * lock orders the transactions that add, drop and claim a store's rows (so the limit holds, and
 * holds and claims never wait on each other's rows in opposite orders). A claim deletes the rows it
 * returns ({@code DELETE ... RETURNING} on PostgreSQL, H2's {@code OLD TABLE}) and writes them
 * through {@link JdbcTuples#writeNew} in the same transaction.
 */
final class JdbcPending implements PendingStore {
  /** The tables holding a store's rows. */
  static final List<String> STORE_TABLES = List.of("pending_tuples", "pending_counts");

  private static final String COLUMNS =
      "id, store_id, object, relation, condition_name, condition_context, kind, namespace,"
          + " identity_value, source, held_at";

  private final Transactions transactions;
  private final Dialect dialect;
  private final JdbcTuples tuples;

  JdbcPending(Transactions transactions, Dialect dialect, JdbcTuples tuples) {
    this.transactions = transactions;
    this.dialect = dialect;
    this.tuples = tuples;
  }

  /** Locks the store's count (made at first use) and returns it. */
  private long lockCount(Connection connection, String storeId) throws SQLException {
    String insert =
        dialect == Dialect.POSTGRESQL
            ? "INSERT INTO pending_counts (store_id, held) VALUES (?, 0)"
                + " ON CONFLICT (store_id) DO NOTHING"
            : "INSERT INTO pending_counts (store_id, held) SELECT ?1, 0 FROM DUAL"
                + " WHERE NOT EXISTS (SELECT 1 FROM pending_counts WHERE store_id = ?1)";
    try (PreparedStatement statement = connection.prepareStatement(insert)) {
      statement.setString(1, storeId);
      statement.executeUpdate();
    }
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT held FROM pending_counts WHERE store_id = ? FOR UPDATE")) {
      statement.setString(1, storeId);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static void addToCount(Connection connection, String storeId, long delta)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "UPDATE pending_counts SET held = held + ? WHERE store_id = ?")) {
      statement.setLong(1, delta);
      statement.setString(2, storeId);
      statement.executeUpdate();
    }
  }

  @Override
  public int hold(String storeId, List<PendingTuple> rows) {
    PendingStore.checkBatch(rows);
    Instant now = now();
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          long held = lockCount(connection, storeId);
          int added =
              dialect == Dialect.POSTGRESQL
                  ? insertPostgres(connection, storeId, rows, now)
                  : insertEach(connection, storeId, rows, now);
          if (held + added > MAX_PER_STORE) {
            throw PendingStore.full(storeId, held, added); // rolls back what was inserted
          }
          addToCount(connection, storeId, added);
          return added;
        });
  }

  /** One statement for the batch; rows held already (or twice in it) are skipped. */
  private static int insertPostgres(
      Connection connection, String storeId, List<PendingTuple> rows, Instant now)
      throws SQLException {
    if (rows.isEmpty()) {
      return 0;
    }
    @Nullable String[][] columns = new String[9][rows.size()];
    // Condition contexts hold nulls: written through a 1-D view, as NullAway checks the element
    // nullability of a one-dimensional array only.
    @Nullable String[] contexts = columns[4];
    for (int i = 0; i < rows.size(); i++) {
      PendingTuple row = rows.get(i);
      columns[0][i] = Ulids.next();
      columns[1][i] = row.object();
      columns[2][i] = row.relation();
      columns[3][i] = row.condition();
      contexts[i] = ContextJson.write(row.conditionContext());
      columns[5][i] = row.identity().kind();
      columns[6][i] = row.identity().namespace();
      columns[7][i] = row.identity().value();
      columns[8][i] = row.source();
    }
    String sql =
        "INSERT INTO pending_tuples ("
            + COLUMNS
            + ") SELECT u.id, ?, u.object, u.relation, u.condition_name, u.condition_context,"
            + " u.kind, u.namespace, u.identity_value, u.source, ? FROM unnest("
            + "CAST(? AS text[]), ".repeat(8)
            + "CAST(? AS text[])) WITH ORDINALITY AS u(id, object, relation, condition_name,"
            + " condition_context, kind, namespace, identity_value, source, n) ORDER BY u.n"
            + " ON CONFLICT (store_id, kind, namespace, identity_value, object, relation)"
            + " DO NOTHING";
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setString(1, storeId);
      setTimestamp(statement, 2, now);
      for (int c = 0; c < columns.length; c++) {
        statement.setArray(c + 3, connection.createArrayOf("text", columns[c]));
      }
      return statement.executeUpdate();
    }
  }

  /** A statement per row: H2 runs in this process, so each costs microseconds. */
  private static int insertEach(
      Connection connection, String storeId, List<PendingTuple> rows, Instant now)
      throws SQLException {
    int added = 0;
    try (PreparedStatement statement =
        connection.prepareStatement(
            "INSERT INTO pending_tuples ("
                + COLUMNS
                + ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 FROM DUAL WHERE NOT EXISTS"
                + " (SELECT 1 FROM pending_tuples WHERE store_id = ?2 AND kind = ?7"
                + " AND namespace = ?8 AND identity_value = ?9 AND object = ?3 AND relation = ?4)")) {
      for (PendingTuple row : rows) {
        statement.setString(1, Ulids.next());
        statement.setString(2, storeId);
        statement.setString(3, row.object());
        statement.setString(4, row.relation());
        statement.setString(5, row.condition());
        statement.setString(6, ContextJson.write(row.conditionContext()));
        statement.setString(7, row.identity().kind());
        statement.setString(8, row.identity().namespace());
        statement.setString(9, row.identity().value());
        statement.setString(10, row.source());
        setTimestamp(statement, 11, now);
        added += statement.executeUpdate();
      }
    }
    return added;
  }

  private static HeldTuple read(ResultSet rs) throws SQLException {
    String condition = rs.getString(5);
    PendingTuple row =
        new PendingTuple(
            rs.getString(3),
            rs.getString(4),
            condition,
            ContextJson.read(rs.getString(6)),
            new Identity(rs.getString(7), rs.getString(8), rs.getString(9)),
            rs.getString(10));
    return new HeldTuple(rs.getString(1), rs.getString(2), row, getRequiredInstant(rs, 11));
  }

  @Override
  public Page<HeldTuple> held(String storeId, PageRequest page) {
    String[] after = Tokens.decode(page.continuationToken(), Tokens.PENDING, 1);
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT "
                      + COLUMNS
                      + " FROM pending_tuples WHERE store_id = ?"
                      + (after == null ? "" : " AND id > ?")
                      + " ORDER BY id LIMIT ?")) {
            int i = 1;
            statement.setString(i++, storeId);
            if (after != null) {
              statement.setString(i++, after[0]);
            }
            statement.setInt(i, page.pageSize() + 1);
            List<HeldTuple> rows = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                rows.add(read(rs));
              }
            }
            if (rows.size() <= page.pageSize()) {
              return new Page<>(rows, "");
            }
            List<HeldTuple> items = rows.subList(0, page.pageSize());
            return new Page<>(items, Tokens.encode(Tokens.PENDING, items.getLast().id()));
          }
        });
  }

  @Override
  public long count(String storeId) {
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          try (PreparedStatement statement =
              connection.prepareStatement("SELECT held FROM pending_counts WHERE store_id = ?")) {
            statement.setString(1, storeId);
            try (ResultSet rs = statement.executeQuery()) {
              return rs.next() ? rs.getLong(1) : 0L;
            }
          }
        });
  }

  @Override
  public int drop(String storeId, String source) {
    PendingTuple.checkSource(source);
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          lockCount(connection, storeId);
          int dropped;
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "DELETE FROM pending_tuples WHERE store_id = ? AND source = ?")) {
            statement.setString(1, storeId);
            statement.setString(2, source);
            dropped = statement.executeUpdate();
          }
          addToCount(connection, storeId, -dropped);
          return dropped;
        });
  }

  @Override
  public Page<Identity> identities(PageRequest page) {
    String[] after = Tokens.decode(page.continuationToken(), Tokens.IDENTITIES, 3);
    return transactions.run(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT DISTINCT kind, namespace, identity_value FROM pending_tuples"
                      + (after == null
                          ? ""
                          : " WHERE (kind, namespace, identity_value) > (?, ?, ?)")
                      + " ORDER BY kind, namespace, identity_value LIMIT ?")) {
            int i = 1;
            if (after != null) {
              for (String part : after) {
                statement.setString(i++, part);
              }
            }
            statement.setInt(i, page.pageSize() + 1);
            List<Identity> found = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                found.add(new Identity(rs.getString(1), rs.getString(2), rs.getString(3)));
              }
            }
            if (found.size() <= page.pageSize()) {
              return new Page<>(found, "");
            }
            List<Identity> items = found.subList(0, page.pageSize());
            Identity last = items.getLast();
            return new Page<>(
                items,
                Tokens.encode(Tokens.IDENTITIES, last.kind(), last.namespace(), last.value()));
          }
        });
  }

  @Override
  public List<String> storesHolding(Identity identity) {
    return transactions.run(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT DISTINCT store_id FROM pending_tuples WHERE kind = ? AND namespace = ?"
                      + " AND identity_value = ? ORDER BY store_id")) {
            bindIdentity(statement, 1, identity);
            List<String> out = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                out.add(rs.getString(1));
              }
            }
            return out;
          }
        });
  }

  private static void bindIdentity(PreparedStatement statement, int first, Identity identity)
      throws SQLException {
    statement.setString(first, identity.kind());
    statement.setString(first + 1, identity.namespace());
    statement.setString(first + 2, identity.value());
  }

  @Override
  public Applied apply(
      String storeId, Identity identity, String user, Function<Tuple, Optional<String>> refusal) {
    return transactions.run(
        connection -> {
          long revision = requireStore(connection, storeId);
          // First the count's lock, as a hold takes it: a hold of a row being claimed waits for
          // the claim, never the other way round.
          lockCount(connection, storeId);
          List<HeldTuple> claimed = claim(connection, storeId, identity);
          if (claimed.isEmpty()) {
            return new Applied(List.of(), 0, List.of(), revision);
          }
          addToCount(connection, storeId, -claimed.size());
          PendingStore.Split split = PendingStore.split(claimed, user, refusal);
          WriteResult result =
              split.writes().isEmpty()
                  ? new WriteResult(revision, 0, 0)
                  : tuples.writeNew(connection, storeId, split.writes());
          return new Applied(split.applied(), result.written(), split.refused(), result.revision());
        });
  }

  /** Deletes the store's rows naming {@code identity} and returns exactly those, in id order. */
  private List<HeldTuple> claim(Connection connection, String storeId, Identity identity)
      throws SQLException {
    String delete =
        "DELETE FROM pending_tuples WHERE store_id = ? AND kind = ? AND namespace = ?"
            + " AND identity_value = ?";
    String sql =
        dialect == Dialect.POSTGRESQL
            ? delete + " RETURNING " + COLUMNS
            : "SELECT " + COLUMNS + " FROM OLD TABLE (" + delete + ")";
    List<HeldTuple> out = new ArrayList<>();
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setString(1, storeId);
      bindIdentity(statement, 2, identity);
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          out.add(read(rs));
        }
      }
    }
    out.sort(java.util.Comparator.comparing(HeldTuple::id));
    return out;
  }
}
