package dev.castellan.model;

import dev.castellan.model.DslLexer.Kind;
import dev.castellan.model.DslLexer.Token;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Recursive-descent parser for the DSL: model files (schema 1.1 and 1.2) and the module files of
 * modular models ({@code module}, {@code extend type}). Stops at the first syntax error (later
 * errors in the same file are usually consequences of the first); collects duplicate definitions,
 * which do not stop parsing. Nesting of parentheses is bounded so hostile input cannot exhaust the
 * stack.
 */
final class DslParser {

  /** Larger models are refused before parsing; OpenFGA's own limit is 256 KiB of JSON. */
  static final int MAX_SOURCE_CHARS = 512 * 1024;

  static final int MAX_NESTING = 32;

  static final Pattern SCHEMA_VERSION = Pattern.compile("[0-9]+\\.[0-9]+");

  /** Positions of the parts of a parsed model, for validation messages. Keys are identities. */
  static final class SourceMap {
    final Map<Object, SourceSpan> spans = new IdentityHashMap<>();
    final Map<Object, SourceSpan> tuplesetSpans = new IdentityHashMap<>();
    final Map<Object, SourceSpan> conditionReferenceSpans = new IdentityHashMap<>();
    SourceSpan schemaSpan = SourceSpan.NONE;

    /** The module a module file declares ({@code module name}); empty for a model file. */
    String module = "";

    /** Types a module file extends ({@code extend type name}) rather than declares. */
    final java.util.Set<String> extendedTypes = new java.util.LinkedHashSet<>();

    SourceSpan of(Object part) {
      return spans.getOrDefault(part, SourceSpan.NONE);
    }
  }

  record Result(@Nullable AuthorizationModel model, SourceMap sourceMap, List<ModelError> errors) {
    /** The model, which a parse without errors always has. */
    AuthorizationModel parsedModel() {
      if (model == null) {
        throw new IllegalStateException("no model: the parse failed with " + errors);
      }
      return model;
    }
  }

  /** A syntax error: aborts the parse. */
  private static final class SyntaxError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient ModelError error;

