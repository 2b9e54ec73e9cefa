package dev.castellan.condition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.UnsignedLong;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.model.Condition;
import dev.castellan.model.ConditionParamType;
import dev.castellan.model.ConditionParamType.Kind;
import dev.castellan.model.InvalidModelException;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every condition parameter type OpenFGA has, converted and evaluated as OpenFGA does. The cases
 * and messages are OpenFGA's (internal/condition/types/types_test.go, ipaddress_test.go,
 * condition_test.go), with JSON numbers as float64 since that is how OpenFGA receives them.
 */
class ConditionParamTypesTest {
  private static final ConditionParamType ANY = ConditionParamType.of(Kind.ANY);
  private static final ConditionParamType BOOL = ConditionParamType.of(Kind.BOOL);
  private static final ConditionParamType STRING = ConditionParamType.of(Kind.STRING);
  private static final ConditionParamType INT = ConditionParamType.of(Kind.INT);
  private static final ConditionParamType UINT = ConditionParamType.of(Kind.UINT);
  private static final ConditionParamType DOUBLE = ConditionParamType.of(Kind.DOUBLE);
  private static final ConditionParamType DURATION = ConditionParamType.of(Kind.DURATION);
  private static final ConditionParamType TIMESTAMP = ConditionParamType.of(Kind.TIMESTAMP);
  private static final ConditionParamType IP = ConditionParamType.of(Kind.IPADDRESS);

  private static Arguments ok(ConditionParamType type, Object input, Object output) {
    return Arguments.of(type, input, output, null);
  }

  private static Arguments error(ConditionParamType type, Object input, String message) {
    return Arguments.of(type, input, null, message);
  }

