package dev.castellan.condition;

import com.google.common.net.InetAddresses;
import com.google.common.primitives.UnsignedLong;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.model.Condition;
import dev.castellan.model.ConditionParamType;
import dev.castellan.model.InvalidModelException;
import dev.castellan.model.ModelError;
import dev.castellan.model.SourceSpan;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelBuilder;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelErrorCode;
import dev.cel.common.CelException;
import dev.cel.common.CelFunctionDecl;
import dev.cel.common.CelIssue;
import dev.cel.common.CelOptions;
import dev.cel.common.CelOverloadDecl;
import dev.cel.common.CelValidationResult;
import dev.cel.common.types.CelType;
import dev.cel.common.types.ListType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.OpaqueType;
import dev.cel.common.types.SimpleType;
import dev.cel.common.values.NullValue;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelAttribute;
import dev.cel.runtime.CelAttributePattern;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelUnknownSet;
import dev.cel.runtime.PartialVars;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Compiles a model's conditions once and evaluates them against tuple and request context, with
 * OpenFGA's semantics: context values are converted to the declared parameter types, the tuple's
 * context wins over the request's, and parameters the expression needs but nobody supplied are
 * reported instead of failing. Immutable, so safe to share between threads.
 */
public final class ConditionEvaluator {

  /** OpenFGA's bound on a condition's source, so that hostile models cannot blow up compilation. */
  static final int MAX_EXPRESSION_LENGTH = 4096;

  /** Bounds each macro loop, so that nested macros over big context lists cannot hang a check. */
  private static final int MAX_COMPREHENSION_ITERATIONS = 100_000;

  private static final OpaqueType IPADDRESS = OpaqueType.create("ipaddress");
  private static final String IN_CIDR_OVERLOAD = "ipaddress_in_cidr_string";

  /** The environment every condition extends: standard CEL plus OpenFGA's {@code in_cidr}. */
  private static final Cel BASE =
      CelFactory.standardCelBuilder()
          .setOptions(
              CelOptions.current().comprehensionMaxIterations(MAX_COMPREHENSION_ITERATIONS).build())
          .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
          .addFunctionDeclarations(
              CelFunctionDecl.newFunctionDeclaration(
                  "in_cidr",
                  CelOverloadDecl.newMemberOverload(
                      IN_CIDR_OVERLOAD, SimpleType.BOOL, IPADDRESS, SimpleType.STRING)))
          .addFunctionBindings(
              CelFunctionBinding.from(
                  IN_CIDR_OVERLOAD, IpAddress.class, String.class, IpAddress::inCidr))
          .build();

  private static final ConditionEvaluator EMPTY = new ConditionEvaluator(Map.of());

  private final Map<String, Compiled> conditions;

  private ConditionEvaluator(Map<String, Compiled> conditions) {
    this.conditions = conditions;
  }

  /**
   * Compiles every condition once (type-checks CEL against declared parameter types). Throws
   * InvalidModelException with ModelError kind "condition-invalid" (message naming the condition
   * and the CEL error) if an expression does not compile or does not return bool.
   */
  public static ConditionEvaluator compile(Map<String, Condition> conditions) {
    if (conditions == null || conditions.isEmpty()) {
      return EMPTY;
    }
    Map<String, Compiled> compiled = new HashMap<>();
    List<ModelError> errors = new ArrayList<>();
    conditions.forEach(
        (name, condition) -> {
          try {
            compiled.put(name, compileOne(name, condition));
          } catch (IllegalArgumentException e) {
            errors.add(
                new ModelError(
                    "condition-invalid",
                    "condition '" + name + "' is invalid: " + e.getMessage(),
                    name,
                    SourceSpan.NONE));
          }
        });
    if (!errors.isEmpty()) {
      throw new InvalidModelException(errors);
    }
    return new ConditionEvaluator(Map.copyOf(compiled));
  }

