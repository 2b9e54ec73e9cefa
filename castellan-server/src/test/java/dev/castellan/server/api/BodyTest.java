package dev.castellan.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A request body has one reading: the one a proxy or a log in front of Castellan also sees. */
class BodyTest {
  private static final Set<String> CHECK = OpenFgaApi.CHECK_FIELDS;

  /**
   * Found by OpenFgaRequestFuzzTest, fuzzing the check body (crash-99c8841a): what followed the
   * object was ignored.
   */
  @Test
  void parse_dataAfterTheObject_isAValidationError() {
    for (String body :
        new String[] {
          "{\"tuple_key\":{}}\"",
          "{\"tuple_key\":{}} {\"tuple_key\":{}}",
          "{\"tuple_key\":{}}]",
          "{} 1"
        }) {
      assertThatThrownBy(() -> Body.parse(body, CHECK))
          .as(body)
          .isInstanceOf(CastellanException.class)
          .hasMessageStartingWith("the request body ")
          .satisfies(e -> assertCode(e, ErrorCode.VALIDATION_ERROR));
    }
    assertThatThrownBy(() -> Body.parse("{} \"x\"", CHECK))
        .hasMessage("the request body must be one JSON object, with nothing after it");
    assertThat(Body.parse("{\"explain\":true}\n  ", CHECK).bool("explain")).isTrue();
  }

  /** A key given twice: Jackson kept the last, a proxy or a log may keep the first. */
  @Test
  void parse_aKeyTwice_isAValidationError() {
    String body =
        "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:anne\"},"
            + "\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:bob\"}}";
    assertThatThrownBy(() -> Body.parse(body, CHECK))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("Duplicate field 'tuple_key'")
        .satisfies(e -> assertCode(e, ErrorCode.VALIDATION_ERROR));
    assertThatThrownBy(
            () -> Body.parse("{\"tuple_key\":{\"user\":\"user:a\",\"user\":\"user:b\"}}", CHECK))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("Duplicate field 'user'");
  }

  private static void assertCode(Throwable e, ErrorCode code) {
    assertThat(((CastellanException) e).code()).isEqualTo(code);
  }

  /**
   * Found by OpenFgaRequestFuzzTest, fuzzing the check body (crash-78f9c456): the JSON escape of
   * half a surrogate pair was accepted in a user; UTF-8 cannot hold it, so a store encoding it
   * keeps '?' instead.
   */
  @Test
  void string_withAnUnpairedSurrogate_isAValidationError() {
    for (String escaped : new String[] {"\\ud800", "\\udc00", "a\\ud800b", "\\udc00\\ud800"}) {
      Body body = Body.parse("{\"user\":\"user:" + escaped + "\"}", Set.of("user"));
      assertThatThrownBy(() -> body.string("user"))
          .as(escaped)
          .isInstanceOf(CastellanException.class)
          .hasMessage("'user' is not valid Unicode (an unpaired surrogate)");
    }
    assertThat(Body.parse("{\"user\":\"user:\\ud83d\\ude00\"}", Set.of("user")).string("user"))
        .isEqualTo("user:\uD83D\uDE00");
  }

