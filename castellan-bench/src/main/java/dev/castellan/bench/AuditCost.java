package dev.castellan.bench;

import dev.castellan.server.audit.AuditEvent;
import dev.castellan.server.audit.AuditSettings;
import dev.castellan.server.audit.AuditTrail;
import dev.castellan.store.Store;
import dev.castellan.store.jdbc.JdbcStore;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The CPU the audit trail costs per decision, the whole pipeline without HTTP: producer threads
 * make decision events as the check handler does and record them at a fixed rate into an {@link
 * AuditTrail} over H2 or PostgreSQL, whose writer stores them. Run once with the trail recording
 * every decision and once with it off: the difference in process CPU per event is the trail's cost,
 * to set against the server's CPU per check ({@link HttpLoad}).
 *
 * <pre>
 * java -cp castellan-benchmarks.jar dev.castellan.bench.AuditCost DIR|JDBC_URL|memory [all|off] [rate] [seconds]
 * </pre>
 */
public final class AuditCost {
  private static final int PRODUCERS = 4;

  private AuditCost() {}

  public static void main(String[] args) throws Exception {
    String target = args.length > 0 ? args[0] : "/tmp/castellan-audit-cost";
    boolean on = args.length <= 1 || !args[1].equals("off");
    int rate = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
    int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 30;
    int warmup = Integer.getInteger("warmup", 20);
    try (Store store =
            target.equals("memory")
                ? new dev.castellan.store.MemoryStore()
                : target.startsWith("jdbc:postgresql:")
                    ? JdbcStore.postgres(target)
                    : JdbcStore.embedded(Path.of(target));
        AuditTrail trail =
            AuditTrail.start(
                on ? AuditSettings.DEFAULT : AuditSettings.OFF, store.auditRecords())) {
      LongAdder recorded = new LongAdder();
      long start = System.nanoTime();
      long end = start + (warmup + seconds) * 1_000_000_000L;
      List<Thread> producers = new ArrayList<>();
      for (int p = 0; p < PRODUCERS; p++) {
        int producer = p;
        producers.add(
            Thread.ofPlatform()
                .name("producer-" + p)
                .start(() -> produce(trail, producer, rate / PRODUCERS, start, end, recorded)));
      }
      Thread.sleep(warmup * 1000L);
      Sample before = Sample.now();
      long countBefore = recorded.sum();
      Thread.sleep(seconds * 1000L);
      Sample after = Sample.now();
      if (Boolean.getBoolean("threads")) {
        after.threads.forEach(
            (name, cpu) -> {
              long delta = cpu - before.threads.getOrDefault(name, 0L);
              if (delta > seconds * 5_000_000L) {
                System.out.printf(
                    Locale.ROOT, "  thread %s: %.3f cores%n", name, delta / 1e9 / seconds);
              }
            });
      }
      long events = recorded.sum() - countBefore;
      for (Thread producer : producers) {
        producer.join();
      }
      trail.flush(Duration.ofMinutes(1));
      double wall = (after.wall - before.wall) / 1e9;
      System.out.printf(
          Locale.ROOT,
          "audit %s into %s: %,d events in %.1f s (%,.0f/s); process %.3f cores = %.2f us CPU per"
              + " event; writer %.3f cores = %.2f us per event; machine busy %.3f cores; GC %d"
              + " pauses %d ms; %,d stored, %,d queued%n",
          on ? "all" : "off",
          target.replaceAll("\\?.*", ""),
          events,
          wall,
          events / wall,
          (after.processCpu - before.processCpu) / 1e9 / wall,
          (after.processCpu - before.processCpu) / 1e3 / Math.max(1, events),
          (after.writerCpu - before.writerCpu) / 1e9 / wall,
          (after.writerCpu - before.writerCpu) / 1e3 / Math.max(1, events),
          (after.machineBusy - before.machineBusy) / wall,
          after.gcCount - before.gcCount,
          after.gcMillis - before.gcMillis,
          trail.storedEntries(),
          trail.queueDepth());
    }
  }

  /** Records {@code perSecond} events, paced each millisecond, as a check handler would. */
  private static void produce(
      AuditTrail trail, int producer, int perSecond, long start, long end, LongAdder recorded) {
    long sent = 0;
    while (true) {
      long now = System.nanoTime();
      if (now >= end) {
        return;
      }
      long due = (now - start) * perSecond / 1_000_000_000L;
      for (; sent < due; sent++) {
        boolean allowed = (sent & 1) == 0;
        trail.record(
            new AuditEvent(
                Instant.now(),
                AuditEvent.Kind.DECISION,
                "check",
                "key:01M8ATSF0X8CJCKEHGVYGAM7BH",
                "user:u" + (sent * 31 + producer) % 10_000,
                List.of(),
                "viewer",
                "document:d" + sent % 100_000,
                allowed ? AuditEvent.Outcome.ALLOW : AuditEvent.Outcome.DENY,
                "",
                "01M8ATSF0X8CJCKEHGVYGAM7BH",
                100,
                "01M8B" + producer + Long.toString(sent, 36),
                "127.0.0.1"));
        recorded.increment();
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private record Sample(
      long processCpu,
      long writerCpu,
      long gcCount,
      long gcMillis,
      long wall,
      double machineBusy,
      Map<String, Long> threads) {
    static Sample now() {
      Map<String, Long> byThread = CpuCounters.threadCpuNanosByName();
      CpuCounters.Gc gc = CpuCounters.Gc.now();
      return new Sample(
          CpuCounters.processCpuNanos(),
          byThread.getOrDefault(CpuCounters.AUDIT_WRITER, 0L),
          gc.count(),
          gc.millis(),
          System.nanoTime(),
          CpuCounters.machineBusySeconds(),
          byThread);
    }
  }
}
