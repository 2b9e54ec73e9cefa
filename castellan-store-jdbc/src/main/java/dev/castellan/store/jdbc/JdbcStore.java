package dev.castellan.store.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelJson;
import dev.castellan.store.ApiKeyRecord;
import dev.castellan.store.Change;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.Store;
import dev.castellan.store.StoreInfo;
import dev.castellan.store.StoredModel;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.Ulids;
import dev.castellan.store.WriteResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.flywaydb.core.Flyway;

/**
 * The {@link Store} on a SQL database: PostgreSQL in production, H2 (a file in a data directory)
 * embedded.
 *
 * <p>Every tuple-changing transaction first increments its store's {@code revision} column; the row
 * lock that takes is held until commit, so the writes of one store commit one after another, in
 * revision order, without gaps. Transactions run at READ COMMITTED; snapshots at REPEATABLE READ
 * (PostgreSQL) or SNAPSHOT (H2).
 */
public final class JdbcStore implements Store {
  static final String NOTIFY_CHANNEL = "castellan_changes";
  private static final int POOL_SIZE = 8;
  private static final int SNAPSHOT_FETCH_SIZE = 10_000;
  private static final int MAX_OBJECT_TYPE = 254;
  private static final int MAX_OBJECT_ID = 512;
  private static final int MAX_RELATION = 254;
  private static final int MAX_USER = 1024;
  private static final int MAX_CONDITION = 254;
  private static final int MAX_STORE_NAME = 1024;

  private static final short OP_WRITE = 0;
  private static final short OP_DELETE = 1;

  /** Columns of a tuple, in the order {@link #readTuple} reads them. */
  private static final String TUPLE_COLUMNS =
      "object_type, object_id, relation, user_key, condition_name, condition_context, expires_at";

  private static final String KEY_ORDER = "object_type, object_id, relation, user_key";

  private final Dialect dialect;

  /** Tuples written through this instance, and the count at which statistics are refreshed next. */
  private final java.util.concurrent.atomic.AtomicLong tuplesWritten =
      new java.util.concurrent.atomic.AtomicLong();

  private final java.util.concurrent.atomic.AtomicLong nextAnalyzeAt =
      new java.util.concurrent.atomic.AtomicLong(1_000);
  private final HikariDataSource pool;
  private final String jdbcUrl;
  private final Properties connectionProperties;
  private final Set<PgListener> listeners = ConcurrentHashMap.newKeySet();
  private final JdbcAuditRecords audit;

  private JdbcStore(Dialect dialect, HikariConfig config, Properties connectionProperties) {
    this.dialect = dialect;
    this.jdbcUrl = config.getJdbcUrl();
    this.connectionProperties = connectionProperties;
    config.setMaximumPoolSize(POOL_SIZE);
    config.setAutoCommit(false);
    config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
    config.setConnectionTimeout(10_000);
    HikariDataSource dataSource;
    try {
      dataSource = new HikariDataSource(config);
    } catch (RuntimeException e) {
      throw new CastellanException(
          ErrorCode.STORE_UNAVAILABLE, "could not connect to the tuple store database", e);
    }
    try {
      Flyway.configure()
          .dataSource(dataSource)
          .locations(dialect.migrations())
          .javaMigrations(new V7__Audit_rows_into_segments())
          .load()
          .migrate();
    } catch (RuntimeException e) {
      dataSource.close();
      throw new CastellanException(
          ErrorCode.STORE_UNAVAILABLE, "could not prepare the tuple store database schema", e);
    }
    this.pool = dataSource;
    this.audit = new JdbcAuditRecords(dataSource);
  }

  /** A store on PostgreSQL at {@code jdbcUrl} ({@code jdbc:postgresql://host:port/database}). */
  public static JdbcStore postgres(String jdbcUrl, String user, String password) {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    HikariConfig config = new HikariConfig();
    config.setPoolName("castellan-postgresql");
    config.setJdbcUrl(jdbcUrl);
    Properties properties = new Properties();
    if (user != null) {
      config.setUsername(user);
      properties.setProperty("user", user);
    }
    if (password != null) {
      config.setPassword(password);
      properties.setProperty("password", password);
    }
    config.addDataSourceProperty("reWriteBatchedInserts", "true");
    config.addDataSourceProperty("ApplicationName", "castellan");
    properties.setProperty("ApplicationName", "castellan-listen");
    return new JdbcStore(Dialect.POSTGRESQL, config, properties);
  }

