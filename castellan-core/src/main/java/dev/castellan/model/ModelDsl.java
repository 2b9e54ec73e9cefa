package dev.castellan.model;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * OpenFGA's DSL (schema 1.1 and 1.2): {@link #parse} reads it (syntax only; see {@link
 * ModelValidator} for the semantic rules), {@link #write} prints a model in the layout {@code fga
 * model transform} uses, with the module and file of each part of a combined modular model as a
 * comment. A module file ({@code module name}) parses to a model without a schema version; {@link
 * ModularModel} combines module files.
 */
public final class ModelDsl {

  private ModelDsl() {}

  /**
   * Parses DSL source.
   *
   * @throws InvalidModelException with {@code syntax-error} or {@code duplicated-error} entries
   */
  public static AuthorizationModel parse(String dsl) {
    DslParser.Result result = DslParser.parse(dsl);
    if (!result.errors().isEmpty()) {
      throw new InvalidModelException(result.errors());
    }
    return result.parsedModel();
  }

  /**
   * Prints {@code model} as DSL; parsing the text gives {@code model} back (with directly related
   * types first in a union or intersection, where the DSL wants them).
   *
   * @throws InvalidModelException ({@code unsupported-by-dsl}) when the model cannot be spelled in
   *     the DSL: directly related types ({@code this}) anywhere but as a top-level operand, or as
   *     what is subtracted, or listed without being used; a name the DSL would not read as one word
   *     (a blank or any of {@code [](),:#*}{@code {}<>}), or a relation operand named {@code or},
   *     {@code and}, {@code but} or {@code from}; a condition without parameters or whose
   *     expression would not end at its closing brace
   */
  public static String write(AuthorizationModel model) {
    StringBuilder out = new StringBuilder();
    if (!DslParser.SCHEMA_VERSION.matcher(model.schemaVersion()).matches()) {
      throw unsupported(
          model.schemaVersion(), "the schema version '" + model.schemaVersion() + "' is not n.n");
    }
    out.append("model\n  schema ").append(model.schemaVersion()).append('\n');
    for (TypeDefinition type : model.typeDefinitions()) {
      out.append("\ntype ")
          .append(word(type.name(), "type"))
          .append(sourceComment("", type.source()))
          .append('\n');
      if (!type.relations().isEmpty()) {
        out.append("  relations\n");
        for (RelationDefinition relation : type.relations().values()) {
          out.append("    define ")
              .append(word(relation.name(), "relation"))
              .append(": ")
              .append(relationBody(type.name(), relation))
              .append(sourceComment("extended by: ", relation.source()))
              .append('\n');
        }
      }
    }
    for (Condition condition : model.conditions().values()) {
      out.append("\ncondition ")
          .append(word(condition.name(), "condition"))
          .append('(')
          .append(signature(condition))
          .append(") {\n  ")
          .append(expression(condition))
          .append("\n}")
          .append(sourceComment("", condition.source()))
          .append('\n');
    }
    return out.toString();
  }

  /**
   * Where a part of a modular model comes from, as the comment OpenFGA's transformer writes after
   * it ({@code # module: core, file: core.fga}); empty for other parts. The parser skips it.
   */
  private static String sourceComment(String prefix, ModuleSource source) {
    if (!source.isPresent()) {
      return "";
    }
    List<String> parts = new ArrayList<>();
    if (!source.module().isEmpty()) {
      parts.add("module: " + source.module());
    }
    if (!source.file().isEmpty()) {
      parts.add("file: " + source.file());
    }
    String comment = String.join(", ", parts);
    if (comment.indexOf('\n') >= 0 || comment.indexOf('\r') >= 0) {
      // A line break would end the comment and let the rest be read as model text.
      throw unsupported(comment, "the module or file name '" + comment + "' has a line break");
    }
    return " # " + prefix + comment;
  }

  private static String relationBody(String typeName, RelationDefinition relation) {
    String unsupported =
        "the '"
            + relation.name()
            + "' relation definition under the '"
            + typeName
            + "' type is not supported by the OpenFGA DSL syntax yet";
    List<TypeRestriction> restrictions = relation.directlyRelatedTypes();
    if (restrictions.isEmpty() == containsThis(relation.rewrite())) {
      // "[]" does not parse, and types listed outside a "[...]" would be lost.
      throw unsupported(relation.name(), unsupported);
    }
    for (TypeRestriction r : restrictions) {
      word(r.type(), "type");
      if (r.isUserset()) {
        word(r.relation(), "relation");
      }
      if (r.isConditional()) {
        word(r.condition(), "condition");
      }
    }
    String direct =
        "["
            + restrictions.stream().map(TypeRestriction::toString).collect(Collectors.joining(", "))
            + "]";
    try {
      return new Writer(direct).expression(relation.rewrite(), true);
    } catch (IllegalStateException e) {
      throw unsupported(relation.name(), unsupported);
    }
  }

