package dev.castellan.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time the whole machine spent busy, from Linux's {@code /proc/stat}: with PostgreSQL on the
 * same machine, the difference between this and the benchmark's own process is the database's
 * share. -1 where {@code /proc/stat} cannot be read.
 */
final class MachineCpu {
  /** Linux reports {@code /proc/stat} in USER_HZ ticks, 100 a second on every common kernel. */
  private static final double TICKS_PER_SECOND = 100;

  private MachineCpu() {}

  /** Busy CPU seconds since boot, over all cores. */
  static double busySeconds() {
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
