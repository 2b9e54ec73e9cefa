package dev.castellan.server;

import dev.castellan.engine.Budget;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * What one request may spend on evaluation (issue 12): every check, batch-check item, expand,
 * list-objects, streamed-list-objects, list-users and explanation runs under a {@link Budget} made
 * from these.
 *
 * @param checkTimeout deadline of a check, and of each item of a batch-check (1 s)
 * @param listTimeout deadline of list-objects, streamed-list-objects, list-users, expand and of a
 *     whole batch-check (3 s, OpenFGA's list deadline)
 * @param maxSteps steps one evaluation may take (rewrite nodes visited, tuples followed): per
 *     check, per batch item, per expand, per page of a list
 * @param maxExplanationBytes size of an explanation as JSON ({@code explanation} and {@code
 *     resolution} together); longer ones are cut with a marker (256 KiB)
 * @param maxResultBytes bytes of results one request builds: a list page's objects or users, an
 *     expand's users (8 MiB)
 */
public record EvaluationLimits(
    Duration checkTimeout,
    Duration listTimeout,
    long maxSteps,
    int maxExplanationBytes,
    long maxResultBytes) {

  public static final EvaluationLimits DEFAULT =
      new EvaluationLimits(
          Duration.ofSeconds(1),
          Duration.ofSeconds(3),
          Budget.DEFAULT_MAX_STEPS,
          256 * 1024,
          8L * 1024 * 1024);

  public EvaluationLimits {
    requirePositive(checkTimeout, "check timeout");
    requirePositive(listTimeout, "list timeout");
    if (maxSteps < 1_000) {
      throw new IllegalArgumentException(
          "max evaluation steps must be at least 1000, was " + maxSteps);
    }
    if (maxExplanationBytes < 4 * 1024) {
      throw new IllegalArgumentException(
          "max explanation bytes must be at least 4096, was " + maxExplanationBytes);
    }
    if (maxResultBytes < 64 * 1024) {
      throw new IllegalArgumentException(
          "max result bytes must be at least 65536, was " + maxResultBytes);
    }
  }

  private static void requirePositive(Duration value, String name) {
    if (value == null || value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, was " + value);
    }
  }

  /** The budget of a check (and of its explanation), starting now. */
  public Budget check(BooleanSupplier cancelled) {
    return Budget.builder()
        .timeout(checkTimeout)
        .maxSteps(maxSteps)
        .maxExplanationBytes(maxExplanationBytes)
        .maxResultBytes(maxResultBytes)
        .cancelledWhen(cancelled)
        .start();
  }

  /**
   * The budget of a list page, an expand or a whole batch-check (whose items each take a {@link
   * Budget#part} of it with {@link #checkTimeout} and {@link #maxSteps}), starting now.
   */
  public Budget list(BooleanSupplier cancelled) {
    return Budget.builder()
        .timeout(listTimeout)
        .maxSteps(maxSteps)
        .maxExplanationBytes(maxExplanationBytes)
        .maxResultBytes(maxResultBytes)
        .cancelledWhen(cancelled)
        .start();
  }

  /**
   * A timeout setting: a number and a unit, {@code ms} or {@code s} ({@code 1s}, {@code 500ms}).
   *
   * @throws IllegalArgumentException naming {@code setting} when it is anything else
   */
  public static Duration parseTimeout(String text, String setting) {
    String value = text.trim().toLowerCase(java.util.Locale.ROOT);
    if (value.matches("\\d{1,9}ms")) {
      return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
    }
    if (value.matches("\\d{1,6}s")) {
      return Duration.ofSeconds(Long.parseLong(value.substring(0, value.length() - 1)));
    }
    throw new IllegalArgumentException(
        setting + " must be a number and a unit (ms or s), e.g. 1s or 500ms; not '" + text + "'");
  }

  /**
   * A size setting in bytes: a number, or a number and {@code KiB} or {@code MiB} ({@code 262144},
   * {@code 256KiB}, {@code 8MiB}).
   *
   * @throws IllegalArgumentException naming {@code setting} when it is anything else
   */
  public static long parseBytes(String text, String setting) {
    String value = text.trim();
    long unit = 1;
    if (value.endsWith("KiB")) {
      unit = 1024;
    } else if (value.endsWith("MiB")) {
      unit = 1024 * 1024;
    }
    String number = unit == 1 ? value : value.substring(0, value.length() - 3).trim();
    if (!number.matches("\\d{1,12}")) {
      throw new IllegalArgumentException(
          setting + " must be a number of bytes, or with KiB or MiB (256KiB); not '" + text + "'");
    }
    return Long.parseLong(number) * unit;
  }

  public EvaluationLimits withCheckTimeout(Duration value) {
    return new EvaluationLimits(value, listTimeout, maxSteps, maxExplanationBytes, maxResultBytes);
  }

  public EvaluationLimits withListTimeout(Duration value) {
    return new EvaluationLimits(checkTimeout, value, maxSteps, maxExplanationBytes, maxResultBytes);
  }

  public EvaluationLimits withMaxSteps(long value) {
    return new EvaluationLimits(
        checkTimeout, listTimeout, value, maxExplanationBytes, maxResultBytes);
  }

  public EvaluationLimits withMaxExplanationBytes(int value) {
    return new EvaluationLimits(checkTimeout, listTimeout, maxSteps, value, maxResultBytes);
  }

  public EvaluationLimits withMaxResultBytes(long value) {
    return new EvaluationLimits(checkTimeout, listTimeout, maxSteps, maxExplanationBytes, value);
  }
}
