package dev.castellan.store.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.audit.AuditRecords;
import dev.castellan.store.CredentialStore;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DocumentStore;
import dev.castellan.store.ModelStore;
import dev.castellan.store.PendingStore;
import dev.castellan.store.ReplicaStats;
import dev.castellan.store.Store;
import dev.castellan.store.StoreCatalog;
import dev.castellan.store.TupleStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.flywaydb.core.Flyway;
import org.jspecify.annotations.Nullable;

/**
 * Castellan's data on a SQL database, PostgreSQL in production, H2 (a file in a data directory)
 * embedded: one connection pool and schema, and a part per concern over it ({@link
 * #storeCatalog()}, {@link #tupleStore()}, {@link #modelStore()}, {@link #credentialStore()},
 * {@link #documentStore()}, {@link #directoryStore()}, {@link #auditRecords()}), each running its
 * transactions through one {@link Transactions}. This class opens and migrates the database, wires
 * the parts, and listens for other nodes' commits.
 */
public final class JdbcStore implements Store {
  static final String NOTIFY_CHANNEL = JdbcTuples.NOTIFY_CHANNEL;
  private static final int POOL_SIZE = 8;

  /**
   * How a commit on PostgreSQL reaches the other nodes over the same database. Either way a node's
   * change feed also polls, so a lost signal only delays a change by the poll interval.
   */
  public enum ChangeSignal {
    /**
     * A write sends {@code NOTIFY} at commit and {@link #listen} holds a {@code LISTEN} connection:
     * other nodes apply a change at once (the default).
     */
    NOTIFY,
    /**
     * No {@code NOTIFY}, no {@code LISTEN}: other nodes find a change by polling alone, within
     * their poll interval. For a database that speaks PostgreSQL's protocol without LISTEN/NOTIFY
     * (CockroachDB, YugabyteDB).
     */
    POLL
  }

  private final Dialect dialect;
  private final ChangeSignal signal;
  private final HikariDataSource pool;
  private final String jdbcUrl;
  private final Properties connectionProperties;
  private final Set<PgListener> listeners = ConcurrentHashMap.newKeySet();
  private final JdbcStoreCatalog catalog;
  private final JdbcTuples tuples;
  private final JdbcModels models;
  private final JdbcCredentials credentials;
  private final JdbcDocuments documents;
  private final JdbcDirectory directory;
  private final JdbcPending pending;
  private final JdbcAuditRecords audit;
  private final @Nullable ReplicaReads replica; // null: every read goes to the primary
  private final LongAdder retries = new LongAdder();

  private JdbcStore(
      Dialect dialect,
      ChangeSignal signal,
      HikariConfig config,
      Properties connectionProperties,
      @Nullable ReadReplica readReplica) {
    this.dialect = dialect;
    this.signal = signal;
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
    Transactions transactions = new Transactions(dataSource, "the tuple store database", retries);
    this.tuples =
        new JdbcTuples(
            transactions, dialect, dialect == Dialect.POSTGRESQL && signal == ChangeSignal.NOTIFY);
    this.models = new JdbcModels(transactions, dialect);
    List<String> storeTables = new ArrayList<>(JdbcTuples.STORE_TABLES);
    storeTables.addAll(JdbcModels.STORE_TABLES);
    storeTables.addAll(JdbcPending.STORE_TABLES);
    this.catalog = new JdbcStoreCatalog(transactions, storeTables);
    this.credentials = new JdbcCredentials(transactions);
    this.documents = new JdbcDocuments(transactions, dialect);
    this.directory = new JdbcDirectory(transactions);
    this.pending = new JdbcPending(transactions, dialect, this.tuples);
    this.audit = new JdbcAuditRecords(dataSource);
    this.replica =
        readReplica == null ? null : ReplicaReads.open(readReplica, POOL_SIZE, this.tuples);
  }

  /** A store on PostgreSQL at {@code jdbcUrl} ({@code jdbc:postgresql://host:port/database}). */
  public static JdbcStore postgres(String jdbcUrl, String user, String password) {
    return postgres(jdbcUrl, user, password, ChangeSignal.NOTIFY, null);
  }