  /** A store on PostgreSQL; user and password, if any, are part of the URL. */
  public static JdbcStore postgres(String jdbcUrl) {
    return postgres(jdbcUrl, null, null);
  }

  private static final String EMBEDDED_NAME = "castellan";

  /**
   * The file that holds the embedded store of {@code dataDir}, whether or not it exists yet; while
   * a process has the store open, H2 keeps a lock on it.
   */
  public static Path embeddedFile(Path dataDir) {
    return dataDir.toAbsolutePath().resolve(EMBEDDED_NAME + ".mv.db");
  }

  /**
   * The embedded store: an H2 database in {@code dataDir} (created when missing). Only one process
   * may open a data directory at a time.
   */
  public static JdbcStore embedded(Path dataDir) {
    Objects.requireNonNull(dataDir, "dataDir");
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the data directory " + dataDir, e);
    }
    String file = dataDir.toAbsolutePath().resolve(EMBEDDED_NAME).toString();
    HikariConfig config = new HikariConfig();
    config.setPoolName("castellan-h2");
    // WRITE_DELAY=0: a commit is written to the file before it returns, not up to 500 ms later.
    config.setJdbcUrl(
        "jdbc:h2:file:" + file + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0;LOCK_TIMEOUT=60000");
    config.setUsername("sa");
    config.setPassword("");
    return new JdbcStore(Dialect.H2, config, new Properties());
  }

  // ------------------------------------------------------------------ plumbing

  @FunctionalInterface
  private interface SqlWork<T> {
    T run(Connection connection) throws SQLException;
  }

  /**
   * Runs {@code work} in one transaction: committed when it returns, rolled back when it throws.
   */
  private <T> T transaction(SqlWork<T> work) {
    try (Connection connection = pool.getConnection()) {
      try {
        T result = work.run(connection);
        connection.commit();
        return result;
      } catch (SQLException | RuntimeException | Error e) {
        rollbackQuietly(connection, e);
        throw e;
      }
    } catch (SQLException e) {
      throw unavailable(e);
    }
  }

  private static void rollbackQuietly(Connection connection, Throwable failure) {
    try {
      connection.rollback();
    } catch (SQLException e) {
      failure.addSuppressed(e);
    }
  }

  private static CastellanException unavailable(SQLException e) {
    return new CastellanException(
        ErrorCode.STORE_UNAVAILABLE, "the tuple store database is unavailable", e);
  }

  private static CastellanException storeNotFound(String storeId) {
    return new CastellanException(ErrorCode.STORE_ID_NOT_FOUND, "store " + storeId + " not found");
  }

  private static Instant now() {
    return Instant.now().truncatedTo(ChronoUnit.MICROS);
  }

  private static OffsetDateTime timestamp(Instant instant) {
    return instant.truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
  }