  private static Compiled compileOne(String name, Condition condition) {
    String expression = condition.expression();
    if (expression.length() > MAX_EXPRESSION_LENGTH) {
      throw new IllegalArgumentException(
          "expression is longer than " + MAX_EXPRESSION_LENGTH + " characters");
    }
    CelBuilder builder = BASE.toCelBuilder();
    Param[] params = new Param[condition.parameters().size()];
    int i = 0;
    for (Map.Entry<String, ConditionParamType> p : condition.parameters().entrySet()) {
      builder.addVar(p.getKey(), celType(p.getValue()));
      params[i++] = new Param(p.getKey(), p.getValue(), CelAttributePattern.create(p.getKey()));
    }
    Cel cel = builder.build();
    CelValidationResult result = cel.compile(expression, name);
    if (result.hasError()) {
      throw new IllegalArgumentException(
          result.getErrors().stream()
              .map(ConditionEvaluator::describe)
              .collect(Collectors.joining("; ")));
    }
    try {
      CelAbstractSyntaxTree ast = result.getAst();
      if (!ast.getResultType().equals(SimpleType.BOOL)) {
        throw new IllegalArgumentException(
            "expected a bool condition expression output, but got '"
                + ast.getResultType().name()
                + "'");
      }
      return new Compiled(params, cel.createProgram(ast));
    } catch (CelException e) {
      throw new IllegalArgumentException(firstLine(e.getMessage()), e);
    }
  }

  private static String describe(CelIssue issue) {
    var at = issue.getSourceLocation();
    return at.getLine() > 0
        ? at.getLine() + ":" + (at.getColumn() + 1) + ": " + issue.getMessage()
        : issue.getMessage();
  }

  private static CelType celType(ConditionParamType type) {
    return switch (type.kind()) {
      case ANY -> SimpleType.DYN;
      case BOOL -> SimpleType.BOOL;
      case STRING -> SimpleType.STRING;
      case INT -> SimpleType.INT;
      case UINT -> SimpleType.UINT;
      case DOUBLE -> SimpleType.DOUBLE;
      case DURATION -> SimpleType.DURATION;
      case TIMESTAMP -> SimpleType.TIMESTAMP;
      case IPADDRESS -> IPADDRESS;
      case LIST -> ListType.create(celType(type.generics().get(0)));
      case MAP -> MapType.create(SimpleType.STRING, celType(type.generics().get(0)));
    };
  }

