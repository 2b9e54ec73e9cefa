package dev.castellan.server.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The per-address, per-minute summing of refused authentications, without threads or a store. */
class AuthFailureSummariesTest {
  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

  private static AuditEvent failure(Instant time, String address) {
    return AuditTrailTest.authFailure(time, address, "r");
  }

  @Test
  void theFirstOfAnAddressInAMinute_isRecorded_andTheRestSummedUntilTheMinuteEnds() {
    AuthFailureSummaries summaries = new AuthFailureSummaries();
    List<AuditEvent> ended = new ArrayList<>();
    assertThat(summaries.add(failure(T0, "a"), false, ended))
        .isEqualTo(AuthFailureSummaries.Fate.RECORD);
    assertThat(summaries.add(failure(T0.plusSeconds(59), "a"), false, ended))
        .isEqualTo(AuthFailureSummaries.Fate.COUNTED);
    assertThat(summaries.ended(AuthFailureSummaries.minute(T0))).isEmpty();

    // The address's next minute: its first is recorded again, and the last minute's sum is handed
    // back at once.
    assertThat(summaries.add(failure(T0.plusSeconds(60), "a"), false, ended))
        .isEqualTo(AuthFailureSummaries.Fate.RECORD);
    assertThat(ended).singleElement().extracting(AuditEvent::count).isEqualTo(1L);
    assertThat(summaries.ended(AuthFailureSummaries.minute(T0.plusSeconds(120)))).isEmpty();
  }

  @Test
  void pastTheAddressesTracked_theRestShareOneEntry_andTheCountsStillAddUp() {
    AuthFailureSummaries summaries = new AuthFailureSummaries();
    List<AuditEvent> ended = new ArrayList<>();
    int addresses = AuthFailureSummaries.MAX_SOURCES + 500;
    long recorded = 0;
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < addresses; i++) {
        Instant time = T0.plus(Duration.ofMillis(round * 1000L + i % 1000));
        if (summaries.add(failure(time, "10.0." + i / 256 + "." + i % 256), false, ended)
            == AuthFailureSummaries.Fate.RECORD) {
          recorded++;
        }
      }
    }
    List<AuditEvent> written = summaries.ended(AuthFailureSummaries.minute(T0) + 1);
    assertThat(ended).isEmpty();
    assertThat(recorded).isEqualTo(AuthFailureSummaries.MAX_SOURCES);
    assertThat(written).hasSize(AuthFailureSummaries.MAX_SOURCES + 1);
    assertThat(recorded + written.stream().mapToLong(AuditEvent::count).sum())
        .isEqualTo(2L * addresses);
    AuditEvent others =
        written.stream()
            .filter(e -> e.clientAddress().equals(AuthFailureSummaries.OTHER_ADDRESSES))
            .findFirst()
            .orElseThrow();
    assertThat(others.count()).isEqualTo(2 * 500);
    assertThat(others.reason()).startsWith("1000 failed authentications from addresses past");
  }

  @Test
  void afterTheDrain_everyRefusalIsRecordedOnItsOwn() {
    AuthFailureSummaries summaries = new AuthFailureSummaries();
    List<AuditEvent> ended = new ArrayList<>();
    summaries.add(failure(T0, "a"), false, ended);
    summaries.add(failure(T0, "a"), true, ended);
    List<AuditEvent> drained = summaries.drain();
    assertThat(drained).singleElement().satisfies(e -> assertThat(e.count()).isEqualTo(1));
    assertThat(summaries.add(failure(T0, "a"), false, ended))
        .isEqualTo(AuthFailureSummaries.Fate.RECORD);
  }
}
