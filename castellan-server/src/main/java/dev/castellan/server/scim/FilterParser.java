package dev.castellan.server.scim;

import dev.castellan.server.scim.Filter.And;
import dev.castellan.server.scim.Filter.Comparison;
import dev.castellan.server.scim.Filter.Literal;
import dev.castellan.server.scim.Filter.Not;
import dev.castellan.server.scim.Filter.Operator;
import dev.castellan.server.scim.Filter.Or;
import dev.castellan.server.scim.Filter.Present;
import dev.castellan.server.scim.Filter.ValuePath;
import java.math.BigDecimal;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * A recursive-descent parser for SCIM filters (RFC 7644 section 3.4.2.2) and PATCH paths (section
 * 3.5.2). {@code and} binds tighter than {@code or}; keywords, operators and {@code true}/{@code
 * false}/{@code null} are case-insensitive. Every input is bounded (length, nesting depth, number
 * of comparisons) so the parser's time and stack stay small whatever a client sends; recursion only
 * happens through parentheses and brackets, which count towards the depth.
 */
final class FilterParser {
  /** The longest filter accepted, in characters. */
  static final int MAX_FILTER_LENGTH = 4096;

  /** The longest PATCH path accepted, in characters. */
  static final int MAX_PATH_LENGTH = 1024;

  /** How deep parentheses, {@code not (...)} and value-path brackets may nest. */
  static final int MAX_DEPTH = 32;

  /** How many comparisons ({@code attr op value} or {@code attr pr}) one filter may hold. */
  static final int MAX_TERMS = 100;

  /** Exponent digits beyond this make a number literal out of range (1e9999 is plenty). */
  private static final int MAX_EXPONENT_DIGITS = 4;

  private final String text;
  private final ScimType errorType;
  private final String what;
  private int pos;
  private int depth;
  private int terms;

  private FilterParser(String text, ScimType errorType, String what) {
    this.text = text;
    this.errorType = errorType;
    this.what = what;
  }

  /**
   * Parses a filter.
   *
   * @throws ScimException with {@code scimType} {@code invalidFilter}, naming the position
   *     (1-based) where the filter went wrong
   */
  static Filter parse(String filter) {
    FilterParser parser = new FilterParser(filter, ScimType.INVALID_FILTER, "filter");
    if (filter.length() > MAX_FILTER_LENGTH) {
      throw parser.fail(
          "the filter is "
              + filter.length()
              + " characters long; at most "
              + MAX_FILTER_LENGTH
              + " are accepted");
    }
    parser.skipSpaces();
    if (parser.atEnd()) {
      throw parser.fail("the filter is empty");
    }
    Filter result = parser.parseOr(false);
    parser.skipSpaces();
    if (!parser.atEnd()) {
      throw parser.fail(
          "expected 'and', 'or' or the end of the filter, found " + parser.describeHere());
    }
    return result;
  }

  /**
   * Parses a PATCH path: {@code attrPath} or {@code attrPath[valFilter]} optionally followed by
   * {@code .subAttr}.
   *
   * @throws ScimException with {@code scimType} {@code invalidPath}
   */
  static PatchPath parsePath(String path) {
    FilterParser parser = new FilterParser(path, ScimType.INVALID_PATH, "path");
    if (path.length() > MAX_PATH_LENGTH) {
      throw parser.fail(
          "the path is "
              + path.length()
              + " characters long; at most "
              + MAX_PATH_LENGTH
              + " are accepted");
    }
    if (path.isBlank()) {
      throw parser.fail("the path is empty");
    }
    AttributePath attribute = parser.attributePath();
    Filter valueFilter = null;
    if (parser.peek() == '[') {
      if (attribute.subAttribute() != null) {
        throw parser.fail("a value filter '[...]' follows an attribute, not a sub-attribute");
      }
      valueFilter = parser.bracketed();
      if (parser.peek() == '.') {
        int start = ++parser.pos;
        String sub = parser.name("a sub-attribute name after '.'");
        parser.checkName(sub, start);
        attribute = new AttributePath(attribute.schema(), attribute.name(), sub);
      }
    }
    if (!parser.atEnd()) {
      throw parser.fail("unexpected " + parser.describeHere() + " in the path");
    }
    return new PatchPath(attribute, valueFilter);
  }

