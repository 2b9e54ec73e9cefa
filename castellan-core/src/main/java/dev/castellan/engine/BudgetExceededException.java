package dev.castellan.engine;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.time.Duration;

/**
 * An evaluation ran out of its {@link Budget}. The code is OpenFGA's for the case: {@code
 * authorization_model_resolution_too_complex} for the step budget, {@code deadline_exceeded} for
 * time, {@code cancelled} when the caller went away, {@code exceeded_entity_limit} for result
 * bytes.
 */
public final class BudgetExceededException extends CastellanException {
  private static final long serialVersionUID = 1L;

  private final Budget.Limit limit;
  private final long steps;
  private final Duration elapsed;

  BudgetExceededException(Budget.Limit limit, Budget budget) {
    super(code(limit), message(limit, budget));
    this.limit = limit;
    this.steps = budget.steps();
    this.elapsed = budget.elapsed();
  }

  /**
   * The exception for what ran out of {@code budget}, e.g. to report a listing whose last slice was
   * cut.
   *
   * @throws IllegalStateException when nothing has run out
   */
  public static BudgetExceededException of(Budget budget) {
    return new BudgetExceededException(
        budget
            .exceeded()
            .orElseThrow(() -> new IllegalStateException("the budget has not run out")),
        budget);
  }

  /** What ran out. */
  public Budget.Limit limit() {
    return limit;
  }

  /** Steps taken when it stopped. */
  public long steps() {
    return steps;
  }

  /** Time spent when it stopped. */
  public Duration elapsed() {
    return elapsed;
  }

  private static ErrorCode code(Budget.Limit limit) {
    return switch (limit) {
      case STEPS -> ErrorCode.AUTHORIZATION_MODEL_RESOLUTION_TOO_COMPLEX;
      case DEADLINE -> ErrorCode.DEADLINE_EXCEEDED;
      case CANCELLED -> ErrorCode.CANCELLED;
      case RESULT_BYTES -> ErrorCode.EXCEEDED_ENTITY_LIMIT;
    };
  }

  private static String message(Budget.Limit limit, Budget budget) {
    return switch (limit) {
      case STEPS ->
          "authorization model resolution needed more than "
              + budget.maxSteps()
              + " steps (rewrite rules and tuples visited); the model or its tuples make this"
              + " request too large";
      case DEADLINE ->
          "Request Deadline Exceeded: the evaluation did not finish within "
              + budget.timeout().map(Duration::toMillis).orElse(0L)
              + " ms";
      case CANCELLED -> "Request Cancelled: the client went away";
      case RESULT_BYTES ->
          "the answer exceeds the allowed limit of " + budget.maxResultBytes() + " bytes";
    };
  }
}
