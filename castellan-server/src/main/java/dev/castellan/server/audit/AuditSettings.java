package dev.castellan.server.audit;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * How the audit trail records.
 *
 * @param enabled false records nothing at all, not even denials: only for embedding Castellan where
 *     no trail is wanted and for measuring the trail's cost ({@link #OFF})
 * @param allows which allowed decisions to keep (denials and changes are always kept)
 * @param sampleRate with {@link Allows#SAMPLED}: the share of allows kept, 0 to 1
 * @param queueCapacity events waiting for the background writer; when full, allows are dropped (and
 *     counted) while denials and changes are written by the request itself
 * @param batchSize most entries the writer appends in one transaction
 * @param file a JSON-lines file every stored entry is also appended to; empty for none
 * @param retention how long entries are kept; {@link Duration#ZERO} keeps them forever
 * @param alerts the alert rules and their webhook
 */
public record AuditSettings(
    boolean enabled,
    Allows allows,
    double sampleRate,
    int queueCapacity,
    int batchSize,
    String file,
    Duration retention,
    AlertRules alerts) {

  /** Which allowed decisions are recorded. */
  public enum Allows {
    ALL,
    SAMPLED,
    NONE;

    public static Allows parse(String value) {
      try {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "audit allows must be all, sampled or none, not '" + value + "'");
      }
    }
  }

  /** Every allow kept, 20,000 queued, batches of up to 5,000, no file, 90 days, no alerts. */
  public static final AuditSettings DEFAULT =
      new AuditSettings(
          true, Allows.ALL, 1.0, 20_000, 5_000, "", Duration.ofDays(90), AlertRules.NONE);

  /** No audit trail at all (see {@code enabled}). */
  public static final AuditSettings OFF =
      new AuditSettings(false, Allows.NONE, 0, 1, 1, "", Duration.ZERO, AlertRules.NONE);

  public AuditSettings {
    Objects.requireNonNull(allows, "allows");
    Objects.requireNonNull(retention, "retention");
    Objects.requireNonNull(alerts, "alerts");
    file = Objects.requireNonNullElse(file, "");
    if (!(sampleRate >= 0 && sampleRate <= 1)) {
      throw new IllegalArgumentException(
          "audit sample_rate must be between 0 and 1, not " + sampleRate);
    }
    if (queueCapacity < 1 || batchSize < 1) {
      throw new IllegalArgumentException(
          "audit queue_size and batch size must be positive, not "
              + queueCapacity
              + " and "
              + batchSize);
    }
    if (retention.isNegative()) {
      throw new IllegalArgumentException("audit retention must not be negative: " + retention);
    }
  }

  public AuditSettings withAllows(Allows value, double rate) {
    return new AuditSettings(
        enabled, value, rate, queueCapacity, batchSize, file, retention, alerts);
  }

  public AuditSettings withQueue(int capacity, int batch) {
    return new AuditSettings(enabled, allows, sampleRate, capacity, batch, file, retention, alerts);
  }

  public AuditSettings withFile(String value) {
    return new AuditSettings(
        enabled, allows, sampleRate, queueCapacity, batchSize, value, retention, alerts);
  }

  public AuditSettings withRetention(Duration value) {
    return new AuditSettings(
        enabled, allows, sampleRate, queueCapacity, batchSize, file, value, alerts);
  }

  public AuditSettings withAlerts(AlertRules value) {
    return new AuditSettings(
        enabled, allows, sampleRate, queueCapacity, batchSize, file, retention, value);
  }

  /**
   * A duration as written in the config: a number and a unit, {@code 90d}, {@code 12h}, {@code
   * 30m}, {@code 45s}; {@code 0} or {@code forever} for no limit.
   */
  public static Duration parseDuration(String text, String setting) {
    String value = text.trim().toLowerCase(Locale.ROOT);
    if (value.equals("0") || value.equals("forever")) {
      return Duration.ZERO;
    }
    if (value.matches("\\d{1,9}[dhms]")) {
      long amount = Long.parseLong(value.substring(0, value.length() - 1));
      return switch (value.charAt(value.length() - 1)) {
        case 'd' -> Duration.ofDays(amount);
        case 'h' -> Duration.ofHours(amount);
        case 'm' -> Duration.ofMinutes(amount);
        default -> Duration.ofSeconds(amount);
      };
    }
    throw new IllegalArgumentException(
        setting
            + " must be a number and a unit (d, h, m or s), e.g. 90d, or 0; not '"
            + text
            + "'");
  }
}
