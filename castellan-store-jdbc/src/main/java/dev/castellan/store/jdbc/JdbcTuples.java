package dev.castellan.store.jdbc;

import static dev.castellan.store.jdbc.JdbcStoreCatalog.nextRevision;
import static dev.castellan.store.jdbc.JdbcStoreCatalog.requireStore;
import static dev.castellan.store.jdbc.Timestamps.getInstant;
import static dev.castellan.store.jdbc.Timestamps.getRequiredInstant;
import static dev.castellan.store.jdbc.Timestamps.now;
import static dev.castellan.store.jdbc.Timestamps.setTimestamp;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.store.Change;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleStore;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.WritePlanner;
import dev.castellan.store.WriteResult;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.jspecify.annotations.Nullable;

/**
 * Tuples and their changelog, in {@code tuples} and {@code changelog}. Every tuple-changing
 * transaction first takes its store's next revision ({@link JdbcStoreCatalog#nextRevision}); the
 * row lock that takes is held until commit, so the writes of one store commit one after another, in
 * revision order, without gaps. The write rules are {@link WritePlanner}'s. Snapshots read at
 * REPEATABLE READ (PostgreSQL) or SNAPSHOT (H2).
 */
final class JdbcTuples implements TupleStore {
  /** The PostgreSQL channel a commit notifies with {@code storeId:revision}. */
  static final String NOTIFY_CHANNEL = "castellan_changes";

  /** The tables holding a store's rows. */
  static final List<String> STORE_TABLES = List.of("tuples", "changelog");

  private static final int SNAPSHOT_FETCH_SIZE = 10_000;

  static final short OP_WRITE = 0;
  private static final short OP_DELETE = 1;

  /** Columns of a tuple, in the order {@link #readTuple} reads them. */
  static final String TUPLE_COLUMNS =
      "object_type, object_id, relation, user_key, condition_name, condition_context, expires_at";

  private static final String KEY_ORDER = "object_type, object_id, relation, user_key";

  private final Transactions transactions;
  private final Dialect dialect;

  /** Whether a commit sends {@code pg_notify}: PostgreSQL, unless the store polls alone. */
  private final boolean notifyCommits;

  /** Tuples written through this instance, and the count at which statistics are refreshed next. */
  private final java.util.concurrent.atomic.AtomicLong tuplesWritten =
      new java.util.concurrent.atomic.AtomicLong();

  private final java.util.concurrent.atomic.AtomicLong nextAnalyzeAt =
      new java.util.concurrent.atomic.AtomicLong(1_000);

  JdbcTuples(Transactions transactions, Dialect dialect, boolean notifyCommits) {
    this.transactions = transactions;
    this.dialect = dialect;
    this.notifyCommits = notifyCommits;
  }

  /** Tells PostgreSQL listeners (at commit) that the store reached {@code revision}. */
  private void notifyChange(Connection connection, String storeId, long revision)
      throws SQLException {
    if (!notifyCommits) {
      return;
    }
    try (PreparedStatement statement = connection.prepareStatement("SELECT pg_notify(?, ?)")) {
      statement.setString(1, NOTIFY_CHANNEL);
      statement.setString(2, storeId + ":" + revision);
      statement.execute();
    }
  }

  // ------------------------------------------------------------------ tuples

  /** A tuple's key split into its columns. */
  record Row(String objectType, String objectId, String relation, String user) {
    /** The columns of {@code key}, which must pass {@link WritePlanner#checkKey}. */
    static Row of(TupleKey key) {
      WritePlanner.checkKey(key);
      int colon = key.object().indexOf(':');
      return new Row(
          key.object().substring(0, colon),
          key.object().substring(colon + 1),
          key.relation(),
          key.user());
    }

    void bind(PreparedStatement statement, int first) throws SQLException {
      statement.setString(first, objectType);
      statement.setString(first + 1, objectId);
      statement.setString(first + 2, relation);
      statement.setString(first + 3, user);
    }
  }

