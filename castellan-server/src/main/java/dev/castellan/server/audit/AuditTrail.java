package dev.castellan.server.audit;

import dev.castellan.audit.AuditEntry;
import dev.castellan.audit.AuditLines;
import dev.castellan.audit.AuditRecord;
import dev.castellan.audit.AuditRecords;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail: takes events on the request path, stores them off it. A bounded queue feeds one
 * background writer that appends batches to the hash chain ({@link AuditRecords}), then to the
 * JSON-lines file if one is set, then hands them to the alert rules.
 *
 * <p>Denials and changes are never dropped: when the queue stays full for a moment, the request
 * that made one appends it itself. Allowed decisions are kept as configured (all, a sample, none)
 * and are the only events dropped when the queue is full; {@link #droppedAllows()} counts them.
 * Entries are also lost when the database refuses them for good (a request's own append failed, or
 * the writer gave up at shutdown); {@link #lostEntries()} counts those. Nothing is dropped
 * silently: a monitor thread, which never waits for the database, logs a warning at most once a
 * minute with the number dropped since its last one, and raises the {@code audit-dropped} alert
 * when it is on.
 *
 * <p>Failed authentications come through {@link #authFailure}: the alert rules hear each one at
 * once, while the trail keeps the first per address and minute and one entry counting the rest
 * ({@link AuthFailureSummaries}), so a flood of bad credentials cannot fill it.
 */
public final class AuditTrail implements AuditLog, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AuditTrail.class);
  private static final long OFFER_WAIT_MILLIS = 50;
  private static final Duration RETENTION_EVERY = Duration.ofHours(1);

  /** At most one warning (and alert) about dropped entries per this interval. */
  static final Duration DROP_REPORT_EVERY = Duration.ofMinutes(1);

  /** How often the monitor looks at the drop counters. */
  private static final Duration MONITOR_TICK = Duration.ofSeconds(1);

  /**
   * How often the chain's head is written to the log when it moved. Logs shipped elsewhere then
   * hold an anchor that whoever rewrites the database cannot reach: {@code castellan audit verify
   * --expect SEQ:HASH} checks the chain still passes through it.
   */
  static final Duration HEAD_LOG_EVERY = Duration.ofMinutes(5);

  /**
   * How long the writer lets events gather before a batch, unless the batch fills sooner: a
   * transaction per few events would cost more than the events themselves.
   */
  private static final long LINGER_MILLIS = 50;

  private final AuditSettings settings;
  private final AuditRecords records;
  private final Clock clock;
  private final ArrayBlockingQueue<AuditEvent> queue;
  private final Alerts alerts;
  private final @Nullable OutputStream file;
  private final AuditLines.Encoder fileLines = new AuditLines.Encoder();
  private final LongAdder dropped = new LongAdder();
  private final LongAdder lost = new LongAdder();
  private final AuthFailureSummaries authFailures = new AuthFailureSummaries();
  private final ScheduledExecutorService monitor;
  private final Object dropReport = new Object();
  private long reportedAllows; // these three under dropReport
  private long reportedLost;
  private long nextDropReport;
  private final AtomicLong enqueued = new AtomicLong();
  private final AtomicLong handled = new AtomicLong();
  private final AtomicLong stored = new AtomicLong();
  private final Thread writer;
  private volatile boolean closed;
  private long nextRetention;
  private long summarizedMinute; // the writer's: the minute whose predecessors it has written
  private long nextHeadLog;
  private long loggedHeadSeq = -1;

  private AuditTrail(AuditSettings settings, AuditRecords records, Clock clock) {
    this.settings = settings;
    this.records = records;
    this.clock = clock;
    this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
    this.alerts = Alerts.create(settings.alerts());
    this.file = settings.file().isEmpty() ? null : openFile(Path.of(settings.file()));
    this.writer = Thread.ofPlatform().name("castellan-audit-writer").daemon().unstarted(this::run);
    this.monitor =
        Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("castellan-audit-monitor").daemon().factory());
  }

  /** Starts the background writer over {@code records}. */
  public static AuditTrail start(AuditSettings settings, AuditRecords records) {
    return start(settings, records, Clock.systemUTC());
  }

  static AuditTrail start(AuditSettings settings, AuditRecords records, Clock clock) {
    return start(settings, records, clock, MONITOR_TICK);
  }

  /** {@code monitorTick}: how often the monitor looks for drops (tests make it rare). */
  static AuditTrail start(
      AuditSettings settings, AuditRecords records, Clock clock, Duration monitorTick) {
    AuditTrail trail = new AuditTrail(settings, records, clock);
    trail.writer.start();
    trail.monitor.scheduleWithFixedDelay(
        () -> trail.reportDrops(false),
        monitorTick.toMillis(),
        monitorTick.toMillis(),
        TimeUnit.MILLISECONDS);
    return trail;
  }

  private static OutputStream openFile(Path path) {
    try {
      Path parent = path.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      return new BufferedOutputStream(
          Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND),
          64 * 1024);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the audit file " + path, e);
    }
  }

  @Override
  public void record(AuditEvent event) {
    if (!settings.enabled()) {
      return;
    }
    if (event.kind() == AuditEvent.Kind.DECISION && event.outcome() == AuditEvent.Outcome.ALLOW) {
      boolean keep =
          switch (settings.allows()) {
            case ALL -> true;
            case SAMPLED -> ThreadLocalRandom.current().nextDouble() < settings.sampleRate();
            case NONE -> false;
          };
      if (keep) {
        if (!closed && queue.offer(event)) {
          enqueued.incrementAndGet();
        } else {
          dropped.increment();
        }
      }
      return;
    }
    if (!closed) {
      try {
        if (queue.offer(event, OFFER_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
          enqueued.incrementAndGet();
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    // The writer is behind (or gone): a denial or a change is stored by its own request.
    List<AuditEvent> one = List.of(event);
    List<AuditRecord> appended;
    try {
      appended = records.append(List.of(AuditJson.entry(event)));
    } catch (RuntimeException e) {
      lost.increment(); // the request fails with it, but the entry is gone: count it
      throw e;
    }
    afterStored(one, appended);
  }

  /**
   * A request refused for its credentials ({@code throttled}: refused by the failure limit before
   * they were looked at). The alert rules hear it now; the trail records it now if it is the first
   * of its address ({@link AuditEvent#clientAddress}) this minute, else sums it into one entry for
   * the minute, written when the minute has ended.
   */
  public void authFailure(AuditEvent event, boolean throttled) {
    if (!settings.enabled()) {
      return;
    }
    try {
      alerts.authFailure(event);
    } catch (RuntimeException e) {
      LOG.error("alert rules failed on a failed authentication", e);
    }
    List<AuditEvent> ended = new ArrayList<>(1);
    AuthFailureSummaries.Fate fate = authFailures.add(event, throttled, ended);
    ended.forEach(this::record); // the address's previous minute, if still waiting
    if (fate == AuthFailureSummaries.Fate.RECORD) {
      record(event);
    }
  }

  /** Allowed decisions dropped because the queue was full. */
  public long droppedAllows() {
    return dropped.sum();
  }

  /**
   * Entries lost because the database did not take them: a request's own append failed, or the
   * writer gave a batch up at shutdown.
   */
  public long lostEntries() {
    return lost.sum();
  }

  /** Events waiting for the background writer. */
  public int queueDepth() {
    return queue.size();
  }

  /** Entries stored so far by this node (by the writer and by requests). */
  public long storedEntries() {
    return stored.get();
  }

  /** The chain this trail appends to, for reading and verifying. */
  public AuditRecords records() {
    return records;
  }

  /**
   * Waits, at most {@code timeout}, until every event queued before this call is stored: a reader
   * of the trail then sees what it just did. Returns whether they all were.
   */
  public boolean flush(Duration timeout) {
    long target = enqueued.get();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (handled.get() < target) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  private void run() {
    List<AuditEvent> batch = new ArrayList<>(settings.batchSize());
    while (true) {
      @Nullable AuditEvent first;
      try {
        first = queue.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        first = null;
      }
      if (first == null) {
        if (closed && queue.isEmpty()) {
          List<AuditEvent> waiting = authFailures.drain();
          if (!waiting.isEmpty()) {
            store(waiting);
          }
          return;
        }
      } else {
        batch.add(first);
        linger();
        queue.drainTo(batch, settings.batchSize() - 1);
        store(batch);
        handled.addAndGet(batch.size());
        batch.clear();
      }
      long minute = AuthFailureSummaries.minute(clock.instant());
      if (minute != summarizedMinute) {
        summarizedMinute = minute;
        List<AuditEvent> summaries = authFailures.ended(minute);
        if (!summaries.isEmpty()) {
          store(summaries);
        }
      }
      retention(); // at most hourly, idle or busy
      logHead(false);
    }
  }

  /**
   * Logs (and alerts on) entries dropped since the last report, at most once per {@link
   * #DROP_REPORT_EVERY} unless {@code now}. Runs on the monitor thread, which never touches the
   * database: drops happen when the writer is stuck, and must be heard then.
   */
  void reportDrops(boolean now) {
    synchronized (dropReport) {
      long allows = dropped.sum();
      long gone = lost.sum();
      long newAllows = allows - reportedAllows;
      long newLost = gone - reportedLost;
      if (newAllows + newLost == 0) {
        return;
      }
      long millis = clock.millis();
      if (!now && millis < nextDropReport) {
        return;
      }
      nextDropReport = millis + DROP_REPORT_EVERY.toMillis();
      reportedAllows = allows;
      reportedLost = gone;
      LOG.warn(
          "audit trail: {} entries dropped since the last report ({} allowed decisions refused by"
              + " the full queue, {} entries the database did not take); {} since start",
          newAllows + newLost,
          newAllows,
          newLost,
          allows + gone);
      try {
        alerts.dropped(newAllows + newLost, allows + gone, newAllows);
      } catch (RuntimeException e) {
        LOG.error("alert rules failed on dropped audit entries", e);
      }
    }
  }

  /** Logs the chain's head if it moved since it was last logged, every few minutes or now. */
  private void logHead(boolean now) {
    long millis = clock.millis();
    if (!now && millis < nextHeadLog) {
      return;
    }
    nextHeadLog = millis + HEAD_LOG_EVERY.toMillis();
    try {
      AuditRecords.Head head = records.head();
      if (head.lastSeq() != loggedHeadSeq && head.lastSeq() >= head.firstSeq()) {
        loggedHeadSeq = head.lastSeq();
        LOG.info("audit trail head: seq {} hash {}", head.lastSeq(), head.lastHash());
      }
    } catch (RuntimeException e) {
      LOG.warn("audit trail: could not read the chain's head: {}", e.getMessage());
    }
  }

  /** Lets a batch gather, but no longer once it is full. */
  private void linger() {
    long deadline = System.nanoTime() + LINGER_MILLIS * 1_000_000;
    while (queue.size() < settings.batchSize() - 1 && System.nanoTime() < deadline && !closed) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        return; // closing: the batch is stored now
      }
    }
  }

  /** Appends a batch, retrying while the database is away; it is given up only on shutdown. */
  private void store(List<AuditEvent> batch) {
    List<AuditEntry> entries = new ArrayList<>(batch.size());
    batch.forEach(event -> entries.add(AuditJson.entry(event)));
    long backoff = 100;
    for (int attempt = 1; ; attempt++) {
      try {
        afterStored(batch, records.append(entries));
        return;
      } catch (RuntimeException e) {
        if (closed && attempt >= 3) {
          lost.add(batch.size());
          LOG.error("audit trail: {} entries could not be stored and are lost", batch.size(), e);
          return;
        }
        LOG.error(
            "audit trail: could not store {} entries (attempt {}), retrying in {} ms",
            batch.size(),
            attempt,
            backoff,
            e);
        try {
          Thread.sleep(backoff);
        } catch (InterruptedException interrupted) {
          // closing: the loop checks
        }
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private void afterStored(List<AuditEvent> events, List<AuditRecord> appended) {
    stored.addAndGet(appended.size());
    if (file != null) {
      writeFile(file, appended);
    }
    for (AuditEvent event : events) {
      try {
        alerts.observe(event);
      } catch (RuntimeException e) {
        LOG.error("alert rules failed on an audit event", e);
      }
    }
  }

  /** The same JSON lines as the database holds: the query API's form of each record. */
  private synchronized void writeFile(OutputStream out, List<AuditRecord> appended) {
    try {
      fileLines.reset();
      for (AuditRecord record : appended) {
        fileLines.write(record);
      }
      out.write(fileLines.toByteArray());
      out.flush();
    } catch (IOException e) {
      LOG.error("audit trail: could not write to the audit file {}", settings.file(), e);
    }
  }

  private void retention() {
    if (settings.retention().isZero()) {
      return;
    }
    long now = clock.millis();
    if (now < nextRetention) {
      return;
    }
    nextRetention = now + RETENTION_EVERY.toMillis();
    try {
      long deleted = records.deleteOlderThan(clock.instant().minus(settings.retention()));
      if (deleted > 0) {
        LOG.info("audit trail: removed {} entries older than {}", deleted, settings.retention());
      }
    } catch (RuntimeException e) {
      LOG.error("audit trail: retention failed", e);
    }
  }

  /** Stores what is queued, then stops the writer and the alert deliveries. */
  @Override
  public void close() {
    closed = true;
    try {
      writer.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!writer.isAlive()) {
      logHead(true); // the last word on the chain, for the shipped logs
    }
    monitor.shutdownNow();
    try {
      monitor.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    reportDrops(true); // whatever was dropped since the last report, however recent that was
    alerts.close();
    if (file != null) {
      synchronized (this) {
        try {
          file.close();
        } catch (IOException e) {
          LOG.error("audit trail: could not close the audit file {}", settings.file(), e);
        }
      }
    }
  }
}
