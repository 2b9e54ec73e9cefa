package dev.castellan.store.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.Change;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.ReplicaStats;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleStore;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.WriteResult;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Reads of tuples and the changelog from a PostgreSQL streaming replica, with the primary behind
 * every answer the replica cannot give (ADR 0018). A read that needs a revision (a consistency
 * token) waits until the replica's row of the store reaches it, at most {@link
 * ReadReplica#maxWait}, then goes to the primary. A replica that fails is left alone for {@link
 * #RETRY_AFTER_NANOS}: its reads go to the primary meanwhile, without waiting for a connection each
 * time.
 */
final class ReplicaReads {
  private static final System.Logger LOG = System.getLogger(ReplicaReads.class.getName());

  /** How long reads skip a replica that failed before trying it again. */
  static final long RETRY_AFTER_NANOS = 1_000_000_000L;

  private static final long FIRST_PAUSE_NANOS = 1_000_000L;
  private static final long LONGEST_PAUSE_NANOS = 20_000_000L;

  private final ReadReplica settings;
  private final HikariDataSource pool;
  private final TupleStore replica;
  private final TupleStore primary;
  private final TupleStore routed = new Routed();
  private final LongAdder replicaReads = new LongAdder();
  private final LongAdder lagBound = new LongAdder();
  private final LongAdder replicaDown = new LongAdder();
  private final LongAdder notReplayed = new LongAdder();
  private final LongAdder latest = new LongAdder();
  private final AtomicLong lagRevisions = new AtomicLong();
  private volatile long downUntil = System.nanoTime();

  private ReplicaReads(ReadReplica settings, HikariDataSource pool, TupleStore primary) {
    this.settings = settings;
    this.pool = pool;
    this.replica =
        new JdbcTuples(
            new Transactions(pool, "the read replica database", new LongAdder()),
            Dialect.POSTGRESQL,
            false); // only reads go to a standby: nothing to announce
    this.primary = primary;
  }

  /**
   * Opens a pool on the replica without connecting: a node starts while its replica is down, and
   * reads the primary until the replica answers.
   */
  static ReplicaReads open(ReadReplica settings, int poolSize, TupleStore primary) {
    HikariConfig config = new HikariConfig();
    config.setPoolName("castellan-postgresql-replica");
    config.setJdbcUrl(settings.jdbcUrl());
    config.setMaximumPoolSize(poolSize);
    config.setAutoCommit(false);
    config.setReadOnly(true);
    config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
    // A replica that is down must cost a read little: Hikari's shortest wait for a connection, and
    // no connection at start (-1: the pool starts whether or not the replica answers).
    config.setConnectionTimeout(250);
    config.setInitializationFailTimeout(-1);
    config.addDataSourceProperty("ApplicationName", "castellan-replica-reads");
    config.addDataSourceProperty("connectTimeout", "2");
    return new ReplicaReads(settings, new HikariDataSource(config), primary);
  }

  /** Reads that may lag: the replica, with the primary behind it. */
  TupleStore reads() {
    return routed;
  }

  /**
   * The replica once it has replayed {@code atLeast} of {@code storeId}, waiting for it at most the
   * bound; empty: read the primary.
   */
  Optional<TupleStore> readsAt(String storeId, long atLeast) {
    if (atLeast <= 0) {
      return Optional.of(routed);
    }
    long deadline = System.nanoTime() + settings.maxWait().toNanos();
    long pause = FIRST_PAUSE_NANOS;
    boolean known = true;
    while (true) {
      if (down()) {
        replicaDown.increment();
        return Optional.empty();
      }
      try {
        long replayed = replica.revision(storeId);
        lagRevisions.set(Math.max(0, atLeast - replayed));
        if (replayed >= atLeast) {
          return Optional.of(routed);
        }
        known = true;
      } catch (CastellanException e) {
        if (e.code() == ErrorCode.STORE_UNAVAILABLE) {
          failed(e);
          replicaDown.increment();
          return Optional.empty();
        }
        // STORE_ID_NOT_FOUND: a store created on the primary that the replica has not replayed.
        if (e.code() != ErrorCode.STORE_ID_NOT_FOUND) {
          throw e;
        }
        known = false;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        (known ? lagBound : notReplayed).increment();
        return Optional.empty();
      }
      LockSupport.parkNanos(Math.min(pause, left));
      if (Thread.interrupted()) {
        Thread.currentThread().interrupt();
        return Optional.empty();
      }
      pause = Math.min(pause * 2, LONGEST_PAUSE_NANOS);
    }
  }

