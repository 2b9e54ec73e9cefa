package dev.castellan.store;

import java.util.Locale;

/**
 * A filter over directory users or groups, the part of SCIM's filter language the directory
 * evaluates itself: comparisons of one attribute ({@code eq}, {@code ne}, {@code co}, {@code sw},
 * {@code pr}) joined by {@code and} / {@code or}. A SCIM filter parser translates into this; stores
 * evaluate it (in memory in Java, on a database as SQL with parameters).
 *
 * <p>Comparisons ignore case except on {@code externalId} (SCIM's {@code caseExact}). An absent
 * attribute (an empty {@code externalId}, no emails) is not {@code pr}, equals nothing and so is
 * {@code ne} everything. On a multi-valued attribute ({@code emails}, {@code members}) a comparison
 * holds when it holds for any value, and {@code ne} when {@code eq} does not.
 */
public sealed interface DirectoryQuery {

  /** Most comparisons in one query. */
  int MAX_TERMS = 32;

  /** Every user or group. */
  DirectoryQuery ALL = new All();

  /** An attribute a query can test; each applies to users, to groups, or to both. */
  enum Attribute {
    USER_NAME(true, false, false),
    EXTERNAL_ID(true, true, true),
    DISPLAY_NAME(true, true, false),
    /** Any of a user's emails ({@code emails.value}). */
    EMAIL(true, false, false),
    /** Any of a group's member ids ({@code members.value}). */
    MEMBER(false, true, true);

    private final boolean users;
    private final boolean groups;
    private final boolean caseExact;

    Attribute(boolean users, boolean groups, boolean caseExact) {
      this.users = users;
      this.groups = groups;
      this.caseExact = caseExact;
    }

    public boolean appliesToUsers() {
      return users;
    }

    public boolean appliesToGroups() {
      return groups;
    }

    public boolean caseExact() {
      return caseExact;
    }

    /** {@code value} as this attribute compares it. */
    public String normalize(String value) {
      return caseExact ? value : value.toLowerCase(Locale.ROOT);
    }
  }

  enum Operator {
    EQ,
    NE,
    /** Contains. */
    CO,
    /** Starts with. */
    SW,
    /** Present (has a non-empty value); takes no value. */
    PR
  }

  /** {@code attribute operator value}; for {@link Operator#PR} the value is empty. */
  record Compare(Attribute attribute, Operator operator, String value) implements DirectoryQuery {
    public Compare {
      DirectoryLimits.text("a filter value", value, DirectoryStore.MAX_IDENTITY_VALUE, false);
      if (operator == Operator.PR && !value.isEmpty()) {
        throw DirectoryLimits.invalid("'pr' takes no value");
      }
    }
  }

  record And(DirectoryQuery left, DirectoryQuery right) implements DirectoryQuery {}

  record Or(DirectoryQuery left, DirectoryQuery right) implements DirectoryQuery {}

  /** Matches everything. */
  record All() implements DirectoryQuery {}

  static DirectoryQuery eq(Attribute attribute, String value) {
    return new Compare(attribute, Operator.EQ, value);
  }

  static DirectoryQuery present(Attribute attribute) {
    return new Compare(attribute, Operator.PR, "");
  }

  default DirectoryQuery and(DirectoryQuery other) {
    return new And(this, other);
  }

  default DirectoryQuery or(DirectoryQuery other) {
    return new Or(this, other);
  }

  /**
   * Refuses a query with an attribute that does not apply to users (or groups) or with more than
   * {@link #MAX_TERMS} comparisons, as every implementation does before it runs one.
   *
   * @throws dev.castellan.CastellanException {@code VALIDATION_ERROR}
   */
  static void check(DirectoryQuery query, boolean users) {
    if (count(query, users) > MAX_TERMS) {
      throw DirectoryLimits.invalid("a filter has at most " + MAX_TERMS + " comparisons");
    }
  }

  private static int count(DirectoryQuery query, boolean users) {
    return switch (query) {
      case All all -> 1;
      case And and -> count(and.left(), users) + count(and.right(), users);
      case Or or -> count(or.left(), users) + count(or.right(), users);
      case Compare compare -> {
        Attribute attribute = compare.attribute();
        if (users ? !attribute.appliesToUsers() : !attribute.appliesToGroups()) {
          throw DirectoryLimits.invalid(
              "a filter on "
                  + (users ? "users" : "groups")
                  + " cannot test "
                  + attribute.name().toLowerCase(Locale.ROOT));
        }
        yield 1;
      }
    };
  }
}
