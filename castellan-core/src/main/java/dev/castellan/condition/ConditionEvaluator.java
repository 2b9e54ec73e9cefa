package dev.castellan.condition;

import com.google.common.net.InetAddresses;
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
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelRuntime;
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
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Compiles a model's conditions once and evaluates them against tuple and request context, with
 * OpenFGA's semantics: context values are converted to the declared parameter types as OpenFGA
 * converts them ({@link GoNumbers}), the tuple's context wins over the request's, and every
 * declared parameter nobody supplied is reported, for the caller to fail with (ADR 0004).
 * Immutable, so safe to share between threads.
 */
public final class ConditionEvaluator {

  /** OpenFGA's bound on a condition's source, so that hostile models cannot blow up compilation. */
  static final int MAX_EXPRESSION_LENGTH = 4096;

  /** Bounds each macro loop, so that nested macros over big context lists cannot hang a check. */
  private static final int MAX_COMPREHENSION_ITERATIONS = 100_000;

  private static final OpaqueType IPADDRESS = OpaqueType.create("ipaddress");
  private static final String IN_CIDR_OVERLOAD = "ipaddress_in_cidr_string";
  private static final String IPADDRESS_OVERLOAD = "string_to_ipaddress";

  /**
   * The environment every condition extends: standard CEL plus OpenFGA's {@code in_cidr} method and
   * {@code ipaddress(string)} function.
   */
  private static final Cel BASE =
      CelFactory.standardCelBuilder()
          .setOptions(
              CelOptions.current().comprehensionMaxIterations(MAX_COMPREHENSION_ITERATIONS).build())
          .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
          .addFunctionDeclarations(
              CelFunctionDecl.newFunctionDeclaration(
                  "in_cidr",
                  CelOverloadDecl.newMemberOverload(
                      IN_CIDR_OVERLOAD, SimpleType.BOOL, IPADDRESS, SimpleType.STRING)),
              CelFunctionDecl.newFunctionDeclaration(
                  "ipaddress",
                  CelOverloadDecl.newGlobalOverload(
                      IPADDRESS_OVERLOAD, IPADDRESS, SimpleType.STRING)))
          .addFunctionBindings(
              CelFunctionBinding.from(
                  IN_CIDR_OVERLOAD, IpAddress.class, String.class, IpAddress::inCidr),
              CelFunctionBinding.from(IPADDRESS_OVERLOAD, String.class, IpAddress::fromCel))
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
      params[i++] = new Param(p.getKey(), p.getValue());
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
      // The program runs on the base runtime, shared by every condition: the variables only matter
      // to the type check above, and a runtime of its own per condition held about 35 KB of
      // function bindings for every loaded store (issue 14: heap within the budget).
      return new Compiled(params, BASE.createProgram(ast));
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
   * Evaluates a condition as OpenFGA does. tupleContext and requestContext are plain JSON-ish
   * values (String, Integer/Long/BigInteger, Double/BigDecimal, Boolean, List, Map, null) as
   * Jackson parses them; either may be empty. The tuple's context wins when both define a key.
   * Undeclared keys are ignored. Every declared parameter that neither context supplies is missing,
   * whether or not the expression needs it (OpenFGA reports them all and never decides by
   * short-circuit), and the expression is then not evaluated.
   *
   * @throws CastellanException {@code VALIDATION_ERROR} when a value does not convert to its
   *     parameter's type, {@code CONDITION_EVALUATION_ERROR} (same wire code) when CEL fails
   */
  public ConditionResult evaluate(
      String conditionName, Map<String, Object> tupleContext, Map<String, Object> requestContext) {
    Compiled c = conditions.get(conditionName);
    if (c == null) {
      throw evaluationError(conditionName, "condition was not found");
    }
    Map<String, Object> vars = typedParameters(conditionName, c, tupleContext, requestContext);
    List<String> missing = null;
    for (Param p : c.params) {
      if (!vars.containsKey(p.name)) {
        if (missing == null) {
          missing = new ArrayList<>();
        }
        missing.add(p.name);
      }
    }
    if (missing != null) {
      missing.sort(null);
      return ConditionResult.missing(missing);
    }
    Object out;
    try {
      out = c.program.eval(vars);
    } catch (CelEvaluationException e) {
      // CEL reports a missing map key with just the key; say what it is, as cel-go does.
      String detail =
          e.getErrorCode() == CelErrorCode.ATTRIBUTE_NOT_FOUND && e.getCause() != null
              ? "no such key: " + firstLine(e.getCause().getMessage())
              : firstLine(e.getMessage());
      throw evaluationError(conditionName, "failed to evaluate condition expression: " + detail);
    } catch (RuntimeException e) {
      throw evaluationError(
          conditionName, "failed to evaluate condition expression: " + firstLine(e.getMessage()));
    }
    if (out instanceof Boolean met) {
      return ConditionResult.of(met);
    }
    throw evaluationError(conditionName, "failed to convert condition output to bool");
  }

