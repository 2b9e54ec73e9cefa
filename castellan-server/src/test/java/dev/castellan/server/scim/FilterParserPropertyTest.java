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
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Seeded random tests: every generated filter survives {@link Filter#format} and {@link
 * FilterParser#parse} unchanged, and random token soup either parses or fails with {@code
 * invalidFilter} at a position inside the input, never with another exception.
 */
class FilterParserPropertyTest {
  private static final List<AttributePath> PATHS =
      List.of(
          AttributePath.of("userName"),
          AttributePath.of("emails", "value"),
          AttributePath.of("members", "value"),
          AttributePath.of("meta", "lastModified"),
          AttributePath.of("not"),
          AttributePath.of("members", "$ref"),
          new AttributePath(ScimProtocol.USER_SCHEMA, "userName", null),
          new AttributePath(ScimProtocol.ENTERPRISE_USER_SCHEMA, "manager", "value"));
  private static final List<AttributePath> MULTI_VALUED =
      List.of(AttributePath.of("emails"), AttributePath.of("members"), AttributePath.of("ims"));
  private static final List<BigDecimal> NUMBERS =
      List.of(
          BigDecimal.ZERO,
          new BigDecimal("-1"),
          new BigDecimal("12.50"),
          new BigDecimal("-12.5E+3"),
          new BigDecimal("1E-7"));
  private static final String TEXT_CHARS = "aZ09 \"\\/()[]\n\t\u0001é€ and or not pr eq";

  @Test
  void formatThenParse_givesBackTheSameFilter() {
    Random random = new Random(16);
    for (int i = 0; i < 5_000; i++) {
      Filter filter = filter(random, 5, false);
      String text = Filter.format(filter);
      assertThat(FilterParser.parse(text)).as(text).isEqualTo(filter);
    }
  }

  private static final List<String> TOKENS =
      List.of(
          "userName",
          "emails",
          ".",
          "value",
          "[",
          "]",
          "(",
          ")",
          " ",
          " ",
          " ",
          "eq",
          "pr",
          "gt",
          "and",
          "or",
          "not",
          "\"x\"",
          "\"",
          "\\",
          "\\u00",
          "1",
          "-",
          "e",
          "0.5",
          "urn:a:b:",
          ":",
          "true",
          "null",
          "\u0000",
          "\t",
          "$ref",
          "é",
          "EQ",
          "And");
  private static final Pattern POSITION = Pattern.compile("\\(at position (\\d+)\\)$");

  @Test
  void randomTokenSoup_parsesOrFailsWithInvalidFilterAtAPositionInTheInput() {
    Random random = new Random(7644);
    int parsed = 0;
    for (int i = 0; i < 50_000; i++) {
      String input = i % 2 == 0 ? soup(random) : mutated(random);
      try {
        Filter filter = FilterParser.parse(input);
        parsed++;
        assertThat(FilterParser.parse(Filter.format(filter))).as(input).isEqualTo(filter);
      } catch (ScimException e) {
        assertThat(e.error().scimType()).as(input).isEqualTo(ScimType.INVALID_FILTER);
        Matcher position = POSITION.matcher(e.error().detail());
        assertThat(position.find()).as(e.error().detail()).isTrue();
        assertThat(Integer.parseInt(position.group(1))).as(input).isBetween(1, input.length() + 1);
      }
      try {
        PatchPath.parse(input);
      } catch (ScimException e) {
        assertThat(e.error().scimType()).as(input).isEqualTo(ScimType.INVALID_PATH);
      }
    }
    // The inputs are not all noise: mutated filters are often still valid.
    assertThat(parsed).isGreaterThan(1_000);
  }

  /** Random tokens of the filter language. */
  private static String soup(Random random) {
    StringBuilder text = new StringBuilder();
    int count = 1 + random.nextInt(24);
    for (int t = 0; t < count; t++) {
      text.append(pick(random, TOKENS));
    }
    return text.toString();
  }

  /** A valid filter with one to three characters deleted, tokens inserted or slices repeated. */
  private static String mutated(Random random) {
    StringBuilder text = new StringBuilder(Filter.format(filter(random, 3, false)));
    int mutations = 1 + random.nextInt(3);
    for (int m = 0; m < mutations && !text.isEmpty(); m++) {
      int at = random.nextInt(text.length());
      switch (random.nextInt(3)) {
        case 0 -> text.deleteCharAt(at);
        case 1 -> text.insert(at, pick(random, TOKENS));
        default -> {
          int end = Math.min(text.length(), at + 1 + random.nextInt(10));
          text.insert(at, text.substring(at, end));
        }
      }
    }
    return text.toString();
  }

  private static Filter filter(Random random, int depth, boolean inValuePath) {
    int choice = depth == 0 ? random.nextInt(2) : random.nextInt(inValuePath ? 5 : 6);
    return switch (choice) {
      case 0 -> comparison(random);
      case 1 -> new Present(pick(random, PATHS));
      case 2 ->
          new And(filter(random, depth - 1, inValuePath), filter(random, depth - 1, inValuePath));
      case 3 ->
          new Or(filter(random, depth - 1, inValuePath), filter(random, depth - 1, inValuePath));
      case 4 -> new Not(filter(random, depth - 1, inValuePath));
      default -> new ValuePath(pick(random, MULTI_VALUED), filter(random, depth - 1, true));
    };
  }

  private static Comparison comparison(Random random) {
    Operator operator = pick(random, List.of(Operator.values()));
    Literal literal =
        switch (random.nextInt(operator.ordering() ? 2 : 4)) {
          case 0 -> new Literal.Text(text(random));
          case 1 -> new Literal.Number(pick(random, NUMBERS));
          case 2 -> new Literal.Bool(random.nextBoolean());
          default -> new Literal.Null();
        };
    return new Comparison(pick(random, PATHS), operator, literal);
  }

  private static String text(Random random) {
    StringBuilder text = new StringBuilder();
    int length = random.nextInt(8);
    for (int i = 0; i < length; i++) {
      text.append(TEXT_CHARS.charAt(random.nextInt(TEXT_CHARS.length())));
    }
    return text.toString();
  }

  private static <T> T pick(Random random, List<T> values) {
    return values.get(random.nextInt(values.size()));
  }
}