    SyntaxError(ModelError error) {
      super(error.message(), null, false, false);
      this.error = error;
    }
  }

  private enum Operator {
    OR,
    AND,
    BUT_NOT
  }

  private final DslLexer lexer;
  private final SourceMap sourceMap = new SourceMap();
  private final List<ModelError> errors = new ArrayList<>();

  private DslParser(String source) {
    this.lexer = new DslLexer(source);
  }

  static Result parse(String source) {
    if (source.length() > MAX_SOURCE_CHARS) {
      ModelError error =
          new ModelError(
              "model-too-large",
              "the model has " + source.length() + " characters; at most " + MAX_SOURCE_CHARS,
              "",
              SourceSpan.NONE);
      return new Result(null, new SourceMap(), List.of(error));
    }
    DslParser parser = new DslParser(source);
    try {
      AuthorizationModel model = parser.model();
      return new Result(model, parser.sourceMap, List.copyOf(parser.errors));
    } catch (SyntaxError e) {
      List<ModelError> errors = new ArrayList<>(parser.errors);
      errors.add(e.error);
      errors.sort(
          (a, b) ->
              a.span().startLine() != b.span().startLine()
                  ? Integer.compare(a.span().startLine(), b.span().startLine())
                  : Integer.compare(a.span().startColumn(), b.span().startColumn()));
      return new Result(null, parser.sourceMap, List.copyOf(errors));
    }
  }

  // ------------------------------------------------------------------ structure

  private AuthorizationModel model() {
    skipNewlines();
    Token header = lexer.next();
    if (header.isWord("module")) {
      return module(header);
    }
    if (!header.isWord("model")) {
      throw error(header, "expected 'model' at the start of the model, found " + header.describe());
    }
    endOfLine();
    skipNewlines();
    Token schema = lexer.next();
    if (!schema.isWord("schema")) {
      throw error(schema, "expected 'schema', found " + schema.describe());
    }
    Token version = lexer.next();
    if (version.kind() != Kind.WORD || !SCHEMA_VERSION.matcher(version.text()).matches()) {
      throw error(version, "expected a schema version such as 1.1, found " + version.describe());
    }
    sourceMap.schemaSpan = version.span();
    endOfLine();
    return body(version.text());
  }

  /**
   * A module file of a modular model (schema 1.2): {@code module name}, then types, {@code extend
   * type}s and conditions. It has no schema of its own (the {@code fga.mod} manifest gives it), so
   * validating it alone reports a missing schema at its start, as OpenFGA does.
   */
  private AuthorizationModel module(Token header) {
    Token name = lexer.next();
    if (name.kind() != Kind.WORD) {
      throw error(name, "expected a module name after 'module', found " + name.describe());
    }
    endOfLine();
    sourceMap.module = name.text();
    sourceMap.schemaSpan = new SourceSpan(header.line(), header.line(), 0, 0);
    return body("");
  }

  private AuthorizationModel body(String schemaVersion) {
    boolean modular = !sourceMap.module.isEmpty();
    List<TypeDefinition> types = new ArrayList<>();
    Map<String, Condition> conditions = new LinkedHashMap<>();
    while (true) {
      skipNewlines();
      Token token = lexer.peek();
      if (token.kind() == Kind.EOF) {
        break;
      } else if (token.isWord("type")) {
        types.add(typeDefinition(false));
      } else if (token.isWord("condition")) {
        condition(conditions);
      } else if (token.isWord("extend")) {
        lexer.next();
        Token next = lexer.peek();
        if (!modular) {
          throw error(
              next.isWord("type") ? next : token, "extend can only be used in a modular model");
        }
        if (!next.isWord("type")) {
          throw error(next, "expected 'type' after 'extend', found " + next.describe());
        }
        types.add(typeDefinition(true));
      } else if (token.isWord("module")) {
        throw error(
            token,
            modular
                ? "a file can only declare one module"
                : "'module' cannot follow 'model'; a module file starts with 'module name'");
      } else if (token.isWord("model") && modular) {
        throw error(token, "a module file has no 'model' header; its schema is in fga.mod");
      } else if (token.isWord("define")) {
        throw error(token, "'define' must follow a 'relations' line inside a type");
      } else {
        throw error(token, "expected 'type' or 'condition', found " + token.describe());
      }
    }
    return new AuthorizationModel(schemaVersion, types, conditions);
  }

  private TypeDefinition typeDefinition(boolean extension) {
    lexer.next(); // type
    Token name = name("a type name");
    endOfLine();
    if (extension && !sourceMap.extendedTypes.add(name.text())) {
      // OpenFGA reports this and goes on parsing; so do we.
      errors.add(
          new ModelError(
              "syntax-error",
              "'" + name.text() + "' is already extended in file.",
              name.text(),
              name.span()));
    }
    ModuleSource module = new ModuleSource(sourceMap.module, "");
    Map<String, RelationDefinition> relations = new LinkedHashMap<>();
    skipNewlines();
    if (lexer.peek().isWord("relations")) {
      Token keyword = lexer.next();
      endOfLine();
      skipNewlines();
      if (!lexer.peek().isWord("define")) {
        throw error(
            lexer.peek(), "expected 'define' after 'relations', found " + lexer.peek().describe());
      }
      while (lexer.peek().isWord("define")) {
        RelationDefinition relation =
            relationDefinition(name.text(), extension ? module : ModuleSource.NONE);
        if (relations.containsKey(relation.name())) {
          errors.add(
              new ModelError(
                  "duplicated-error",
                  "'" + relation.name() + "' is already defined in '" + name.text() + "'",
                  relation.name(),
                  sourceMap.of(relation)));
        } else {
          relations.put(relation.name(), relation);
        }
        skipNewlines();
      }
      if (relations.isEmpty()) {
        throw error(keyword, "'relations' needs at least one 'define'");
      }
    }
    TypeDefinition type = new TypeDefinition(name.text(), relations, module);
    sourceMap.spans.put(type, name.span());
    return type;
  }

  private RelationDefinition relationDefinition(String typeName, ModuleSource source) {
    lexer.next(); // define
    Token name = name("a relation name");
    expect(":");
    List<TypeRestriction> direct = new ArrayList<>();
    Rewrite rewrite = expression(0, direct, true);
    endOfLine();
    RelationDefinition relation = new RelationDefinition(name.text(), rewrite, direct, source);
    sourceMap.spans.put(relation, name.span());
    return relation;
  }

  private void condition(Map<String, Condition> conditions) {
    lexer.next(); // condition
    Token name = name("a condition name");
    expect("(");
    Map<String, ConditionParamType> parameters = new LinkedHashMap<>();
    do {
      skipNewlines();
      Token parameter = lexer.next();
      if (parameter.kind() != Kind.WORD) {
        throw error(parameter, "expected a parameter name, found " + parameter.describe());
      }
      skipNewlines();
      Token colon = lexer.next();
      if (!colon.is(":")) {
        throw error(
            parameter.kind() == Kind.WORD && colon.is(")") ? parameter : colon,
            "expected 'name: type' for a condition parameter, found " + colon.describe());
      }
      ConditionParamType type = parameterType(true);
      if (parameters.containsKey(parameter.text())) {
        errors.add(
            new ModelError(
                "duplicated-error",
                "parameter '"
                    + parameter.text()
                    + "' is already defined in the condition '"
                    + name.text()
                    + "'",
                parameter.text(),
                parameter.span()));
      } else {
        parameters.put(parameter.text(), type);
      }
      skipNewlines();
    } while (accept(","));
    expect(")");
    skipNewlines();
    Token open = lexer.next();
    if (!open.is("{")) {
      throw error(open, "expected '{' to start the condition expression, found " + open.describe());
    }
    String expression = rawExpression(open);
    Condition condition =
        new Condition(name.text(), parameters, expression, new ModuleSource(sourceMap.module, ""));
    sourceMap.spans.put(condition, name.span());
    if (conditions.containsKey(name.text())) {
      errors.add(
          new ModelError(
              "duplicated-error",
              "condition '" + name.text() + "' is already defined in the model",
              name.text(),
              name.span()));
    } else {
      conditions.put(name.text(), condition);
    }
    endOfLine();
  }

  private ConditionParamType parameterType(boolean containerAllowed) {
    Token token = lexer.next();
    if (token.kind() != Kind.WORD) {
      throw error(token, "expected a parameter type, found " + token.describe());
    }
    ConditionParamType.Kind kind = paramKind(token.text());
    if (kind == null) {
      throw error(token, "unknown parameter type '" + token.text() + "'");
    }
    boolean container = kind == ConditionParamType.Kind.LIST || kind == ConditionParamType.Kind.MAP;
    if (!container) {
      return ConditionParamType.of(kind);
    }
    if (!containerAllowed) {
      throw error(token, "'" + token.text() + "' cannot be nested in list or map");
    }
    Token open = lexer.next();
    if (!open.is("<")) {
      throw error(open, "'" + token.text() + "' needs an element type: " + token.text() + "<T>");
    }
    ConditionParamType element = parameterType(false);
    expect(">");
    return new ConditionParamType(kind, List.of(element));
  }

  private static ConditionParamType.@Nullable Kind paramKind(String name) {
    for (ConditionParamType.Kind kind : ConditionParamType.Kind.values()) {
      if (kind.dslName().equals(name)) {
        return kind;
      }
    }
    return null;
  }

  /** The CEL text between braces, taken raw; braces inside string literals do not count. */
  private String rawExpression(Token open) {
    String source = lexer.source();
    int start = open.offset() + 1;
    int end = closingBrace(source, start);
    if (end < 0) {
      throw error(open, "the condition expression has no closing '}'");
    }
    String expression = source.substring(start, end).strip();
    if (expression.isEmpty()) {
      throw error(open, "the condition expression is empty");
    }
    lexer.reset(end + 1);
    return expression;
  }

  /**
   * Where the condition body starting at {@code start} (just after its '{') ends: the offset of the
   * '}' that closes it, or -1. Braces inside string literals do not count.
   */
  static int closingBrace(String source, int start) {
    int depth = 0;
    char quote = 0;
    for (int i = start; i < source.length(); i++) {
      char c = source.charAt(i);
      if (quote != 0) {
        if (c == '\\') {
          i++;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '{') {
        depth++;
      } else if (c == '}') {
        if (depth == 0) {
          return i;
        }
        depth--;
      }
    }
    return -1;
  }

  // ------------------------------------------------------------------ rewrites

  /**
   * An operand list joined by one kind of operator. A {@code [...]} list may stand only first, in a
   * chain of first positions from the start of the definition ({@code ([user] or a) but not b}), as
   * OpenFGA's grammar has it; {@code directAllowed} says whether this expression is in one.
   */
  private Rewrite expression(int depth, List<TypeRestriction> direct, boolean directAllowed) {
    if (depth > MAX_NESTING) {
      throw error(lexer.peek(), "parentheses are nested deeper than " + MAX_NESTING);
    }
    List<Rewrite> children = new ArrayList<>();
    children.add(operand(depth, direct, directAllowed));
    Operator operator = null;
    while (true) {
      Token token = lexer.peek();
      Operator next = operator(token);
      if (next == null) {
        break;
      }
      if (operator != null && (operator != next || operator == Operator.BUT_NOT)) {
        throw error(
            token,
            "cannot combine '"
                + spelling(operator)
                + "' and '"
                + spelling(next)
                + "' without parentheses");
      }
      lexer.next();
      if (next == Operator.BUT_NOT) {
        Token not = lexer.next();
        if (!not.isWord("not")) {
          throw error(not, "expected 'not' after 'but'");
        }
      }
      operator = next;
      children.add(operand(depth, direct, false));
    }
    if (operator == null) {
      return children.get(0);
    }
    return switch (operator) {
      case OR -> new Rewrite.Union(children);
      case AND -> new Rewrite.Intersection(children);
      case BUT_NOT -> new Rewrite.Difference(children.get(0), children.get(1));
    };
  }

  private static @Nullable Operator operator(Token token) {
    if (token.isWord("or")) {
      return Operator.OR;
    } else if (token.isWord("and")) {
      return Operator.AND;
    } else if (token.isWord("but")) {
      return Operator.BUT_NOT;
    }
    return null;
  }

  private static String spelling(Operator operator) {
    return switch (operator) {
      case OR -> "or";
      case AND -> "and";
      case BUT_NOT -> "but not";
    };
  }

  private Rewrite operand(int depth, List<TypeRestriction> direct, boolean directAllowed) {
    Token token = lexer.peek();
    if (token.is("[")) {
      if (!directAllowed || !direct.isEmpty()) {
        throw error(token, "a list of directly related types [...] can only start a definition");
      }
      typeRestrictions(direct);
      return new Rewrite.This();
    }
    if (token.is("(")) {
      lexer.next();
      skipNewlines();
      Rewrite inner = expression(depth + 1, direct, directAllowed);
      skipNewlines();
      expect(")");
      return inner;
    }
    if (token.kind() != Kind.WORD || operator(token) != null || token.isWord("from")) {
      throw error(token, "expected a relation name, '(' or '[', found " + token.describe());
    }
    lexer.next();
    if (lexer.peek().isWord("from")) {
      lexer.next();
      Token tupleset = lexer.next();
      if (tupleset.kind() != Kind.WORD) {
        throw error(
            tupleset, "expected a relation name after 'from', found " + tupleset.describe());
      }
      Rewrite.TupleToUserset ttu = new Rewrite.TupleToUserset(tupleset.text(), token.text());
      sourceMap.spans.put(
          ttu, lexer.spanOf(token.offset(), tupleset.offset() + tupleset.text().length()));
      sourceMap.tuplesetSpans.put(ttu, tupleset.span());
      return ttu;
    }
    Rewrite.ComputedUserset computed = new Rewrite.ComputedUserset(token.text());
    sourceMap.spans.put(computed, token.span());
    return computed;
  }

  private void typeRestrictions(List<TypeRestriction> direct) {
    lexer.next(); // [
    do {
      skipNewlines();
      Token type = lexer.next();
      if (type.kind() != Kind.WORD) {
        throw error(type, "expected a type name, found " + type.describe());
      }
      TypeRestriction restriction;
      Token last = type;
      if (lexer.peek().is(":")) {
        lexer.next();
        last = lexer.next();
        if (!last.is("*")) {
          throw error(last, "expected '*' after '" + type.text() + ":', found " + last.describe());
        }
        restriction = TypeRestriction.wildcard(type.text());
      } else if (lexer.peek().is("#")) {
        lexer.next();
        last = lexer.next();
        if (last.kind() != Kind.WORD) {
          throw error(last, "expected a relation after '#', found " + last.describe());
        }
        restriction = TypeRestriction.userset(type.text(), last.text());
      } else {
        restriction = TypeRestriction.direct(type.text());
      }
      SourceSpan span = lexer.spanOf(type.offset(), last.offset() + last.text().length());
      if (lexer.peek().isWord("with")) {
        lexer.next();
        Token condition = lexer.next();
        if (condition.kind() != Kind.WORD) {
          throw error(condition, "expected a condition name after 'with'");
        }
        restriction = restriction.withCondition(condition.text());
        sourceMap.conditionReferenceSpans.put(restriction, condition.span());
      }
      sourceMap.spans.put(restriction, span);
      direct.add(restriction);
      skipNewlines();
      Token separator = lexer.peek();
      if (!separator.is(",") && !separator.is("]")) {
        throw error(separator, "expected ',' or ']', found " + separator.describe());
      }
    } while (accept(","));
    expect("]");
  }

  // ------------------------------------------------------------------ helpers

  private Token name(String what) {
    Token token = lexer.next();
    if (token.kind() != Kind.WORD) {
      throw error(token, "expected " + what + ", found " + token.describe());
    }
    return token;
  }

  private void expect(String punctuation) {
    Token token = lexer.next();
    if (!token.is(punctuation)) {
      throw error(token, "expected '" + punctuation + "', found " + token.describe());
    }
  }

  private boolean accept(String punctuation) {
    if (lexer.peek().is(punctuation)) {
      lexer.next();
      return true;
    }
    return false;
  }

  private void endOfLine() {
    Token token = lexer.peek();
    if (token.kind() != Kind.NEWLINE && token.kind() != Kind.EOF) {
      throw error(token, "expected the end of the line, found " + token.describe());
    }
  }

  private void skipNewlines() {
    while (lexer.peek().kind() == Kind.NEWLINE) {
      lexer.next();
    }
  }

  private SyntaxError error(Token token, String message) {
    String symbol = token.kind() == Kind.EOF ? "<EOF>" : token.text();
    return new SyntaxError(new ModelError("syntax-error", message, symbol, token.span()));
  }
}
