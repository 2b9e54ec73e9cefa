package dev.castellan.server.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A request body read strictly: exactly one JSON object, each key once, whose fields are all known,
 * whose values have the expected types and sizes, and whose numbers, wherever they are, lie in the
 * range of a double. Anything else is a {@code validation_error} naming the field.
 */
public final class Body {

  /**
   * The mapper for request and response bodies. Its buffers are pooled across threads: requests run
   * on virtual threads, mostly one new thread per request, so Jackson's default per-thread pool
   * would allocate fresh buffers (about 30 KB) for every request.
   */
  public static final ObjectMapper JSON =
      JsonMapper.builder(
              JsonFactory.builder()
                  .recyclerPool(JsonRecyclerPools.newConcurrentDequePool())
                  .streamReadConstraints(
                      StreamReadConstraints.builder()
                          .maxNestingDepth(64)
                          .maxStringLength(1 << 20)
                          .build())
                  .build())
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          // One reading only: a proxy, a WAF or a log that reads the first of two keys, or only
          // the first value of a body, must see what Castellan acts on.
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  /** Longest object, relation or user string accepted (OpenFGA allows 256-byte ids). */
  static final int MAX_NAME = 512;

  private final JsonNode node;
  private final String where;

  private Body(JsonNode node, String where) {
    this.node = node;
    this.where = where;
  }

  /** Parses the body, allowing only {@code fields}. An empty body is an empty object. */
  public static Body parse(String text, Set<String> fields) {
    JsonNode node;
    try {
      node = text == null || text.isBlank() ? JSON.createObjectNode() : JSON.readTree(text);
    } catch (MismatchedInputException e) {
      throw invalid("the request body must be one JSON object, with nothing after it");
    } catch (JsonProcessingException e) {
      throw invalid("the request body is not valid JSON: " + e.getOriginalMessage());
    } catch (NumberFormatException | ArithmeticException e) {
      throw numberOutOfRange("the request body");
    }
    requireNumbersInRange(node, "");
    return of(node, "", fields);
  }