  /**
   * A store on PostgreSQL at {@code jdbcUrl} whose snapshot loads and reads that tolerate a replica
   * go to {@code replica}, a streaming standby of it (ADR 0018); user and password, if any, are
   * part of the URLs. The node starts whether or not the replica answers: reads go to the primary
   * while it does not.
   */
  public static JdbcStore postgres(String jdbcUrl, ReadReplica replica) {
    return postgres(jdbcUrl, ChangeSignal.NOTIFY, replica);
  }

  /**
   * A store on PostgreSQL, or a database speaking its protocol, at {@code jdbcUrl}, telling other
   * nodes of its commits by {@code signal}, with reads that tolerate a replica on {@code replica}
   * (ADR 0018).
   */
  public static JdbcStore postgres(String jdbcUrl, ChangeSignal signal, ReadReplica replica) {
    return postgres(jdbcUrl, null, null, signal, Objects.requireNonNull(replica, "replica"));
  }

  /**
   * A store on PostgreSQL, or a database speaking its protocol, at {@code jdbcUrl}, telling other
   * nodes of its commits by {@code signal}.
   */
  public static JdbcStore postgres(
      String jdbcUrl, String user, String password, ChangeSignal signal) {
    return postgres(jdbcUrl, user, password, signal, null);
  }

  private static JdbcStore postgres(
      String jdbcUrl,
      @Nullable String user,
      @Nullable String password,
      ChangeSignal signal,
      @Nullable ReadReplica replica) {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    Objects.requireNonNull(signal, "signal");
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
    return new JdbcStore(Dialect.POSTGRESQL, signal, config, properties, replica);
  }

  /** A store on PostgreSQL; user and password, if any, are part of the URL. */
  public static JdbcStore postgres(String jdbcUrl) {
    return postgres(jdbcUrl, null, null, ChangeSignal.NOTIFY, null);
  }

  /** A store on PostgreSQL telling other nodes of its commits by {@code signal}. */
  public static JdbcStore postgres(String jdbcUrl, ChangeSignal signal) {
    return postgres(jdbcUrl, null, null, signal, null);
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
    return new JdbcStore(Dialect.H2, ChangeSignal.POLL, config, new Properties(), null);
  }

  /**
   * Calls {@code storeIdCallback} with the id of a store each time a write to it commits, from any
   * process writing to the same PostgreSQL database (LISTEN/NOTIFY on one dedicated connection,
   * polled by a virtual thread). Notifications are hints: ones sent while the connection is being
   * re-established are lost. On the embedded database, and with {@link ChangeSignal#POLL}, this
   * does nothing: no LISTEN is ever sent.
   *
   * @return closing it stops listening
   */
  @Override
  public AutoCloseable listen(Consumer<String> storeIdCallback) {
    Objects.requireNonNull(storeIdCallback, "storeIdCallback");
    if (dialect != Dialect.POSTGRESQL || signal == ChangeSignal.POLL) {
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

  /**
   * Reads that may lag go to the read replica, when the store has one; see {@link
   * TupleStore#readReplica()}.
   */
  @Override
  public Optional<TupleStore> readReplica() {
    return replica == null ? Optional.empty() : Optional.of(replica.reads());
  }

  @Override
  public Optional<TupleStore> readReplica(String storeId, long atLeast) {
    return replica == null ? Optional.empty() : replica.readsAt(storeId, atLeast);
  }

  @Override
  public TupleStore latestReads() {
    return replica == null ? tuples : replica.latest();
  }

  @Override
  public Optional<ReplicaStats> readReplicaStats() {
    return replica == null ? Optional.empty() : Optional.of(replica.stats());
  }

  @Override
  public long retriedTransactions() {
    return retries.sum();
  }

  @Override
  public StoreCatalog storeCatalog() {
    return catalog;
  }

  @Override
  public TupleStore tupleStore() {
    return tuples;
  }

  @Override
  public ModelStore modelStore() {
    return models;
  }

  @Override
  public CredentialStore credentialStore() {
    return credentials;
  }

  @Override
  public DocumentStore documentStore() {
    return documents;
  }

  @Override
  public DirectoryStore directoryStore() {
    return directory;
  }

  @Override
  public PendingStore pendingStore() {
    return pending;
  }

  @Override
  public AuditRecords auditRecords() {
    return audit;
  }

  @Override
  public void close() {
    for (PgListener listener : List.copyOf(listeners)) {
      listener.close();
    }
    listeners.clear();
    if (replica != null) {
      replica.close();
    }
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
