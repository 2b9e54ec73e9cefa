package dev.castellan.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The hand-written JSON lines of the audit trail: byte for byte what a JSON library writes. */
class AuditLinesTest {
  private static final Instant T0 = Instant.parse("2026-11-01T10:00:00.000001Z");

  /** Strings that exercise every escape and every UTF-8 length, valid pairs and lone halves. */
  private static String randomText(Random random) {
    char[] pool = {
      'a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u0001',
      '\u001f', '\u007f', '\u0080', '\u00e9', '\u07ff', '\u0800', '\u2028', '\u20ac', '\ufffd',
      '\uffff', '\ud83d', '\ude00'
    };
    StringBuilder out = new StringBuilder();
    int length = random.nextInt(12);
    for (int i = 0; i < length; i++) {
      out.append(pool[random.nextInt(pool.length)]);
    }
    return out.toString();
  }

  private static AuditEntry randomEntry(Random random) {
    List<String> roles = new ArrayList<>();
    for (int i = random.nextInt(3); i > 0; i--) {
      roles.add(randomText(random));
    }
    return new AuditEntry(
        T0.plusNanos(random.nextLong(1_000_000_000_000L)),
        randomText(random),
        randomText(random),
        randomText(random),
        randomText(random),
        roles,
        randomText(random),
        randomText(random),
        randomText(random),
        randomText(random),
        randomText(random),
        random.nextLong(),
        randomText(random),
        randomText(random));
  }

