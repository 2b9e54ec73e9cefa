package dev.castellan.engine;

import java.util.Objects;
import java.util.Optional;

/** The answer to a {@link CheckRequest}: allowed or not, and why when asked. */
public final class CheckResult {
  private static final CheckResult ALLOWED = new CheckResult(true, null);
  private static final CheckResult DENIED = new CheckResult(false, null);

  private final boolean allowed;
  private final Explanation explanation;

  private CheckResult(boolean allowed, Explanation explanation) {
    this.allowed = allowed;
    this.explanation = explanation;
  }

  static CheckResult of(boolean allowed) {
    return allowed ? ALLOWED : DENIED;
  }

  static CheckResult explained(boolean allowed, Explanation explanation) {
    return new CheckResult(allowed, Objects.requireNonNull(explanation, "explanation"));
  }

  public boolean allowed() {
    return allowed;
  }

  /** Present when the request asked for an explanation. */
  public Optional<Explanation> explanation() {
    return Optional.ofNullable(explanation);
  }

  @Override
  public String toString() {
    return "CheckResult[allowed=" + allowed + "]";
  }
}
