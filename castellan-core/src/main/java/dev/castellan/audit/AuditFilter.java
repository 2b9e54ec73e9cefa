package dev.castellan.audit;

import java.time.Instant;
import java.util.Objects;

/**
 * Which audit entries to read. Empty strings and the default times match everything; the others
 * must match exactly.
 *
 * @param since entries at or after this time ({@link Instant#EPOCH}: no lower bound)
 * @param until entries before this time ({@link #NO_END}: no upper bound)
 * @param outcome {@code allow}, {@code deny}, {@code ok} or {@code error}
 */
public record AuditFilter(
    Instant since, Instant until, String subject, String action, String resource, String outcome) {

  /** The upper bound that means none. */
  public static final Instant NO_END = Instant.parse("9999-12-31T23:59:59Z");

  /** Every entry. */
  public static final AuditFilter ALL = new AuditFilter(Instant.EPOCH, NO_END, "", "", "", "");

  public AuditFilter {
    Objects.requireNonNull(since, "since");
    Objects.requireNonNull(until, "until");
    subject = Objects.requireNonNullElse(subject, "");
    action = Objects.requireNonNullElse(action, "");
    resource = Objects.requireNonNullElse(resource, "");
    outcome = Objects.requireNonNullElse(outcome, "");
  }

  public boolean hasSince() {
    return !since.equals(Instant.EPOCH);
  }

  public boolean hasUntil() {
    return !until.equals(NO_END);
  }

  /** Whether {@code entry} passes this filter. */
  public boolean matches(AuditEntry entry) {
    return !entry.time().isBefore(since)
        && entry.time().isBefore(until)
        && (subject.isEmpty() || subject.equals(entry.subject()))
        && (action.isEmpty() || action.equals(entry.action()))
        && (resource.isEmpty() || resource.equals(entry.resource()))
        && (outcome.isEmpty() || outcome.equals(entry.outcome()));
  }
}
