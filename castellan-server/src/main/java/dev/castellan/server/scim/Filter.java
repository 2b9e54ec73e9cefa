package dev.castellan.server.scim;

import java.math.BigDecimal;
import java.util.Locale;

/**
 * A parsed SCIM filter (RFC 7644 section 3.4.2.2), produced by {@link FilterParser}. Inside a
 * {@link ValuePath}'s brackets, attribute paths are relative to the multi-valued attribute: in
 * {@code emails[type eq "work"]} the inner comparison's path is {@code type}.
 */
sealed interface Filter {

  /**
   * The filter as SCIM filter text that {@link FilterParser#parse} reads back to an equal filter:
   * for logs and error messages, and to pass a filter on. Nested {@code and}/{@code or} are
   * parenthesized, so the text does not depend on precedence.
   */
  static String format(Filter filter) {
    StringBuilder text = new StringBuilder();
    format(filter, text);
    return text.toString();
  }

  private static void format(Filter filter, StringBuilder text) {
    switch (filter) {
      case Comparison c -> {
        text.append(c.path()).append(' ').append(c.operator().wireName()).append(' ');
        formatLiteral(c.value(), text);
      }
      case Present p -> text.append(p.path()).append(" pr");
      case And a -> formatLogical(a.left(), "and", a.right(), text);
      case Or o -> formatLogical(o.left(), "or", o.right(), text);
      case Not n -> {
        text.append("not (");
        format(n.filter(), text);
        text.append(')');
      }
      case ValuePath v -> {
        text.append(v.path()).append('[');
        format(v.filter(), text);
        text.append(']');
      }
    }
  }

  private static void formatLogical(Filter left, String keyword, Filter right, StringBuilder text) {
    formatOperand(left, text);
    text.append(' ').append(keyword).append(' ');
    formatOperand(right, text);
  }

  private static void formatOperand(Filter operand, StringBuilder text) {
    boolean group = operand instanceof And || operand instanceof Or;
    if (group) {
      text.append('(');
    }
    format(operand, text);
    if (group) {
      text.append(')');
    }
  }

  private static void formatLiteral(Literal literal, StringBuilder text) {
    switch (literal) {
      case Literal.Text t -> {
        text.append('"');
        for (int i = 0; i < t.value().length(); i++) {
          char c = t.value().charAt(i);
          if (c == '"' || c == '\\') {
            text.append('\\').append(c);
          } else if (c < 0x20) {
            text.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
          } else {
            text.append(c);
          }
        }
        text.append('"');
      }
      case Literal.Number n -> text.append(n.value());
      case Literal.Bool b -> text.append(b.value());
      case Literal.Null ignored -> text.append("null");
    }
  }

  /** {@code attrPath op value}, for every operator except {@code pr}. */
  record Comparison(AttributePath path, Operator operator, Literal value) implements Filter {}

  /** {@code attrPath pr}: the attribute has a non-empty value. */
  record Present(AttributePath path) implements Filter {}

  record And(Filter left, Filter right) implements Filter {}

  record Or(Filter left, Filter right) implements Filter {}

  record Not(Filter filter) implements Filter {}

  /** {@code attrPath[filter]}: some value of a multi-valued attribute matches {@code filter}. */
  record ValuePath(AttributePath path, Filter filter) implements Filter {}

  /** The comparison operators of RFC 7644 table 3, except {@code pr}. */
  enum Operator {
    EQ,
    NE,
    CO,
    SW,
    EW,
    GT,
    GE,
    LT,
    LE;

    /** Whether this operator orders values (and so is invalid on booleans and null). */
    boolean ordering() {
      return this == GT || this == GE || this == LT || this == LE;
    }

    String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A comparison value: a JSON string, number, boolean or null. */
  sealed interface Literal {
    record Text(String value) implements Literal {}

    record Number(BigDecimal value) implements Literal {}

    record Bool(boolean value) implements Literal {}

    record Null() implements Literal {}
  }
}