  private Filter parseOr(boolean inValuePath) {
    Filter left = parseAnd(inValuePath);
    while (true) {
      int save = pos;
      skipSpaces();
      if (!keyword("or")) {
        pos = save;
        return left;
      }
      pos += 2;
      afterLogicalKeyword("or");
      left = new Or(left, parseAnd(inValuePath));
    }
  }

  private Filter parseAnd(boolean inValuePath) {
    Filter left = parseTerm(inValuePath);
    while (true) {
      int save = pos;
      skipSpaces();
      if (!keyword("and")) {
        pos = save;
        return left;
      }
      pos += 3;
      afterLogicalKeyword("and");
      left = new And(left, parseTerm(inValuePath));
    }
  }

  private void afterLogicalKeyword(String keyword) {
    if (atEnd()) {
      throw fail("expected a filter after '" + keyword + "'");
    }
    if (!Character.isWhitespace(peek()) && peek() != '(') {
      throw fail("expected a space after '" + keyword + "'");
    }
    skipSpaces();
  }

  private Filter parseTerm(boolean inValuePath) {
    skipSpaces();
    if (peek() == '(') {
      return parenthesized(inValuePath);
    }
    if (keyword("not")) {
      int save = pos;
      pos += 3;
      skipSpaces();
      if (peek() == '(') {
        return new Not(parenthesized(inValuePath));
      }
      pos = save; // an attribute that happens to be called "not"
    }
    AttributePath path = attributePath();
    if (peek() == '[') {
      if (inValuePath) {
        throw fail("value filters '[...]' cannot nest");
      }
      if (path.subAttribute() != null) {
        throw fail("a value filter '[...]' follows an attribute, not a sub-attribute");
      }
      return new ValuePath(path, bracketed());
    }
    return comparison(path);
  }

  private Filter parenthesized(boolean inValuePath) {
    int open = pos;
    enter();
    pos++;
    Filter inner = parseOr(inValuePath);
    skipSpaces();
    if (peek() != ')') {
      throw fail(
          "expected ')' to close the '(' at position " + (open + 1) + ", found " + describeHere());
    }
    pos++;
    depth--;
    return inner;
  }

  private Filter bracketed() {
    int open = pos;
    enter();
    pos++;
    Filter inner = parseOr(true);
    skipSpaces();
    if (peek() != ']') {
      throw fail(
          "expected ']' to close the '[' at position " + (open + 1) + ", found " + describeHere());
    }
    pos++;
    depth--;
    return inner;
  }

  private void enter() {
    if (++depth > MAX_DEPTH) {
      throw fail("the " + what + " nests more than " + MAX_DEPTH + " levels deep");
    }
  }

  private Filter comparison(AttributePath path) {
    if (++terms > MAX_TERMS) {
      throw fail("the " + what + " has more than " + MAX_TERMS + " comparisons");
    }
    if (atEnd() || !Character.isWhitespace(peek())) {
      throw fail(
          "expected a space and an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after '"
              + abbreviate(path.toString())
              + "', found "
              + describeHere());
    }
    skipSpaces();
    int operatorStart = pos;
    while (!atEnd() && isAsciiLetter(peek())) {
      pos++;
    }
    String word = text.substring(operatorStart, pos).toLowerCase(Locale.ROOT);
    if (word.equals("pr")) {
      return new Present(path);
    }
    Operator operator = operator(word);
    if (operator == null) {
      pos = operatorStart;
      throw fail(
          "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after '"
              + abbreviate(path.toString())
              + "', found "
              + describeHere());
    }
    if (atEnd() || !Character.isWhitespace(peek())) {
      throw fail("expected a space and a value after '" + word + "', found " + describeHere());
    }
    skipSpaces();
    int valueStart = pos;
    Literal value = literal();
    if (operator.ordering() && (value instanceof Literal.Bool || value instanceof Literal.Null)) {
      pos = valueStart;
      throw fail("'" + word + "' compares strings, numbers and dates, not booleans or null");
    }
    return new Comparison(path, operator, value);
  }

