package dev.castellan.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * OpenFGA's schema 1.1 DSL: {@link #parse} reads it (syntax only; see {@link ModelValidator} for
 * the semantic rules), {@link #write} prints a model in the layout {@code fga model transform}
 * uses.
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
    return result.model();
  }

  /**
   * Prints {@code model} as DSL.
   *
   * @throws InvalidModelException ({@code unsupported-by-dsl}) when the model cannot be spelled in
   *     the DSL: directly related types ({@code this}) anywhere but as a top-level operand, or as
   *     what is subtracted; a condition without parameters
   */
  public static String write(AuthorizationModel model) {
    StringBuilder out = new StringBuilder();
    out.append("model\n  schema ").append(model.schemaVersion()).append('\n');
    for (TypeDefinition type : model.typeDefinitions()) {
      out.append("\ntype ").append(type.name()).append('\n');
      if (!type.relations().isEmpty()) {
        out.append("  relations\n");
        for (RelationDefinition relation : type.relations().values()) {
          out.append("    define ")
              .append(relation.name())
              .append(": ")
              .append(relationBody(type.name(), relation))
              .append('\n');
        }
      }
    }
    for (Condition condition : model.conditions().values()) {
      if (condition.parameters().isEmpty()) {
        // The DSL's grammar needs at least one parameter: "()" would not parse back.
        throw unsupported(
            condition.name(),
            "the condition '"
                + condition.name()
                + "' has no parameters, which the OpenFGA DSL"
                + " syntax cannot express");
      }
      String parameters = signature(condition.parameters());
      out.append("\ncondition ")
          .append(condition.name())
          .append('(')
          .append(parameters)
          .append(") {\n  ")
          .append(condition.expression())
          .append("\n}\n");
    }
    return out.toString();
  }

  private static String relationBody(String typeName, RelationDefinition relation) {
    String direct =
        "["
            + relation.directlyRelatedTypes().stream()
                .map(TypeRestriction::toString)
                .collect(Collectors.joining(", "))
            + "]";
    try {
      return new Writer(direct).expression(relation.rewrite(), true);
    } catch (IllegalStateException e) {
      throw unsupported(
          relation.name(),
          "the '"
              + relation.name()
              + "' relation definition under the '"
              + typeName
              + "' type is not supported by the OpenFGA DSL syntax yet");
    }
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
        case Rewrite.ComputedUserset c -> c.relation();
        case Rewrite.TupleToUserset t -> t.computedRelation() + " from " + t.tupleset();
        default -> "(" + expression(rewrite, directAllowed) + ")";
      };
    }
  }

  private static String signature(Map<String, ConditionParamType> parameters) {
    return parameters.entrySet().stream()
        .map(e -> e.getKey() + ": " + e.getValue())
        .collect(Collectors.joining(", "));
  }
}