  /** The primary, for a read of the latest revision (HIGHER_CONSISTENCY), counted as such. */
  TupleStore latest() {
    latest.increment();
    return primary;
  }

  ReplicaStats stats() {
    return new ReplicaStats(
        replicaReads.sum(),
        lagBound.sum(),
        replicaDown.sum(),
        notReplayed.sum(),
        latest.sum(),
        lagRevisions.get());
  }

  void close() {
    pool.close();
  }

  private boolean down() {
    return System.nanoTime() - downUntil < 0;
  }

  private void failed(CastellanException e) {
    boolean wasUp = !down();
    downUntil = System.nanoTime() + RETRY_AFTER_NANOS;
    if (wasUp) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      LOG.log(
          Level.WARNING,
          "read replica {0} failed ({1}); reading the primary, retrying the replica in 1 s",
          settings.describe(),
          cause.getMessage());
    }
  }

  /**
   * A read on the replica, else on the primary: when the replica is down or fails, or does not know
   * the store (not replayed yet; the primary's answer is the truth, including "deleted").
   */
  private <T> T read(Supplier<T> onReplica, Supplier<T> onPrimary) {
    if (down()) {
      replicaDown.increment();
      return onPrimary.get();
    }
    try {
      T answer = onReplica.get();
      replicaReads.increment();
      return answer;
    } catch (CastellanException e) {
      if (e.code() == ErrorCode.STORE_UNAVAILABLE) {
        failed(e);
        replicaDown.increment();
      } else if (e.code() == ErrorCode.STORE_ID_NOT_FOUND) {
        notReplayed.increment();
      } else {
        throw e;
      }
    }
    return onPrimary.get();
  }

  /** The replica's reads; writes go to the primary. */
  private final class Routed implements TupleStore {
    @Override
    public WriteResult write(String storeId, TupleWrite write) {
      return primary.write(storeId, write);
    }

    @Override
    public WriteResult deleteMatching(String storeId, TupleFilter filter) {
      return primary.deleteMatching(storeId, filter);
    }

    @Override
    public int purgeExpired(String storeId, Instant now) {
      return primary.purgeExpired(storeId, now);
    }

    @Override
    public Page<StoredTuple> read(String storeId, TupleFilter filter, PageRequest page) {
      return ReplicaReads.this.read(
          () -> replica.read(storeId, filter, page), () -> primary.read(storeId, filter, page));
    }

    @Override
    public long snapshot(String storeId, Consumer<StoredTuple> sink) {
      if (down()) {
        replicaDown.increment();
      } else {
        // A snapshot that failed after streaming tuples cannot be streamed again from the primary
        // into the same sink: only one that failed before its first tuple falls back.
        boolean[] streamed = {false};
        try {
          long revision =
              replica.snapshot(
                  storeId,
                  stored -> {
                    streamed[0] = true;
                    sink.accept(stored);
                  });
          replicaReads.increment();
          return revision;
        } catch (CastellanException e) {
          if (e.code() == ErrorCode.STORE_UNAVAILABLE) {
            failed(e);
            if (streamed[0]) {
              throw e;
            }
            replicaDown.increment();
          } else if (e.code() == ErrorCode.STORE_ID_NOT_FOUND) {
            notReplayed.increment();
          } else {
            throw e;
          }
        }
      }
      return primary.snapshot(storeId, sink);
    }

    @Override
    public long revision(String storeId) {
      return ReplicaReads.this.read(
          () -> replica.revision(storeId), () -> primary.revision(storeId));
    }

    @Override
    public Map<String, Long> revisions(Collection<String> storeIds) {
      return ReplicaReads.this.read(
          () -> replica.revisions(storeIds), () -> primary.revisions(storeIds));
    }

    @Override
    public List<Change> changesAfter(String storeId, long revision, int limit) {
      return ReplicaReads.this.read(
          () -> replica.changesAfter(storeId, revision, limit),
          () -> primary.changesAfter(storeId, revision, limit));
    }

    @Override
    public Page<Change> readChanges(
        String storeId, String objectType, @Nullable Instant startTime, PageRequest page) {
      return ReplicaReads.this.read(
          () -> replica.readChanges(storeId, objectType, startTime, page),
          () -> primary.readChanges(storeId, objectType, startTime, page));
    }

    @Override
    public Optional<TupleStore> readReplica() {
      return Optional.of(this);
    }

    @Override
    public Optional<TupleStore> readReplica(String storeId, long atLeast) {
      return readsAt(storeId, atLeast);
    }

    @Override
    public TupleStore latestReads() {
      return latest();
    }
  }
}
