package dev.castellan.server.audit;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.audit.AuditEntry;
import dev.castellan.audit.AuditFilter;
import dev.castellan.audit.AuditRecord;
import dev.castellan.audit.AuditRecords;
import dev.castellan.audit.AuditVerification;
import dev.castellan.server.Poll;
import dev.castellan.server.auth.MutableClock;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The trail's recording policy (all, sampled, none), its behaviour when the queue is full or the
 * database fails, the JSON-lines file and retention.
 */
class AuditTrailTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static AuditEvent decision(String subject, boolean allowed) {
    return event(
        Instant.now(),
        AuditEvent.Kind.DECISION,
        "check",
        subject,
        allowed ? AuditEvent.Outcome.ALLOW : AuditEvent.Outcome.DENY);
  }

  static AuditEvent change(String subject) {
    return event(Instant.now(), AuditEvent.Kind.CHANGE, "write", subject, AuditEvent.Outcome.OK);
  }

  static AuditEvent event(
      Instant time, AuditEvent.Kind kind, String api, String subject, AuditEvent.Outcome outcome) {
    return new AuditEvent(
        time,
        kind,
        api,
        "key:k",
        subject,
        List.of(),
        "viewer",
        "doc:1",
        outcome,
        "",
        "s",
        1,
        "r",
        "127.0.0.1");
  }

  private static List<AuditRecord> all(AuditRecords records) {
    List<AuditRecord> out = new ArrayList<>();
    String token = "";
    do {
      Page<AuditRecord> page = records.read(AuditFilter.ALL, new PageRequest(1000, token));
      out.addAll(page.items());
      token = page.continuationToken();
    } while (!token.isEmpty());
    return out;
  }

  private static List<String> outcomes(AuditRecords records) {
    return all(records).stream().map(r -> r.entry().outcome()).toList();
  }

  @Test
  void withAllowsNone_onlyDenialsAndChangesAreKept() {
    AuditRecords records = new MemoryStore().auditRecords();
    try (AuditTrail trail =
        AuditTrail.start(AuditSettings.DEFAULT.withAllows(AuditSettings.Allows.NONE, 1), records)) {
      trail.record(decision("user:a", true));
      trail.record(decision("user:a", false));
      trail.record(change("user:a"));
      assertThat(trail.flush(Duration.ofSeconds(5))).isTrue();
    }
    assertThat(outcomes(records)).containsExactly("deny", "ok");
  }

  @Test
  void off_recordsNothingAtAll() {
    AuditRecords records = new MemoryStore().auditRecords();
    try (AuditTrail trail = AuditTrail.start(AuditSettings.OFF, records)) {
      trail.record(decision("user:a", false));
      trail.record(change("user:a"));
      trail.flush(Duration.ofSeconds(1));
    }
    assertThat(records.head().lastSeq()).isZero();
  }

  @Test
  void sampledAllows_keepAboutTheirRate_andEveryDenial() {
    AuditRecords records = new MemoryStore().auditRecords();
    try (AuditTrail trail =
        AuditTrail.start(
            AuditSettings.DEFAULT.withAllows(AuditSettings.Allows.SAMPLED, 0.25), records)) {
      for (int i = 0; i < 4000; i++) {
        trail.record(decision("user:a", true));
      }
      for (int i = 0; i < 100; i++) {
        trail.record(decision("user:a", false));
      }
      trail.flush(Duration.ofSeconds(5));
    }
    List<String> outcomes = outcomes(records);
    long allows = outcomes.stream().filter("allow"::equals).count();
    assertThat(allows).isBetween(800L, 1200L);
    assertThat(outcomes.stream().filter("deny"::equals).count()).isEqualTo(100);
  }

  /** Blocks the background writer's appends until released; the requests' own appends pass. */
  static final class StalledRecords implements AuditRecords {
    final AuditRecords inner = new MemoryStore().auditRecords();
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch writerStalled = new CountDownLatch(1);
    final AtomicInteger failuresLeft = new AtomicInteger();
    volatile boolean failRequests;

    @Override
    public List<AuditRecord> append(List<AuditEntry> entries) {
      if (failRequests && !Thread.currentThread().getName().equals("castellan-audit-writer")) {
        throw new IllegalStateException("database away for the request");
      }
      if (Thread.currentThread().getName().equals("castellan-audit-writer")) {
        writerStalled.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        if (failuresLeft.getAndDecrement() > 0) {
          throw new IllegalStateException("database away");
        }
      }
      return inner.append(entries);
    }

    @Override
    public Page<AuditRecord> read(AuditFilter filter, PageRequest page) {
      return inner.read(filter, page);
    }

    @Override
    public Head head() {
      return inner.head();
    }

    @Override
    public long deleteOlderThan(Instant cutoff) {
      return inner.deleteOlderThan(cutoff);
    }
  }

  @Test
  void aFullQueue_dropsOnlyAllows_andCountsThem_whileDenialsAndChangesAreStoredByTheRequest()
      throws Exception {
    StalledRecords records = new StalledRecords();
    try (AuditTrail trail = AuditTrail.start(AuditSettings.DEFAULT.withQueue(4, 100), records)) {
      trail.record(decision("user:first", true)); // taken by the writer, which then stalls
      assertThat(records.writerStalled.await(5, TimeUnit.SECONDS)).isTrue();
      for (int i = 0; i < 4; i++) {
        trail.record(decision("user:queued", true));
      }
      assertThat(trail.queueDepth()).isEqualTo(4);
      for (int i = 0; i < 3; i++) {
        trail.record(decision("user:dropped", true));
      }
      assertThat(trail.droppedAllows()).isEqualTo(3);

      trail.record(decision("user:denied", false));
      trail.record(change("user:changed"));
      // Stored at once by the calling thread, ahead of the stalled batch.
      assertThat(all(records.inner))
          .extracting(r -> r.entry().subject())
          .containsExactly("user:denied", "user:changed");

      records.release.countDown();
      assertThat(trail.flush(Duration.ofSeconds(5))).isTrue();
      assertThat(trail.queueDepth()).isZero();
    }
    List<AuditRecord> stored = all(records.inner);
    assertThat(stored).hasSize(7);
    assertThat(stored).noneMatch(r -> r.entry().subject().equals("user:dropped"));
    assertThat(AuditVerification.of(records.inner).intact()).isTrue();
  }

  private static ListAppender<ILoggingEvent> capture() {
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    ((Logger) LoggerFactory.getLogger(AuditTrail.class)).addAppender(logs);
    return logs;
  }

  private static List<String> dropWarnings(ListAppender<ILoggingEvent> logs) {
    return logs.list.stream()
        .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
        .map(ILoggingEvent::getFormattedMessage)
        .filter(line -> line.contains("entries dropped"))
        .toList();
  }

  @Test
  void drops_areLoggedAtWarn_atMostOncePerInterval_withTheCountSinceTheLastLine() throws Exception {
    StalledRecords records = new StalledRecords();
    MutableClock clock = MutableClock.atSystemTime();
    ListAppender<ILoggingEvent> logs = capture();
    // The monitor is made rare here, and called by hand; WebhookAlertsTest shows it at work.
    try (AuditTrail trail =
        AuditTrail.start(
            AuditSettings.DEFAULT.withQueue(1, 100), records, clock, Duration.ofHours(1))) {
      trail.record(decision("user:first", true));
      assertThat(records.writerStalled.await(5, TimeUnit.SECONDS)).isTrue();
      trail.record(decision("user:queued", true));
      for (int i = 0; i < 3; i++) {
        trail.record(decision("user:dropped", true));
      }
      trail.reportDrops(false); // the first report comes at once
      assertThat(dropWarnings(logs))
          .containsExactly(
              "audit trail: 3 entries dropped since the last report (3 allowed decisions refused"
                  + " by the full queue, 0 entries the database did not take); 3 since start");

      for (int i = 0; i < 5; i++) {
        trail.record(decision("user:dropped", true));
      }
      trail.reportDrops(false); // as the monitor does each second
      assertThat(dropWarnings(logs)).as("within the interval: no second line").hasSize(1);

      clock.advance(AuditTrail.DROP_REPORT_EVERY);
      trail.reportDrops(false);
      assertThat(dropWarnings(logs))
          .hasSize(2)
          .last()
          .isEqualTo(
              "audit trail: 5 entries dropped since the last report (5 allowed decisions refused"
                  + " by the full queue, 0 entries the database did not take); 8 since start");
      records.release.countDown();
    } finally {
      ((Logger) LoggerFactory.getLogger(AuditTrail.class)).detachAppender(logs);
    }
  }

  @Test
  void anEntryTheDatabaseRefusesARequest_isCountedAsLost_andReported() throws Exception {
    StalledRecords records = new StalledRecords();
    ListAppender<ILoggingEvent> logs = capture();
    try (AuditTrail trail = AuditTrail.start(AuditSettings.DEFAULT.withQueue(1, 100), records)) {
      trail.record(decision("user:first", true));
      assertThat(records.writerStalled.await(5, TimeUnit.SECONDS)).isTrue();
      trail.record(decision("user:queued", true)); // the queue is full now
      records.failRequests = true;
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> trail.record(decision("user:denied", false)))
          .hasMessageContaining("database away");
      assertThat(trail.lostEntries()).isEqualTo(1);
      assertThat(trail.droppedAllows()).isZero();
      trail.reportDrops(true);
      assertThat(dropWarnings(logs))
          .anyMatch(
              line -> line.contains("0 allowed decisions refused by the full queue, 1 entries"));
      records.failRequests = false;
      records.release.countDown();
    } finally {
      ((Logger) LoggerFactory.getLogger(AuditTrail.class)).detachAppender(logs);
    }
  }

  static AuditEvent authFailure(Instant time, String address, String requestId) {
    return new AuditEvent(
        time,
        AuditEvent.Kind.DECISION,
        "auth-failure",
        "",
        "",
        List.of(),
        "authenticate",
        "/stores",
        AuditEvent.Outcome.DENY,
        "the credentials are not valid",
        "",
        0,
        requestId,
        address);
  }

  @Test
  void failedAuthentications_keepTheFirstPerAddressAndMinute_andOneCountedEntryForTheRest()
      throws Exception {
    AuditRecords records = new MemoryStore().auditRecords();
    MutableClock clock = new MutableClock(Instant.parse("2026-12-01T10:00:05Z"));
    try (AuditTrail trail = AuditTrail.start(AuditSettings.DEFAULT, records, clock)) {
      for (int i = 0; i < 5; i++) {
        trail.authFailure(authFailure(clock.instant(), "203.0.113.7", "a" + i), i >= 3);
      }
      for (int i = 0; i < 3; i++) {
        trail.authFailure(authFailure(clock.instant(), "198.51.100.2", "b" + i), false);
      }
      assertThat(trail.flush(Duration.ofSeconds(5))).isTrue();
      assertThat(all(records))
          .as("the first of each address, at once")
          .extracting(r -> r.entry().requestId())
          .containsExactly("a0", "b0");

      clock.advance(Duration.ofMinutes(1)); // the minute ends: the writer adds the summaries
      Poll.until("the minute's summaries", Duration.ofSeconds(10), () -> all(records).size() == 4);
    }
    List<AuditRecord> stored = all(records);
    AuditEntry attacker =
        stored.stream()
            .filter(r -> r.entry().count() > 1 && r.entry().clientAddress().equals("203.0.113.7"))
            .findFirst()
            .orElseThrow()
            .entry();
    assertThat(attacker.count()).isEqualTo(4);
    assertThat(attacker.requestId()).isEqualTo("a4");
    assertThat(attacker.api()).isEqualTo("auth-failure");
    assertThat(attacker.outcome()).isEqualTo("deny");
    assertThat(attacker.reason())
        .startsWith("4 more failed authentications in the minute from 2026-12-01T10:00:00Z")
        .contains("2 of them answered 429")
        .endsWith("the last: the credentials are not valid");
    assertThat(stored.stream().mapToLong(r -> r.entry().count()).sum()).isEqualTo(8);
    assertThat(AuditVerification.of(records).intact()).isTrue();
  }

  @Test
  void onShutdown_theSummariesOfTheCurrentMinuteAreWritten() {
    AuditRecords records = new MemoryStore().auditRecords();
    try (AuditTrail trail = AuditTrail.start(AuditSettings.DEFAULT, records)) {
      for (int i = 0; i < 10; i++) {
        trail.authFailure(authFailure(Instant.now(), "203.0.113.7", "r" + i), false);
      }
    }
    List<AuditRecord> stored = all(records);
    assertThat(stored.stream().mapToLong(r -> r.entry().count()).sum()).isEqualTo(10);
    assertThat(stored).hasSizeLessThanOrEqualTo(4); // 2 unless the minute turned meanwhile
  }

  @Test
  void aFailingDatabase_isRetried_andNothingIsLost() throws Exception {
    StalledRecords records = new StalledRecords();
    records.failuresLeft.set(2);
    records.release.countDown();
    try (AuditTrail trail = AuditTrail.start(AuditSettings.DEFAULT, records)) {
      trail.record(decision("user:a", false));
      trail.record(decision("user:b", true));
      assertThat(trail.flush(Duration.ofSeconds(10))).isTrue();
      assertThat(trail.storedEntries()).isEqualTo(2);
    }
    assertThat(outcomes(records.inner)).containsExactly("deny", "allow");
  }

  @Test
  void theFile_getsEveryStoredEntry_asAJsonLineWithItsHash(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("logs/audit.jsonl");
    AuditRecords records = new MemoryStore().auditRecords();
    try (AuditTrail trail =
        AuditTrail.start(AuditSettings.DEFAULT.withFile(file.toString()), records)) {
      trail.record(decision("user:a", false));
      trail.record(change("user:b"));
      trail.flush(Duration.ofSeconds(5));
    }
    List<String> lines = Files.readAllLines(file);
    assertThat(lines).hasSize(2);
    JsonNode first = JSON.readTree(lines.get(0));
    assertThat(first.get("seq").asLong()).isEqualTo(1);
    assertThat(first.get("subject").asText()).isEqualTo("user:a");
    assertThat(first.get("outcome").asText()).isEqualTo("deny");
    assertThat(JSON.readTree(lines.get(1)).get("previous_hash").asText())
        .isEqualTo(first.get("hash").asText());
  }

  @Test
  void theChainsHead_isLogged_whenItMoved_forCopiesKeptElsewhere() throws Exception {
    AuditRecords records = new MemoryStore().auditRecords();
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger logger = (Logger) LoggerFactory.getLogger(AuditTrail.class);
    logger.addAppender(logs);
    try {
      try (AuditTrail trail = AuditTrail.start(AuditSettings.DEFAULT, records)) {
        trail.record(decision("user:anne", false));
        assertThat(trail.flush(Duration.ofSeconds(5))).isTrue();
      }
      AuditRecords.Head head = records.head();
      assertThat(logs.list)
          .extracting(ILoggingEvent::getFormattedMessage)
          .filteredOn(line -> line.startsWith("audit trail head:"))
          .last()
          .isEqualTo("audit trail head: seq 1 hash " + head.lastHash());
    } finally {
      logger.detachAppender(logs);
    }
  }

  @Test
  void retention_removesEntriesOlderThanItsAge_andTheChainStillVerifies() throws Exception {
    AuditRecords records = new MemoryStore().auditRecords();
    Instant now = Instant.parse("2026-11-25T12:00:00Z");
    Clock clock = Clock.fixed(now, ZoneOffset.UTC);
    records.append(
        List.of(
            AuditJson.entry(
                event(
                    now.minus(Duration.ofDays(100)),
                    AuditEvent.Kind.DECISION,
                    "check",
                    "user:old",
                    AuditEvent.Outcome.DENY)),
            AuditJson.entry(
                event(
                    now.minus(Duration.ofDays(1)),
                    AuditEvent.Kind.DECISION,
                    "check",
                    "user:new",
                    AuditEvent.Outcome.DENY))));
    try (AuditTrail trail =
        AuditTrail.start(
            AuditSettings.DEFAULT.withRetention(Duration.ofDays(90)), records, clock)) {
      Poll.until("the retention pass", Duration.ofSeconds(5), () -> records.head().firstSeq() != 1);
    }
    assertThat(all(records)).extracting(r -> r.entry().subject()).containsExactly("user:new");
    assertThat(AuditVerification.of(records).intact()).isTrue();
  }

  @Test
  void durations_areReadFromTheConfigForm() {
    assertThat(AuditSettings.parseDuration("90d", "audit.retention"))
        .isEqualTo(Duration.ofDays(90));
    assertThat(AuditSettings.parseDuration("12h", "x")).isEqualTo(Duration.ofHours(12));
    assertThat(AuditSettings.parseDuration("0", "x")).isZero();
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> AuditSettings.parseDuration("ninety days", "audit.retention"))
        .hasMessageContaining("audit.retention");
  }
}
