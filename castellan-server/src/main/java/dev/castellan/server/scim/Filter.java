package dev.castellan.server.scim;

import java.math.BigDecimal;
import java.util.Locale;

/**
 * A parsed SCIM filter (RFC 7644 section 3.4.2.2), produced by {@link FilterParser}. Inside a
 * {@link ValuePath}'s brackets, attribute paths are relative to the multi-valued attribute: in
 * {@code emails[type eq "work"]} the inner comparison's path is {@code type}.
 */
sealed interface Filter {

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