  /**
   * tupleContext and requestContext are plain JSON-ish values (String, Integer/Long, Double,
   * Boolean, BigDecimal, List, Map, null) as Jackson parses them; either may be empty/null. Tuple
   * context wins when both define a key (OpenFGA's rule). Only declared parameters are used;
   * undeclared keys are ignored.
   */
  public ConditionResult evaluate(
      String conditionName, Map<String, Object> tupleContext, Map<String, Object> requestContext) {
    Compiled c = conditions.get(conditionName);
    if (c == null) {
      throw new CastellanException(
          ErrorCode.CONDITION_EVALUATION_ERROR, "condition '" + conditionName + "' is not defined");
    }
    Map<String, Object> vars = HashMap.newHashMap(c.params.length);
    List<CelAttributePattern> unknowns = null;
    for (Param p : c.params) {
      Object raw;
      if (tupleContext != null && tupleContext.containsKey(p.name)) {
        raw = tupleContext.get(p.name);
      } else if (requestContext != null && requestContext.containsKey(p.name)) {
        raw = requestContext.get(p.name);
      } else {
        if (unknowns == null) {
          unknowns = new ArrayList<>();
        }
        unknowns.add(p.pattern);
        continue;
      }
      try {
        vars.put(p.name, convert(p.type, raw));
      } catch (IllegalArgumentException e) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR,
            "condition '"
                + conditionName
                + "': failed to convert context parameter '"
                + p.name
                + "': "
                + e.getMessage());
      }
    }
    Object out;
    try {
      // Partial evaluation only when something is missing: it decides expressions that do not
      // need the missing parameters (e.g. `a || b` with a true) and names the ones they do need.
      out =
          unknowns == null
              ? c.program.eval(vars)
              : c.program.eval(
                  PartialVars.of(name -> Optional.ofNullable(vars.get(name)), unknowns));
    } catch (CelEvaluationException e) {
      // CEL reports a missing map key with just the key; say what it is, as cel-go does.
      String detail =
          e.getErrorCode() == CelErrorCode.ATTRIBUTE_NOT_FOUND && e.getCause() != null
              ? "no such key: " + firstLine(e.getCause().getMessage())
              : firstLine(e.getMessage());
      throw evaluationError(conditionName, detail);
    } catch (RuntimeException e) {
      throw evaluationError(conditionName, firstLine(e.getMessage()));
    }
    if (out instanceof Boolean met) {
      return ConditionResult.of(met);
    }
    if (out instanceof CelUnknownSet unknown) {
      TreeSet<String> missing = new TreeSet<>();
      for (CelAttribute attribute : unknown.attributes()) {
        missing.add(
            attribute.qualifiers().isEmpty()
                ? attribute.toString()
                : attribute.qualifiers().get(0).toIndexFormat());
      }
      if (missing.isEmpty() && unknowns != null) {
        unknowns.forEach(u -> missing.add(u.qualifiers().get(0).asString()));
      }
      return ConditionResult.missing(List.copyOf(missing));
    }
    throw new CastellanException(
        ErrorCode.CONDITION_EVALUATION_ERROR,
        "condition '" + conditionName + "' did not evaluate to a bool");
  }

  private static CastellanException evaluationError(String conditionName, String detail) {
    return new CastellanException(
        ErrorCode.CONDITION_EVALUATION_ERROR,
        "failed to evaluate condition '" + conditionName + "': " + detail);
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unknown error";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  // ---------------------------------------------------------------- value conversion

  /** Converts a JSON value to the Java value CEL expects for the declared type. */
  static Object convert(ConditionParamType type, Object value) {
    if (value == null && type.kind() != ConditionParamType.Kind.ANY) {
      throw new IllegalArgumentException("a " + type + " value is expected, but found null");
    }
    return switch (type.kind()) {
      case ANY -> normalize(value);
      case BOOL -> expect(Boolean.class, type, value);
      case STRING -> expect(String.class, type, value);
      case INT -> {
        BigDecimal n = number(type, value);
        try {
          yield n.longValueExact();
        } catch (ArithmeticException e) {
          throw new IllegalArgumentException("a int value is expected, but found `" + value + "`");
        }
      }
      case UINT -> {
        BigDecimal n = number(type, value);
        try {
          BigInteger big = n.toBigIntegerExact();
          if (big.signum() < 0 || big.bitLength() > 64) {
            throw new ArithmeticException();
          }
          yield UnsignedLong.valueOf(big);
        } catch (ArithmeticException e) {
          throw new IllegalArgumentException("a uint value is expected, but found `" + value + "`");
        }
      }
      case DOUBLE ->
          value instanceof Number n && !(n instanceof BigDecimal) && !(n instanceof BigInteger)
              ? n.doubleValue()
              : number(type, value).doubleValue();
      case DURATION -> parseGoDuration(expect(String.class, type, value));
      case TIMESTAMP -> parseTimestamp(expect(String.class, type, value));
      case IPADDRESS -> IpAddress.parse(expect(String.class, type, value));
      case LIST -> {
        List<?> list = expect(List.class, type, value);
        List<Object> out = new ArrayList<>(list.size());
        for (Object element : list) {
          out.add(convert(type.generics().get(0), element));
        }
        yield out;
      }
      case MAP -> {
        Map<?, ?> map = expect(Map.class, type, value);
        Map<String, Object> out = LinkedHashMap.newLinkedHashMap(map.size());
        for (Map.Entry<?, ?> e : map.entrySet()) {
          out.put(String.valueOf(e.getKey()), convert(type.generics().get(0), e.getValue()));
        }
        yield out;
      }
    };
  }

  private static <T> T expect(Class<T> javaType, ConditionParamType type, Object value) {
    if (!javaType.isInstance(value)) {
      throw new IllegalArgumentException(
          "a " + type + " value is expected, but found `" + value + "`");
    }
    return javaType.cast(value);
  }

  /** Numbers, or numeric strings as OpenFGA also accepts them. */
  private static BigDecimal number(ConditionParamType type, Object value) {
    try {
      BigDecimal number =
          switch (value) {
            case BigDecimal d -> d;
            case BigInteger b -> new BigDecimal(b);
            case Double d -> new BigDecimal(d);
            case Float f -> new BigDecimal(f);
            case Number n -> BigDecimal.valueOf(n.longValue());
            case String s when s.length() <= 1000 -> new BigDecimal(s.trim());
            default -> throw new NumberFormatException();
          };
      // A guard, not a range check: "1e99999999" (a request body refuses it as a number, not as a
      // string) would make toBigIntegerExact build a number of 330 million bits, minutes of CPU.
      if (number.scale() < -400 || number.scale() > 1400) {
        throw new NumberFormatException();
      }
      return number;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "a " + type + " value is expected, but found `" + value + "`");
    }
  }

  /** {@code any} parameters keep their JSON shape, with numbers in CEL's int and double. */
  private static Object normalize(Object value) {
    return switch (value) {
      case null -> NullValue.NULL_VALUE;
      case Integer i -> i.longValue();
      case Short s -> s.longValue();
      case Byte b -> b.longValue();
      case BigInteger b -> b.bitLength() < 64 ? (Object) b.longValue() : (Object) b.doubleValue();
      case BigDecimal d -> d.doubleValue();
      case Float f -> f.doubleValue();
      case List<?> list -> {
        List<Object> out = new ArrayList<>(list.size());
        list.forEach(element -> out.add(normalize(element)));
        yield out;
      }
      case Map<?, ?> map -> {
        Map<Object, Object> out = LinkedHashMap.newLinkedHashMap(map.size());
        map.forEach((k, v) -> out.put(k, normalize(v)));
        yield out;
      }
      default -> value;
    };
  }

  private static Instant parseTimestamp(String text) {
    try {
      return OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "could not parse RFC 3339 formatted timestamp string `" + text + "`");
    }
  }

  private static final Pattern GO_DURATION =
      Pattern.compile("[-+]?(?:(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+");
  private static final Pattern GO_DURATION_PART =
      Pattern.compile("([0-9]*\\.?[0-9]*)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)");

  /** Go's {@code time.ParseDuration}, which is the syntax OpenFGA documents for durations. */
  static Duration parseGoDuration(String text) {
    String unsigned = text.startsWith("-") || text.startsWith("+") ? text.substring(1) : text;
    if (unsigned.equals("0")) {
      return Duration.ZERO;
    }
    if (text.length() > 256 || !GO_DURATION.matcher(text).matches()) {
      throw new IllegalArgumentException("failed to parse duration string '" + text + "'");
    }
    BigDecimal nanos = BigDecimal.ZERO;
    Matcher part = GO_DURATION_PART.matcher(unsigned);
    while (part.find()) {
      long unit =
          switch (part.group(2)) {
            case "ns" -> 1L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            case "h" -> 3_600_000_000_000L;
            default -> 1_000L; // us, µs, μs
          };
      nanos = nanos.add(new BigDecimal(part.group(1)).multiply(BigDecimal.valueOf(unit)));
    }
    BigInteger total = nanos.setScale(0, RoundingMode.DOWN).toBigIntegerExact();
    total = text.startsWith("-") ? total.negate() : total;
    if (total.bitLength() > 63) {
      throw new IllegalArgumentException("duration string '" + text + "' is out of range");
    }
    return Duration.ofNanos(total.longValue());
  }

  // ---------------------------------------------------------------- compiled state

  private record Param(String name, ConditionParamType type, CelAttributePattern pattern) {}

  private record Compiled(Param[] params, CelRuntime.Program program) {}

  /** The runtime value of an {@code ipaddress} parameter: an address parsed without DNS. */
  record IpAddress(byte[] bytes) {

    static IpAddress parse(String text) {
      try {
        return new IpAddress(InetAddresses.forString(text).getAddress());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("could not parse string as an ipaddress `" + text + "`");
      }
    }

    /** OpenFGA's {@code ip.in_cidr("10.0.0.0/8")}; an address never matches the other family. */
    boolean inCidr(String cidr) throws CelEvaluationException {
      int slash = cidr.indexOf('/');
      byte[] network;
      int bits;
      try {
        if (slash < 0 || cidr.indexOf('%') >= 0) {
          throw new IllegalArgumentException();
        }
        InetAddress address = InetAddresses.forString(cidr.substring(0, slash));
        network = address.getAddress();
        String length = cidr.substring(slash + 1);
        if (length.isEmpty()
            || length.length() > 3
            || !length.chars().allMatch(Character::isDigit)) {
          throw new IllegalArgumentException();
        }
        bits = Integer.parseInt(length);
        if (bits > network.length * 8) {
          throw new IllegalArgumentException();
        }
      } catch (IllegalArgumentException e) {
        throw new CelEvaluationException("'" + cidr + "' is a malformed CIDR string");
      }
      if (network.length != bytes.length) {
        return false;
      }
      for (int b = 0; b < bits; b++) {
        int mask = 0x80 >>> (b % 8);
        if ((network[b / 8] & mask) != (bytes[b / 8] & mask)) {
          return false;
        }
      }
      return true;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof IpAddress other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }
  }
}
