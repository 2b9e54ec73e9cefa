package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A tuple whose user is a person named only by an {@link Identity} (an email from a Drive share, a
 * Slack id), held by a {@link PendingStore} until the directory knows the person (ADR 0024).
 *
 * @param condition the condition name, {@code ""} for none
 * @param conditionContext the condition's stored context (empty without a condition)
 * @param source where the row came from ({@code drive}, {@code slack}, {@code cli}): 1 to 64 of
 *     {@code a-z 0-9 _ . -}, so held rows can be dropped by source
 */
public record PendingTuple(
    String object,
    String relation,
    String condition,
    Map<String, Object> conditionContext,
    Identity identity,
    String source) {
  private static final Pattern SOURCE = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,63}");

  /**
   * Most UTF-8 bytes of a row's key (object, relation and the identity's kind, namespace and value
   * together): within what a PostgreSQL index entry holds, so a row within the limits of its parts
   * is never refused by the database instead.
   */
  public static final int MAX_KEY_BYTES = 2_300;

  public PendingTuple {
    if (identity == null) {
      throw invalid("an identity is required");
    }
    condition = condition == null ? "" : condition;
    conditionContext =
        Collections.unmodifiableMap(
            new LinkedHashMap<>(conditionContext == null ? Map.of() : conditionContext));
    checkSource(source);
    // The tuple's own limits, checked as a write would check them (with a user of the longest
    // kind a directory id makes), so a held row is always writable once its person is known.
    WritePlanner.checkKey(new TupleKey(object, relation, "user:" + "0".repeat(26)));
    if (condition.isEmpty() && !conditionContext.isEmpty()) {
      throw invalid("a condition context needs a condition");
    }
    int keyBytes =
        utf8(object)
            + utf8(relation)
            + utf8(identity.kind())
            + utf8(identity.namespace())
            + utf8(identity.value());
    if (keyBytes > MAX_KEY_BYTES) {
      throw invalid(
          "a held row's object, relation and identity are at most "
              + MAX_KEY_BYTES
              + " bytes of UTF-8 together, were "
              + keyBytes);
    }
  }

  private static int utf8(String text) {
    return text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
  }

  /** An unconditional row. */
  public static PendingTuple of(String object, String relation, Identity identity, String source) {
    return new PendingTuple(object, relation, "", Map.of(), identity, source);
  }

  /** The tuple this row becomes once {@code user} ({@code user:<directory id>}) is known. */
  public Tuple tuple(String user) {
    return new Tuple(new TupleKey(object, relation, user), condition, conditionContext);
  }

  /**
   * Refuses a source outside {@code [a-z0-9][a-z0-9_.-]{0,63}}.
   *
   * @throws CastellanException {@code VALIDATION_ERROR}
   */
  public static String checkSource(String source) {
    if (source == null || !SOURCE.matcher(source).matches()) {
      throw invalid(
          "a source is 1 to 64 characters of a-z, 0-9, '_', '.', '-', starting with a letter or"
              + " digit, was '"
              + (source == null ? "" : source.length() > 80 ? source.substring(0, 80) : source)
              + "'");
    }
    return source;
  }

  private static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }
}