  private static @Nullable Operator operator(String word) {
    for (Operator operator : Operator.values()) {
      if (operator.wireName().equals(word)) {
        return operator;
      }
    }
    return null;
  }

  private Literal literal() {
    if (atEnd()) {
      throw fail("expected a value (a \"string\", a number, true, false or null), found the end");
    }
    char c = peek();
    if (c == '"') {
      return new Literal.Text(string());
    }
    if (c == '-' || isDigit(c)) {
      return new Literal.Number(number());
    }
    if (keyword("true")) {
      pos += 4;
      return new Literal.Bool(true);
    }
    if (keyword("false")) {
      pos += 5;
      return new Literal.Bool(false);
    }
    if (keyword("null")) {
      pos += 4;
      return new Literal.Null();
    }
    throw fail(
        "expected a value (a \"string\", a number, true, false or null), found " + describeHere());
  }

  /** A JSON string (RFC 8259 section 7), starting at the opening quote. */
  private String string() {
    int open = pos++;
    StringBuilder value = new StringBuilder();
    while (true) {
      if (atEnd()) {
        pos = open;
        throw fail("the string starting here is not closed with '\"'");
      }
      char c = text.charAt(pos);
      if (c == '"') {
        pos++;
        return value.toString();
      }
      if (c < 0x20) {
        throw fail("a control character must be escaped inside a string");
      }
      if (c != '\\') {
        value.append(c);
        pos++;
        continue;
      }
      if (pos + 1 >= text.length()) {
        throw fail("the escape '\\' at the end of the " + what + " is incomplete");
      }
      char escaped = text.charAt(pos + 1);
      switch (escaped) {
        case '"', '\\', '/' -> value.append(escaped);
        case 'b' -> value.append('\b');
        case 'f' -> value.append('\f');
        case 'n' -> value.append('\n');
        case 'r' -> value.append('\r');
        case 't' -> value.append('\t');
        case 'u' -> {
          if (pos + 6 > text.length()) {
            throw fail("the escape '\\u' needs four hex digits");
          }
          int code = 0;
          for (int i = pos + 2; i < pos + 6; i++) {
            int digit = Character.digit(text.charAt(i), 16);
            if (digit < 0) {
              throw fail("the escape '\\u' needs four hex digits");
            }
            code = code * 16 + digit;
          }
          value.append((char) code);
          pos += 4;
        }
        default -> throw fail("'\\" + escaped + "' is not a JSON escape");
      }
      pos += 2;
    }
  }

  /** A JSON number (RFC 8259 section 6). */
  private BigDecimal number() {
    int start = pos;
    if (peek() == '-') {
      pos++;
    }
    if (atEnd() || !isDigit(peek())) {
      throw fail("expected a digit in the number");
    }
    if (peek() == '0') {
      pos++;
    } else {
      digits();
    }
    if (peek() == '.') {
      pos++;
      if (atEnd() || !isDigit(peek())) {
        throw fail("expected a digit after the decimal point");
      }
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      pos++;
      if (peek() == '+' || peek() == '-') {
        pos++;
      }
      int exponentStart = pos;
      if (atEnd() || !isDigit(peek())) {
        throw fail("expected a digit in the exponent");
      }
      digits();
      if (pos - exponentStart > MAX_EXPONENT_DIGITS) {
        pos = start;
        throw fail("the number's exponent is out of range");
      }
    }
    if (!atEnd() && isNameChar(peek())) {
      throw fail("unexpected " + describeHere() + " in a number");
    }
    return new BigDecimal(text.substring(start, pos));
  }

