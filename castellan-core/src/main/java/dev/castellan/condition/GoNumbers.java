package dev.castellan.condition;

import com.google.common.primitives.UnsignedLong;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * OpenFGA's numeric parameter conversions, which are Go's: a JSON number reaches OpenFGA as a
 * float64 (protobuf's {@code Struct}); a numeric string is read by {@code big.ParseFloat} at 64
 * bits of precision, then narrowed. So an {@code int} saturates at the int64 bounds, a {@code uint}
 * at the int64 maximum (OpenFGA narrows through int64), and a {@code double} given as a string is
 * refused when float64 cannot hold it exactly ({@code "1.8e+309"}, and {@code "0.1"} too, which has
 * no exact binary form). The messages are OpenFGA's, with Go's number formatting.
 */
final class GoNumbers {
  private GoNumbers() {}

  /** {@code big.Float.Parse} with base 10: decimal with optional exponent, or an infinity. */
  private static final Pattern GO_FLOAT =
      Pattern.compile("[+-]?(?:(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[Ii]nf)");

  /** Longer numeric strings are refused: their exact reading costs more than it is worth. */
  private static final int MAX_NUMERIC_STRING = 1024;

  /** Decimal exponents beyond which a value is far outside float64 and int64 in either way. */
  private static final int HUGE_EXPONENT = 400;

  private static final BigDecimal TWO_63 = new BigDecimal(BigInteger.ONE.shiftLeft(63));

  /** A numeric value as Go holds it: finite (exact) or an infinity. */
  private record GoFloat(BigDecimal value, int infinity) {
    static GoFloat of(BigDecimal value) {
      return new GoFloat(value, 0);
    }

    boolean isInt() {
      return infinity == 0 && (value.signum() == 0 || value.stripTrailingZeros().scale() <= 0);
    }

    /** {@code big.Float.Int64}: saturating. */
    long int64() {
      if (infinity != 0) {
        return infinity > 0 ? Long.MAX_VALUE : Long.MIN_VALUE;
      }
      if (value.compareTo(TWO_63) >= 0) {
        return Long.MAX_VALUE;
      }
      if (value.compareTo(TWO_63.negate()) < 0) {
        return Long.MIN_VALUE;
      }
      return value.setScale(0, RoundingMode.DOWN).longValueExact();
    }

    /** {@code big.Float.String()}: {@code %g} with 10 significant digits. */
    @Override
    public String toString() {
      if (infinity != 0) {
        return infinity > 0 ? "+Inf" : "-Inf";
      }
      return formatG(value, 10, false);
    }
  }

  static long toInt(Object value) {
    GoFloat f = read(value, "int64");
    if (!f.isInt()) {
      throw new IllegalArgumentException(
          "expected an int value, but found numeric value '" + f + "'");
    }
    return f.int64();
  }

  static UnsignedLong toUint(Object value) {
    GoFloat f = read(value, "uint64");
    if (!f.isInt()) {
      throw new IllegalArgumentException(
          "expected a uint value, but found numeric value '" + f + "'");
    }
    long n = f.int64();
    if (n < 0) {
      throw new IllegalArgumentException(
          "expected a uint value, but found int64 value '" + f + "'");
    }
    return UnsignedLong.fromLongBits(n);
  }

  static double toDouble(Object value) {
    if (value instanceof Number n) {
      return jsonDouble(n); // a float64 already: taken as it is
    }
    GoFloat f = read(value, "float64");
    if (f.infinity != 0) {
      return f.infinity > 0 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
    }
    BigDecimal v = f.value;
    double d = v.doubleValue();
    if (Double.isInfinite(d) || new BigDecimal(d).compareTo(v) != 0) {
      throw new IllegalArgumentException("number cannot be represented as a float64: " + f);
    }
    return d;
  }

  /**
   * A JSON number as the float64 OpenFGA receives. One that float64 cannot hold at all would not
   * have parsed there; it is refused here.
   */
  static double jsonDouble(Number n) {
    double d =
        switch (n) {
          case BigDecimal b -> b.doubleValue();
          case BigInteger b -> b.doubleValue();
          default -> n.doubleValue();
        };
    if (!Double.isFinite(d)) {
      throw new IllegalArgumentException("number cannot be represented as a float64: " + n);
    }
    return d;
  }

  private static GoFloat read(Object value, String goType) {
    if (value instanceof Number n) {
      return GoFloat.of(new BigDecimal(jsonDouble(n)));
    }
    if (!(value instanceof String text)) {
      throw new IllegalArgumentException(
          "expected type value '" + goType + "', but found '" + reflectType(value) + "'");
    }
    if (text.length() > MAX_NUMERIC_STRING || !GO_FLOAT.matcher(text).matches()) {
      throw new IllegalArgumentException(
          "expected a " + goType + " value, but found invalid string value '" + text + "'");
    }
    if (text.endsWith("nf")) {
      return new GoFloat(BigDecimal.ZERO, text.startsWith("-") ? -1 : 1);
    }
    BigDecimal exact = new BigDecimal(text.startsWith("+") ? text.substring(1) : text);
    if (exact.signum() == 0) {
      return GoFloat.of(BigDecimal.ZERO);
    }
    int exponent = exact.precision() - exact.scale() - 1;
    if (exponent > HUGE_EXPONENT || exponent < -HUGE_EXPONENT) {
      // Far beyond float64 and int64: only the leading digits matter, for the message.
      return GoFloat.of(exact.round(new MathContext(20, RoundingMode.HALF_EVEN)));
    }
    return GoFloat.of(round64(exact));
  }

  /** Rounds to a 64-bit binary mantissa, half to even: {@code big.ParseFloat}'s precision 64. */
  static BigDecimal round64(BigDecimal x) {
    if (x.signum() == 0) {
      return x;
    }
    BigInteger unscaled = x.unscaledValue().abs();
    BigInteger num;
    BigInteger den;
    if (x.scale() > 0) {
      num = unscaled;
      den = BigInteger.TEN.pow(x.scale());
    } else {
      num = unscaled.multiply(BigInteger.TEN.pow(-x.scale()));
      den = BigInteger.ONE;
    }
    // q = num * 2^shift / den has 64 or 65 bits.
    int shift = 64 - (num.bitLength() - den.bitLength());
    BigInteger n = shift >= 0 ? num.shiftLeft(shift) : num;
    BigInteger d = shift >= 0 ? den : den.shiftLeft(-shift);
    BigInteger[] qr = n.divideAndRemainder(d);
    BigInteger q = qr[0];
    int cmp;
    int extra = q.bitLength() - 64;
    if (extra > 0) {
      BigInteger dropped = q.and(BigInteger.ONE.shiftLeft(extra).subtract(BigInteger.ONE));
      q = q.shiftRight(extra);
      shift -= extra;
      cmp = dropped.compareTo(BigInteger.ONE.shiftLeft(extra - 1));
      if (cmp == 0 && qr[1].signum() != 0) {
        cmp = 1;
      }
    } else {
      cmp = qr[1].shiftLeft(1).compareTo(d);
    }
    if (cmp > 0 || (cmp == 0 && q.testBit(0))) {
      q = q.add(BigInteger.ONE);
    }
    BigDecimal v =
        shift >= 0
            ? new BigDecimal(q).divide(new BigDecimal(BigInteger.ONE.shiftLeft(shift)))
            : new BigDecimal(q.shiftLeft(-shift));
    return x.signum() < 0 ? v.negate() : v;
  }

  /**
   * Go's {@code %g} (strconv and math/big): {@code prec} significant digits, or the shortest exact
   * digits when {@code shortest}; exponent form below 1e-4 or at and above the precision (6 when
   * shortest), trailing zeros dropped.
   */
  static String formatG(BigDecimal value, int prec, boolean shortest) {
    if (value.signum() == 0) {
      return "0";
    }
    BigDecimal rounded =
        shortest ? value : value.round(new MathContext(prec, RoundingMode.HALF_EVEN));
    BigDecimal stripped = rounded.stripTrailingZeros();
    String digits = stripped.unscaledValue().abs().toString();
    int nd = digits.length();
    int dp = nd - stripped.scale(); // decimal point position, as in Go's decimal
    String sign = stripped.signum() < 0 ? "-" : "";
    int eprec = shortest ? 6 : (prec > nd && nd >= dp ? nd : prec);
    int exp = dp - 1;
    if (exp < -4 || exp >= eprec) {
      StringBuilder out = new StringBuilder(sign).append(digits.charAt(0));
      if (nd > 1) {
        out.append('.').append(digits, 1, nd);
      }
      out.append('e').append(exp < 0 ? '-' : '+');
      int abs = Math.abs(exp);
      if (abs < 10) {
        out.append('0');
      }
      return out.append(abs).toString();
    }
    return sign + stripped.abs().toPlainString();
  }

  /** Go's {@code %T} of a JSON value as protobuf's {@code Struct} gives it. */
  static String goType(Object value) {
    return switch (value) {
      case null -> "<nil>";
      case String s -> "string";
      case Boolean b -> "bool";
      case Number n -> "float64";
      case List<?> l -> "[]interface {}";
      case Map<?, ?> m -> "map[string]interface {}";
      default -> value.getClass().getSimpleName();
    };
  }

  /** Go's {@code %s} of {@code reflect.TypeOf(value)}, as OpenFGA's primitive messages print it. */
  static String reflectType(Object value) {
    return value == null ? "%!s(<nil>)" : goType(value);
  }

  /** Go's {@code %v} of a JSON value (numbers are float64). */
  static String goValue(Object value) {
    return switch (value) {
      case null -> "<nil>";
      case Number n -> {
        double d = jsonDoubleOrInfinity(n);
        yield Double.isFinite(d)
            ? formatG(new BigDecimal(Double.toString(d)), 0, true)
            : (d > 0 ? "+Inf" : "-Inf");
      }
      default -> String.valueOf(value);
    };
  }

  private static double jsonDoubleOrInfinity(Number n) {
    return n instanceof BigDecimal b ? b.doubleValue() : n.doubleValue();
  }
}