  /**
   * A number with a huge exponent in a condition context was read as a {@code BigDecimal} and later
   * turned into an integer, which took minutes of CPU for {@code 1e99999999}. Such numbers are
   * refused when the body is read, before anything converts them, and quickly.
   */
  @Test
  void parse_aNumberOutsideTheRangeOfADouble_isAValidationError_quickly() {
    long start = System.nanoTime();
    for (String number :
        new String[] {
          "1e99999999",
          "-1e-99999999",
          "1e999999999",
          "-1e999999999",
          "1e-999999999",
          "-1E-999999999",
          "1e309",
          "2e308",
          "1e-400",
          "0.1e-324",
          "100e2147483647",
          "1e2147483647",
          "1" + "0".repeat(400),
          "-" + "9".repeat(999)
        }) {
      String check =
          "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:a\"},"
              + "\"context\":{\"limits\":[1,{\"x\":"
              + number
              + "}]}}";
      assertThatThrownBy(() -> Body.parse(check, CHECK))
          .as(number)
          .isInstanceOf(CastellanException.class)
          .hasMessageStartingWith("'context.limits[1].x' is the number ")
          .hasMessageContaining("outside the range of a double")
          .satisfies(e -> assertCode(e, ErrorCode.VALIDATION_ERROR));
    }
    // Beyond an int, Jackson's parser throws NumberFormatException: it was a 500. The last one was
    // found by OpenFgaRequestFuzzTest#request (crash-43e633a0).
    for (String number :
        new String[] {
          "1e-2147483648", "1e99999999999", "-2e-99999999999", "123E-9999999934567890"
        }) {
      assertThatThrownBy(() -> Body.parse("{\"context\":{\"x\":" + number + "}}", CHECK))
          .as(number)
          .isInstanceOf(CastellanException.class)
          .hasMessage(
              "the request body holds a number outside the range of a double (its exponent is"
                  + " out of range)")
          .satisfies(e -> assertCode(e, ErrorCode.VALIDATION_ERROR));
    }
    assertThatThrownBy(() -> Body.parse("{\"page_size\":1e999999999}", Set.of("page_size")))
        .hasMessageStartingWith("'page_size' is the number 1E+999999999, outside");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
  }

  @Test
  void context_keepsNumbersInTheRangeOfADouble() {
    Body body =
        Body.parse(
            "{\"context\":{\"a\":1.7976931348623157e308,\"b\":4.9e-324,\"c\":-0.0,"
                + "\"d\":18446744073709551615,\"e\":0,\"f\":1.5,\"g\":-12,\"h\":0e999999999}}",
            Set.of("context"));
    Map<String, Object> context = body.context("context");
    assertThat(context)
        .containsEntry("a", new BigDecimal("1.7976931348623157e308"))
        .containsEntry("b", new BigDecimal("4.9e-324"))
        .containsEntry("d", new BigInteger("18446744073709551615"))
        .containsEntry("e", 0)
        .containsEntry("f", new BigDecimal("1.5"))
        .containsEntry("g", -12);
    // Zero with any exponent is zero, and Jackson keeps it as plain 0: nothing to expand.
    assertThat(context.get("h")).isEqualTo(BigDecimal.ZERO);
  }

  /**
   * The context reader shared by request bodies, the server's import and {@code castellan import}
   * refuses out-of-range numbers in a tree it did not parse itself, and strings with half a
   * surrogate pair.
   */
  @Test
  void context_ofATree_refusesOutOfRangeNumbersAndUnpairedSurrogates() throws Exception {
    assertThatThrownBy(
            () -> Body.context(Body.JSON.readTree("{\"x\":{\"y\":[1e-999999999]}}"), "ctx"))
        .isInstanceOf(CastellanException.class)
        .hasMessageStartingWith("'ctx.x.y[0]' is the number 1E-999999999, outside");
    // A mapper that reads floats as doubles has already made this one infinite.
    assertThatThrownBy(
            () -> Body.context(new ObjectMapper().readTree("{\"x\":1e999999999}"), "ctx"))
        .hasMessageStartingWith("'ctx.x' is the number Infinity, outside");
    assertThatThrownBy(() -> Body.context(Body.JSON.readTree("{\"x\":[\"a\\ud800\"]}"), "ctx"))
        .hasMessage("'ctx.x[0]' is not valid Unicode (an unpaired surrogate)");
    // Jackson refuses such a key when it parses; a tree built otherwise may hold one.
    assertThatThrownBy(() -> Body.context(Body.JSON.createObjectNode().put("\udc00", 1), "ctx"))
        .hasMessage("a key in 'ctx' is not valid Unicode (an unpaired surrogate)");
    assertThatThrownBy(() -> Body.context(Body.JSON.readTree("[1]"), "ctx"))
        .hasMessage("'ctx' must be an object");
    assertThat(Body.context(null, "ctx")).isEmpty();
    assertThat(Body.context(Body.JSON.readTree("{\"a\":[true,null,\"s\",{\"b\":2}]}"), "ctx"))
        .isEqualTo(Map.of("a", java.util.Arrays.asList(true, null, "s", Map.of("b", 2))));
  }
}