  /**
   * Checks a condition name and the context stored with a tuple (written, contextual, or in an
   * assertion) as OpenFGA does at write time: every value converts to its parameter's type and
   * every key is a declared parameter. Missing parameters are fine here (the request may supply
   * them).
   *
   * @return empty when the context is acceptable, else OpenFGA's reason (e.g. {@code found invalid
   *     context parameter: bogus}), to be reported with the tuple
   */
  public Optional<String> contextProblem(String conditionName, Map<String, Object> context) {
    Compiled c = conditions.get(conditionName);
    if (c == null) {
      return Optional.of("undefined condition");
    }
    Map<String, Object> typed;
    try {
      typed = typedParameters(conditionName, c, context, Map.of());
    } catch (CastellanException e) {
      return Optional.of(
          Objects.requireNonNull(e.getMessage()).substring(EVALUATION_FAILED.length()));
    }
    for (String key : context.keySet()) {
      if (!typed.containsKey(key)) {
        return Optional.of("found invalid context parameter: " + key);
      }
    }
    return Optional.empty();
  }

  /** OpenFGA's {@code CastContextToTypedParameters} over the merged context. */
  private static Map<String, Object> typedParameters(
      String conditionName,
      Compiled c,
      Map<String, Object> tupleContext,
      Map<String, Object> requestContext) {
    boolean noContext =
        (tupleContext == null || tupleContext.isEmpty())
            && (requestContext == null || requestContext.isEmpty());
    if (noContext) {
      return Map.of();
    }
    if (c.params.length == 0) {
      throw parameterTypeError(conditionName, "no parameters defined for the condition");
    }
    Map<String, Object> vars = HashMap.newHashMap(c.params.length);
    for (Param p : c.params) {
      Object raw;
      if (tupleContext != null && tupleContext.containsKey(p.name)) {
        raw = tupleContext.get(p.name);
      } else if (requestContext != null && requestContext.containsKey(p.name)) {
        raw = requestContext.get(p.name);
      } else {
        continue;
      }
      try {
        vars.put(p.name, convert(p.type, raw));
      } catch (IllegalArgumentException e) {
        throw parameterTypeError(
            conditionName,
            "failed to convert context parameter '" + p.name + "': " + e.getMessage());
      }
    }
    return vars;
  }

  /** OpenFGA's prefix of every condition error: its {@code ErrEvaluationFailed}. */
  static final String EVALUATION_FAILED = "failed to evaluate relationship condition: ";

  private static CastellanException parameterTypeError(String conditionName, String detail) {
    return new CastellanException(
        ErrorCode.VALIDATION_ERROR,
        EVALUATION_FAILED
            + "parameter type error on condition '"
            + conditionName
            + "' - "
            + detail);
  }

  private static CastellanException evaluationError(String conditionName, String detail) {
    return new CastellanException(
        ErrorCode.CONDITION_EVALUATION_ERROR,
        EVALUATION_FAILED + "'" + conditionName + "' - " + detail);
  }

