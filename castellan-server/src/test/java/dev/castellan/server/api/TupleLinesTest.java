package dev.castellan.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Import lines read their condition contexts as request bodies do ({@link Body#context}). */
class TupleLinesTest {

  private static TupleLines lines(String text) {
    return new TupleLines(
        new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), 1 << 20, tuple -> {});
  }

  private static String line(String number) {
    return "{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:a\","
        + "\"condition\":{\"name\":\"c\",\"context\":{\"x\":"
        + number
        + "}}}\n";
  }

  @Test
  void next_aContextNumberOutsideTheRangeOfADouble_isAValidationError() {
    TupleLines lines = lines(line("1.5") + line("1e999999999"));
    Tuple first = lines.next();
    assertThat(first.conditionContext()).containsEntry("x", new BigDecimal("1.5"));
    assertThatThrownBy(lines::next)
        .isInstanceOf(CastellanException.class)
        .hasMessageStartingWith("'line 2.condition.context.x' is the number 1E+999999999")
        .satisfies(
            e -> assertThat(((CastellanException) e).code()).isEqualTo(ErrorCode.VALIDATION_ERROR));
  }

  /** Jackson's parser throws NumberFormatException for an exponent beyond an int: not a 500. */
  @Test
  void next_anExponentBeyondAnInt_isAValidationError() {
    assertThatThrownBy(() -> lines(line("1e-2147483648")).next())
        .isInstanceOf(CastellanException.class)
        .hasMessage(
            "line 1 holds a number outside the range of a double (its exponent is out of range)");
  }
}
