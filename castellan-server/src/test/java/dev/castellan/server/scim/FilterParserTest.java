package dev.castellan.server.scim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.server.scim.Filter.And;
import dev.castellan.server.scim.Filter.Comparison;
import dev.castellan.server.scim.Filter.Literal;
import dev.castellan.server.scim.Filter.Not;
import dev.castellan.server.scim.Filter.Operator;
import dev.castellan.server.scim.Filter.Or;
import dev.castellan.server.scim.Filter.Present;
import dev.castellan.server.scim.Filter.ValuePath;
import java.math.BigDecimal;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FilterParserTest {

  private static Comparison cmp(String path, Operator op, String value) {
    return new Comparison(path(path), op, new Literal.Text(value));
  }

  private static AttributePath path(String dotted) {
    int dot = dotted.indexOf('.');
    return dot < 0
        ? AttributePath.of(dotted)
        : AttributePath.of(dotted.substring(0, dot), dotted.substring(dot + 1));
  }

  private static ScimError errorOf(String filter) {
    try {
      Filter parsed = FilterParser.parse(filter);
      throw new AssertionError("expected " + filter + " to fail, parsed " + parsed);
    } catch (ScimException e) {
      return e.error();
    }
  }

  // --- RFC 7644 section 3.4.2.2, the examples in order ---

  @Test
  void rfcExample_userNameEq() {
    assertThat(FilterParser.parse("userName eq \"bjensen\""))
        .isEqualTo(cmp("userName", Operator.EQ, "bjensen"));
  }

  @Test
  void rfcExample_subAttributeContainsApostrophe() {
    assertThat(FilterParser.parse("name.familyName co \"O'Malley\""))
        .isEqualTo(cmp("name.familyName", Operator.CO, "O'Malley"));
  }

  @Test
  void rfcExample_startsWith() {
    assertThat(FilterParser.parse("userName sw \"J\""))
        .isEqualTo(cmp("userName", Operator.SW, "J"));
  }

  @Test
  void rfcExample_fullyQualifiedAttribute_keepsTheSchemaUrn() {
    Filter filter =
        FilterParser.parse("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"");
    assertThat(filter)
        .isEqualTo(
            new Comparison(
                new AttributePath("urn:ietf:params:scim:schemas:core:2.0:User", "userName", null),
                Operator.SW,
                new Literal.Text("J")));
  }

  @Test
  void rfcExample_present() {
    assertThat(FilterParser.parse("title pr")).isEqualTo(new Present(path("title")));
  }

  @Test
  void rfcExample_orderingOperatorsOnMetaLastModified() {
    for (Operator op : new Operator[] {Operator.GT, Operator.GE, Operator.LT, Operator.LE}) {
      assertThat(
              FilterParser.parse(
                  "meta.lastModified " + op.wireName() + " \"2011-05-13T04:42:34Z\""))
          .isEqualTo(cmp("meta.lastModified", op, "2011-05-13T04:42:34Z"));
    }
  }

  @Test
  void rfcExample_presentAndEq() {
    assertThat(FilterParser.parse("title pr and userType eq \"Employee\""))
        .isEqualTo(new And(new Present(path("title")), cmp("userType", Operator.EQ, "Employee")));
  }

  @Test
  void rfcExample_presentOrEq() {
    assertThat(FilterParser.parse("title pr or userType eq \"Intern\""))
        .isEqualTo(new Or(new Present(path("title")), cmp("userType", Operator.EQ, "Intern")));
  }

  @Test
  void rfcExample_schemasEqUrnValue() {
    assertThat(
            FilterParser.parse(
                "schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\""))
        .isEqualTo(
            cmp(
                "schemas",
                Operator.EQ,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
  }

  @Test
  void rfcExample_parenthesesGroupAnOr() {
    assertThat(
            FilterParser.parse(
                "userType eq \"Employee\" and (emails co \"example.com\" or emails.value co"
                    + " \"example.org\")"))
        .isEqualTo(
            new And(
                cmp("userType", Operator.EQ, "Employee"),
                new Or(
                    cmp("emails", Operator.CO, "example.com"),
                    cmp("emails.value", Operator.CO, "example.org"))));
  }

  @Test
  void rfcExample_notOfAGroup() {
    assertThat(
            FilterParser.parse(
                "userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co"
                    + " \"example.org\")"))
        .isEqualTo(
            new And(
                cmp("userType", Operator.NE, "Employee"),
                new Not(
                    new Or(
                        cmp("emails", Operator.CO, "example.com"),
                        cmp("emails.value", Operator.CO, "example.org")))));
  }

  @Test
  void rfcExample_parenthesesAroundOneComparison() {
    assertThat(FilterParser.parse("userType eq \"Employee\" and (emails.type eq \"work\")"))
        .isEqualTo(
            new And(
                cmp("userType", Operator.EQ, "Employee"), cmp("emails.type", Operator.EQ, "work")));
  }

  @Test
  void rfcExample_valuePathWithAnd() {
    assertThat(
            FilterParser.parse(
                "userType eq \"Employee\" and emails[type eq \"work\" and value co"
                    + " \"@example.com\"]"))
        .isEqualTo(
            new And(
                cmp("userType", Operator.EQ, "Employee"),
                new ValuePath(
                    path("emails"),
                    new And(
                        cmp("type", Operator.EQ, "work"),
                        cmp("value", Operator.CO, "@example.com")))));
  }

  @Test
  void rfcExample_twoValuePathsOred() {
    assertThat(
            FilterParser.parse(
                "emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and"
                    + " value co \"@foo.com\"]"))
        .isEqualTo(
            new Or(
                new ValuePath(
                    path("emails"),
                    new And(
                        cmp("type", Operator.EQ, "work"),
                        cmp("value", Operator.CO, "@example.com"))),
                new ValuePath(
                    path("ims"),
                    new And(
                        cmp("type", Operator.EQ, "xmpp"), cmp("value", Operator.CO, "@foo.com")))));
  }

  // --- what Okta and Entra ID send ---

  @Test
  void okta_userLookupByUserName() {
    assertThat(FilterParser.parse("userName eq \"test.user@okta.local\""))
        .isEqualTo(cmp("userName", Operator.EQ, "test.user@okta.local"));
  }

  @Test
  void entra_userLookupByExternalIdAndGroupByDisplayName() {
    assertThat(FilterParser.parse("externalId eq \"9950b140-90a0-4201-9d65-b5f209fb4cd0\""))
        .isEqualTo(cmp("externalId", Operator.EQ, "9950b140-90a0-4201-9d65-b5f209fb4cd0"));
    assertThat(FilterParser.parse("displayName eq \"Group1DisplayName\""))
        .isEqualTo(cmp("displayName", Operator.EQ, "Group1DisplayName"));
  }

  @Test
  void entra_groupMembershipProbe() {
    // Entra ID asks whether a user is in a group with
    // GET /Groups?filter=id eq "..." and members[value eq "..."]&excludedAttributes=members
    assertThat(
            FilterParser.parse(
                "id eq \"e9e30dba-f08f-4109-8486-d5c6a331660a\" and members[value eq"
                    + " \"9a3d3d26-9ab5-4f1d-9f11-b62e1a6ed0b0\"]"))
        .isEqualTo(
            new And(
                cmp("id", Operator.EQ, "e9e30dba-f08f-4109-8486-d5c6a331660a"),
                new ValuePath(
                    path("members"),
                    cmp("value", Operator.EQ, "9a3d3d26-9ab5-4f1d-9f11-b62e1a6ed0b0"))));
  }

  @Test
  void membersValueSubAttribute() {
    assertThat(FilterParser.parse("members.value eq \"42\""))
        .isEqualTo(cmp("members.value", Operator.EQ, "42"));
  }

  // --- grammar details ---

  @Test
  void andBindsTighterThanOr() {
    assertThat(FilterParser.parse("a pr or b pr and c pr"))
        .isEqualTo(
            new Or(
                new Present(path("a")), new And(new Present(path("b")), new Present(path("c")))));
    assertThat(FilterParser.parse("a pr and b pr or c pr"))
        .isEqualTo(
            new Or(
                new And(new Present(path("a")), new Present(path("b"))), new Present(path("c"))));
  }

  @Test
  void logicalOperatorsAreLeftAssociative() {
    assertThat(FilterParser.parse("a pr and b pr and c pr"))
        .isEqualTo(
            new And(
                new And(new Present(path("a")), new Present(path("b"))), new Present(path("c"))));
  }

  @Test
  void operatorsAndKeywordsAreCaseInsensitive_attributeSpellingIsKept() {
    Filter filter = FilterParser.parse("USERNAME EQ \"x\" AND NOT (Title PR) Or active Eq TRUE");
    assertThat(filter)
        .isEqualTo(
            new Or(
                new And(cmp("USERNAME", Operator.EQ, "x"), new Not(new Present(path("Title")))),
                new Comparison(path("active"), Operator.EQ, new Literal.Bool(true))));
    Comparison first = (Comparison) ((And) ((Or) filter).left()).left();
    assertThat(first.path().is("userName")).isTrue();
    assertThat(first.path().key()).isEqualTo("username");
  }

  @Test
  void literals_numbersBooleansNull() {
    assertThat(FilterParser.parse("age gt -12.5e2"))
        .isEqualTo(
            new Comparison(
                path("age"), Operator.GT, new Literal.Number(new BigDecimal("-12.5e2"))));
    assertThat(FilterParser.parse("n eq 0"))
        .isEqualTo(new Comparison(path("n"), Operator.EQ, new Literal.Number(BigDecimal.ZERO)));
    assertThat(FilterParser.parse("active eq false"))
        .isEqualTo(new Comparison(path("active"), Operator.EQ, new Literal.Bool(false)));
    assertThat(FilterParser.parse("title eq null"))
        .isEqualTo(new Comparison(path("title"), Operator.EQ, new Literal.Null()));
  }

  @Test
  void stringLiterals_jsonEscapesAreDecoded() {
    assertThat(FilterParser.parse("displayName eq \"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\u0041\""))
        .isEqualTo(cmp("displayName", Operator.EQ, "a\"b\\c/d\n\té" + "A"));
    assertThat(FilterParser.parse("displayName eq \"\""))
        .isEqualTo(cmp("displayName", Operator.EQ, ""));
    assertThat(FilterParser.parse("displayName eq \"with ) and ] inside\""))
        .isEqualTo(cmp("displayName", Operator.EQ, "with ) and ] inside"));
  }

  @Test
  void extensionAttributeWithSubAttribute() {
    assertThat(
            FilterParser.parse(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq"
                    + " \"26118915-6090-4610-87e4-49d8ca9f808d\""))
        .isEqualTo(
            new Comparison(
                new AttributePath(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                    "manager",
                    "value"),
                Operator.EQ,
                new Literal.Text("26118915-6090-4610-87e4-49d8ca9f808d")));
  }

  @Test
  void refAttributeAndExtraWhitespace() {
    assertThat(FilterParser.parse("  members.$ref   co\t\"Users\"  "))
        .isEqualTo(cmp("members.$ref", Operator.CO, "Users"));
  }

  @Test
  void anAttributeNamedNotIsStillAnAttribute() {
    assertThat(FilterParser.parse("not eq \"x\"")).isEqualTo(cmp("not", Operator.EQ, "x"));
    assertThat(FilterParser.parse("notes pr")).isEqualTo(new Present(path("notes")));
  }

  @Test
  void attributeNameAndOrPrefixedKeywordsAreNames() {
    assertThat(FilterParser.parse("a pr and order pr"))
        .isEqualTo(new And(new Present(path("a")), new Present(path("order"))));
  }

  // --- errors ---

  @Test
  void errors_areInvalidFilterWithAPosition() {
    ScimError error = errorOf("userName eq");
    assertThat(error.status()).isEqualTo(400);
    assertThat(error.scimType()).isEqualTo(ScimType.INVALID_FILTER);
    assertThat(error.detail()).startsWith("invalid filter: ").endsWith("(at position 12)");
  }

  @Test
  void errors_unknownOperatorNamesTheOperatorPosition() {
    assertThat(errorOf("userName like \"x\"").detail())
        .contains("expected an operator")
        .contains("'like")
        .endsWith("(at position 10)");
  }

  @Test
  void errors_unclosedParenthesisNamesWhereItOpened() {
    assertThat(errorOf("a pr and (b pr or c pr").detail())
        .contains("expected ')' to close the '(' at position 10")
        .endsWith("(at position 23)");
  }

  @Test
  void errors_unclosedString() {
    assertThat(errorOf("userName eq \"bjensen").detail())
        .contains("not closed")
        .endsWith("(at position 13)");
  }

  @Test
  void errors_trailingGarbage() {
    assertThat(errorOf("userName eq \"a\" xyz").detail())
        .contains("expected 'and', 'or' or the end of the filter, found 'xyz'")
        .endsWith("(at position 17)");
  }

  @Test
  void errors_orderingOperatorOnBooleanOrNull_rfcSaysInvalidFilter() {
    assertThat(errorOf("active gt true").detail()).contains("not booleans or null");
    assertThat(errorOf("title le null").detail()).contains("not booleans or null");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "   ",
        "userName",
        "userName eq",
        "userName eq bjensen",
        "userName eq 'bjensen'",
        "userName eq\"x\"",
        "userName eq \"x\" and",
        "userName eq \"x\" or ",
        "and eq \"x\" and",
        "(userName eq \"x\"",
        "userName eq \"x\")",
        "not userName eq \"x\"",
        "emails[type eq \"work\"",
        "emails[type eq \"work\"]]",
        "emails[type[value eq \"x\"] eq \"y\"]",
        "emails.value[type eq \"work\"]",
        "name.familyName.x eq \"a\"",
        "1abc eq \"a\"",
        "user*Name eq \"a\"",
        "foo:bar eq \"a\"",
        "urn:ietf:params:scim:schemas:core:2.0:User: eq \"a\"",
        "userName eq \"bad \\x escape\"",
        "userName eq \"bad \\u12\"",
        "userName eq \"\\",
        "n eq 01",
        "n eq 1.",
        "n eq -",
        "n eq 1e",
        "n eq 1e99999",
        "n eq 12abc",
        "active eq truex",
        "userName eq \"tab\tinside\"",
        "userName pr pr",
        "a pr and and b pr",
      })
  void malformedFilters_areRefusedWithInvalidFilter(String filter) {
    ScimError error = errorOf(filter);
    assertThat(error.scimType()).isEqualTo(ScimType.INVALID_FILTER);
    assertThat(error.detail()).matches("(?s)invalid filter: .+ \\(at position \\d+\\)");
  }

  // --- limits: a pathological filter is refused quickly, without a deep stack ---

  @Test
  void errors_echoAtMost80CharactersOfInput() {
    String longName = "a".repeat(3000);
    assertThat(errorOf(longName + " like 1").detail()).hasSizeLessThan(250);
    assertThat(errorOf("x:" + longName + " eq 1").detail()).hasSizeLessThan(250);
    assertThat(errorOf("userName eq \"" + longName).detail()).hasSizeLessThan(250);
  }

  @Test
  void limits_tooLong() {
    String filter = "userName eq \"" + "a".repeat(FilterParser.MAX_FILTER_LENGTH) + "\"";
    assertThat(errorOf(filter).detail()).contains("at most " + FilterParser.MAX_FILTER_LENGTH);
  }

  @Test
  void limits_nestingAtTheLimitIsAccepted_oneMoreIsRefused() {
    int max = FilterParser.MAX_DEPTH;
    Filter filter = FilterParser.parse("(".repeat(max) + "a pr" + ")".repeat(max));
    assertThat(filter).isEqualTo(new Present(path("a")));
    assertThat(errorOf("(".repeat(max + 1) + "a pr" + ")".repeat(max + 1)).detail())
        .contains("nests more than " + max + " levels deep");
  }

  @Test
  void limits_deepNotChainsAndUnclosedParenthesesDoNotOverflowTheStack() {
    assertThat(errorOf("not (".repeat(800)).detail()).contains("nests more than");
    assertThat(errorOf("(".repeat(FilterParser.MAX_FILTER_LENGTH)).detail())
        .contains("nests more than");
    assertThat(errorOf("a[b[c[d eq 1]]]").detail()).contains("cannot nest");
  }

  @Test
  void limits_tooManyComparisons() {
    String atLimit =
        String.join(" or ", java.util.Collections.nCopies(FilterParser.MAX_TERMS, "a pr"));
    assertThat(FilterParser.parse(atLimit)).isInstanceOf(Or.class);
    assertThat(errorOf(atLimit + " or b pr").detail())
        .contains("more than " + FilterParser.MAX_TERMS + " comparisons");
  }

  @Test
  void limits_longestChainsParseFast() {
    // Worst cases within the length limit: a flat chain of short terms and the deepest nesting.
    String chain = "a pr and ".repeat(99) + "a pr";
    String nested =
        "not (".repeat(FilterParser.MAX_DEPTH) + "a pr" + ")".repeat(FilterParser.MAX_DEPTH);
    long start = System.nanoTime();
    for (int i = 0; i < 2_000; i++) {
      FilterParser.parse(chain);
      FilterParser.parse(nested);
      errorOf("(".repeat(FilterParser.MAX_FILTER_LENGTH));
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
  }
}
