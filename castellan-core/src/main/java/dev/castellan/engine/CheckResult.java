package dev.castellan.engine;

import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/** The answer to a {@link CheckRequest}: allowed or not, and why when asked. */
public final class CheckResult {
  private static final CheckResult ALLOWED = new CheckResult(true, null, 0);
  private static final CheckResult DENIED = new CheckResult(false, null, 0);

  private final boolean allowed;
  private final @Nullable Explanation explanation;
  private final long omittedSteps;

  private CheckResult(boolean allowed, @Nullable Explanation explanation, long omittedSteps) {
    this.allowed = allowed;
    this.explanation = explanation;
    this.omittedSteps = omittedSteps;
  }

  static CheckResult of(boolean allowed) {
    return allowed ? ALLOWED : DENIED;
  }

  static CheckResult explained(boolean allowed, Explanation explanation, long omittedSteps) {
    return new CheckResult(
        allowed, Objects.requireNonNull(explanation, "explanation"), omittedSteps);
  }

  public boolean allowed() {
    return allowed;
  }

  /** Present when the request asked for an explanation. */
  public Optional<Explanation> explanation() {
    return Optional.ofNullable(explanation);
  }

  /**
   * Steps the explanation leaves out because it reached its size limit (each place they were left
   * out carries an {@link Explanation.Outcome#OMITTED} marker); 0 when it is complete.
   */
  public long explanationOmittedSteps() {
    return omittedSteps;
  }

  @Override
  public String toString() {
    return "CheckResult[allowed=" + allowed + "]";
  }
}
