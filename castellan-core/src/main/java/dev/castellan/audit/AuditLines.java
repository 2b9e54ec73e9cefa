package dev.castellan.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Audit records as JSON lines, in UTF-8: each line is the record's {@link AuditRecord#canonical
 * canonical form} with {@code "previous_hash"} and {@code "hash"} added before its closing brace,
 * which is also the record's JSON in the query API and the file sink. Lines are written by hand
 * rather than through a JSON library: the writer of a busy server encodes and hashes every
 * decision, and a generator per entry cost more than the rest of storing it.
 */
public final class AuditLines {
  private AuditLines() {}

  private static final byte[] HEX_UPPER = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] HEX_LOWER = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  /** A SHA-256 hash in hex digits. */
  private static final int HASH_DIGITS = 64;

  /**
   * JSON's escapes for ASCII: 0 for none, the letter of a short escape, or {@code 'u'} for {@code
   * \}{@code u00XX}. The same choices as Jackson's, so the canonical form did not change when the
   * hand-written encoder replaced it.
   */
  private static final byte[] ESCAPES = new byte[128];

  static {
    for (int c = 0; c < 0x20; c++) {
      ESCAPES[c] = 'u';
    }
    ESCAPES['\b'] = 'b';
    ESCAPES['\t'] = 't';
    ESCAPES['\f'] = 'f';
    ESCAPES['\n'] = 'n';
    ESCAPES['\r'] = 'r';
    ESCAPES['"'] = '"';
    ESCAPES['\\'] = '\\';
  }

  /**
   * Encodes and chains entries into one buffer of lines; not thread-safe. The hash of each entry is
   * computed over the bytes just written, so an entry is encoded once.
   */
  public static final class Encoder {
    private final MessageDigest digest;
    private byte[] hashHead = new byte[65];
    private byte[] buf;
    private int size;
    private int lines;

    /*
     * The value last written in each text field and where its bytes lie in buf: in a batch most
     * fields repeat (api, caller, store, address, often subject and resource), and copying their
     * bytes costs less than escaping them again. Cleared whenever buf is rewound.
     */
    private final @Nullable String[] lastValue = new String[TEXT_FIELDS.size()];
    private final int[] lastAt = new int[TEXT_FIELDS.size()];
    private final int[] lastLength = new int[TEXT_FIELDS.size()];

    /* The date and time of the second last written, "2026-12-07T21:22:33": Instant.toString
     * builds it through a formatter, which cost as much as escaping every text field. */
    private long timeSecond = Long.MIN_VALUE;
    private byte[] timePrefix = new byte[0];

    /* The hash of the line last appended, and where its hex digits lie in buf (-1: not there). */
    private @Nullable String lastHash;
    private int lastHashAt = -1;

    public Encoder() {
      this(4096);
    }

    public Encoder(int initialBytes) {
      buf = new byte[Math.max(64, initialBytes)];
      try {
        digest = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JDK has SHA-256", e);
      }
    }

    /** Appends the line of {@code entry} at {@code seq}, chained after {@code previousHash}. */
    public AuditRecord append(long seq, AuditEntry entry, String previousHash) {
      int start = size;
      writeCanonical(seq, entry);
      // Chained after the line just written (the usual case), the previous hash's digits are in
      // buf already: hashed and copied from there rather than converted from the string again.
      boolean chained = previousHash == lastHash && lastHashAt >= 0;
      digest.reset();
      if (chained) {
        digest.update(buf, lastHashAt, HASH_DIGITS);
        digest.update((byte) '\n');
      } else {
        updateHead(previousHash);
      }
      digest.update(buf, start, size - start);
      byte[] sum = digest.digest();
      size--; // reopen the object: drop its closing brace
      writeAscii(",\"previous_hash\":\"");
      if (chained) {
        ensure(HASH_DIGITS);
        System.arraycopy(buf, lastHashAt, buf, size, HASH_DIGITS);
        size += HASH_DIGITS;
      } else {
        writeAscii(previousHash);
      }
      writeAscii("\",\"hash\":\"");
      ensure(2 * sum.length);
      int at = size;
      for (byte b : sum) {
        buf[size++] = HEX_LOWER[(b >> 4) & 0xF];
        buf[size++] = HEX_LOWER[b & 0xF];
      }
      String hash = new String(buf, at, size - at, StandardCharsets.ISO_8859_1);
      writeAscii("\"}\n");
      lines++;
      lastHash = hash;
      lastHashAt = at;
      return new AuditRecord(seq, entry, previousHash, hash);
    }

    /**
     * Appends the line of a record as it is, hashes and all: for moving records, where a hash
     * recomputed would hide a record that had been tampered with.
     */
    public void write(AuditRecord record) {
      writeCanonical(record.seq(), record.entry());
      closeLine(record.previousHash(), record.hash());
    }

    private void closeLine(String previousHash, String hash) {
      size--; // reopen the object: drop its closing brace
      writeAscii(",\"previous_hash\":\"");
      writeAscii(previousHash);
      writeAscii("\",\"hash\":\"");
      writeAscii(hash);
      writeAscii("\"}\n");
      lines++;
    }

    /** Bytes written so far. */
    public int size() {
      return size;
    }

    /** Lines written so far. */
    public int lines() {
      return lines;
    }

    /** A copy of the lines written so far. */
    public byte[] toByteArray() {
      return Arrays.copyOf(buf, size);
    }

    /** Forgets what was written, keeping the buffer. */
    public void reset() {
      rewind(0);
      lines = 0;
    }

    /** Goes back to {@code to} bytes, forgetting the values cached past it. */
    private void rewind(int to) {
      size = to;
      Arrays.fill(lastValue, null);
      lastHash = null;
      lastHashAt = -1;
    }

    String canonical(long seq, AuditEntry entry) {
      int start = size;
      writeCanonical(seq, entry);
      String out = new String(buf, start, size - start, StandardCharsets.UTF_8);
      rewind(start);
      return out;
    }

    String hashOf(String previousHash, long seq, AuditEntry entry) {
      int start = size;
      writeCanonical(seq, entry);
      String hash = hash(previousHash, start, size);
      rewind(start);
      return hash;
    }

    private String hash(String previousHash, int from, int to) {
      digest.reset();
      updateHead(previousHash);
      digest.update(buf, from, to - from);
      return HexFormat.of().formatHex(digest.digest());
    }

    /** Feeds the digest the previous hash and the line feed that follows it. */
    private void updateHead(String previousHash) {
      // One update for the previous hash and the line feed: a digest call per byte cost more
      // than hashing the whole entry.
      byte[] head = hashHead;
      if (head.length != previousHash.length() + 1) {
        head = hashHead = new byte[previousHash.length() + 1];
      }
      for (int i = 0; i < previousHash.length(); i++) {
        head[i] = (byte) previousHash.charAt(i); // hex digits: ASCII
      }
      head[head.length - 1] = '\n';
      digest.update(head);
    }

    private void writeCanonical(long seq, AuditEntry entry) {
      writeAscii("{\"seq\":");
      writeAscii(Long.toString(seq));
      writeAscii(",\"time\":");
      writeTime(entry.time());
      field(KIND, "kind", entry.kind());
      field(API, "api", entry.api());
      field(CALLER, "caller", entry.caller());
      field(SUBJECT, "subject", entry.subject());
      writeAscii(",\"roles\":[");
      List<String> roles = entry.roles();
      for (int i = 0; i < roles.size(); i++) {
        if (i > 0) {
          put((byte) ',');
        }
        writeString(roles.get(i));
      }
      put((byte) ']');
      field(ACTION, "action", entry.action());
      field(RESOURCE, "resource", entry.resource());
      field(OUTCOME, "outcome", entry.outcome());
      field(REASON, "reason", entry.reason());
      field(STORE_ID, "store_id", entry.storeId());
      writeAscii(",\"revision\":");
      writeAscii(Long.toString(entry.revision()));
      field(REQUEST_ID, "request_id", entry.requestId());
      field(CLIENT_ADDRESS, "client_address", entry.clientAddress());
      if (entry.count() != 1) {
        // Only summaries carry it: every entry written before it existed keeps its hash.
        writeAscii(",\"count\":");
        writeAscii(Long.toString(entry.count()));
      }
      put((byte) '}');
    }

    /** {@code ,"name":"value"}; {@code slot} is the field's index in {@link #TEXT_FIELDS}. */
    private void field(int slot, String name, String value) {
      ensure(name.length() + 4);
      buf[size++] = ',';
      buf[size++] = '"';
      for (int i = 0; i < name.length(); i++) {
        buf[size++] = (byte) name.charAt(i);
      }
      buf[size++] = '"';
      buf[size++] = ':';
      String last = lastValue[slot];
      if (last != null && last.equals(value)) {
        int length = lastLength[slot];
        ensure(length);
        System.arraycopy(buf, lastAt[slot], buf, size, length);
        size += length;
        return;
      }
      int start = size;
      writeString(value);
      lastValue[slot] = value;
      lastAt[slot] = start;
      lastLength[slot] = size - start;
    }

    /**
     * The time as {@link Instant#toString} writes it, quoted: the date and time to the second, then
     * the fraction in groups of three digits, as many as it needs, then {@code Z}.
     */
    private void writeTime(Instant time) {
      long second = time.getEpochSecond();
      if (second != timeSecond) {
        String whole = Instant.ofEpochSecond(second).toString(); // no fraction: "...:SSZ"
        timePrefix = whole.substring(0, whole.length() - 1).getBytes(StandardCharsets.US_ASCII);
        timeSecond = second;
      }
      byte[] prefix = timePrefix;
      ensure(prefix.length + 13);
      buf[size++] = '"';
      System.arraycopy(prefix, 0, buf, size, prefix.length);
      size += prefix.length;
      int nano = time.getNano();
      if (nano > 0) {
        buf[size++] = '.';
        int div = 100_000_000;
        for (int i = 0; nano > 0 || i % 3 != 0; i++) {
          int digit = nano / div;
          buf[size++] = (byte) ('0' + digit);
          nano -= digit * div;
          div /= 10;
        }
      }
      buf[size++] = 'Z';
      buf[size++] = '"';
    }

    private void writeString(String s) {
      // Worst case 6 bytes per char (an escaped control character), plus the quotes.
      ensure(s.length() * 6 + 2);
      byte[] b = buf;
      int p = size;
      b[p++] = '"';
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c < 0x80) {
          byte escape = ESCAPES[c];
          if (escape == 0) {
            b[p++] = (byte) c;
          } else if (escape == 'u') {
            b[p++] = '\\';
            b[p++] = 'u';
            b[p++] = '0';
            b[p++] = '0';
            b[p++] = HEX_UPPER[c >> 4];
            b[p++] = HEX_UPPER[c & 0xF];
          } else {
            b[p++] = '\\';
            b[p++] = escape;
          }
        } else if (c < 0x800) {
          b[p++] = (byte) (0xC0 | (c >> 6));
          b[p++] = (byte) (0x80 | (c & 0x3F));
        } else if (Character.isHighSurrogate(c)
            && i + 1 < s.length()
            && Character.isLowSurrogate(s.charAt(i + 1))) {
          // As Jackson writes characters beyond the BMP: both halves escaped, not 4 UTF-8 bytes.
          p = escapeUnicode(b, p, c);
          p = escapeUnicode(b, p, s.charAt(++i));
        } else {
          // A lone surrogate has no UTF-8 form; AuditEntry never holds one, but be total.
          char out = Character.isSurrogate(c) ? '\uFFFD' : c;
          b[p++] = (byte) (0xE0 | (out >> 12));
          b[p++] = (byte) (0x80 | ((out >> 6) & 0x3F));
          b[p++] = (byte) (0x80 | (out & 0x3F));
        }
      }
      b[p++] = '"';
      size = p;
    }

    private static int escapeUnicode(byte[] b, int p, char c) {
      b[p++] = '\\';
      b[p++] = 'u';
      b[p++] = HEX_UPPER[c >> 12];
      b[p++] = HEX_UPPER[(c >> 8) & 0xF];
      b[p++] = HEX_UPPER[(c >> 4) & 0xF];
      b[p++] = HEX_UPPER[c & 0xF];
      return p;
    }

    private void writeAscii(String s) {
      ensure(s.length());
      for (int i = 0; i < s.length(); i++) {
        buf[size++] = (byte) s.charAt(i);
      }
    }

    private void put(byte b) {
      ensure(1);
      buf[size++] = b;
    }

    private void ensure(int more) {
      if (size + more > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
      }
    }
  }

  private static final JsonFactory JSON = new JsonFactory();

  /**
   * The records in {@code lines} (as written by an {@link Encoder}), in order. A line that is not a
   * record (edited by hand) is returned as a record that fails {@link AuditRecord#contentIntact}
   * and names its position: {@code firstSeq} plus its line number, the seq it should have had.
   */
  public static List<AuditRecord> parse(byte[] lines, long firstSeq) {
    List<AuditRecord> out = new ArrayList<>();
    long position = firstSeq;
    for (int start = 0, end; start < lines.length; start = end + 1) {
      end = lineEnd(lines, start);
      if (end > start) {
        AuditRecord record = parseLine(lines, start, end - start, position);
        out.add(record);
        position = record.seq() + 1;
      }
    }
    return out;
  }

  /** Where the line starting at {@code from} ends: its line feed, or the end of {@code lines}. */
  public static int lineEnd(byte[] lines, int from) {
    int end = from;
    while (end < lines.length && lines[end] != '\n') {
      end++;
    }
    return end;
  }

  /** One line; see {@link #parse}. */
  public static AuditRecord parseLine(byte[] bytes, int offset, int length, long position) {
    try (JsonParser parser = JSON.createParser(bytes, offset, length)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return unreadable(position);
      }
      long seq = -1;
      long revision = 0;
      long count = 1;
      String time = null;
      String previousHash = null;
      String hash = null;
      String[] text = new String[11];
      List<String> roles = List.of();
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (name) {
          case "seq" -> seq = parser.getLongValue();
          case "revision" -> revision = parser.getLongValue();
          case "count" -> count = parser.getLongValue();
          case "time" -> time = parser.getText();
          case "previous_hash" -> previousHash = parser.getText();
          case "hash" -> hash = parser.getText();
          case "roles" -> {
            if (value != JsonToken.START_ARRAY) {
              return unreadable(position);
            }
            List<String> read = new ArrayList<>();
            while (parser.nextToken() == JsonToken.VALUE_STRING) {
              read.add(parser.getText());
            }
            roles = read;
          }
          default -> {
            int index = TEXT_FIELDS.indexOf(name);
            if (index >= 0 && value == JsonToken.VALUE_STRING) {
              text[index] = parser.getText();
            } else {
              parser.skipChildren(); // a field this version does not know
            }
          }
        }
      }
      if (seq < 0 || time == null || previousHash == null || hash == null) {
        return unreadable(position);
      }
      AuditEntry entry =
          new AuditEntry(
              Instant.parse(time),
              text[0],
              text[1],
              text[2],
              text[3],
              roles,
              text[4],
              text[5],
              text[6],
              text[7],
              text[8],
              revision,
              text[9],
              text[10],
              count);
      return new AuditRecord(seq, entry, previousHash, hash);
    } catch (IOException | DateTimeParseException | IllegalArgumentException e) {
      return unreadable(position);
    }
  }

  /**
   * The seq a line starts with ({@code {"seq":N,}), read without parsing the line; -1 when it does
   * not start that way.
   */
  public static long leadingSeq(byte[] bytes, int offset, int length) {
    byte[] prefix = SEQ_PREFIX;
    if (length <= prefix.length
        || !Arrays.equals(bytes, offset, offset + prefix.length, prefix, 0, prefix.length)) {
      return -1;
    }
    long seq = 0;
    int digits = 0;
    for (int i = offset + prefix.length; i < offset + length && digits < 19; i++, digits++) {
      byte b = bytes[i];
      if (b == ',') {
        return digits == 0 ? -1 : seq;
      }
      if (b < '0' || b > '9') {
        return -1;
      }
      seq = seq * 10 + (b - '0');
    }
    return -1;
  }

  private static final byte[] SEQ_PREFIX = "{\"seq\":".getBytes(StandardCharsets.US_ASCII);

  /** Whether {@code bytes} from {@code from} to {@code to} hold {@code needle}. */
  public static boolean contains(byte[] bytes, int from, int to, byte[] needle) {
    int last = to - needle.length;
    if (needle.length == 0) {
      return true;
    }
    byte first = needle[0];
    for (int i = from; i <= last; i++) {
      if (bytes[i] == first
          && Arrays.equals(bytes, i + 1, i + needle.length, needle, 1, needle.length)) {
        return true;
      }
    }
    return false;
  }

  // The text fields' indexes in TEXT_FIELDS.
  private static final int KIND = 0;
  private static final int API = 1;
  private static final int CALLER = 2;
  private static final int SUBJECT = 3;
  private static final int ACTION = 4;
  private static final int RESOURCE = 5;
  private static final int OUTCOME = 6;
  private static final int REASON = 7;
  private static final int STORE_ID = 8;
  private static final int REQUEST_ID = 9;
  private static final int CLIENT_ADDRESS = 10;

  private static final List<String> TEXT_FIELDS =
      List.of(
          "kind",
          "api",
          "caller",
          "subject",
          "action",
          "resource",
          "outcome",
          "reason",
          "store_id",
          "request_id",
          "client_address");

  /** A stand-in for a line that is not a record: its hash can never match. */
  private static AuditRecord unreadable(long position) {
    AuditEntry entry =
        new AuditEntry(
            Instant.EPOCH, "", "", "", "", List.of(), "", "", "", "unreadable line", "", 0, "", "");
    return new AuditRecord(position, entry, "unreadable", "unreadable");
  }

  /**
   * The bytes of {@code "name":"value"} as an {@link Encoder} writes them: a line without them
   * cannot hold that value in that field, so readers skip it without parsing it.
   */
  public static byte[] fieldPattern(String name, String value) {
    Encoder encoder = new Encoder(64);
    encoder.writeAscii("\"" + name + "\":");
    encoder.writeString(value);
    return encoder.toByteArray();
  }
}