  /** The canonical form as Jackson writes it: the reference the encoder must match. */
  private static String jackson(long seq, AuditEntry entry) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator json = new JsonFactory().createGenerator(out)) {
      json.writeStartObject();
      json.writeNumberField("seq", seq);
      json.writeStringField("time", entry.time().toString());
      json.writeStringField("kind", entry.kind());
      json.writeStringField("api", entry.api());
      json.writeStringField("caller", entry.caller());
      json.writeStringField("subject", entry.subject());
      json.writeArrayFieldStart("roles");
      for (String role : entry.roles()) {
        json.writeString(role);
      }
      json.writeEndArray();
      json.writeStringField("action", entry.action());
      json.writeStringField("resource", entry.resource());
      json.writeStringField("outcome", entry.outcome());
      json.writeStringField("reason", entry.reason());
      json.writeStringField("store_id", entry.storeId());
      json.writeNumberField("revision", entry.revision());
      json.writeStringField("request_id", entry.requestId());
      json.writeStringField("client_address", entry.clientAddress());
      json.writeEndObject();
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theCanonicalForm_isByteForByteJacksons_forHostileText() throws IOException {
    Random random = new Random(7);
    for (int i = 0; i < 5_000; i++) {
      AuditEntry entry = randomEntry(random);
      long seq = random.nextLong(Long.MAX_VALUE);
      assertThat(AuditRecord.canonical(seq, entry)).isEqualTo(jackson(seq, entry));
    }
  }

  @Test
  void linesOfOneBatch_areByteForByteJacksons_whenValuesRepeatFromEntryToEntry()
      throws IOException {
    // The encoder copies a field's bytes when its value repeats: hostile values drawn from a small
    // pool, so that most fields repeat, a buffer that starts tiny and grows, and resets between
    // batches, must still give every line exactly as a JSON library writes it.
    Random random = new Random(13);
    List<String> pool = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      pool.add(randomText(random));
    }
    AuditLines.Encoder encoder = new AuditLines.Encoder(16);
    for (int batch = 0; batch < 20; batch++) {
      encoder.reset();
      List<String> expected = new ArrayList<>();
      String previous = AuditRecord.GENESIS;
      for (int i = 0; i < 50; i++) {
        AuditEntry entry =
            new AuditEntry(
                T0.plusNanos(random.nextLong(3_000_000_000L)),
                pool.get(random.nextInt(pool.size())),
                pool.get(random.nextInt(pool.size())),
                pool.get(random.nextInt(pool.size())),
                pool.get(random.nextInt(pool.size())),
                random.nextBoolean() ? List.of() : List.of(pool.get(random.nextInt(pool.size()))),
                pool.get(random.nextInt(pool.size())),
                pool.get(random.nextInt(pool.size())),
                pool.get(random.nextInt(pool.size())),
                pool.get(random.nextInt(pool.size())),
                pool.get(random.nextInt(pool.size())),
                random.nextLong(),
                pool.get(random.nextInt(pool.size())),
                pool.get(random.nextInt(pool.size())));
        long seq = batch * 1_000L + i;
        AuditRecord record = encoder.append(seq, entry, previous);
        String canonical = jackson(seq, entry);
        expected.add(
            canonical.substring(0, canonical.length() - 1)
                + ",\"previous_hash\":\""
                + previous
                + "\",\"hash\":\""
                + record.hash()
                + "\"}\n");
        assertThat(record.hash()).isEqualTo(AuditRecord.chain(seq, entry, previous).hash());
        previous = record.hash();
      }
      assertThat(new String(encoder.toByteArray(), StandardCharsets.UTF_8))
          .isEqualTo(String.join("", expected));
    }
  }

  @Test
  void theTime_isWrittenAsInstantToStringWritesIt() {
    Random random = new Random(17);
    List<Instant> times =
        new ArrayList<>(
            List.of(
                Instant.EPOCH,
                Instant.parse("2026-12-07T21:22:33Z"),
                Instant.parse("2026-12-07T21:22:33.100Z"),
                Instant.parse("2026-12-07T21:22:33.000100Z"),
                Instant.parse("2026-12-07T21:22:33.120450Z"),
                Instant.parse("1969-12-31T23:59:59.999999Z"),
                Instant.parse("+10000-01-01T00:00:00.000001Z"),
                Instant.parse("-0001-06-30T12:00:00.5Z")));
    for (int i = 0; i < 2_000; i++) {
      // Runs of entries within one second, and jumps between seconds, years and centuries.
      Instant last = times.getLast();
      times.add(
          random.nextInt(4) == 0
              ? Instant.ofEpochSecond(random.nextLong(-60_000_000_000L, 250_000_000_000L))
              : last.plusNanos(random.nextLong(400_000_000L)));
    }
    AuditLines.Encoder encoder = new AuditLines.Encoder(16);
    for (Instant time : times) {
      AuditEntry entry =
          new AuditEntry(
              time, "decision", "check", "", "", List.of(), "", "", "allow", "", "", 0, "", "");
      String line = encoder.canonical(1, entry);
      assertThat(line).contains("\"time\":\"" + entry.time() + "\",");
    }
  }

  @Test
  void loneSurrogates_becomeReplacementCharacters_andPairsAreKept() {
    AuditEntry entry =
        new AuditEntry(
            T0,
            "decision",
            "check",
            "a\ud800b",
            "\ude00",
            List.of("\ud83d\ude00"),
            "",
            "",
            "",
            "",
            "",
            0,
            "",
            "");
    assertThat(entry.caller()).isEqualTo("a\ufffdb");
    assertThat(entry.subject()).isEqualTo("\ufffd");
    assertThat(entry.roles()).containsExactly("\ud83d\ude00");
  }

  @Test
  void cuttingALongField_neverLeavesHalfASurrogatePair() {
    String value = "x".repeat(AuditEntry.MAX_FIELD - 2) + "\ud83d\ude00" + "tail";
    AuditEntry entry =
        new AuditEntry(T0, "", "", value, "", List.of(), "", "", "", "", "", 0, "", "");
    assertThat(entry.caller()).hasSize(AuditEntry.MAX_FIELD - 1).endsWith("x\u2026");
  }

  @Test
  void lines_readBackAsTheRecordsWritten_andEachIsTheCanonicalFormPlusBothHashes() {
    Random random = new Random(11);
    AuditLines.Encoder encoder = new AuditLines.Encoder(16);
    List<AuditRecord> written = new ArrayList<>();
    String previous = AuditRecord.GENESIS;
    for (int seq = 40; seq < 240; seq++) {
      AuditRecord record = encoder.append(seq, randomEntry(random), previous);
      assertThat(record).isEqualTo(AuditRecord.chain(seq, record.entry(), previous));
      written.add(record);
      previous = record.hash();
    }
    byte[] bytes = encoder.toByteArray();
    assertThat(encoder.lines()).isEqualTo(200);

    List<AuditRecord> read = AuditLines.parse(bytes, 40);
    assertThat(read).isEqualTo(written);
    assertThat(read).allMatch(AuditRecord::contentIntact);

    String firstLine = new String(bytes, StandardCharsets.UTF_8).split("\n")[0];
    AuditRecord first = written.get(0);
    String canonical = AuditRecord.canonical(40, first.entry());
    assertThat(firstLine)
        .isEqualTo(
            canonical.substring(0, canonical.length() - 1)
                + ",\"previous_hash\":\""
                + AuditRecord.GENESIS
                + "\",\"hash\":\""
                + first.hash()
                + "\"}");
  }

  @Test
  void aSummarysCount_isChainedAndReadBack_whileSingleEntriesKeepTheFormWithoutIt() {
    AuditEntry one =
        new AuditEntry(
            T0, "decision", "auth-failure", "", "", List.of(), "", "", "deny", "", "", 0, "", "");
    AuditEntry summary =
        new AuditEntry(
            T0,
            "decision",
            "auth-failure",
            "",
            "",
            List.of(),
            "authenticate",
            "",
            "deny",
            "",
            "",
            0,
            "",
            "203.0.113.9",
            37);
    assertThat(one.count()).isEqualTo(1);
    assertThat(AuditRecord.canonical(1, one)).doesNotContain("count");
    assertThat(AuditRecord.canonical(2, summary)).endsWith(",\"count\":37}");

    AuditLines.Encoder encoder = new AuditLines.Encoder();
    AuditRecord first = encoder.append(1, one, AuditRecord.GENESIS);
    AuditRecord second = encoder.append(2, summary, first.hash());
    List<AuditRecord> read = AuditLines.parse(encoder.toByteArray(), 1);
    assertThat(read).containsExactly(first, second);
    assertThat(read.get(1).entry().count()).isEqualTo(37);
    assertThat(read).allMatch(AuditRecord::contentIntact);

    // The count is covered by the hash: changing it breaks the entry.
    String edited =
        new String(encoder.toByteArray(), StandardCharsets.UTF_8)
            .replace("\"count\":37", "\"count\":3");
    assertThat(AuditLines.parse(edited.getBytes(StandardCharsets.UTF_8), 1).get(1).contentIntact())
        .isFalse();
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> new AuditEntry(T0, "", "", "", "", List.of(), "", "", "", "", "", 0, "", "", 0))
        .hasMessageContaining("at least 1");
  }

  @Test
  void aLineThatIsNotARecord_readsAsABrokenRecordAtItsPosition() {
    AuditLines.Encoder encoder = new AuditLines.Encoder();
    AuditEntry entry =
        new AuditEntry(
            T0, "decision", "check", "", "user:a", List.of(), "", "", "deny", "", "", 0, "", "");
    AuditRecord one = encoder.append(5, entry, AuditRecord.GENESIS);
    AuditRecord two = encoder.append(6, entry, one.hash());
    encoder.append(7, entry, two.hash());
    String text = new String(encoder.toByteArray(), StandardCharsets.UTF_8);
    String[] lines = text.split("\n");
    String broken = lines[0] + "\n" + "{\"seq\":6,\"time\":\"not a time\"}\n" + lines[2] + "\n";

    List<AuditRecord> read = AuditLines.parse(broken.getBytes(StandardCharsets.UTF_8), 5);
    assertThat(read).extracting(AuditRecord::seq).containsExactly(5L, 6L, 7L);
    assertThat(read.get(0).contentIntact()).isTrue();
    assertThat(read.get(1).contentIntact()).isFalse();
    assertThat(read.get(2).contentIntact()).isTrue();

    String garbage = lines[0] + "\n" + "garbage\n";
    assertThat(AuditLines.parse(garbage.getBytes(StandardCharsets.UTF_8), 5))
        .extracting(AuditRecord::seq)
        .containsExactly(5L, 6L);
  }

  @Test
  void theFieldPattern_isFoundInTheLinesThatHoldTheValue_only() {
    AuditLines.Encoder encoder = new AuditLines.Encoder();
    AuditEntry anne =
        new AuditEntry(
            T0,
            "decision",
            "check",
            "",
            "user:\"anne\"",
            List.of(),
            "",
            "",
            "deny",
            "",
            "",
            0,
            "",
            "");
    encoder.append(1, anne, AuditRecord.GENESIS);
    String line = new String(encoder.toByteArray(), StandardCharsets.UTF_8);
    assertThat(line)
        .contains(
            new String(AuditLines.fieldPattern("subject", "user:\"anne\""), StandardCharsets.UTF_8))
        .doesNotContain(
            new String(AuditLines.fieldPattern("subject", "user:anne"), StandardCharsets.UTF_8));
  }
}