  /** {@code tuple} as the database keeps it (micro-second expiry, JSON-normalized context). */
  private static Tuple normalized(Tuple tuple) {
    Instant expiry =
        tuple.expiresAt() == null ? null : tuple.expiresAt().truncatedTo(ChronoUnit.MICROS);
    return new Tuple(
        tuple.key(), tuple.condition(), ContextJson.normalize(tuple.conditionContext()), expiry);
  }

  /** Reads the 7 {@link #TUPLE_COLUMNS} starting at column {@code first}. */
  private static Tuple readTuple(ResultSet rs, int first) throws SQLException {
    TupleKey key =
        new TupleKey(
            rs.getString(first) + ":" + rs.getString(first + 1),
            rs.getString(first + 2),
            rs.getString(first + 3));
    String condition = rs.getString(first + 4);
    return new Tuple(
        key,
        condition == null ? "" : condition,
        ContextJson.read(rs.getString(first + 5)),
        getInstant(rs, first + 6));
  }

  /** Binds store_id and the 7 tuple columns starting at {@code first}. */
  static void bindTuple(PreparedStatement statement, int first, String storeId, Tuple tuple)
      throws SQLException {
    statement.setString(first, storeId);
    Row.of(tuple.key()).bind(statement, first + 1);
    statement.setString(first + 5, tuple.condition());
    statement.setString(first + 6, ContextJson.write(tuple.conditionContext()));
    setTimestamp(statement, first + 7, tuple.expiresAt());
  }

  @Override
  public WriteResult write(String storeId, TupleWrite write) {
    WriteResult result = writeOnce(storeId, write);
    grown(result.written());
    return result;
  }

  /**
   * PostgreSQL plans key lookups from table statistics; a table that grew fast since its last
   * ANALYZE (a fresh database under load, an import) makes it scan a whole store per lookup until
   * autovacuum catches up. Refresh them as the table grows tenfold, then every 100,000 tuples.
   */
  private void grown(long tuples) {
    if (dialect != Dialect.POSTGRESQL || tuples == 0) {
      return;
    }
    long total = tuplesWritten.addAndGet(tuples);
    long due = nextAnalyzeAt.get();
    if (total >= due
        && nextAnalyzeAt.compareAndSet(due, due < 100_000 ? due * 10 : due + 100_000)) {
      try (Connection connection = transactions.connection();
          Statement statement = connection.createStatement()) {
        connection.setAutoCommit(true);
        statement.execute("ANALYZE tuples");
        statement.execute("ANALYZE changelog");
      } catch (SQLException e) {
        // Only a planning aid: autovacuum will analyze the tables later anyway.
      }
    }
  }

  private WriteResult writeOnce(String storeId, TupleWrite write) {
    Objects.requireNonNull(write, "write");
    WritePlanner.Checked checked = WritePlanner.check(write);
    Instant now = now();
    return transactions.runRetrying(
        connection -> {
          long revision = nextRevision(connection, storeId, now);
          Map<TupleKey, Tuple> existing = stored(connection, storeId, checked.keys());
          WritePlanner.Plan plan = WritePlanner.plan(checked, existing, JdbcTuples::normalized);
          if (plan.isEmpty()) {
            connection.rollback();
            return new WriteResult(revision - 1, 0, 0);
          }
          deleteTuples(connection, storeId, plan.deletes());
          insertTuples(connection, storeId, plan.writes(), revision, now);
          insertChanges(connection, storeId, plan.changes(revision, now));
          notifyChange(connection, storeId, revision);
          return new WriteResult(revision, plan.writes().size(), plan.deletes().size());
        });
  }

