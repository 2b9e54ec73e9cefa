package dev.castellan.audit;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;

/**
 * What one audit trail entry says, before it is chained: an authorization decision or a change.
 * Strings are never null (empty when unknown); {@code kind} and {@code outcome} are lower case
 * ({@code decision}/{@code change}, {@code allow}/{@code deny}/{@code ok}/{@code error}).
 *
 * <p>The time is kept to the microsecond, and NUL characters and lone surrogates are replaced (a
 * lone surrogate has no UTF-8 form): an entry must read back exactly as it was hashed. Fields are
 * cut at {@value #MAX_FIELD} characters ({@value #MAX_REASON} for the reason), so that no entry,
 * and no request that makes one, can grow the trail without bound.
 */
public record AuditEntry(
    Instant time,
    String kind,
    String api,
    String caller,
    String subject,
    List<String> roles,
    String action,
    String resource,
    String outcome,
    String reason,
    String storeId,
    long revision,
    String requestId,
    String clientAddress,
    long count) {

  public static final int MAX_FIELD = 800;
  public static final int MAX_REASON = 4000;

  public AuditEntry {
    time = Objects.requireNonNull(time, "time").truncatedTo(ChronoUnit.MICROS);
    kind = clean(kind);
    api = clean(api);
    caller = clean(caller);
    subject = clean(subject);
    roles =
        roles == null || roles.isEmpty()
            ? List.of()
            : roles.stream().map(AuditEntry::clean).toList();
    action = clean(action);
    resource = clean(resource);
    outcome = clean(outcome);
    reason = clean(reason, MAX_REASON);
    storeId = clean(storeId);
    requestId = clean(requestId);
    clientAddress = clean(clientAddress);
    if (count < 1) {
      throw new IllegalArgumentException(
          "an audit entry stands for at least 1 event, not " + count);
    }
  }

  /** An entry that stands for one event. */
  public AuditEntry(
      Instant time,
      String kind,
      String api,
      String caller,
      String subject,
      List<String> roles,
      String action,
      String resource,
      String outcome,
      String reason,
      String storeId,
      long revision,
      String requestId,
      String clientAddress) {
    this(
        time,
        kind,
        api,
        caller,
        subject,
        roles,
        action,
        resource,
        outcome,
        reason,
        storeId,
        revision,
        requestId,
        clientAddress,
        1);
  }

  private static String clean(String value) {
    return clean(value, MAX_FIELD);
  }

  private static String clean(String value, int max) {
    if (value == null) {
      return "";
    }
    String out = needsCleaning(value) ? replaceUnstorable(value) : value;
    if (out.length() > max) {
      int cut = max - 1;
      if (Character.isHighSurrogate(out.charAt(cut - 1))) {
        cut--; // never split a pair: the half left would be unstorable
      }
      out = out.substring(0, cut) + "\u2026";
    }
    return out;
  }

  private static boolean needsCleaning(String value) {
    for (int i = 0; i < value.length(); i++) {
      // One comparison a character (the writer runs this over every field of every entry): NUL
      // wraps round to U+FFFF, and surrogates lie above U+D7FF. Characters above the surrogates
      // match too, and merely take the slower path that keeps them.
      if ((char) (value.charAt(i) - 1) >= '\ud7ff') {
        return true;
      }
    }
    return false;
  }

  /** NUL and lone surrogates become U+FFFD: neither has a place in a UTF-8 database column. */
  private static String replaceUnstorable(String value) {
    StringBuilder out = new StringBuilder(value.length());
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < value.length()
          && Character.isLowSurrogate(value.charAt(i + 1))) {
        out.append(c).append(value.charAt(++i));
      } else if (c == '\0' || Character.isSurrogate(c)) {
        out.append('\uFFFD');
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
