package dev.castellan.engine;

import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/** The answer to a {@link CheckRequest}: allowed or not, and why when asked. */
public final class CheckResult {
  private final boolean allowed;
  private final @Nullable Explanation explanation;
  private final long omittedSteps;
  private final long revision;
  private final long validUntilMillis;

  private CheckResult(
      boolean allowed,
      @Nullable Explanation explanation,
      long omittedSteps,
      long revision,
      long validUntilMillis) {
    this.allowed = allowed;
    this.explanation = explanation;
    this.omittedSteps = omittedSteps;
    this.revision = revision;
    this.validUntilMillis = validUntilMillis;
  }

  static CheckResult of(boolean allowed, long revision, long validUntilMillis) {
    return new CheckResult(allowed, null, 0, revision, validUntilMillis);
  }

  static CheckResult explained(
      boolean allowed,
      Explanation explanation,
      long omittedSteps,
      long revision,
      long validUntilMillis) {
    return new CheckResult(
        allowed,
        Objects.requireNonNull(explanation, "explanation"),
        omittedSteps,
        revision,
        validUntilMillis);
  }

  public boolean allowed() {
    return allowed;
  }

  /**
   * The revision of the index the decision was made at: the index does not move while a check reads
   * it, so this is the revision an audit entry and a consistency token should name.
   */
  public long revision() {
    return revision;
  }

  /**
   * Epoch millis until which this answer stays the answer at {@link #revision()}: the earliest
   * expiry, still ahead when it was decided, of the tuples the check read; {@link Long#MAX_VALUE}
   * when none of them expires. A cache of answers keyed by revision must not serve it after this.
   */
  public long validUntilMillis() {
    return validUntilMillis;
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
    return "CheckResult[allowed=" + allowed + ", revision=" + revision + "]";
  }
}