  private void digits() {
    while (!atEnd() && isDigit(peek())) {
      pos++;
    }
  }

  /** {@code [URI ":"] ATTRNAME ["." subAttr]}, up to a space, bracket or parenthesis. */
  private AttributePath attributePath() {
    int start = pos;
    while (!atEnd() && isPathChar(peek())) {
      pos++;
    }
    String token = text.substring(start, pos);
    if (token.isEmpty()) {
      throw fail("expected an attribute name, found " + describeHere());
    }
    String schema = null;
    int nameStart = start;
    int colon = token.lastIndexOf(':');
    if (colon >= 0) {
      if (!token.regionMatches(true, 0, "urn:", 0, 4)) {
        pos = start;
        throw fail(
            "'"
                + abbreviate(token)
                + "' is not an attribute name; a schema prefix is a URN 'urn:...'");
      }
      schema = token.substring(0, colon);
      nameStart = start + colon + 1;
    }
    String dotted = text.substring(nameStart, pos);
    int dot = dotted.indexOf('.');
    String name = dot < 0 ? dotted : dotted.substring(0, dot);
    String sub = dot < 0 ? null : dotted.substring(dot + 1);
    checkName(name, nameStart);
    if (sub != null) {
      if (sub.indexOf('.') >= 0) {
        pos = nameStart + dot + 1 + sub.indexOf('.');
        throw fail("an attribute path has at most one sub-attribute ('name.sub')");
      }
      checkName(sub, nameStart + dot + 1);
    }
    return new AttributePath(schema, name, sub);
  }

  /** Reads a bare name (for the sub-attribute after a value filter). */
  private String name(String expected) {
    int start = pos;
    while (!atEnd() && isNameChar(peek())) {
      pos++;
    }
    if (pos == start) {
      throw fail("expected " + expected + ", found " + describeHere());
    }
    return text.substring(start, pos);
  }

  /** {@code ATTRNAME = ALPHA *(nameChar)}; {@code $ref} is allowed too (RFC 7643 section 2.1). */
  private void checkName(String name, int at) {
    String problem = null;
    if (name.isEmpty()) {
      problem = "expected an attribute name";
    } else if (!isAsciiLetter(name.charAt(0)) && !name.equalsIgnoreCase("$ref")) {
      problem = "an attribute name starts with a letter";
    } else {
      for (int i = 1; i < name.length(); i++) {
        if (!isNameChar(name.charAt(i))) {
          at += i;
          problem = "'" + name.charAt(i) + "' cannot appear in an attribute name";
          break;
        }
      }
    }
    if (problem != null) {
      pos = at;
      throw fail(problem);
    }
  }

  private boolean keyword(String word) {
    int end = pos + word.length();
    return text.regionMatches(true, pos, word, 0, word.length())
        && (end == text.length() || !isNameChar(text.charAt(end)));
  }

  private void skipSpaces() {
    while (!atEnd() && Character.isWhitespace(peek())) {
      pos++;
    }
  }

  private boolean atEnd() {
    return pos >= text.length();
  }

  /** The current character, or NUL at the end (NUL never starts a valid token). */
  private char peek() {
    return atEnd() ? '\0' : text.charAt(pos);
  }

  private String describeHere() {
    if (atEnd()) {
      return "the end";
    }
    int end = Math.min(text.length(), pos + 12);
    return "'" + text.substring(pos, end) + (end < text.length() ? "..." : "") + "'";
  }

  /** Input echoed in a message is cut short: a detail stays readable and small. */
  static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }

  private ScimException fail(String message) {
    return ScimException.badRequest(
        errorType, "invalid " + what + ": " + message + " (at position " + (pos + 1) + ")");
  }

  private static boolean isAsciiLetter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isNameChar(char c) {
    return isAsciiLetter(c) || isDigit(c) || c == '-' || c == '_';
  }

  private static boolean isPathChar(char c) {
    return isNameChar(c) || c == '.' || c == ':' || c == '$';
  }
}