  /**
   * Writes the tuples among {@code writes} whose keys hold none yet ({@link WritePlanner#planNew}),
   * in the caller's transaction: held rows applied by {@link JdbcPending} in the transaction that
   * claims them. Takes the store's next revision only when something is written.
   */
  WriteResult writeNew(Connection connection, String storeId, List<Tuple> writes)
      throws SQLException {
    WritePlanner.Checked checked = WritePlanner.check(TupleWrite.of(writes, List.of()));
    Instant now = now();
    java.sql.Savepoint before = connection.setSavepoint();
    long revision = nextRevision(connection, storeId, now);
    Map<TupleKey, Tuple> existing = stored(connection, storeId, checked.keys());
    WritePlanner.Plan plan = WritePlanner.planNew(checked, existing, JdbcTuples::normalized);
    if (plan.isEmpty()) {
      connection.rollback(before); // no revision for nothing
      return new WriteResult(revision - 1, 0, 0);
    }
    insertTuples(connection, storeId, plan.writes(), revision, now);
    insertChanges(connection, storeId, plan.changes(revision, now));
    notifyChange(connection, storeId, revision);
    return new WriteResult(revision, plan.writes().size(), 0);
  }

  /** The stored tuples among {@code keys}, looked up the way that suits the dialect. */
  private Map<TupleKey, Tuple> stored(Connection connection, String storeId, Set<TupleKey> keys)
      throws SQLException {
    return dialect == Dialect.POSTGRESQL
        ? existingPostgres(connection, storeId, keys)
        : existing(connection, storeId, keys);
  }