  /**
   * The error for a tuple whose condition lacks parameters, worded as OpenFGA's.
   *
   * @param tuple the tuple as {@code object#relation@user}
   */
  public static CastellanException missingParameters(
      String conditionName, String tuple, List<String> missing) {
    return new CastellanException(
        ErrorCode.VALIDATION_ERROR,
        EVALUATION_FAILED
            + "'"
            + conditionName
            + "' - tuple '"
            + tuple
            + "' is missing context parameters '["
            + String.join(" ", missing)
            + "]'");
  }

  private static String firstLine(@Nullable String message) {
    if (message == null) {
      return "unknown error";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  // ---------------------------------------------------------------- value conversion

  /**
   * Converts a JSON value to the Java value CEL expects for the declared type, with OpenFGA's rules
   * and messages. JSON numbers are doubles there (protobuf's {@code Struct}), so every number is
   * read as a double first; numeric strings are read as Go's {@code big.ParseFloat} does, at 64
   * bits of precision.
   */
  static Object convert(ConditionParamType type, Object value) {
    return switch (type.kind()) {
      case ANY -> any(value);
      case BOOL -> primitive(Boolean.class, "bool", value);
      case STRING -> primitive(String.class, "string", value);
      case INT -> GoNumbers.toInt(value);
      case UINT -> GoNumbers.toUint(value);
      case DOUBLE -> GoNumbers.toDouble(value);
      case DURATION -> {
        if (!(value instanceof String text)) {
          throw new IllegalArgumentException(
              "expected a duration string, but found: "
                  + GoNumbers.goType(value)
                  + " '"
                  + GoNumbers.goValue(value)
                  + "'");
        }
        try {
          yield parseGoDuration(text);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "expected a valid duration string, but found: '" + text + "'");
        }
      }
      case TIMESTAMP -> {
        if (!(value instanceof String text)) {
          throw new IllegalArgumentException(
              "expected RFC 3339 formatted timestamp string, but found: "
                  + GoNumbers.goType(value)
                  + " '"
                  + GoNumbers.goValue(value)
                  + "'");
        }
        yield parseTimestamp(text);
      }
      case IPADDRESS -> {
        if (!(value instanceof String text)) {
          throw new IllegalArgumentException(
              "expected an ipaddress string, but found: "
                  + GoNumbers.goType(value)
                  + " '"
                  + GoNumbers.goValue(value)
                  + "'");
        }
        try {
          yield IpAddress.parse(text);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "expected a well-formed IP address, but found: '" + text + "'");
        }
      }
      case LIST -> {
        if (!(value instanceof List<?> list)) {
          throw new IllegalArgumentException(
              "list requires a list, found: " + GoNumbers.goType(value));
        }
        List<Object> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
          try {
            out.add(convert(type.generics().get(0), list.get(i)));
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                "found an invalid list item at index `" + i + "`: " + e.getMessage());
          }
        }
        yield out;
      }
      case MAP -> {
        if (!(value instanceof Map<?, ?> map)) {
          throw new IllegalArgumentException(
              "map requires a map, found: " + GoNumbers.goType(value));
        }
        Map<String, Object> out = LinkedHashMap.newLinkedHashMap(map.size());
        for (Map.Entry<?, ?> e : map.entrySet()) {
          try {
            out.put(String.valueOf(e.getKey()), convert(type.generics().get(0), e.getValue()));
          } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException(
                "found an invalid value for key '" + e.getKey() + "': " + ex.getMessage());
          }
        }
        yield out;
      }
    };
  }

  private static <T> T primitive(Class<T> javaType, String goName, Object value) {
    if (!javaType.isInstance(value)) {
      throw new IllegalArgumentException(
          "expected type value '" + goName + "', but found '" + GoNumbers.reflectType(value) + "'");
    }
    return javaType.cast(value);
  }

  /**
   * {@code any} parameters keep their JSON shape as protobuf's {@code Struct} gives it to OpenFGA:
   * every number a double.
   */
  private static Object any(Object value) {
    return switch (value) {
      case null -> NullValue.NULL_VALUE;
      case Number n -> GoNumbers.jsonDouble(n);
      case List<?> list -> {
        List<Object> out = new ArrayList<>(list.size());
        list.forEach(element -> out.add(any(element)));
        yield out;
      }
      case Map<?, ?> map -> {
        Map<Object, Object> out = LinkedHashMap.newLinkedHashMap(map.size());
        map.forEach((k, v) -> out.put(k, any(v)));
        yield out;
      }
      default -> value;
    };
  }

  private static final Pattern RFC_3339 =
      Pattern.compile(
          "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})");

  /** Go's {@code time.Parse(time.RFC3339, ...)}: seconds required, {@code T} and {@code Z}. */
  private static Instant parseTimestamp(String text) {
    try {
      if (!RFC_3339.matcher(text).matches()) {
        throw new DateTimeParseException("not RFC 3339", text, 0);
      }
      return OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "expected RFC 3339 formatted timestamp string, but found '" + text + "'");
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

  private record Param(String name, ConditionParamType type) {}

  private record Compiled(Param[] params, CelRuntime.Program program) {}

  /** The runtime value of an {@code ipaddress} parameter: an address parsed without DNS. */
  record IpAddress(byte[] bytes) {

    /**
     * Go's {@code netip.ParseAddr}, then unmapped: an IPv4-mapped IPv6 address is its IPv4 address,
     * so that it matches IPv4 ranges (as OpenFGA does).
     */
    static IpAddress parse(String text) {
      String address = text;
      int zone = text.indexOf('%');
      if (zone >= 0) {
        // netip keeps a zone on an IPv6 address; it does not change which ranges match.
        if (zone == text.length() - 1 || text.indexOf(':') < 0) {
          throw new IllegalArgumentException("malformed address: " + text);
        }
        address = text.substring(0, zone);
      }
      if (address.indexOf(':') < 0 && hasLeadingZeroOctet(address)) {
        throw new IllegalArgumentException("IPv4 field has octet with leading zero: " + text);
      }
      try {
        return new IpAddress(InetAddresses.forString(address).getAddress());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("ParseAddr(\"" + text + "\"): malformed address", e);
      }
    }

    private static boolean hasLeadingZeroOctet(String v4) {
      for (String octet : v4.split("\\.", -1)) {
        if (octet.length() > 1 && octet.charAt(0) == '0') {
          return true;
        }
      }
      return false;
    }

    /** OpenFGA's {@code ipaddress("10.0.0.1")}: a malformed address is an evaluation error. */
    static IpAddress fromCel(String text) throws CelEvaluationException {
      try {
        return parse(text);
      } catch (IllegalArgumentException e) {
        throw new CelEvaluationException(e.getMessage());
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
        String host = cidr.substring(0, slash);
        if (host.indexOf(':') < 0 && hasLeadingZeroOctet(host)) {
          throw new IllegalArgumentException();
        }
        InetAddress address = InetAddresses.forString(host);
        network = address.getAddress();
        String length = cidr.substring(slash + 1);
        if (length.isEmpty()
            || length.length() > 3
            || (length.length() > 1 && length.charAt(0) == '0')
            || !length.chars().allMatch(Character::isDigit)) {
          throw new IllegalArgumentException();
        }
        bits = Integer.parseInt(length);
        boolean written6 = host.indexOf(':') >= 0;
        if (bits > (written6 ? 128 : 32)) {
          throw new IllegalArgumentException();
        }
        if (written6 && network.length == 4) {
          // An IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) is unmapped, as OpenFGA does; with
          // fewer than 96 bits it stays an IPv6 range.
          if (bits >= 96) {
            bits -= 96;
          } else {
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(network, 0, mapped, 12, 4);
            network = mapped;
          }
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
