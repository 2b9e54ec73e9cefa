package dev.castellan.store.jdbc;

import static dev.castellan.store.jdbc.JdbcTuples.OP_WRITE;
import static dev.castellan.store.jdbc.JdbcTuples.TUPLE_COLUMNS;
import static dev.castellan.store.jdbc.JdbcTuples.bindTuple;
import static dev.castellan.store.jdbc.JdbcTuples.insertChanges;
import static dev.castellan.store.jdbc.Timestamps.setTimestamp;

import dev.castellan.engine.Tuple;
import dev.castellan.store.Change;
import dev.castellan.store.jdbc.JdbcTuples.Row;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Writes the batches of a bulk import in one of {@link JdbcTuples}' transactions: the tuples not
 * yet stored, each with its changelog entry under the transaction's revision. Each database has its
 * fastest way to insert only what is new.
 */
sealed interface BatchImporter extends AutoCloseable
    permits BatchImporter.Postgres, BatchImporter.H2 {

  /** The importer for {@code dialect}, writing under {@code revision} at {@code now}. */
  static BatchImporter open(
      Dialect dialect, Connection connection, String storeId, long revision, Instant now)
      throws SQLException {
    return switch (dialect) {
      case POSTGRESQL -> new Postgres(connection, storeId, revision, now);
      case H2 -> new H2(connection, storeId, revision, now);
    };
  }

  /**
   * Inserts the tuples of {@code batch} whose keys are not stored yet, logging them with sequence
   * numbers from {@code firstSequence}; returns how many it inserted.
   */
  int insert(List<Tuple> batch, int firstSequence) throws SQLException;

  @Override
  void close() throws SQLException;

  /**
   * PostgreSQL: one statement per batch. The batch travels as arrays (one per column) that {@code
   * unnest} turns back into rows; {@code ON CONFLICT DO NOTHING ... RETURNING} yields the rows
   * actually inserted, which the same statement appends to the changelog.
   */
  final class Postgres implements BatchImporter {
    private static final String SQL =
        "WITH input AS (SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]),"
            + " CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]),"
            + " CAST(? AS text[])) AS u("
            + TUPLE_COLUMNS
            + ")), written AS (INSERT INTO tuples (store_id, "
            + TUPLE_COLUMNS
            + ", revision, written_at) SELECT ?, object_type, object_id, relation, user_key,"
            + " condition_name, condition_context, CAST(expires_at AS timestamptz), ?, ?"
            + " FROM input ON CONFLICT DO NOTHING RETURNING "
            + TUPLE_COLUMNS
            + ") INSERT INTO changelog (store_id, revision, seq, operation, "
            + TUPLE_COLUMNS
            + ", created_at) SELECT ?, ?, CAST(? + ROW_NUMBER() OVER () - 1 AS integer), "
            + OP_WRITE
            + ", "
            + TUPLE_COLUMNS
            + ", ? FROM written";

    private final Connection connection;
    private final PreparedStatement statement;

    Postgres(Connection connection, String storeId, long revision, Instant now)
        throws SQLException {
      this.connection = connection;
      this.statement = connection.prepareStatement(SQL);
      statement.setString(8, storeId);
      statement.setLong(9, revision);
      setTimestamp(statement, 10, now);
      statement.setString(11, storeId);
      statement.setLong(12, revision);
      setTimestamp(statement, 14, now);
    }

    @Override
    public int insert(List<Tuple> batch, int firstSequence) throws SQLException {
      int n = batch.size();
      @Nullable String[][] columns = new String[7][n];
      // The columns that hold nulls, written through 1-D views: NullAway checks the element
      // nullability of a one-dimensional array only.
      @Nullable String[] contexts = columns[5];
      @Nullable String[] expiries = columns[6];
      for (int i = 0; i < n; i++) {
        Tuple tuple = batch.get(i);
        Row row = Row.of(tuple.key());
        columns[0][i] = row.objectType();
        columns[1][i] = row.objectId();
        columns[2][i] = row.relation();
        columns[3][i] = row.user();
        columns[4][i] = tuple.condition();
        contexts[i] = ContextJson.write(tuple.conditionContext());
        expiries[i] =
            tuple.expiresAt() == null
                ? null
                : tuple.expiresAt().truncatedTo(ChronoUnit.MICROS).toString();
      }
      for (int c = 0; c < columns.length; c++) {
        statement.setArray(c + 1, connection.createArrayOf("text", columns[c]));
      }
      statement.setInt(13, firstSequence);
      return statement.executeUpdate();
    }

    @Override
    public void close() throws SQLException {
      statement.close();
    }
  }

  /**
   * H2: a batch of {@code MERGE ... WHEN NOT MATCHED THEN INSERT}, whose per-row counts tell which
   * tuples were new, then a batch of changelog inserts for those.
   */
  final class H2 implements BatchImporter {
    private static final String MERGE =
        "MERGE INTO tuples t USING (SELECT CAST(? AS VARCHAR(26)) store_id,"
            + " CAST(? AS VARCHAR(254)) object_type, CAST(? AS VARCHAR(512)) object_id,"
            + " CAST(? AS VARCHAR(254)) relation, CAST(? AS VARCHAR(1024)) user_key) s"
            + " ON t.store_id = s.store_id AND t.object_type = s.object_type"
            + " AND t.object_id = s.object_id AND t.relation = s.relation"
            + " AND t.user_key = s.user_key"
            + " WHEN NOT MATCHED THEN INSERT (store_id, "
            + TUPLE_COLUMNS
            + ", revision, written_at) VALUES (s.store_id, s.object_type, s.object_id,"
            + " s.relation, s.user_key, ?, ?, ?, ?, ?)";

    private final Connection connection;
    private final PreparedStatement merge;
    private final String storeId;
    private final long revision;
    private final Instant now;

    H2(Connection connection, String storeId, long revision, Instant now) throws SQLException {
      this.connection = connection;
      this.merge = connection.prepareStatement(MERGE);
      this.storeId = storeId;
      this.revision = revision;
      this.now = now;
    }

    @Override
    public int insert(List<Tuple> batch, int firstSequence) throws SQLException {
      for (Tuple tuple : batch) {
        bindTuple(merge, 1, storeId, tuple);
        merge.setLong(9, revision);
        setTimestamp(merge, 10, now);
        merge.addBatch();
      }
      int[] counts = merge.executeBatch();
      List<Change> changes = new ArrayList<>();
      for (int i = 0; i < counts.length; i++) {
        if (counts[i] < 0) {
          throw new SQLException("the database did not report which tuples it inserted");
        }
        if (counts[i] > 0) {
          changes.add(
              new Change(
                  revision,
                  firstSequence + changes.size(),
                  Change.Operation.WRITE,
                  batch.get(i),
                  now));
        }
      }
      insertChanges(connection, storeId, changes);
      return changes.size();
    }

    @Override
    public void close() throws SQLException {
      merge.close();
    }
  }
}
