package dev.castellan.engine;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * What one request may spend on evaluation: a deadline, a number of steps (a step is one rewrite
 * node visited or one tuple followed), the bytes of results it builds and the bytes of its
 * explanation. The evaluation checks it cooperatively: a counter on every step, and every {@value
 * #POLL_EVERY} steps a look at the clock and at whether the caller still waits.
 *
 * <p>On a virtual thread the same poll keeps long evaluations to a share of the carriers. Virtual
 * threads are never pre-empted, so a few CPU-bound evaluations would otherwise hold every carrier
 * and stall whatever else the server runs on virtual threads (health checks, ordinary requests)
 * until they finish. {@code Thread.yield()} does not help: a yielding virtual thread goes back to
 * its carrier's local queue when other tasks are queued there, and a carrier drains its local queue
 * before it looks at newly submitted ones (measured with JDK 25: 8 yielding CPU-bound virtual
 * threads let 5 of 500 new ones start within 10 s). So an evaluation that has run for more than
 * {@value #LONG_AFTER_NANOS} ns takes one of {@link #LONG_RUNNING}'s permits, one fewer than there
 * are carriers, and hands it on every {@value #SLICE_NANOS} ns of work to the next one waiting: one
 * carrier is always left for everything else, and long evaluations take turns on the others.
 * Waiting for a permit counts against the deadline. Short evaluations (nearly all) never see it.
 *
 * <p>Not thread-safe: one budget per request (a batch-check gives each item a {@link #part}).
 * Create with {@link #builder()} (the clock starts at {@link Builder#start()}) or {@link
 * #unlimited()}.
 */
public final class Budget {
  /** What ran out. */
  public enum Limit {
    /** The step budget: the model or its tuples make the evaluation too large. */
    STEPS,
    /** The deadline. */
    DEADLINE,
    /** The caller went away (the client disconnected). */
    CANCELLED,
    /** The bytes of results the request may build. */
    RESULT_BYTES
  }

  /**
   * The server's default step budget. Measured 2026-12: no case of OpenFGA's conformance suite
   * takes more than 349 steps for a check or 626 for a list (they all run under this budget in the
   * build); on the 1,000,000-tuple benchmark dataset checks take at most 128 and the 10,000-result
   * list-objects 32,950. The pathological graphs of issue 12 run at 2 to 20 million steps a second
   * on the 2-core build machine, so this stops them after 50 to 500 ms of CPU.
   */
  public static final long DEFAULT_MAX_STEPS = 1_000_000;

  /** Steps between two looks at the clock and the cancellation signal. */
  static final int POLL_EVERY = 256;

  /** Run time after which an evaluation on a virtual thread is long and needs a permit. */
  static final long LONG_AFTER_NANOS = 1_000_000;

  /** Work a long evaluation does with its permit before handing it on. */
  static final long SLICE_NANOS = 1_000_000;

  /**
   * Permits for long evaluations on virtual threads: one fewer than the carriers (at least one).
   * Fair, so that they take turns. Switched off with {@code -Dcastellan.evaluation.share=false}, to
   * measure what it does.
   */
  static final Semaphore LONG_RUNNING =
      new Semaphore(
          Math.max(
              1,
              Integer.getInteger(
                      "jdk.virtualThreadScheduler.parallelism",
                      Runtime.getRuntime().availableProcessors())
                  - 1),
          true);

  private static final boolean SHARE =
      !"false".equals(System.getProperty("castellan.evaluation.share"));

  private static final BooleanSupplier NEVER = () -> false;

  private final long startNanos;
  private final long deadlineNanos;
  private final @Nullable Duration timeout;
  private final long maxSteps;
  private final long maxResultBytes;
  private final int maxExplanationBytes;
  private final BooleanSupplier cancelled;

  private long steps;
  private int untilPoll = POLL_EVERY;
  private long resultBytes;
  private boolean holding;
  private long sliceStart;
  private @Nullable Limit exceeded;

  private Budget(
      long startNanos,
      @Nullable Duration timeout,
      long deadlineNanos,
      long maxSteps,
      long maxResultBytes,
      int maxExplanationBytes,
      BooleanSupplier cancelled) {
    this.startNanos = startNanos;
    this.timeout = timeout;
    this.deadlineNanos = deadlineNanos;
    this.maxSteps = maxSteps;
    this.maxResultBytes = maxResultBytes;
    this.maxExplanationBytes = maxExplanationBytes;
    this.cancelled = cancelled;
  }

  /** No limit at all: for the engine used as a library, tests, and the server's own stores. */
  public static Budget unlimited() {
    return builder().start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The limits of a budget, set before its clock starts. */
  public static final class Builder {
    private @Nullable Duration timeout;
    private long maxSteps = Long.MAX_VALUE;
    private long maxResultBytes = Long.MAX_VALUE;
    private int maxExplanationBytes = Integer.MAX_VALUE;
    private BooleanSupplier cancelled = NEVER;

    private Builder() {}

    /** How long the evaluation may take from {@link #start()}; none by default. */
    public Builder timeout(Duration value) {
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException("the timeout must be positive, was " + value);
      }
      timeout = value;
      return this;
    }

    /** Most steps (rewrite nodes visited, tuples followed); no limit by default. */
    public Builder maxSteps(long value) {
      maxSteps = positive(value, "maxSteps");
      return this;
    }

    /** Most bytes of results (object and user names) a request builds; no limit by default. */
    public Builder maxResultBytes(long value) {
      maxResultBytes = positive(value, "maxResultBytes");
      return this;
    }

    /**
     * Most bytes of an explanation, as JSON (its tree and its text rendering together); beyond them
     * the explanation is cut with a marker saying how many steps it leaves out.
     */
    public Builder maxExplanationBytes(int value) {
      maxExplanationBytes = (int) positive(value, "maxExplanationBytes");
      return this;
    }

    /** Polled while evaluating: true stops the evaluation ({@link Limit#CANCELLED}). */
    public Builder cancelledWhen(BooleanSupplier value) {
      cancelled = Objects.requireNonNull(value, "cancelled");
      return this;
    }

    /** Starts the clock. */
    public Budget start() {
      long now = System.nanoTime();
      return new Budget(
          now,
          timeout,
          deadline(now, timeout),
          maxSteps,
          maxResultBytes,
          maxExplanationBytes,
          cancelled);
    }

    private static long positive(long value, String name) {
      if (value < 1) {
        throw new IllegalArgumentException(name + " must be at least 1, was " + value);
      }
      return value;
    }
  }

  private static long deadline(long now, @Nullable Duration timeout) {
    if (timeout == null) {
      return Long.MAX_VALUE;
    }
    long nanos = timeout.toNanos();
    return nanos > Long.MAX_VALUE - now ? Long.MAX_VALUE : now + nanos;
  }

  /**
   * A budget for one part of this request (an item of a batch-check): steps and result bytes of its
   * own, its own {@code timeout} from now but never past this budget's deadline, and the same
   * cancellation.
   */
  public Budget part(Duration timeout, long maxSteps) {
    long now = System.nanoTime();
    long deadline = Math.min(deadlineNanos, deadline(now, timeout));
    Duration shown = deadline == deadlineNanos ? this.timeout : timeout;
    return new Budget(
        now, shown, deadline, maxSteps, maxResultBytes, maxExplanationBytes, cancelled);
  }

  /** Steps taken so far. */
  public long steps() {
    return steps;
  }

  /** Time since the clock started. */
  public Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  /** The timeout the deadline came from; empty when there is none. */
  public java.util.Optional<Duration> timeout() {
    return java.util.Optional.ofNullable(timeout);
  }

  public long maxSteps() {
    return maxSteps;
  }

  public long maxResultBytes() {
    return maxResultBytes;
  }

  public int maxExplanationBytes() {
    return maxExplanationBytes;
  }

  /** What ran out, once something has. */
  public java.util.Optional<Limit> exceeded() {
    return java.util.Optional.ofNullable(exceeded);
  }

  /**
   * Checks the deadline and the cancellation now, outside of any evaluation (e.g. before starting
   * the next item of a batch).
   *
   * @throws BudgetExceededException when either has run out
   */
  public void requireTime() {
    try {
      checkTime(System.nanoTime());
    } catch (Stop stop) {
      throw exception();
    }
  }

  // ---------------------------------------------------------------- for the evaluation

  /** One step. Cheap: a counter; every {@value #POLL_EVERY} steps, a look at the clock. */
  void step() {
    if (++steps > maxSteps) {
      throw stop(Limit.STEPS);
    }
    if (--untilPoll == 0) {
      untilPoll = POLL_EVERY;
      poll();
    }
  }

  /** Counts {@code bytes} of results built. */
  void resultBytes(long bytes) {
    resultBytes += bytes;
    if (resultBytes > maxResultBytes) {
      throw stop(Limit.RESULT_BYTES);
    }
  }

  private void poll() {
    long now = System.nanoTime();
    checkTime(now);
    if (SHARE && now - startNanos >= LONG_AFTER_NANOS && Thread.currentThread().isVirtual()) {
      share(now);
    }
  }

  private void checkTime(long now) {
    if (exceeded != null) {
      throw new Stop();
    }
    if (deadlineNanos != Long.MAX_VALUE && now - deadlineNanos >= 0) {
      throw stop(Limit.DEADLINE);
    }
    if (cancelled.getAsBoolean()) {
      throw stop(Limit.CANCELLED);
    }
  }

  /** Takes a permit for a long evaluation, or hands it on after a slice; see the class comment. */
  private void share(long now) {
    if (holding) {
      if (now - sliceStart < SLICE_NANOS) {
        return;
      }
      holding = false;
      LONG_RUNNING.release();
    }
    try {
      boolean acquired;
      if (deadlineNanos == Long.MAX_VALUE) {
        LONG_RUNNING.acquire();
        acquired = true;
      } else {
        acquired = LONG_RUNNING.tryAcquire(deadlineNanos - now, TimeUnit.NANOSECONDS);
      }
      if (!acquired) {
        throw stop(Limit.DEADLINE);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw stop(Limit.CANCELLED);
    }
    holding = true;
    sliceStart = System.nanoTime();
  }

  /** The evaluation is over (or paused between list slices): gives back a permit it holds. */
  void leave() {
    if (holding) {
      holding = false;
      LONG_RUNNING.release();
    }
  }

  private Stop stop(Limit limit) {
    if (exceeded == null) {
      exceeded = limit;
    }
    return new Stop();
  }

  /** The exception to report this budget's overrun with. */
  BudgetExceededException exception() {
    return new BudgetExceededException(
        Objects.requireNonNull(exceeded, "nothing was exceeded"), this);
  }

  /**
   * Unwinds an evaluation whose budget ran out. Not a {@link dev.castellan.CastellanException}, so
   * that no branch of the evaluation takes it for an error another branch may outweigh; the engine
   * turns it into a {@link BudgetExceededException} at its boundary. No stack trace: it is control
   * flow.
   */
  static final class Stop extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Stop() {
      super("evaluation budget exceeded", null, false, false);
    }
  }
}
