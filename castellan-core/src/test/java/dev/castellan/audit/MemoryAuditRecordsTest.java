package dev.castellan.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The in-memory audit chain, the canonical form that is hashed, and continuation tokens. */
class MemoryAuditRecordsTest {
  private static final Instant T0 = Instant.parse("2026-11-01T10:00:00Z");

  private static AuditEntry entry(int i, String outcome) {
    return new AuditEntry(
        T0.plusSeconds(i),
        "decision",
        "check",
        "key:abc",
        "user:anne",
        List.of(),
        "viewer",
        "doc:" + i,
        outcome,
        "",
        "",
        0,
        "",
        "");
  }

  @Test
  void theCanonicalForm_isFixedJson_andTheHashDependsOnEveryField() {
    AuditEntry entry =
        new AuditEntry(
            Instant.parse("2026-11-01T10:00:00.1234567Z"),
            "decision",
            "check",
            "jwt:al\"ice",
            "user:anne",
            List.of("a", "b\\c"),
            "viewer",
            "doc:1",
            "deny",
            "line\nbreak",
            "01J",
            7,
            "r1",
            "::1");
    assertThat(AuditRecord.canonical(3, entry))
        .isEqualTo(
            "{\"seq\":3,\"time\":\"2026-11-01T10:00:00.123456Z\",\"kind\":\"decision\","
                + "\"api\":\"check\",\"caller\":\"jwt:al\\\"ice\",\"subject\":\"user:anne\","
                + "\"roles\":[\"a\",\"b\\\\c\"],\"action\":\"viewer\",\"resource\":\"doc:1\","
                + "\"outcome\":\"deny\",\"reason\":\"line\\nbreak\",\"store_id\":\"01J\","
                + "\"revision\":7,\"request_id\":\"r1\",\"client_address\":\"::1\"}");
    AuditRecord record = AuditRecord.chain(3, entry, AuditRecord.GENESIS);
    assertThat(record.hash()).hasSize(64).isNotEqualTo(AuditRecord.GENESIS);
    assertThat(record.contentIntact()).isTrue();
    assertThat(AuditRecord.chain(4, entry, AuditRecord.GENESIS).hash()).isNotEqualTo(record.hash());
    assertThat(
            new AuditRecord(3, entry(1, "deny"), record.previousHash(), record.hash())
                .contentIntact())
        .isFalse();
  }

  @Test
  void longFieldsAreCut_andNulCharactersReplaced() {
    AuditEntry entry =
        new AuditEntry(
            T0,
            "decision",
            "check",
            "",
            "x".repeat(5000),
            null,
            "a\0b",
            "",
            "deny",
            null,
            "",
            0,
            "",
            "");
    assertThat(entry.subject()).hasSize(AuditEntry.MAX_FIELD).endsWith("\u2026");
    assertThat(entry.action()).isEqualTo("a\uFFFDb");
    assertThat(entry.reason()).isEmpty();
    assertThat(entry.roles()).isEmpty();
  }

  @Test
  void appendReadAndRetention_keepTheChainVerifiable() {
    AuditRecords records = AuditRecords.inMemory(AuditRecords.DEFAULT_MEMORY_CAPACITY);
    records.append(List.of(entry(1, "allow"), entry(2, "deny"), entry(3, "deny")));
    records.append(List.of(entry(4, "allow")));
    assertThat(AuditVerification.of(records)).isEqualTo(new AuditVerification(true, 4, 0, ""));

    AuditFilter denials = new AuditFilter(Instant.EPOCH, AuditFilter.NO_END, "", "", "", "deny");
    Page<AuditRecord> first = records.read(denials, PageRequest.first(1));
    assertThat(first.items()).extracting(AuditRecord::seq).containsExactly(2L);
    assertThat(records.read(denials, new PageRequest(1, first.continuationToken())).items())
        .extracting(AuditRecord::seq)
        .containsExactly(3L);

    assertThat(records.deleteOlderThan(T0.plusSeconds(3))).isEqualTo(2);
    assertThat(AuditVerification.of(records)).isEqualTo(new AuditVerification(true, 2, 0, ""));
    assertThat(records.append(List.of(entry(5, "deny"))).getFirst().seq()).isEqualTo(5);
    assertThat(AuditVerification.of(records).entries()).isEqualTo(3);
  }

  @Test
  void pastItsCapacity_theOldestEntriesGo_andTheRestStillVerifies() {
    MemoryAuditRecords records = new MemoryAuditRecords(3);
    for (int i = 1; i <= 5; i++) {
      records.append(List.of(entry(i, "deny")));
    }
    assertThat(records.read(AuditFilter.ALL, PageRequest.first(10)).items())
        .extracting(AuditRecord::seq)
        .containsExactly(3L, 4L, 5L);
    assertThat(AuditVerification.of(records)).isEqualTo(new AuditVerification(true, 3, 0, ""));
  }

  @Test
  void aForeignContinuationToken_isRefused() {
    assertThatThrownBy(() -> AuditRecords.afterSeq("bm9wZQ"))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("continuation_token");
    assertThat(AuditRecords.afterSeq(AuditRecords.tokenAfter(42))).isEqualTo(42);
  }
}
