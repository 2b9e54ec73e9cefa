package dev.castellan.model;

import java.util.Objects;

/**
 * One entry of a directly-related type list: {@code user}, {@code user:*}, {@code group#member},
 * each optionally {@code with condition}. OpenFGA calls this a {@code RelationReference}.
 *
 * @param type the user type
 * @param relation the userset relation, or {@code ""} when this is not a userset restriction
 * @param wildcard true for {@code type:*}
 * @param condition the condition name, or {@code ""} when unconditional
 */
public record TypeRestriction(String type, String relation, boolean wildcard, String condition) {

  public TypeRestriction {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(relation, "relation");
    Objects.requireNonNull(condition, "condition");
    if (wildcard && !relation.isEmpty()) {
      throw new IllegalArgumentException(
          "a type restriction cannot be both a wildcard and a userset: " + type + "#" + relation);
    }
  }

  public static TypeRestriction direct(String type) {
    return new TypeRestriction(type, "", false, "");
  }

  public static TypeRestriction wildcard(String type) {
    return new TypeRestriction(type, "", true, "");
  }

  public static TypeRestriction userset(String type, String relation) {
    return new TypeRestriction(type, relation, false, "");
  }

  public TypeRestriction withCondition(String conditionName) {
    return new TypeRestriction(type, relation, wildcard, conditionName);
  }

  public boolean isUserset() {
    return !relation.isEmpty();
  }

  public boolean isConditional() {
    return !condition.isEmpty();
  }

  /** The DSL form, e.g. {@code group#member with cond}. */
  @Override
  public String toString() {
    String base = wildcard ? type + ":*" : isUserset() ? type + "#" + relation : type;
    return isConditional() ? base + " with " + condition : base;
  }
}