  /**
   * The stored tuples among {@code keys}, on PostgreSQL: the keys go as arrays and are joined
   * against the primary key, one index probe each, whatever the planner's statistics say.
   */
  private static Map<TupleKey, Tuple> existingPostgres(
      Connection connection, String storeId, Set<TupleKey> keys) throws SQLException {
    Map<TupleKey, Tuple> found = new HashMap<>();
    if (keys.isEmpty()) {
      return found;
    }
    String[][] columns = new String[4][keys.size()];
    int i = 0;
    for (TupleKey key : keys) {
      Row row = Row.of(key);
      columns[0][i] = row.objectType();
      columns[1][i] = row.objectId();
      columns[2][i] = row.relation();
      columns[3][i] = row.user();
      i++;
    }
    String select =
        "SELECT t."
            + TUPLE_COLUMNS.replace(", ", ", t.")
            + " FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]),"
            + " CAST(? AS text[])) AS k(ot, oi, re, uk) JOIN tuples t ON t.store_id = ?"
            + " AND t.object_type = k.ot AND t.object_id = k.oi AND t.relation = k.re"
            + " AND t.user_key = k.uk";
    try (PreparedStatement statement = connection.prepareStatement(select)) {
      for (int c = 0; c < 4; c++) {
        statement.setArray(c + 1, connection.createArrayOf("text", columns[c]));
      }
      statement.setString(5, storeId);
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          Tuple tuple = readTuple(rs, 1);
          found.put(tuple.key(), tuple);
        }
      }
    }
    return found;
  }

  /**
   * The stored tuples among {@code keys}, on H2: one primary-key lookup per key. H2 runs in this
   * process, so a lookup costs microseconds, and its planner turns a long OR of keys into a scan.
   */
  private static Map<TupleKey, Tuple> existing(
      Connection connection, String storeId, Set<TupleKey> keys) throws SQLException {
    Map<TupleKey, Tuple> found = new HashMap<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT "
                + TUPLE_COLUMNS
                + " FROM tuples WHERE store_id = ? AND object_type = ? AND object_id = ?"
                + " AND relation = ? AND user_key = ?")) {
      statement.setString(1, storeId);
      for (TupleKey key : keys) {
        Row.of(key).bind(statement, 2);
        try (ResultSet rs = statement.executeQuery()) {
          if (rs.next()) {
            Tuple tuple = readTuple(rs, 1);
            found.put(tuple.key(), tuple);
          }
        }
      }
    }
    return found;
  }

  private static void deleteTuples(Connection connection, String storeId, List<Tuple> tuples)
      throws SQLException {
    if (tuples.isEmpty()) {
      return;
    }
    try (PreparedStatement statement =
        connection.prepareStatement(
            "DELETE FROM tuples WHERE store_id = ? AND object_type = ? AND object_id = ?"
                + " AND relation = ? AND user_key = ?")) {
      for (Tuple tuple : tuples) {
        statement.setString(1, storeId);
        Row.of(tuple.key()).bind(statement, 2);
        statement.addBatch();
      }
      statement.executeBatch();
    }
  }

  private static void insertTuples(
      Connection connection, String storeId, List<Tuple> tuples, long revision, Instant now)
      throws SQLException {
    if (tuples.isEmpty()) {
      return;
    }
    try (PreparedStatement statement =
        connection.prepareStatement(
            "INSERT INTO tuples (store_id, "
                + TUPLE_COLUMNS
                + ", revision, written_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      for (Tuple tuple : tuples) {
        bindTuple(statement, 1, storeId, tuple);
        statement.setLong(9, revision);
        setTimestamp(statement, 10, now);
        statement.addBatch();
      }
      statement.executeBatch();
    }
  }

  static void insertChanges(Connection connection, String storeId, List<Change> changes)
      throws SQLException {
    if (changes.isEmpty()) {
      return;
    }
    try (PreparedStatement statement =
        connection.prepareStatement(
            "INSERT INTO changelog (store_id, revision, seq, operation, "
                + TUPLE_COLUMNS
                + ", created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      for (Change change : changes) {
        statement.setString(1, storeId);
        statement.setLong(2, change.revision());
        statement.setInt(3, change.sequence());
        statement.setShort(4, change.operation() == Change.Operation.WRITE ? OP_WRITE : OP_DELETE);
        Row.of(change.tuple().key()).bind(statement, 5);
        statement.setString(9, change.tuple().condition());
        statement.setString(10, ContextJson.write(change.tuple().conditionContext()));
        setTimestamp(statement, 11, change.tuple().expiresAt());
        setTimestamp(statement, 12, change.time());
        statement.addBatch();
      }
      statement.executeBatch();
    }
  }

  /** A WHERE clause over {@code tuples} and its parameters. */
  private record Where(String sql, List<Object> parameters) {
    void bind(PreparedStatement statement, int first) throws SQLException {
      for (int i = 0; i < parameters.size(); i++) {
        Object value = parameters.get(i);
        if (value instanceof Instant instant) {
          setTimestamp(statement, first + i, instant);
        } else {
          statement.setObject(first + i, value);
        }
      }
    }
  }

  private static Where where(String storeId, TupleFilter filter) {
    StringBuilder sql = new StringBuilder("store_id = ?");
    List<Object> parameters = new ArrayList<>();
    parameters.add(storeId);
    if (!filter.object().isEmpty()) {
      sql.append(" AND object_type = ?");
      parameters.add(filter.objectType());
      if (!filter.objectId().isEmpty()) {
        sql.append(" AND object_id = ?");
        parameters.add(filter.objectId());
      }
    }
    if (!filter.relation().isEmpty()) {
      sql.append(" AND relation = ?");
      parameters.add(filter.relation());
    }
    if (!filter.user().isEmpty()) {
      sql.append(" AND user_key = ?");
      parameters.add(filter.user());
    }
    return new Where(sql.toString(), parameters);
  }

  @Override
  public WriteResult deleteMatching(String storeId, TupleFilter filter) {
    Objects.requireNonNull(filter, "filter");
    WritePlanner.requireDeleteFilter(filter);
    return deleteWhere(storeId, where(storeId, filter));
  }

  @Override
  public int purgeExpired(String storeId, Instant now) {
    Objects.requireNonNull(now, "now");
    Where where =
        new Where(
            "store_id = ? AND expires_at IS NOT NULL AND expires_at <= ?",
            List.of(storeId == null ? "" : storeId, now));
    return deleteWhere(storeId, where).deleted();
  }

  /**
   * Deletes the tuples matching {@code where} under one new revision, recording each deletion in
   * the changelog (in key order); takes no revision when nothing matches.
   */
  private WriteResult deleteWhere(String storeId, Where where) {
    Instant now = now();
    return transactions.runRetrying(
        connection -> {
          long revision = nextRevision(connection, storeId, now);
          int logged;
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "INSERT INTO changelog (store_id, revision, seq, operation, "
                      + TUPLE_COLUMNS
                      + ", created_at) SELECT store_id, ?, ROW_NUMBER() OVER (ORDER BY "
                      + KEY_ORDER
                      + ") - 1, "
                      + OP_DELETE
                      + ", "
                      + TUPLE_COLUMNS
                      + ", ? FROM tuples WHERE "
                      + where.sql())) {
            statement.setLong(1, revision);
            setTimestamp(statement, 2, now);
            where.bind(statement, 3);
            logged = statement.executeUpdate();
          }
          if (logged == 0) {
            connection.rollback();
            return new WriteResult(revision - 1, 0, 0);
          }
          int deleted;
          try (PreparedStatement statement =
              connection.prepareStatement("DELETE FROM tuples WHERE " + where.sql())) {
            where.bind(statement, 1);
            deleted = statement.executeUpdate();
          }
          notifyChange(connection, storeId, revision);
          return new WriteResult(revision, 0, deleted);
        });
  }

  @Override
  public Page<StoredTuple> read(String storeId, TupleFilter filter, PageRequest page) {
    Objects.requireNonNull(filter, "filter");
    String[] after = Tokens.decode(page.continuationToken(), Tokens.TUPLES, 4);
    Where where = where(storeId, filter);
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          String sql =
              "SELECT "
                  + TUPLE_COLUMNS
                  + ", written_at FROM tuples WHERE "
                  + where.sql()
                  + (after == null ? "" : " AND (" + KEY_ORDER + ") > (?, ?, ?, ?)")
                  + " ORDER BY "
                  + KEY_ORDER
                  + " LIMIT ?";
          try (PreparedStatement statement = connection.prepareStatement(sql)) {
            where.bind(statement, 1);
            int i = 1 + where.parameters().size();
            if (after != null) {
              for (String part : after) {
                statement.setString(i++, part);
              }
            }
            statement.setInt(i, page.pageSize() + 1);
            List<StoredTuple> tuples = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                tuples.add(new StoredTuple(readTuple(rs, 1), getRequiredInstant(rs, 8)));
              }
            }
            if (tuples.size() <= page.pageSize()) {
              return new Page<>(tuples, "");
            }
            List<StoredTuple> items = tuples.subList(0, page.pageSize());
            Row last = Row.of(items.getLast().tuple().key());
            return new Page<>(
                items,
                Tokens.encode(
                    Tokens.TUPLES,
                    last.objectType(),
                    last.objectId(),
                    last.relation(),
                    last.user()));
          }
        });
  }

  @Override
  public long snapshot(String storeId, Consumer<StoredTuple> sink) {
    Objects.requireNonNull(sink, "sink");
    return transactions.runAt(
        dialect.snapshotIsolation(),
        connection -> {
          long revision = requireStore(connection, storeId);
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT " + TUPLE_COLUMNS + ", written_at FROM tuples WHERE store_id = ?")) {
            statement.setFetchSize(SNAPSHOT_FETCH_SIZE);
            statement.setString(1, storeId);
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                sink.accept(new StoredTuple(readTuple(rs, 1), getRequiredInstant(rs, 8)));
              }
            }
          }
          return revision;
        });
  }

  @Override
  public long revision(String storeId) {
    return transactions.run(connection -> requireStore(connection, storeId));
  }

  /** Ids per query of {@link #revisions}: a bound on the statement's parameters. */
  private static final int REVISIONS_CHUNK = 500;

  @Override
  public Map<String, Long> revisions(Collection<String> storeIds) {
    List<String> ids = List.copyOf(storeIds);
    if (ids.isEmpty()) {
      return Map.of();
    }
    return transactions.run(
        connection -> {
          Map<String, Long> out = new HashMap<>();
          for (int from = 0; from < ids.size(); from += REVISIONS_CHUNK) {
            List<String> chunk = ids.subList(from, Math.min(ids.size(), from + REVISIONS_CHUNK));
            String marks = String.join(", ", java.util.Collections.nCopies(chunk.size(), "?"));
            try (PreparedStatement statement =
                connection.prepareStatement(
                    "SELECT id, revision FROM stores WHERE deleted_at IS NULL AND id IN ("
                        + marks
                        + ")")) {
              for (int i = 0; i < chunk.size(); i++) {
                statement.setString(i + 1, chunk.get(i));
              }
              try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                  out.put(rs.getString(1), rs.getLong(2));
                }
              }
            }
          }
          return out;
        });
  }

  // ------------------------------------------------------------------ changelog

  private static final String CHANGE_COLUMNS =
      "revision, seq, operation, " + TUPLE_COLUMNS + ", created_at";

  private static Change readChange(ResultSet rs) throws SQLException {
    return new Change(
        rs.getLong(1),
        rs.getInt(2),
        rs.getShort(3) == OP_WRITE ? Change.Operation.WRITE : Change.Operation.DELETE,
        readTuple(rs, 4),
        getRequiredInstant(rs, 11));
  }

  @Override
  public List<Change> changesAfter(String storeId, long revision, int limit) {
    if (limit < 1) {
      throw new CastellanException(ErrorCode.VALIDATION_ERROR, "limit must be positive");
    }
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          List<Change> changes = new ArrayList<>();
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT "
                      + CHANGE_COLUMNS
                      + " FROM changelog WHERE store_id = ? AND revision > ?"
                      + " ORDER BY revision, seq LIMIT ?")) {
            statement.setString(1, storeId);
            statement.setLong(2, revision);
            statement.setInt(3, limit + 1);
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                changes.add(readChange(rs));
              }
            }
          }
          if (changes.size() <= limit) {
            return changes;
          }
          long open = changes.get(limit).revision();
          int end = 0;
          while (end < limit && changes.get(end).revision() != open) {
            end++;
          }
          if (end > 0) {
            // Stop before the revision the limit would split.
            return List.copyOf(changes.subList(0, end));
          }
          // One revision alone exceeds the limit: it is returned whole, never split.
          List<Change> whole = new ArrayList<>();
          try (PreparedStatement statement =
              connection.prepareStatement(
                  "SELECT "
                      + CHANGE_COLUMNS
                      + " FROM changelog WHERE store_id = ? AND revision = ? ORDER BY seq")) {
            statement.setFetchSize(SNAPSHOT_FETCH_SIZE);
            statement.setString(1, storeId);
            statement.setLong(2, open);
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                whole.add(readChange(rs));
              }
            }
          }
          return whole;
        });
  }

  @Override
  public Page<Change> readChanges(
      String storeId, String objectType, @Nullable Instant startTime, PageRequest page) {
    String[] after = Tokens.decode(page.continuationToken(), Tokens.CHANGES, 2);
    long afterRevision = after == null ? 0 : Tokens.parseLong(after[0]);
    long afterSeq = after == null ? -1 : Tokens.parseLong(after[1]);
    return transactions.run(
        connection -> {
          requireStore(connection, storeId);
          StringBuilder sql =
              new StringBuilder("SELECT ")
                  .append(CHANGE_COLUMNS)
                  .append(" FROM changelog WHERE store_id = ?");
          boolean byType = objectType != null && !objectType.isEmpty();
          if (byType) {
            sql.append(" AND object_type = ?");
          }
          if (startTime != null) {
            sql.append(" AND created_at >= ?");
          }
          if (after != null) {
            sql.append(" AND (revision > ? OR (revision = ? AND seq > ?))");
          }
          sql.append(" ORDER BY revision, seq LIMIT ?");
          try (PreparedStatement statement = connection.prepareStatement(sql.toString())) {
            int i = 1;
            statement.setString(i++, storeId);
            if (byType) {
              statement.setString(i++, objectType);
            }
            if (startTime != null) {
              setTimestamp(statement, i++, startTime);
            }
            if (after != null) {
              statement.setLong(i++, afterRevision);
              statement.setLong(i++, afterRevision);
              statement.setLong(i++, afterSeq);
            }
            statement.setInt(i, page.pageSize() + 1);
            List<Change> changes = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                changes.add(readChange(rs));
              }
            }
            if (changes.isEmpty()) {
              // Nothing new: hand the position back, so a poller keeps its place.
              return new Page<>(changes, page.continuationToken());
            }
            List<Change> items = changes.subList(0, Math.min(changes.size(), page.pageSize()));
            Change last = items.getLast();
            return new Page<>(
                items,
                Tokens.encode(
                    Tokens.CHANGES,
                    Long.toString(last.revision()),
                    Integer.toString(last.sequence())));
          }
        });
  }

  // ------------------------------------------------------------------ bulk import

  /**
   * Bulk import: writes every tuple of {@code tuples} in one transaction under one new revision,
   * with one changelog entry per tuple written. Tuples whose key already exists (in the store or
   * earlier in the iterator) are skipped, the stored one kept. {@code progress} receives the number
   * of tuples consumed so far after each batch.
   *
   * @return the revision and the number of tuples written (unchanged revision when none was)
   */
  @Override
  public WriteResult importTuples(
      String storeId, Iterator<Tuple> tuples, int batchSize, LongConsumer progress) {
    Objects.requireNonNull(tuples, "tuples");
    if (dialect == Dialect.H2) {
      // In-process H2 writes plain batches faster than its MERGE; reuse the ordinary write path.
      return TupleStore.super.importTuples(
          storeId, tuples, Math.clamp(batchSize, 1, 50_000), progress);
    }
    int batch = Math.clamp(batchSize, 1, 50_000);
    LongConsumer report = progress == null ? n -> {} : progress;
    // One transaction and one revision per batch: followers apply the import batch by batch, other
    // writers interleave, and a failure keeps the batches already committed (reported as progress).
    long consumed = 0;
    long written = 0;
    long revision = revision(storeId);
    List<Tuple> buffer = new ArrayList<>(batch);
    while (true) {
      buffer.clear();
      while (buffer.size() < batch && tuples.hasNext()) {
        Tuple tuple = tuples.next();
        WritePlanner.checkTuple(tuple);
        buffer.add(tuple);
      }
      if (buffer.isEmpty()) {
        break;
      }
      WriteResult result = importBatch(storeId, buffer);
      grown(result.written());
      consumed += buffer.size();
      written += result.written();
      revision = result.revision();
      report.accept(consumed);
    }
    if (written > Integer.MAX_VALUE) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR, "one import may write at most 2^31-1 tuples");
    }
    return new WriteResult(revision, (int) written, 0);
  }

  private WriteResult importBatch(String storeId, List<Tuple> batch) {
    Instant now = now();
    return transactions.runRetrying(
        connection -> {
          long revision = nextRevision(connection, storeId, now);
          long written;
          try (BatchImporter importer =
              BatchImporter.open(dialect, connection, storeId, revision, now)) {
            written = importer.insert(batch, 0);
          }
          if (written == 0) {
            connection.rollback();
            return new WriteResult(revision - 1, 0, 0);
          }
          notifyChange(connection, storeId, revision);
          return new WriteResult(revision, (int) written, 0);
        });
  }
}