  /** {@code name} when the DSL reads it back as one word. */
  private static String word(String name, String what) {
    if (!DslLexer.isWord(name)) {
      throw unsupported(
          name, "the " + what + " name '" + name + "' is not one word in the OpenFGA DSL syntax");
    }
    return name;
  }

  /** A relation named where an operand may stand: one word, and not an operator. */
  private static String operand(String relation) {
    if (OPERATORS.contains(relation)) {
      throw unsupported(
          relation,
          "a relation named '" + relation + "' cannot be an operand in the OpenFGA DSL syntax");
    }
    return word(relation, "relation");
  }

  private static final java.util.Set<String> OPERATORS =
      java.util.Set.of("or", "and", "but", "from");

  private static String expression(Condition condition) {
    String text = "\n  " + condition.expression() + "\n}";
    if (condition.expression().isEmpty() || DslParser.closingBrace(text, 0) != text.length() - 1) {
      throw unsupported(
          condition.name(),
          "the expression of the condition '"
              + condition.name()
              + "' does not end at its closing brace (an unbalanced '{', '}' or quote)");
    }
    return condition.expression();
  }

  private static boolean containsThis(Rewrite rewrite) {
    return switch (rewrite) {
      case Rewrite.This t -> true;
      case Rewrite.Union u -> u.children().stream().anyMatch(ModelDsl::containsThis);
      case Rewrite.Intersection i -> i.children().stream().anyMatch(ModelDsl::containsThis);
      case Rewrite.Difference d -> containsThis(d.base()) || containsThis(d.subtract());
      default -> false;
    };
  }

  private static InvalidModelException unsupported(String symbol, String message) {
    return new InvalidModelException(
        List.of(new ModelError("unsupported-by-dsl", message, symbol, SourceSpan.NONE)));
  }

  /**
   * Spells a rewrite. The DSL allows the {@code [...]} list only first, in a chain of first
   * positions; union and intersection are commutative, so their direct child is moved first.
   */
  private record Writer(String direct) {

    String expression(Rewrite rewrite, boolean directAllowed) {
      return switch (rewrite) {
        case Rewrite.Union u -> joined(u.children(), " or ", directAllowed);
        case Rewrite.Intersection i -> joined(i.children(), " and ", directAllowed);
        case Rewrite.Difference d ->
            operand(d.base(), directAllowed) + " but not " + operand(d.subtract(), false);
        default -> operand(rewrite, directAllowed);
      };
    }

    private String joined(List<Rewrite> children, String separator, boolean directAllowed) {
      List<Rewrite> ordered = new ArrayList<>(children);
      for (int i = 1; i < ordered.size(); i++) {
        if (ordered.get(i) instanceof Rewrite.This) {
          ordered.add(0, ordered.remove(i));
          break;
        }
      }
      List<String> parts = new ArrayList<>();
      for (int i = 0; i < ordered.size(); i++) {
        parts.add(operand(ordered.get(i), directAllowed && i == 0));
      }
      return String.join(separator, parts);
    }

    private String operand(Rewrite rewrite, boolean directAllowed) {
      return switch (rewrite) {
        case Rewrite.This t -> {
          if (!directAllowed) {
            throw new IllegalStateException("direct types out of place");
          }
          yield direct;
        }
        case Rewrite.ComputedUserset c -> ModelDsl.operand(c.relation());
        case Rewrite.TupleToUserset t ->
            ModelDsl.operand(t.computedRelation()) + " from " + word(t.tupleset(), "relation");
        default -> "(" + expression(rewrite, directAllowed) + ")";
      };
    }
  }

  private static String signature(Condition condition) {
    if (condition.parameters().isEmpty()) {
      // The DSL's grammar needs at least one parameter: "()" would not parse back.
      throw unsupported(
          condition.name(),
          "the condition '"
              + condition.name()
              + "' has no parameters, which the OpenFGA DSL syntax cannot express");
    }
    return condition.parameters().entrySet().stream()
        .map(e -> word(e.getKey(), "parameter") + ": " + e.getValue())
        .collect(Collectors.joining(", "));
  }
}
