package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long API keys and their replaced secrets may live, and how those durations are written
 * ({@code 90d}, {@code 24h}, {@code 30m}, {@code 45s}); the HTTP API and the CLI read them here, so
 * both refuse the same values with the same words.
 */
public final class ApiKeyTerms {
  /** The furthest expiry a key may get: ten years, so that a typo is not a key for ever. */
  public static final Duration MAX_LIFETIME = Duration.ofDays(3650);

  /**
   * The longest a replaced secret keeps working after a rotation: long enough to roll a secret
   * through a slow deployment, short enough that a rotation means the old secret dies.
   */
  public static final Duration MAX_GRACE = Duration.ofDays(30);

  /** The grace when a rotation names none. */
  public static final Duration DEFAULT_GRACE = Duration.ofHours(24);

  private static final Pattern DURATION = Pattern.compile("(\\d{1,7})([smhd])");

  private ApiKeyTerms() {}

  /**
   * A duration written as a number and a unit ({@code s}, {@code m}, {@code h}, {@code d}); {@code
   * field} names it in the error.
   */
  public static Duration parseDuration(String field, String text) {
    Matcher m = DURATION.matcher(text.strip().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw invalid(
          field
              + " '"
              + text
              + "' is not a duration; write a number and a unit: 90d, 24h, 30m, 45s");
    }
    long amount = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      case "h" -> Duration.ofHours(amount);
      default -> Duration.ofDays(amount);
    };
  }

  /** An RFC 3339 instant ({@code 2027-03-01T00:00:00Z}); {@code field} names it in the error. */
  public static Instant parseInstant(String field, String text) {
    try {
      return java.time.OffsetDateTime.parse(text.strip()).toInstant();
    } catch (DateTimeParseException e) {
      throw invalid(
          field + " '" + text + "' is not an RFC 3339 time; write it like 2027-03-01T00:00:00Z");
    }
  }

  /**
   * {@code expiresAt}, once checked against {@code now}: in the future, and at most {@link
   * #MAX_LIFETIME} away. Kept to the second, the precision the API shows.
   */
  public static Instant expiry(Instant now, Instant expiresAt) {
    Instant at = expiresAt.truncatedTo(ChronoUnit.SECONDS);
    if (!at.isAfter(now)) {
      throw invalid(
          "the expiry "
              + at
              + " is not in the future (now is "
              + now.truncatedTo(ChronoUnit.SECONDS)
              + "); give a later time, or leave it out for a key that does not expire");
    }
    if (at.isAfter(now.plus(MAX_LIFETIME))) {
      throw invalid(
          "the expiry "
              + at
              + " is more than "
              + MAX_LIFETIME.toDays()
              + " days away; give a nearer one, or leave it out for a key that does not expire");
    }
    return at;
  }

  /**
   * The expiry {@code lifetime} from {@code now}, checked as {@link #expiry} checks; {@code field}
   * names the lifetime in the error.
   */
  public static Instant expiryIn(String field, Instant now, Duration lifetime) {
    if (lifetime.isZero()) {
      throw invalid(field + " 0 would make a key that never works; give e.g. 90d");
    }
    if (lifetime.compareTo(MAX_LIFETIME) > 0) {
      throw invalid(
          field
              + " "
              + lifetime.toDays()
              + " days is more than "
              + MAX_LIFETIME.toDays()
              + "; give a shorter one, or none for a key that does not expire");
    }
    return expiry(now, now.plus(lifetime));
  }

  /** {@code grace}, once checked: at most {@link #MAX_GRACE}; 0 ends the old secret at once. */
  public static Duration grace(Duration grace) {
    if (grace.isNegative() || grace.compareTo(MAX_GRACE) > 0) {
      throw invalid(
          "a grace of "
              + grace.toSeconds()
              + " s is more than the "
              + MAX_GRACE.toDays()
              + " days a replaced secret may keep working; give at most "
              + MAX_GRACE.toDays()
              + "d (0s ends it at once)");
    }
    return grace;
  }

  private static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }
}
