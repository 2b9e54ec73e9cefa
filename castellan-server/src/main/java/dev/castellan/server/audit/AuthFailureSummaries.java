package dev.castellan.server.audit;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Sums up unauthenticated refusals (401s, and 429s of the failure limit) per source address and UTC
 * minute, so that a flood adds a bounded number of entries to the trail. The first refusal of an
 * address in a minute is recorded at once, as it is (request id, path, reason); the others of that
 * minute become one entry with their {@code count}, written when the minute has ended (or on
 * shutdown).
 *
 * <p>At most {@value #MAX_SOURCES} addresses are tracked per minute; refusals from addresses past
 * that go into one entry for all of them ({@value #OTHER_ADDRESSES}), whose first is not written on
 * its own. A minute's trail therefore grows by at most {@code 2 * MAX_SOURCES + 1} entries, and the
 * counts of all entries add up to the refusals.
 */
final class AuthFailureSummaries {
  static final int MAX_SOURCES = 10_000;
  static final String OTHER_ADDRESSES = "(other addresses)";

  /** What happened to a refusal handed in. */
  enum Fate {
    /** The first of its address this minute: record it now. */
    RECORD,
    /** Summed into the address's entry for this minute. */
    COUNTED
  }

  private static final class Tally {
    final long minute;
    final String source;
    long count;
    long throttled;
    // Set with the first counted refusal: a tally whose count is above 0 has one.
    @Nullable AuditEvent last;

    Tally(long minute, String source) {
      this.minute = minute;
      this.source = source;
    }
  }

  private final Map<String, Tally> tallies = new HashMap<>();
  private boolean drained;

  /** The UTC minute an instant falls in. */
  static long minute(Instant time) {
    return Math.floorDiv(time.toEpochMilli(), 60_000L);
  }

  /**
   * Takes a refusal. {@code ended} receives the summary of the address's earlier minute, if it had
   * one still waiting. {@code throttled}: refused by the failure limit (429), not for bad
   * credentials.
   */
  synchronized Fate add(AuditEvent event, boolean throttled, List<AuditEvent> ended) {
    if (drained) {
      return Fate.RECORD; // shutting down: nothing would write a summary any more
    }
    long minute = minute(event.time());
    String source = event.clientAddress();
    Tally tally = tallies.get(source);
    if (tally != null && tally.minute != minute) {
      tallies.remove(source);
      if (tally.count > 0) {
        ended.add(summary(tally));
      }
      tally = null;
    }
    Fate fate = Fate.COUNTED;
    if (tally == null) {
      if (tallies.size() < MAX_SOURCES) {
        tally = new Tally(minute, source);
        tallies.put(source, tally);
        fate = Fate.RECORD;
      } else {
        tally = tallies.get(OTHER_ADDRESSES);
        if (tally == null || tally.minute != minute) {
          if (tally != null && tally.count > 0) {
            ended.add(summary(tally));
          }
          tally = new Tally(minute, OTHER_ADDRESSES);
          tallies.put(OTHER_ADDRESSES, tally);
        }
      }
    }
    if (fate == Fate.COUNTED) {
      tally.count++;
      if (throttled) {
        tally.throttled++;
      }
      tally.last = event;
    }
    return fate;
  }

  /** The summaries of minutes before {@code currentMinute}, taken out. */
  synchronized List<AuditEvent> ended(long currentMinute) {
    List<AuditEvent> out = new ArrayList<>();
    for (Iterator<Tally> it = tallies.values().iterator(); it.hasNext(); ) {
      Tally tally = it.next();
      if (tally.minute < currentMinute) {
        it.remove();
        if (tally.count > 0) {
          out.add(summary(tally));
        }
      }
    }
    return out;
  }

  /** Every summary still waiting, minute ended or not; later refusals are recorded one by one. */
  synchronized List<AuditEvent> drain() {
    List<AuditEvent> out = ended(Long.MAX_VALUE);
    drained = true;
    return out;
  }

  private static AuditEvent summary(Tally tally) {
    AuditEvent last = Objects.requireNonNull(tally.last, "a counted tally has its last refusal");
    boolean others = tally.source.equals(OTHER_ADDRESSES);
    StringBuilder reason = new StringBuilder();
    reason
        .append(tally.count)
        .append(others ? " failed authentications from addresses past the first " : " more ")
        .append(others ? MAX_SOURCES + " of the minute" : "failed authentications")
        .append(" in the minute from ")
        .append(Instant.ofEpochMilli(tally.minute * 60_000L));
    if (!others) {
      reason.append(", after the first (recorded on its own)");
    }
    if (tally.throttled > 0) {
      reason
          .append("; ")
          .append(tally.throttled)
          .append(" of them answered 429 without their credentials being checked");
    }
    reason.append("; the last: ").append(last.reason());
    return new AuditEvent(
        last.time(),
        AuditEvent.Kind.DECISION,
        last.api(),
        "",
        "",
        List.of(),
        last.action(),
        last.resource(),
        AuditEvent.Outcome.DENY,
        reason.toString(),
        "",
        0,
        last.requestId(),
        tally.source,
        tally.count);
  }
}