  static Body of(JsonNode node, String where, Set<String> fields) {
    if (node == null || !node.isObject()) {
      throw invalid(
          (where.isEmpty() ? "the request body" : "'" + where + "'") + " must be an object");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!fields.contains(field)) {
        throw invalid("unknown field '" + path(where, field) + "'");
      }
    }
    return new Body(node, where);
  }

  public JsonNode raw() {
    return node;
  }

  public boolean has(String field) {
    JsonNode value = node.get(field);
    return value != null && !value.isNull();
  }

  public String string(String field) {
    return string(field, MAX_NAME);
  }

  public String string(String field, int maxLength) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return "";
    }
    if (!value.isTextual()) {
      throw invalid("'" + path(where, field) + "' must be a string");
    }
    String text = value.asText();
    if (text.length() > maxLength) {
      throw invalid("'" + path(where, field) + "' is longer than " + maxLength + " characters");
    }
    if (!isValidUnicode(text)) {
      // A JSON escape of half a surrogate pair, alone: UTF-8 cannot hold it, so a store would keep
      // '?'
      // instead, and the tuple would name someone else after a restart.
      throw invalid("'" + path(where, field) + "' is not valid Unicode (an unpaired surrogate)");
    }
    return text;
  }

  /** No unpaired surrogate: the text encodes to UTF-8 and back unchanged. */
  static boolean isValidUnicode(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  public String requiredString(String field) {
    String value = string(field);
    if (value.isEmpty()) {
      throw invalid("'" + path(where, field) + "' is required");
    }
    return value;
  }

  public int integer(String field, int defaultValue, int min, int max) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return defaultValue;
    }
    if (!value.canConvertToInt() || !value.isIntegralNumber()) {
      throw invalid("'" + path(where, field) + "' must be an integer");
    }
    int number = value.intValue();
    if (number < min || number > max) {
      throw invalid("'" + path(where, field) + "' must be between " + min + " and " + max);
    }
    return number;
  }

  public boolean bool(String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return false;
    }
    if (!value.isBoolean()) {
      throw invalid("'" + path(where, field) + "' must be true or false");
    }
    return value.booleanValue();
  }

  public Body object(String field, Set<String> fields) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return new Body(JSON.createObjectNode(), path(where, field));
    }
    return of(value, path(where, field), fields);
  }

  public List<JsonNode> array(String field, int maxItems) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return List.of();
    }
    if (!value.isArray()) {
      throw invalid("'" + path(where, field) + "' must be an array");
    }
    if (value.size() > maxItems) {
      throw new CastellanException(
          ErrorCode.EXCEEDED_ENTITY_LIMIT,
          "'" + path(where, field) + "' has " + value.size() + " items; at most " + maxItems);
    }
    List<JsonNode> out = new ArrayList<>(value.size());
    value.forEach(out::add);
    return out;
  }

  /** The condition context in {@code field}: see {@link #context(JsonNode, String)}. */
  public Map<String, Object> context(String field) {
    return context(node.get(field), path(where, field));
  }

  /**
   * Reads a condition context: a JSON object of free-form values, as plain Java values (maps,
   * lists, strings, booleans, null, and numbers as {@link #JSON} reads them). Every context
   * Castellan accepts is read here: in request bodies, in the server's import lines and by {@code
   * castellan import}. Missing or {@code null} is the empty context.
   *
   * <p>Refused with {@code validation_error}: a value that is not an object, a number outside the
   * range of a double (what OpenFGA's protobuf {@code Struct} holds), and a string or key with an
   * unpaired surrogate. The numbers are refused before anything converts them: {@code 1e99999999}
   * is one small {@code BigDecimal}, but turned into an integer it takes a hundred million digits
   * of work.
   *
   * @param where the value's path in the body, for the error message
   */
  public static Map<String, Object> context(JsonNode value, String where) {
    if (value == null || value.isNull() || value.isMissingNode()) {
      return Map.of();
    }
    if (!value.isObject()) {
      throw invalid("'" + where + "' must be an object");
    }
    requireNumbersInRange(value, where);
    requireValidUnicode(value, where);
    @SuppressWarnings("unchecked")
    Map<String, Object> map = JSON.convertValue(value, LinkedHashMap.class);
    return map;
  }

  /** Beyond these scales a number is refused whatever its value: no double needs them. */
  private static final int MIN_SCALE = -400;

  private static final int MAX_SCALE = 1400;

  /**
   * Every number in {@code node} (at any depth) lies in the range of a double: finite, and zero or
   * not closer to zero than {@link Double#MIN_VALUE}. Decided from the number's exponent and its
   * {@code doubleValue}, both cheap whatever the exponent.
   */
  static void requireNumbersInRange(JsonNode node, String where) {
    if (!allNumbersInRange(node)) {
      nameNumberOutOfRange(node, where); // builds the paths, so only when there is one to name
    }
  }

  private static boolean allNumbersInRange(JsonNode node) {
    if (node.isNumber()) {
      return inDoubleRange(node);
    }
    if (node.isContainerNode()) {
      for (JsonNode child : node) {
        if (!allNumbersInRange(child)) {
          return false;
        }
      }
    }
    return true;
  }

  private static void nameNumberOutOfRange(JsonNode node, String where) {
    if (node.isNumber()) {
      if (!inDoubleRange(node)) {
        String text = node.isBigDecimal() ? node.decimalValue().toString() : node.asText();
        throw invalid(
            "'"
                + (where.isEmpty() ? "the request body" : where)
                + "' is the number "
                + (text.length() > 40 ? text.substring(0, 40) + "..." : text)
                + ", outside the range of a double (at most about 1.8e308 in size, and 0 or at"
                + " least 4.9e-324)");
      }
    } else if (node.isObject()) {
      for (Map.Entry<String, JsonNode> field : node.properties()) {
        nameNumberOutOfRange(field.getValue(), path(where, field.getKey()));
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        nameNumberOutOfRange(node.get(i), where + "[" + i + "]");
      }
    }
  }

  /**
   * The error for a number Jackson cannot even hold (an exponent beyond an {@code int}: its parser
   * throws {@link NumberFormatException} or {@link ArithmeticException}, not a parse error).
   */
  static CastellanException numberOutOfRange(String what) {
    return invalid(
        what + " holds a number outside the range of a double (its exponent is out of range)");
  }

  static boolean inDoubleRange(JsonNode number) {
    if (number.isBigDecimal()) {
      BigDecimal d = number.decimalValue();
      if (d.scale() < MIN_SCALE || d.scale() > MAX_SCALE) {
        return false;
      }
      double v = d.doubleValue();
      return Double.isFinite(v) && (v != 0 || d.signum() == 0);
    }
    if (number.isBigInteger()) {
      return Double.isFinite(number.bigIntegerValue().doubleValue());
    }
    // int and long fit; a double or float node was rounded by its parser, maybe to infinity.
    return Double.isFinite(number.doubleValue());
  }

  /** Every string and key in {@code node} is valid Unicode (see {@link #isValidUnicode}). */
  private static void requireValidUnicode(JsonNode node, String where) {
    if (node.isTextual() && !isValidUnicode(node.textValue())) {
      throw invalid("'" + where + "' is not valid Unicode (an unpaired surrogate)");
    } else if (node.isObject()) {
      for (Map.Entry<String, JsonNode> field : node.properties()) {
        if (!isValidUnicode(field.getKey())) {
          throw invalid("a key in '" + where + "' is not valid Unicode (an unpaired surrogate)");
        }
        requireValidUnicode(field.getValue(), path(where, field.getKey()));
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        requireValidUnicode(node.get(i), where + "[" + i + "]");
      }
    }
  }

  // ------------------------------------------------------------------ tuples

  private static final Set<String> TUPLE_FIELDS =
      Set.of("user", "relation", "object", "condition", "expires_at");
  private static final Set<String> CONDITION_FIELDS = Set.of("name", "context");

  /** An OpenFGA {@code TupleKey}, with an optional condition and Castellan's optional expiry. */
  public static Tuple tuple(JsonNode node, String where) {
    Body body = of(node, where, TUPLE_FIELDS);
    TupleKey key =
        new TupleKey(
            body.requiredString("object"),
            body.requiredString("relation"),
            body.requiredString("user"));
    String condition = "";
    Map<String, Object> context = Map.of();
    if (body.has("condition")) {
      Body conditionBody = body.object("condition", CONDITION_FIELDS);
      condition = conditionBody.requiredString("name");
      context = conditionBody.context("context");
    }
    Instant expiresAt = null;
    String expiry = body.string("expires_at", 64);
    if (!expiry.isEmpty()) {
      try {
        expiresAt = Instant.parse(expiry);
      } catch (DateTimeParseException e) {
        throw invalid("'" + path(where, "expires_at") + "' must be an RFC 3339 time");
      }
    }
    return new Tuple(key, condition, context, expiresAt);
  }

  /** A key without condition: deletes, checks and the like. */
  public static TupleKey key(JsonNode node, String where, boolean userRequired) {
    Body body = of(node, where, Set.of("user", "relation", "object"));
    return new TupleKey(
        body.requiredString("object"),
        body.requiredString("relation"),
        userRequired ? body.requiredString("user") : body.string("user"));
  }

  static String path(String where, String field) {
    return where.isEmpty() ? field : where + "." + field;
  }

  static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }
}
