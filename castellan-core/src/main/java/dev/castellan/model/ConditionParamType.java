package dev.castellan.model;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A condition parameter type as OpenFGA defines them: scalars, and {@code list<T>} / {@code map<T>}
 * with one generic argument.
 */
public record ConditionParamType(Kind kind, List<ConditionParamType> generics) {

  /** OpenFGA's parameter type names. JSON names are {@code TYPE_NAME_} + the upper-case name. */
  public enum Kind {
    ANY,
    BOOL,
    STRING,
    INT,
    UINT,
    DOUBLE,
    DURATION,
    TIMESTAMP,
    MAP,
    LIST,
    IPADDRESS;

    /** The DSL spelling, e.g. {@code ipaddress}. */
    public String dslName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public ConditionParamType {
    Objects.requireNonNull(kind, "kind");
    generics = List.copyOf(generics);
    int expected = (kind == Kind.MAP || kind == Kind.LIST) ? 1 : 0;
    if (generics.size() != expected) {
      throw new IllegalArgumentException(
          kind.dslName() + " takes " + expected + " generic argument(s), got " + generics.size());
    }
  }

  public static ConditionParamType of(Kind kind) {
    return new ConditionParamType(kind, List.of());
  }

  public static ConditionParamType listOf(ConditionParamType element) {
    return new ConditionParamType(Kind.LIST, List.of(element));
  }

  public static ConditionParamType mapOf(ConditionParamType value) {
    return new ConditionParamType(Kind.MAP, List.of(value));
  }

  /** The DSL spelling, e.g. {@code map<list<string>>}. */
  @Override
  public String toString() {
    return generics.isEmpty() ? kind.dslName() : kind.dslName() + "<" + generics.get(0) + ">";
  }
}
