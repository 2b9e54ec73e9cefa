package dev.castellan.server;

import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;

/** Waits for something another thread does, up to a deadline: the one polling loop of the tests. */
public final class Poll {
  private Poll() {}

  /** A condition to wait for; it may ask the server (a throw fails the test at once). */
  @FunctionalInterface
  public interface Condition {
    boolean holds() throws Exception;
  }

  /** Returns once {@code condition} holds; fails the test naming {@code what} after {@code max}. */
  public static void until(String what, Duration max, Condition condition) {
    long deadline = System.nanoTime() + max.toNanos();
    while (!holds(what, condition)) {
      if (System.nanoTime() > deadline) {
        fail("waited " + max.toMillis() + " ms for " + what);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted while waiting for " + what);
      }
    }
  }

  private static boolean holds(String what, Condition condition) {
    try {
      return condition.holds();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fail("interrupted while waiting for " + what, e);
    } catch (Exception e) {
      return fail("while waiting for " + what + ": " + e, e);
    }
  }
}