  private static void setTimestamp(PreparedStatement statement, int index, Instant instant)
      throws SQLException {
    if (instant == null) {
      statement.setNull(index, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      statement.setObject(index, timestamp(instant));
    }
  }

  private static Instant getInstant(ResultSet rs, int index) throws SQLException {
    OffsetDateTime value = rs.getObject(index, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  /** The store's revision; throws {@code STORE_ID_NOT_FOUND} for a missing or deleted store. */
  private static long requireStore(Connection connection, String storeId) throws SQLException {
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
  private static long nextRevision(Connection connection, String storeId, Instant now)
      throws SQLException {
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

  /** Tells PostgreSQL listeners (at commit) that the store reached {@code revision}. */
  private void notifyChange(Connection connection, String storeId, long revision)
      throws SQLException {
    if (dialect != Dialect.POSTGRESQL) {
      return;
    }
    try (PreparedStatement statement = connection.prepareStatement("SELECT pg_notify(?, ?)")) {
      statement.setString(1, NOTIFY_CHANNEL);
      statement.setString(2, storeId + ":" + revision);
      statement.execute();
    }
  }

  // ------------------------------------------------------------------ stores

  @Override
  public StoreInfo createStore(String name) {
    Objects.requireNonNull(name, "name");
    if (name.length() > MAX_STORE_NAME) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "store name must be at most " + MAX_STORE_NAME + " characters");
    }
    String id = Ulids.next();
    Instant now = now();
    return transaction(
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
    return transaction(
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
    return new StoreInfo(rs.getString(1), rs.getString(2), getInstant(rs, 3), getInstant(rs, 4));
  }

  @Override
  public Page<StoreInfo> listStores(PageRequest page) {
    String[] after = Tokens.decode(page.continuationToken(), Tokens.STORES, 1);
    return transaction(
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
    return transaction(
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
          for (String table :
              List.of("tuples", "changelog", "assertions", "authorization_models")) {
            try (PreparedStatement statement =
                connection.prepareStatement("DELETE FROM " + table + " WHERE store_id = ?")) {
              statement.setString(1, storeId);
              statement.executeUpdate();
            }
          }
          return true;
        });
  }

  // ------------------------------------------------------------------ models

  @Override
  public String writeModel(String storeId, AuthorizationModel model) {
    Objects.requireNonNull(model, "model");
    String json = ModelJson.write(model);
    Instant now = now();
    return transaction(
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
    return transaction(
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
    return new StoredModel(rs.getString(1), ModelJson.read(rs.getString(2)), getInstant(rs, 3));
  }

  @Override
  public Optional<StoredModel> latestModel(String storeId) {
    return transaction(
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
    return transaction(
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

  // ------------------------------------------------------------------ tuples

  /** A tuple's key split into its columns. */
  private record Row(String objectType, String objectId, String relation, String user) {
    static Row of(TupleKey key) {
      int colon = key.object().indexOf(':');
      if (colon <= 0 || colon == key.object().length() - 1) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR,
            "invalid object '" + key.object() + "' in " + key + ": expected type:id");
      }
      Row row =
          new Row(
              key.object().substring(0, colon),
              key.object().substring(colon + 1),
              key.relation(),
              key.user());
      check(row.objectType, MAX_OBJECT_TYPE, "object type", key);
      check(row.objectId, MAX_OBJECT_ID, "object id", key);
      check(row.relation, MAX_RELATION, "relation", key);
      check(row.user, MAX_USER, "user", key);
      if (row.relation.isEmpty() || row.user.isEmpty()) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR, "relation and user must not be empty in " + key);
      }
      return row;
    }

    private static void check(String value, int max, String what, TupleKey key) {
      if (value.length() > max) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR, what + " must be at most " + max + " characters in " + key);
      }
    }

    void bind(PreparedStatement statement, int first) throws SQLException {
      statement.setString(first, objectType);
      statement.setString(first + 1, objectId);
      statement.setString(first + 2, relation);
      statement.setString(first + 3, user);
    }
  }

  private static void validate(Tuple tuple) {
    Row.of(tuple.key());
    if (tuple.condition().length() > MAX_CONDITION) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "condition name must be at most " + MAX_CONDITION + " characters in " + tuple.key());
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
  private static void bindTuple(PreparedStatement statement, int first, String storeId, Tuple tuple)
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
      try (Connection connection = pool.getConnection();
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
    Set<TupleKey> keys = new HashSet<>();
    for (TupleKey key : write.deletes()) {
      Row.of(key);
      if (!keys.add(key)) {
        throw duplicateInRequest(key);
      }
    }
    for (Tuple tuple : write.writes()) {
      validate(tuple);
      if (!keys.add(tuple.key())) {
        throw duplicateInRequest(tuple.key());
      }
    }
    Instant now = now();
    return transaction(
        connection -> {
          long revision = nextRevision(connection, storeId, now);
          Map<TupleKey, Tuple> existing =
              dialect == Dialect.POSTGRESQL
                  ? existingPostgres(connection, storeId, keys)
                  : existing(connection, storeId, keys);
          List<Tuple> deleted = new ArrayList<>();
          for (TupleKey key : write.deletes()) {
            Tuple old = existing.get(key);
            if (old != null) {
              deleted.add(old);
            } else if (!write.ignoreMissing()) {
              throw new CastellanException(
                  ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT,
                  "cannot delete a tuple which does not exist: " + key);
            }
          }
          List<Tuple> written = new ArrayList<>();
          for (Tuple tuple : write.writes()) {
            Tuple fresh = normalized(tuple);
            Tuple old = existing.get(tuple.key());
            if (old == null) {
              written.add(fresh);
            } else if (!write.ignoreDuplicates() || !old.equals(fresh)) {
              throw new CastellanException(
                  ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT,
                  "cannot write a tuple which already exists: " + tuple.key());
            }
          }
          if (deleted.isEmpty() && written.isEmpty()) {
            connection.rollback();
            return new WriteResult(revision - 1, 0, 0);
          }
          deleteTuples(connection, storeId, deleted);
          insertTuples(connection, storeId, written, revision, now);
          List<Change> changes = new ArrayList<>(deleted.size() + written.size());
          for (Tuple tuple : deleted) {
            changes.add(new Change(revision, changes.size(), Change.Operation.DELETE, tuple, now));
          }
          for (Tuple tuple : written) {
            changes.add(new Change(revision, changes.size(), Change.Operation.WRITE, tuple, now));
          }
          insertChanges(connection, storeId, changes);
          notifyChange(connection, storeId, revision);
          return new WriteResult(revision, written.size(), deleted.size());
        });
  }

  private static CastellanException duplicateInRequest(TupleKey key) {
    return new CastellanException(
        ErrorCode.CANNOT_ALLOW_DUPLICATE_TUPLES_IN_ONE_REQUEST,
        "duplicate tuple in write request: " + key);
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

  private static void insertChanges(Connection connection, String storeId, List<Change> changes)
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
    boolean object = !filter.objectId().isEmpty();
    boolean typeAndRelation = !filter.objectType().isEmpty() && !filter.relation().isEmpty();
    if (!object && !typeAndRelation && filter.user().isEmpty()) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "delete by filter needs an object, an object type and relation, or a user");
    }
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
    return transaction(
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
    return transaction(
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
                tuples.add(new StoredTuple(readTuple(rs, 1), getInstant(rs, 8)));
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
    try (Connection connection = pool.getConnection()) {
      connection.setTransactionIsolation(dialect.snapshotIsolation());
      try {
        long revision = requireStore(connection, storeId);
        try (PreparedStatement statement =
            connection.prepareStatement(
                "SELECT " + TUPLE_COLUMNS + ", written_at FROM tuples WHERE store_id = ?")) {
          statement.setFetchSize(SNAPSHOT_FETCH_SIZE);
          statement.setString(1, storeId);
          try (ResultSet rs = statement.executeQuery()) {
            while (rs.next()) {
              sink.accept(new StoredTuple(readTuple(rs, 1), getInstant(rs, 8)));
            }
          }
        }
        connection.commit();
        return revision;
      } catch (SQLException | RuntimeException | Error e) {
        rollbackQuietly(connection, e);
        throw e;
      }
    } catch (SQLException e) {
      throw unavailable(e);
    }
  }

  @Override
  public long revision(String storeId) {
    return transaction(connection -> requireStore(connection, storeId));
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
        getInstant(rs, 11));
  }

  @Override
  public List<Change> changesAfter(String storeId, long revision, int limit) {
    if (limit < 1) {
      throw new CastellanException(ErrorCode.VALIDATION_ERROR, "limit must be positive");
    }
    return transaction(
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
      String storeId, String objectType, Instant startTime, PageRequest page) {
    String[] after = Tokens.decode(page.continuationToken(), Tokens.CHANGES, 2);
    long afterRevision = after == null ? 0 : Tokens.parseLong(after[0]);
    long afterSeq = after == null ? -1 : Tokens.parseLong(after[1]);
    return transaction(
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

  // ------------------------------------------------------------------ assertions

  @Override
  public void writeAssertions(String storeId, String modelId, String assertionsJson) {
    Objects.requireNonNull(assertionsJson, "assertionsJson");
    transaction(
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
    return transaction(
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

  // ------------------------------------------------------------------ credentials

  @Override
  public void saveApiKey(ApiKeyRecord key) {
    transaction(
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
    return transaction(
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
    return transaction(
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
    return transaction(
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

  // ------------------------------------------------------------------ documents

  @Override
  public Optional<String> document(String kind, String key) {
    return transaction(
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
    return transaction(
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
    return transaction(
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
    transaction(
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
    if (kind.length() > 64 || key.length() > 256) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR, "a document kind is at most 64 characters, a key 256");
    }
    statement.setString(1, kind);
    statement.setString(2, key);
    statement.setString(3, json);
    setTimestamp(statement, 4, Instant.now());
  }

  @Override
  public boolean deleteDocument(String kind, String key) {
    return transaction(
        connection -> {
          try (PreparedStatement statement =
              connection.prepareStatement("DELETE FROM documents WHERE kind = ? AND doc_key = ?")) {
            statement.setString(1, kind);
            statement.setString(2, key);
            return statement.executeUpdate() > 0;
          }
        });
  }

  // ------------------------------------------------------------------ beyond the SPI

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
      return Store.super.importTuples(storeId, tuples, Math.clamp(batchSize, 1, 50_000), progress);
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
        validate(tuple);
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
    return transaction(
        connection -> {
          long revision = nextRevision(connection, storeId, now);
          long written;
          try (BatchImporter importer =
              dialect == Dialect.POSTGRESQL
                  ? new PostgresImporter(connection, storeId, revision, now)
                  : new H2Importer(connection, storeId, revision, now)) {
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

  /** Writes batches of an import: tuples not yet stored, each with its changelog entry. */
  private interface BatchImporter extends AutoCloseable {
    /**
     * Inserts the tuples of {@code batch} whose keys are not stored yet, logging them with sequence
     * numbers from {@code firstSequence}; returns how many it inserted.
     */
    int insert(List<Tuple> batch, int firstSequence) throws SQLException;

    @Override
    void close() throws SQLException;
  }

  /**
   * PostgreSQL: one statement per batch. The batch travels as arrays (one per column) that {@code
   * unnest} turns back into rows; {@code ON CONFLICT DO NOTHING ... RETURNING} yields the rows
   * actually inserted, which the same statement appends to the changelog.
   */
  private static final class PostgresImporter implements BatchImporter {
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

    PostgresImporter(Connection connection, String storeId, long revision, Instant now)
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
      String[][] columns = new String[7][n];
      for (int i = 0; i < n; i++) {
        Tuple tuple = batch.get(i);
        Row row = Row.of(tuple.key());
        columns[0][i] = row.objectType();
        columns[1][i] = row.objectId();
        columns[2][i] = row.relation();
        columns[3][i] = row.user();
        columns[4][i] = tuple.condition();
        columns[5][i] = ContextJson.write(tuple.conditionContext());
        columns[6][i] =
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
  private static final class H2Importer implements BatchImporter {
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

    H2Importer(Connection connection, String storeId, long revision, Instant now)
        throws SQLException {
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

  /**
   * Calls {@code storeIdCallback} with the id of a store each time a write to it commits, from any
   * process writing to the same PostgreSQL database (LISTEN/NOTIFY on one dedicated connection,
   * polled by a virtual thread). Notifications are hints: ones sent while the connection is being
   * re-established are lost. On the embedded database this does nothing.
   *
   * @return closing it stops listening
   */
  public AutoCloseable listen(Consumer<String> storeIdCallback) {
    Objects.requireNonNull(storeIdCallback, "storeIdCallback");
    if (dialect != Dialect.POSTGRESQL) {
      return () -> {};
    }
    PgListener listener = new PgListener(jdbcUrl, connectionProperties, storeIdCallback);
    listeners.add(listener);
    listener.start();
    return () -> {
      listeners.remove(listener);
      listener.close();
    };
  }

  /** True for the embedded (H2) database. */
  public boolean isEmbedded() {
    return dialect == Dialect.H2;
  }

  /** The connection pool, for tests that look at the database behind the store. */
  javax.sql.DataSource dataSource() {
    return pool;
  }

  @Override
  public dev.castellan.store.AuditRecords auditRecords() {
    return audit;
  }

  @Override
  public void close() {
    for (PgListener listener : List.copyOf(listeners)) {
      listener.close();
    }
    listeners.clear();
    if (dialect == Dialect.H2 && !pool.isClosed()) {
      // Closing compacts the file: free space left by large transactions (an import of a million
      // tuples leaves a file ~15x its live size) is given back. Takes about a second per 30 MiB
      // of live data.
      try (Connection connection = pool.getConnection();
          Statement statement = connection.createStatement()) {
        statement.execute("SHUTDOWN COMPACT");
      } catch (SQLException e) {
        // The database closes either way; a failed compaction only leaves the file larger.
      }
    }
    pool.close();
  }
}
