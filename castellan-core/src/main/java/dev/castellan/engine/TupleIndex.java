package dev.castellan.engine;

import java.util.Collection;
import java.util.List;
import java.util.concurrent.locks.StampedLock;
import java.util.function.Supplier;

/**
 * The in-memory relationship index of one store: interned names, a forward index for check and
 * expand, and a reverse index for list-objects. Writes apply whole batches under a write lock and
 * readers hold the read lock for a whole request, so a read sees a batch entirely or not at all.
 */
public final class TupleIndex {
  private final Names names = new Names();
  private final Relationships relationships;
  private final StampedLock lock = new StampedLock();
  private volatile long revision;
  private final Object revisionMonitor = new Object();

  private TupleIndex(int expectedTuples) {
    relationships = new Relationships(names, new ObjectTable(), Math.max(16, expectedTuples / 2));
  }

  /** An empty index. */
  public static TupleIndex create() {
    return new TupleIndex(16);
  }

  /** An empty index sized for about {@code expectedTuples} tuples (avoids rehashing on load). */
  public static TupleIndex create(int expectedTuples) {
    if (expectedTuples < 0) {
      throw new IllegalArgumentException("expectedTuples must be >= 0, was " + expectedTuples);
    }
    return new TupleIndex(expectedTuples);
  }

  /**
   * Applies deletes, then writes, as one batch visible atomically to readers; returns the new
   * revision. Writing an existing tuple replaces its condition; deleting an absent one is a no-op.
   * Tuple syntax is checked here ({@code INVALID_TUPLE}); conformance to a model is checked by
   * {@link Engine#validateTuple}.
   */
  public long write(Collection<Tuple> writes, Collection<TupleKey> deletes) {
    // Parse everything before taking the lock, so a malformed tuple changes nothing.
    for (Tuple tuple : writes) {
      Refs.requireObject(tuple.key().object(), dev.castellan.ErrorCode.INVALID_TUPLE);
      Refs.requireUser(tuple.key().user(), dev.castellan.ErrorCode.INVALID_TUPLE);
    }
    long stamp = lock.writeLock();
    try {
      for (TupleKey key : deletes) {
        relationships.remove(key);
      }
      for (Tuple tuple : writes) {
        relationships.add(tuple);
      }
      return ++revision;
    } finally {
      lock.unlockWrite(stamp);
      synchronized (revisionMonitor) {
        revisionMonitor.notifyAll();
      }
    }
  }

  /**
   * Applies a batch the store committed as {@code revision}, so that the index's revision is the
   * store's. Batches at or below the current revision were applied already and are skipped (returns
   * false), so a feed may safely re-deliver.
   */
  public boolean apply(long revision, Collection<Tuple> writes, Collection<TupleKey> deletes) {
    for (Tuple tuple : writes) {
      Refs.requireObject(tuple.key().object(), dev.castellan.ErrorCode.INVALID_TUPLE);
      Refs.requireUser(tuple.key().user(), dev.castellan.ErrorCode.INVALID_TUPLE);
    }
    long stamp = lock.writeLock();
    try {
      if (revision <= this.revision) {
        return false;
      }
      for (TupleKey key : deletes) {
        relationships.remove(key);
      }
      for (Tuple tuple : writes) {
        relationships.add(tuple);
      }
      this.revision = revision;
    } finally {
      lock.unlockWrite(stamp);
    }
    synchronized (revisionMonitor) {
      revisionMonitor.notifyAll();
    }
    return true;
  }

  /**
   * Waits until the index has applied {@code revision}, at most {@code timeout}; true when it has.
   * Used to honour consistency tokens.
   */
  public boolean awaitRevision(long revision, java.time.Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (revisionMonitor) {
      while (this.revision < revision) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(revisionMonitor, left);
      }
    }
    return true;
  }

  /**
   * Loads a fresh index from a store snapshot in chunks, without building one huge batch. Readers
   * may see a partly loaded index: serve from it only after {@link Loader#finish}.
   */
  public Loader loader() {
    if (revision != 0) {
      throw new IllegalStateException("only an empty index can be bulk-loaded");
    }
    return new Loader();
  }

  /** See {@link #loader()}. Not thread-safe; one loader per index. */
  public final class Loader {
    private static final int CHUNK = 10_000;
    private final java.util.ArrayList<Tuple> buffer = new java.util.ArrayList<>(CHUNK);
    private long loaded;

    private Loader() {}

    public void add(Tuple tuple) {
      Refs.requireObject(tuple.key().object(), dev.castellan.ErrorCode.INVALID_TUPLE);
      Refs.requireUser(tuple.key().user(), dev.castellan.ErrorCode.INVALID_TUPLE);
      buffer.add(tuple);
      if (buffer.size() == CHUNK) {
        flush();
      }
    }

    /** Tuples added so far. */
    public long loaded() {
      return loaded + buffer.size();
    }

    /** Makes the index the snapshot of {@code snapshotRevision}. */
    public void finish(long snapshotRevision) {
      flush();
      long stamp = lock.writeLock();
      try {
        revision = snapshotRevision;
      } finally {
        lock.unlockWrite(stamp);
      }
      synchronized (revisionMonitor) {
        revisionMonitor.notifyAll();
      }
    }

    private void flush() {
      long stamp = lock.writeLock();
      try {
        for (Tuple tuple : buffer) {
          relationships.add(tuple);
        }
      } finally {
        lock.unlockWrite(stamp);
      }
      loaded += buffer.size();
      buffer.clear();
    }
  }

  /** Convenience for {@code write(writes, List.of())}. */
  public long write(Collection<Tuple> writes) {
    return write(writes, List.of());
  }

  /** The revision of the last applied batch; 0 for a new index. */
  public long revision() {
    return revision;
  }

  /** Number of tuples held. */
  public int size() {
    return read(relationships::tupleCount);
  }

  /** Every tuple held, in no particular order. */
  public List<Tuple> tuples() {
    return read(relationships::all);
  }

  /**
   * An estimate of the heap the index holds, in bytes: a walk of the whole index, so a caller that
   * needs it often measures once and scales by {@link #size()}.
   */
  public long estimatedBytes() {
    // This object, its lock and monitor, then the names and the relationships.
    return 40 + 48 + 16 + names.estimatedBytes() + read(relationships::estimatedBytes);
  }

  Names names() {
    return names;
  }

  Relationships relationships() {
    return relationships;
  }

  long readLock() {
    return lock.readLock();
  }

  void unlockRead(long stamp) {
    lock.unlockRead(stamp);
  }

  private <T> T read(Supplier<T> reader) {
    long stamp = lock.readLock();
    try {
      return reader.get();
    } finally {
      lock.unlockRead(stamp);
    }
  }
}
