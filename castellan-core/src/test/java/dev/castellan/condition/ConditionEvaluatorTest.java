package dev.castellan.condition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.model.Condition;
import dev.castellan.model.ConditionParamType;
import dev.castellan.model.ConditionParamType.Kind;
import dev.castellan.model.InvalidModelException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ConditionEvaluatorTest {

  private static final ConditionParamType STRING = ConditionParamType.of(Kind.STRING);
  private static final ConditionParamType INT = ConditionParamType.of(Kind.INT);
  private static final ConditionParamType TIMESTAMP = ConditionParamType.of(Kind.TIMESTAMP);
  private static final ConditionParamType DURATION = ConditionParamType.of(Kind.DURATION);
  private static final ConditionParamType IP = ConditionParamType.of(Kind.IPADDRESS);

  /** One condition, parameters in declaration order as name/type pairs. */
  private static ConditionEvaluator single(String expression, Object... nameTypePairs) {
    Map<String, ConditionParamType> params = new LinkedHashMap<>();
    for (int i = 0; i < nameTypePairs.length; i += 2) {
      params.put((String) nameTypePairs[i], (ConditionParamType) nameTypePairs[i + 1]);
    }
    return ConditionEvaluator.compile(Map.of("c", new Condition("c", params, expression)));
  }

  private static boolean met(ConditionEvaluator evaluator, Map<String, Object> request) {
    ConditionResult result = evaluator.evaluate("c", Map.of(), request);
    assertThat(result.missingParameters()).isEmpty();
    return result.met();
  }

  private static ConditionEvaluator timeBasedGrant() {
    return single(
        "current_time < grant_time + grant_duration",
        "current_time",
        TIMESTAMP,
        "grant_time",
        TIMESTAMP,
        "grant_duration",
        DURATION);
  }

  @Test
  void timeBasedGrantFromTheModelingGuide() {
    ConditionEvaluator evaluator = timeBasedGrant();
    Map<String, Object> tuple =
        Map.of("grant_time", "2023-01-01T00:00:00Z", "grant_duration", "1h");

    assertThat(evaluator.evaluate("c", tuple, Map.of("current_time", "2023-01-01T00:10:00Z")).met())
        .isTrue();
    assertThat(evaluator.evaluate("c", tuple, Map.of("current_time", "2023-01-01T02:00:00Z")).met())
        .isFalse();
  }

  @Test
  void tupleContextWinsOverRequestContext() {
    ConditionEvaluator evaluator = single("x == 'tuple'", "x", STRING);

    assertThat(evaluator.evaluate("c", Map.of("x", "tuple"), Map.of("x", "request")).met())
        .isTrue();
    assertThat(evaluator.evaluate("c", Map.of("x", "other"), Map.of("x", "tuple")).met()).isFalse();
    assertThat(evaluator.evaluate("c", null, Map.of("x", "tuple")).met()).isTrue();
  }

  @Test
  void missingParametersAreListedSortedWithoutEvaluating() {
    ConditionEvaluator evaluator = timeBasedGrant();

    ConditionResult result =
        evaluator.evaluate("c", Map.of("grant_duration", "1h"), Map.of("unrelated", 1));

    assertThat(result.met()).isFalse();
    assertThat(result.missingParameters()).containsExactly("current_time", "grant_time");
  }

  @Test
  void missingParameterIsReportedEvenWhenTheResultWouldNotNeedIt() {
    // OpenFGA reports every declared parameter nobody supplied and never decides by short-circuit.
    ConditionEvaluator evaluator = single("x < 100 || y < 50", "x", INT, "y", INT);

    assertThat(evaluator.evaluate("c", Map.of(), Map.of("x", 1)))
        .isEqualTo(ConditionResult.missing(List.of("y")));
    assertThat(evaluator.evaluate("c", Map.of(), Map.of("x", 1, "y", 99)))
        .isEqualTo(ConditionResult.of(true));
  }

  @Test
  void intParameters() {
    ConditionEvaluator evaluator = single("n > 5", "n", INT);

    assertThat(met(evaluator, Map.of("n", 6))).isTrue();
    assertThat(met(evaluator, Map.of("n", 5L))).isFalse();
    assertThat(met(evaluator, Map.of("n", 7.0))).isTrue();
    assertThat(met(evaluator, Map.of("n", "10"))).isTrue();
  }

  @Test
  void uintParameters() {
    ConditionEvaluator evaluator = single("n > 5u", "n", ConditionParamType.of(Kind.UINT));

    assertThat(met(evaluator, Map.of("n", 6))).isTrue();
    assertThat(met(evaluator, Map.of("n", 4))).isFalse();
    assertThatThrownBy(() -> evaluator.evaluate("c", Map.of(), Map.of("n", -1)))
        .isInstanceOf(CastellanException.class)
        .extracting(e -> ((CastellanException) e).code())
        .isEqualTo(ErrorCode.VALIDATION_ERROR);
  }

  /**
   * A numeric string with a huge exponent reached {@code toBigIntegerExact}, which built a number
   * of 330 million bits for {@code "1e99999999"}: minutes of CPU per check. It is decided at once.
   */
  @Test
  void numericStringsWithHugeExponents_areDecidedQuickly() {
    // OpenFGA saturates int and uint and refuses a double beyond float64; either way at once.
    long start = System.nanoTime();
    for (Kind kind : new Kind[] {Kind.UINT, Kind.INT, Kind.DOUBLE}) {
      ConditionEvaluator evaluator = single("n == n", "n", ConditionParamType.of(kind));
      for (Object value :
          new Object[] {
            "1e99999999", "-1e-99999999", new BigDecimal("1e99999999"), "1".repeat(1025)
          }) {
        try {
          evaluator.evaluate("c", Map.of(), Map.of("n", value));
        } catch (CastellanException e) {
          assertThat(e.code())
              .as("%s %s", kind, value.toString().substring(0, 10))
              .isEqualTo(ErrorCode.VALIDATION_ERROR);
        }
      }
      assertThat(met(evaluator, Map.of("n", "12e2"))).isTrue();
    }
    ConditionEvaluator doubles = single("n == n", "n", ConditionParamType.of(Kind.DOUBLE));
    assertThatThrownBy(() -> doubles.evaluate("c", Map.of(), Map.of("n", "1e99999999")))
        .isInstanceOf(CastellanException.class);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void doubleParameters() {
    ConditionEvaluator evaluator = single("d >= 1.5", "d", ConditionParamType.of(Kind.DOUBLE));

    assertThat(met(evaluator, Map.of("d", 1.5))).isTrue();
    assertThat(met(evaluator, Map.of("d", 2))).isTrue();
    assertThat(met(evaluator, Map.of("d", new BigDecimal("1.25")))).isFalse();
  }

  @Test
  void boolAndStringParameters() {
    ConditionEvaluator evaluator =
        single("flag && name.startsWith('ad')", "flag", bool(), "name", STRING);

    assertThat(met(evaluator, Map.of("flag", true, "name", "admin"))).isTrue();
    assertThat(met(evaluator, Map.of("flag", false, "name", "admin"))).isFalse();
    assertThat(met(evaluator, Map.of("flag", true, "name", "user"))).isFalse();
  }

  @Test
  void listParameters() {
    ConditionEvaluator evaluator =
        single("'x' in allowed", "allowed", ConditionParamType.listOf(STRING));

    assertThat(met(evaluator, Map.of("allowed", List.of("a", "x")))).isTrue();
    assertThat(met(evaluator, Map.of("allowed", List.of("a", "b")))).isFalse();
  }

  @Test
  void standardMacrosAreAvailable() {
    ConditionEvaluator evaluator =
        single("ns.exists(n, n > 2) && ns.all(n, n > 0)", "ns", ConditionParamType.listOf(INT));

    assertThat(met(evaluator, Map.of("ns", List.of(1, 3)))).isTrue();
    assertThat(met(evaluator, Map.of("ns", List.of(1, 2)))).isFalse();
  }

  @Test
  void mapParameters() {
    ConditionEvaluator evaluator = single("m['k'] == 'v'", "m", ConditionParamType.mapOf(STRING));

    assertThat(met(evaluator, Map.of("m", Map.of("k", "v")))).isTrue();
    assertThat(met(evaluator, Map.of("m", Map.of("k", "w")))).isFalse();
  }

  @Test
  void nestedAndAnyParameters() {
    ConditionEvaluator evaluator =
        single(
            "limits['max'][1] == 3 && extra.size() == 2",
            "limits",
            ConditionParamType.mapOf(ConditionParamType.listOf(INT)),
            "extra",
            ConditionParamType.of(Kind.ANY));

    assertThat(
            met(
                evaluator,
                Map.of("limits", Map.of("max", List.of(1, 3)), "extra", List.of(1, "a"))))
        .isTrue();
    assertThat(
            met(
                evaluator,
                Map.of("limits", Map.of("max", List.of(1, 2)), "extra", List.of(1, "a"))))
        .isFalse();
  }

  @Test
  void ipv4InCidr() {
    ConditionEvaluator evaluator = single("user_ip.in_cidr('192.168.0.0/24')", "user_ip", IP);

    assertThat(met(evaluator, Map.of("user_ip", "192.168.0.1"))).isTrue();
    assertThat(met(evaluator, Map.of("user_ip", "192.168.1.1"))).isFalse();
    assertThat(met(evaluator, Map.of("user_ip", "::1"))).isFalse();
  }

  @Test
  void ipv6InCidr() {
    ConditionEvaluator evaluator = single("user_ip.in_cidr('2001:db8::/33')", "user_ip", IP);

    assertThat(met(evaluator, Map.of("user_ip", "2001:db8:7fff::1"))).isTrue();
    assertThat(met(evaluator, Map.of("user_ip", "2001:db8:8000::1"))).isFalse();
  }

  @Test
  void malformedCidrIsAnEvaluationError() {
    ConditionEvaluator evaluator = single("user_ip.in_cidr('10.0.0.0/33')", "user_ip", IP);

    assertThatThrownBy(() -> evaluator.evaluate("c", Map.of(), Map.of("user_ip", "10.0.0.1")))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("malformed CIDR")
        .extracting(e -> ((CastellanException) e).code())
        .isEqualTo(ErrorCode.CONDITION_EVALUATION_ERROR);
  }

  @Test
  void valuesThatDoNotConvertAreValidationErrors() {
    assertValidationError(single("n > 1", "n", INT), "n", "abc");
    assertValidationError(single("n > 1", "n", INT), "n", 1.5);
    assertValidationError(single("d > duration('1s')", "d", DURATION), "d", "1 hour");
    assertValidationError(
        single("t > timestamp('2023-01-01T00:00:00Z')", "t", TIMESTAMP), "t", "yesterday");
    assertValidationError(single("ip.in_cidr('10.0.0.0/8')", "ip", IP), "ip", "example.com");
    assertValidationError(single("s == 'a'", "s", STRING), "s", 1);
  }

  private static void assertValidationError(
      ConditionEvaluator evaluator, String name, Object value) {
    assertThatThrownBy(() -> evaluator.evaluate("c", Map.of(name, value), Map.of()))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("'" + name + "'")
        .hasMessageContaining("'c'")
        .extracting(e -> ((CastellanException) e).code())
        .isEqualTo(ErrorCode.VALIDATION_ERROR);
  }

  @Test
  void goDurations() {
    assertThat(ConditionEvaluator.parseGoDuration("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(ConditionEvaluator.parseGoDuration("1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThat(ConditionEvaluator.parseGoDuration("100ms")).isEqualTo(Duration.ofMillis(100));
    assertThat(ConditionEvaluator.parseGoDuration("-2us")).isEqualTo(Duration.ofNanos(-2000));
    assertThat(ConditionEvaluator.parseGoDuration("0")).isEqualTo(Duration.ZERO);
    assertThat(ConditionEvaluator.parseGoDuration("2h45m10.5s"))
        .isEqualTo(Duration.ofHours(2).plusMinutes(45).plusMillis(10_500));
    assertThat(ConditionEvaluator.parseGoDuration(".5h")).isEqualTo(Duration.ofMinutes(30));
    assertThat(ConditionEvaluator.parseGoDuration("3\u00b5s")).isEqualTo(Duration.ofNanos(3000));
    for (String bad : List.of("", "-", "1", "h", ".s", "1d", "1h 30m", "1.h.", "3000000h")) {
      assertThatThrownBy(() -> ConditionEvaluator.parseGoDuration(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void runtimeErrorsAreEvaluationErrors() {
    ConditionEvaluator evaluator = single("10 / n == 1", "n", INT);

    assertThatThrownBy(() -> evaluator.evaluate("c", Map.of(), Map.of("n", 0)))
        .isInstanceOf(CastellanException.class)
        .hasMessageNotContaining("\n")
        .extracting(e -> ((CastellanException) e).code())
        .isEqualTo(ErrorCode.CONDITION_EVALUATION_ERROR);
  }

  @Test
  void expressionThatDoesNotCompileIsAnInvalidModel() {
    assertThatThrownBy(() -> single("x == ", "x", STRING))
        .isInstanceOf(InvalidModelException.class)
        .satisfies(
            e -> {
              var error = ((InvalidModelException) e).errors().get(0);
              assertThat(error.kind()).isEqualTo("condition-invalid");
              assertThat(error.message()).contains("'c'");
            });
    assertThatThrownBy(() -> single("undeclared > 1", "x", STRING))
        .isInstanceOf(InvalidModelException.class)
        .hasMessageContaining("undeclared");
    assertThatThrownBy(() -> single("x > 1", "x", STRING))
        .isInstanceOf(InvalidModelException.class);
  }

  @Test
  void nonBoolExpressionIsAnInvalidModel() {
    assertThatThrownBy(() -> single("n + 1", "n", INT))
        .isInstanceOf(InvalidModelException.class)
        .hasMessageContaining("bool");
  }

  @Test
  void overlongExpressionIsAnInvalidModel() {
    String expression = "true" + " && true".repeat(600);

    assertThatThrownBy(() -> single(expression))
        .isInstanceOf(InvalidModelException.class)
        .hasMessageContaining("4096");
  }

  @Test
  void concurrentEvaluationGivesCorrectResults() throws Exception {
    ConditionEvaluator evaluator = timeBasedGrant();
    Map<String, Object> tuple =
        Map.of("grant_time", "2023-01-01T00:00:00Z", "grant_duration", "1h");
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> futures = new ArrayList<>();
      for (int i = 0; i < 2000; i++) {
        int minutes = i % 120;
        futures.add(
            pool.submit(
                () -> {
                  Map<String, Object> request = new HashMap<>();
                  request.put(
                      "current_time",
                      String.format("2023-01-01T%02d:%02d:00Z", minutes / 60, minutes % 60));
                  boolean expected = minutes < 60;
                  return evaluator.evaluate("c", tuple, request).met() == expected;
                }));
      }
      for (Future<Boolean> f : futures) {
        assertThat(f.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static ConditionParamType bool() {
    return ConditionParamType.of(Kind.BOOL);
  }
}
