package dev.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class SubjectIdsTest {
  /**
   * OpenFGA's rule for the id part of an object or user ({@code pkg/tuple}): no {@code #:} or
   * space.
   */
  private static final Pattern OPENFGA_ID = Pattern.compile("[^#:\\s]+");

  @Test
  void escape_keepsTheOldSafeCharacters_andEncodesEveryOtherByte() {
    assertThat(SubjectIds.escape("auth0|5f7c8ec7c33c6c004bbafe82"))
        .contains("auth0|5f7c8ec7c33c6c004bbafe82");
    assertThat(SubjectIds.escape("alice@example.com")).contains("alice@example.com");
    assertThat(SubjectIds.escape("a_b.c-d")).contains("a_b.c-d");
    assertThat(SubjectIds.escape("bob smith")).contains("bob%20smith");
    assertThat(SubjectIds.escape("50%")).contains("50%25");
    assertThat(SubjectIds.escape("bob+tag@x.io")).contains("bob%2Btag@x.io");
    assertThat(SubjectIds.escape("*")).contains("%2A");
    assertThat(SubjectIds.escape("Zoë")).contains("Zo%C3%AB");
    assertThat(SubjectIds.escape("😀")).contains("%F0%9F%98%80");
    assertThat(SubjectIds.escape("")).isEmpty();
    assertThat(SubjectIds.escape("bob\uD800")).as("a lone surrogate").isEmpty();
  }

  /** The README's recipe for writing an id by hand gives the same spelling. */
  @Test
  void escape_agreesWithTheReadmesPythonRecipe() {
    // python3 -c 'import sys, urllib.parse;
    //   print(urllib.parse.quote(sys.argv[1], safe="@|").replace("~", "%7E"))' 'bob
    // smith/~Zoë%_.-@|+*:#'
    assertThat(SubjectIds.escape("bob smith/~Zoë%_.-@|+*:#"))
        .contains("bob%20smith%2F%7EZo%C3%AB%25_.-@|%2B%2A%3A%23");
  }

  /** Regression (lossy subjects): all of these were user:bob_smith. */
  @Test
  void escape_isInjective_onTheSubjectsTheOldSchemeFolded() {
    Map<String, String> seen = new HashMap<>();
    for (String sub :
        List.of("bob smith", "bob/smith", "bob:smith", "bob#smith", "bob_smith", "bob%5Fsmith")) {
      String id = SubjectIds.escape(sub).orElseThrow();
      assertThat(seen.put(id, sub)).as(sub + " and another share " + id).isNull();
      assertThat(SubjectIds.unescape(id)).contains(sub);
    }
  }

  @Test
  void roundTrip_onRandomStrings_isExact_andAlwaysAValidOpenFgaId() {
    Random random = new Random(12);
    int[] alphabet = {
      'a', 'Z', '0', '_', '.', '@', '|', '-', '%', ' ', ':', '#', '/', '*', '+', 'é', 0x1F600, 0,
      '\n'
    };
    for (int n = 0; n < 20_000; n++) {
      StringBuilder name = new StringBuilder();
      int length = 1 + random.nextInt(12);
      for (int i = 0; i < length; i++) {
        name.appendCodePoint(
            random.nextInt(4) == 0
                ? 1 + random.nextInt(0x2FFF)
                : alphabet[random.nextInt(alphabet.length)]);
      }
      String text = name.toString();
      if (!text.codePoints().allMatch(c -> c < 0xD800 || c > 0xDFFF)) {
        continue;
      }
      String id = SubjectIds.escape(text).orElseThrow();
      assertThat(SubjectIds.unescape(id)).as(text).contains(text);
      assertThat(OPENFGA_ID.matcher(id).matches()).as(id).isTrue();
      assertThat(id).doesNotContain("/").isNotEqualTo("*");
    }
  }

  @Test
  void isCanonical_acceptsExactlyOneSpellingOfEachName() {
    assertThat(SubjectIds.isCanonical("bob%20smith")).isTrue();
    assertThat(SubjectIds.isCanonical("Zo%C3%AB")).isTrue();
    assertThat(SubjectIds.isCanonical("a".repeat(SubjectIds.MAX_LENGTH))).isTrue();
    for (String other :
        List.of(
            "",
            "bob smith", // a raw space
            "bob%2fsmith", // lower-case hex
            "%41lice", // an escaped safe character
            "bob%2", // cut short
            "bob%ZZ",
            "a/b", // the namespace separator
            "a:b",
            "a#b",
            "*",
            "a+b",
            "%C3", // half a character
            "%C0%AF", // an overlong '/'
            "%ED%A0%80", // an encoded surrogate
            "a".repeat(SubjectIds.MAX_LENGTH + 1))) {
      assertThat(SubjectIds.isCanonical(other)).as(other).isFalse();
    }
  }

  @Test
  void subjectIds_areCanonical_orCanonicalInAnIssuersNamespace() {
    for (String id : List.of("alice", "bob%20smith", "okta/00u1ab", "a-1/bob%20smith", "x/y")) {
      assertThat(SubjectIds.isSubjectId(id)).as(id).isTrue();
    }
    for (String id :
        List.of(
            "",
            "/alice",
            "Okta/alice",
            "okta_x/alice",
            "okta/",
            "okta/a/b",
            "okta/bob smith",
            "a".repeat(33) + "/x",
            "okta/" + "a".repeat(252))) {
      assertThat(SubjectIds.isSubjectId(id)).as(id).isFalse();
    }
    // Subject migration keeps the stricter rule: "a/b" was a literal name before namespaces.
    assertThat(SubjectIds.isCanonical("okta/00u1ab")).isFalse();
  }
}
