package dev.castellan.bench;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The CPU and GC counters the load benchmarks read at the start and end of a measurement: this
 * process, its threads by name, its garbage collections, and the whole machine.
 */
final class CpuCounters {
  /** The audit trail's background writer, whose share the benchmarks report apart. */
  static final String AUDIT_WRITER = "castellan-audit-writer";

  /** Linux reports {@code /proc/stat} in USER_HZ ticks, 100 a second on every common kernel. */
  private static final double TICKS_PER_SECOND = 100;

  private CpuCounters() {}

  /** CPU time of this process, in nanoseconds. */
  static long processCpuNanos() {
    return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /**
   * Bytes allocated on the heap by every thread of this JVM since it started, the threads that
   * ended included (virtual threads allocate on their carriers). -1 where the JVM cannot tell.
   */
  static long allocatedBytes() {
    if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads
        && threads.isThreadAllocatedMemorySupported()
        && threads.isThreadAllocatedMemoryEnabled()) {
      return threads.getTotalThreadAllocatedBytes();
    }
    return -1;
  }

  /** CPU time of each live thread of this JVM, in nanoseconds, summed per thread name. */
  static Map<String, Long> threadCpuNanosByName() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<String, Long> byName = new TreeMap<>();
    for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info != null) {
        long cpu = Math.max(0, threads.getThreadCpuTime(info.getThreadId()));
        byName.merge(info.getThreadName(), cpu, Long::sum);
      }
    }
    return byName;
  }

  /** Garbage collections so far, over every collector: how many, and their time. */
  record Gc(long count, long millis) {
    static Gc now() {
      long count = 0;
      long millis = 0;
      for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
        count += Math.max(0, gc.getCollectionCount());
        millis += Math.max(0, gc.getCollectionTime());
      }
      return new Gc(count, millis);
    }
  }

  /**
   * Busy CPU seconds of the whole machine since boot, over all cores, from Linux's {@code
   * /proc/stat}: with PostgreSQL on the same machine, the difference between this and the
   * benchmark's own process is the database's share. -1 where {@code /proc/stat} cannot be read.
   */
  static double machineBusySeconds() {
    try {
      String[] fields = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
      // cpu user nice system idle iowait irq softirq steal ...
      long busy = 0;
      for (int i = 1; i < fields.length && i <= 8; i++) {
        if (i != 4 && i != 5) {
          busy += Long.parseLong(fields[i]);
        }
      }
      return busy / TICKS_PER_SECOND;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