  static Stream<Arguments> conversions() {
    return Stream.of(
        ok(ANY, "hello", "hello"),
        ok(ANY, 5, 5.0),
        ok(ANY, List.of(1, "a"), List.of(1.0, "a")),
        ok(BOOL, true, true),
        error(BOOL, "true", "expected type value 'bool', but found 'string'"),
        error(BOOL, null, "expected type value 'bool', but found '%!s(<nil>)'"),
        error(STRING, 10, "expected type value 'string', but found 'float64'"),
        ok(INT, 10, 10L),
        ok(INT, 10.0, 10L),
        ok(INT, "10", 10L),
        ok(INT, "-1e3", -1000L),
        error(INT, 10.5, "expected an int value, but found numeric value '10.5'"),
        error(INT, "abc", "expected a int64 value, but found invalid string value 'abc'"),
        error(INT, " 1", "expected a int64 value, but found invalid string value ' 1'"),
        error(INT, true, "expected type value 'int64', but found 'bool'"),
        // Go's big.Float.Int64 saturates.
        ok(INT, 1e30, Long.MAX_VALUE),
        ok(INT, "-1e30", Long.MIN_VALUE),
        // At 64 bits of precision the fraction is lost, so this is the integer 1.
        ok(INT, "1.00000000000000000000001", 1L),
        ok(UINT, 10, UnsignedLong.valueOf(10)),
        ok(UINT, 10.0, UnsignedLong.valueOf(10)),
        error(UINT, 10.5, "expected a uint value, but found numeric value '10.5'"),
        error(UINT, -10.5, "expected a uint value, but found numeric value '-10.5'"),
        error(UINT, -1, "expected a uint value, but found int64 value '-1'"),
        // OpenFGA narrows a uint through int64.
        ok(UINT, "18446744073709551615", UnsignedLong.valueOf(Long.MAX_VALUE)),
        ok(DOUBLE, 10.5, 10.5),
        ok(DOUBLE, 2, 2.0),
        ok(DOUBLE, new BigDecimal("0.1"), 0.1),
        ok(DOUBLE, "1.5", 1.5),
        ok(DOUBLE, "Inf", Double.POSITIVE_INFINITY),
        error(
            DOUBLE,
            "invalid",
            "expected a float64 value, but found invalid string value 'invalid'"),
        error(DOUBLE, "NaN", "expected a float64 value, but found invalid string value 'NaN'"),
        error(
            DOUBLE,
            "1.79769313486231570814527423731704356798070e+309",
            "number cannot be represented as a float64: 1.797693135e+309"),
        error(DOUBLE, "1.8e+309", "number cannot be represented as a float64: 1.8e+309"),
        // A string is read at 64 bits and must then fit float64 exactly, which 0.1 does not.
        error(DOUBLE, "0.1", "number cannot be represented as a float64: 0.1"),
        error(DOUBLE, new BigDecimal("1e400"), "number cannot be represented as a float64: 1E+400"),
        ok(DURATION, "1h", Duration.ofHours(1)),
        ok(DURATION, "1h30m", Duration.ofMinutes(90)),
        error(DURATION, "2sm", "expected a valid duration string, but found: '2sm'"),
        error(DURATION, 5, "expected a duration string, but found: float64 '5'"),
        ok(TIMESTAMP, "1972-01-01T10:00:20.021Z", Instant.parse("1972-01-01T10:00:20.021Z")),
        ok(TIMESTAMP, "2023-09-14T12:00:00+02:00", Instant.parse("2023-09-14T10:00:00Z")),
        error(
            TIMESTAMP,
            "2023-0914",
            "expected RFC 3339 formatted timestamp string, but found '2023-0914'"),
        error(
            TIMESTAMP,
            "2023-09-14T10:00Z",
            "expected RFC 3339 formatted timestamp string, but found '2023-09-14T10:00Z'"),
        error(
            TIMESTAMP,
            1e6,
            "expected RFC 3339 formatted timestamp string, but found: float64 '1e+06'"),
        ok(IP, "127.0.0.1", ConditionEvaluator.IpAddress.parse("127.0.0.1")),
        ok(IP, "::ffff:192.168.1.1", ConditionEvaluator.IpAddress.parse("192.168.1.1")),
        error(IP, "invalid", "expected a well-formed IP address, but found: 'invalid'"),
        error(IP, "010.0.0.1", "expected a well-formed IP address, but found: '010.0.0.1'"),
        error(IP, true, "expected an ipaddress string, but found: bool 'true'"),
        ok(ConditionParamType.mapOf(STRING), Map.of("hello", "world"), Map.of("hello", "world")),
        ok(ConditionParamType.mapOf(INT), Map.of("k", 2), Map.of("k", 2L)),
        error(ConditionParamType.mapOf(STRING), "x", "map requires a map, found: string"),
        error(
            ConditionParamType.mapOf(STRING),
            Map.of("hello", 1),
            "found an invalid value for key 'hello': expected type value 'string', but found"
                + " 'float64'"),
        ok(ConditionParamType.listOf(STRING), List.of("hello", "world"), List.of("hello", "world")),
        error(ConditionParamType.listOf(STRING), "hello", "list requires a list, found: string"),
        error(
            ConditionParamType.listOf(STRING),
            List.of("hello", 1),
            "found an invalid list item at index `1`: expected type value 'string', but found"
                + " 'float64'"),
        error(
            ConditionParamType.listOf(ConditionParamType.mapOf(BOOL)),
            List.of(Map.of("a", true), Map.of("b", "x")),
            "found an invalid list item at index `1`: found an invalid value for key 'b':"
                + " expected type value 'bool', but found 'string'"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("conversions")
  void convertsAsOpenFgaDoes(ConditionParamType type, Object input, Object output, String message) {
    if (message == null) {
      assertThat(ConditionEvaluator.convert(type, input)).isEqualTo(output);
    } else {
      assertThatThrownBy(() -> ConditionEvaluator.convert(type, input))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(message);
    }
  }

  // ------------------------------------------------------------------ evaluation

  private static ConditionEvaluator single(String expression, Object... nameTypePairs) {
    Map<String, ConditionParamType> params = new LinkedHashMap<>();
    for (int i = 0; i < nameTypePairs.length; i += 2) {
      params.put((String) nameTypePairs[i], (ConditionParamType) nameTypePairs[i + 1]);
    }
    return ConditionEvaluator.compile(Map.of("c", new Condition("c", params, expression)));
  }

  private static Map<String, Object> context(Object... keyValues) {
    Map<String, Object> out = new HashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      out.put((String) keyValues[i], keyValues[i + 1]);
    }
    return out;
  }

  static Stream<Arguments> evaluations() {
    return Stream.of(
        // ipaddress_test.go
        Arguments.of("ip.in_cidr('192.168.1.0/24')", IP, "192.168.1.1", true),
        Arguments.of("ip.in_cidr('10.0.0.0/8')", IP, "192.168.1.1", false),
        Arguments.of("ip.in_cidr('192.168.1.0/24')", IP, "::ffff:192.168.1.1", true),
        Arguments.of("ip.in_cidr('10.0.0.0/8')", IP, "::ffff:192.168.1.1", false),
        Arguments.of("ip.in_cidr('::ffff:192.168.1.0/120')", IP, "::ffff:192.168.1.1", true),
        Arguments.of("ip.in_cidr('::ffff:192.168.1.0/120')", IP, "192.168.1.1", true),
        Arguments.of("ip.in_cidr('::ffff:10.0.0.0/104')", IP, "192.168.1.1", false),
        Arguments.of("ip.in_cidr('2001:db8::/32')", IP, "2001:db8::1", true),
        Arguments.of("ip == ipaddress('10.0.0.1')", IP, "10.0.0.1", true),
        Arguments.of("ip == ipaddress('10.0.0.2')", IP, "10.0.0.1", false),
        Arguments.of(
            "ips.exists(i, i.in_cidr('10.0.0.0/8'))",
            ConditionParamType.listOf(IP),
            List.of("192.168.0.1", "10.1.2.3"),
            true),
        Arguments.of("d > duration('1h')", DURATION, "90m", true),
        Arguments.of("d > duration('1h')", DURATION, "59m59s", false),
        Arguments.of(
            "t < timestamp('2024-01-01T00:00:00Z')", TIMESTAMP, "2023-12-31T23:59:59Z", true),
        Arguments.of(
            "t < timestamp('2024-01-01T00:00:00Z')", TIMESTAMP, "2024-01-01T01:00:00+01:00", false),
        Arguments.of("n > 5u", UINT, 6, true),
        Arguments.of("n > 5u", UINT, "5", false),
        Arguments.of("x >= 1.5", DOUBLE, 1.5, true),
        Arguments.of("x >= 1.5", DOUBLE, "1.25", false),
        Arguments.of("m['k'] == 2", ConditionParamType.mapOf(INT), Map.of("k", 2), true),
        Arguments.of("'z' in l", ConditionParamType.listOf(STRING), List.of("a", "z"), true),
        Arguments.of("a == 'x'", ANY, "x", true),
        Arguments.of("a.size() == 2", ANY, List.of(1, 2), true),
        // any numbers are float64, and CEL's equality is heterogeneous, as in cel-go.
        Arguments.of("a == 5", ANY, 5, true),
        Arguments.of("a == 5.0", ANY, 5, true),
        Arguments.of("b", BOOL, true, true),
        Arguments.of("s.startsWith('ad')", STRING, "admin", true),
        Arguments.of("n < 0", INT, -3, true));
  }

  @ParameterizedTest(name = "{0} with {2}")
  @MethodSource("evaluations")
  void evaluatesAsOpenFgaDoes(
      String expression, ConditionParamType type, Object value, boolean expected) {
    String param = parameterOf(expression);
    ConditionResult result =
        single(expression, param, type).evaluate("c", Map.of(), context(param, value));

    assertThat(result).as(expression).isEqualTo(ConditionResult.of(expected));
  }

  /** The one identifier in the expression that is a parameter. */
  private static String parameterOf(String expression) {
    return Arrays.stream(expression.split("[^a-z]+"))
        .filter(w -> List.of("ip", "ips", "d", "t", "n", "x", "m", "l", "a", "b", "s").contains(w))
        .findFirst()
        .orElseThrow();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("evaluationErrors")
  void evaluationErrorsAreValidationErrors(
      String expression, ConditionParamType type, String message) {
    ConditionEvaluator evaluator =
        type == null ? single(expression) : single(expression, "ip", type);
    Map<String, Object> context = type == null ? Map.of() : Map.of("ip", "192.168.1.1");

    assertThatThrownBy(() -> evaluator.evaluate("c", Map.of(), context))
        .isInstanceOf(CastellanException.class)
        .hasMessage(message)
        .satisfies(e -> assertThat(((CastellanException) e).code().number()).isEqualTo(2000));
  }

  static Stream<Arguments> evaluationErrors() {
    String prefix =
        "failed to evaluate relationship condition: 'c' - failed to evaluate condition expression: ";
    return Stream.of(
        Arguments.of(
            "ip.in_cidr('malformed')", IP, prefix + "'malformed' is a malformed CIDR string"),
        Arguments.of(
            "ipaddress('192.168.0').in_cidr('192.168.0.0/24')",
            null,
            prefix + "ParseAddr(\"192.168.0\"): malformed address"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("literals")
  void ipaddressLiteralsNeedNoParameter(String expression, boolean expected) {
    assertThat(single(expression).evaluate("c", Map.of(), Map.of()))
        .isEqualTo(ConditionResult.of(expected));
  }

  static Stream<Arguments> literals() {
    return Stream.of(
        Arguments.of("ipaddress('192.168.0.1').in_cidr('192.168.0.0/24')", true),
        Arguments.of("ipaddress('192.168.1.1').in_cidr('192.168.0.0/24')", false));
  }

  @Test
  void ipaddressOfABool_isAnInvalidModel() {
    assertThatThrownBy(() -> single("ipaddress(true).in_cidr('192.168.0.0/24')"))
        .isInstanceOf(InvalidModelException.class)
        .hasMessageContaining("ipaddress");
  }

  @Test
  void contextForAConditionWithoutParameters_isAParameterTypeError() {
    assertThatThrownBy(() -> single("true").evaluate("c", Map.of(), Map.of("a", 1)))
        .isInstanceOf(CastellanException.class)
        .hasMessage(
            "failed to evaluate relationship condition: parameter type error on condition 'c' -"
                + " no parameters defined for the condition")
        .extracting(e -> ((CastellanException) e).code())
        .isEqualTo(ErrorCode.VALIDATION_ERROR);
  }
}
