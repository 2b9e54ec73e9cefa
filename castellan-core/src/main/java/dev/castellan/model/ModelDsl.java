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
   * @throws InvalidModelException when a relation cannot be spelled in the DSL: directly related
   *     types ({@code this}) anywhere but as a top-level operand, or as what is subtracted
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
    Rewrite rewrite = relation.rewrite();
    try {
      return switch (rewrite) {
        case Rewrite.This t -> direct;
        case Rewrite.Union u -> joined(u.children(), " or ", direct);
        case Rewrite.Intersection i -> joined(i.children(), " and ", direct);
        case Rewrite.Difference d ->
            (d.base() instanceof Rewrite.This ? direct : operand(d.base()))
                + " but not "
                + operand(d.subtract());
        default -> operand(rewrite);
      };
    } catch (IllegalStateException e) {
      throw new InvalidModelException(
          List.of(
              new ModelError(
                  "unsupported-by-dsl",
                  "the '"
                      + relation.name()
                      + "' relation definition under the '"
                      + typeName
                      + "' type is not supported by the OpenFGA DSL syntax yet",
                  relation.name(),
                  SourceSpan.NONE)));
    }
  }

  /** Top-level union or intersection: the direct list, wherever it was, goes first. */
  private static String joined(List<Rewrite> children, String separator, String direct) {
    List<String> parts = new ArrayList<>();
    boolean hasDirect = false;
    for (Rewrite child : children) {
      if (child instanceof Rewrite.This) {
        hasDirect = true;
      } else {
        parts.add(operand(child));
      }
    }
    if (hasDirect) {
      parts.add(0, direct);
    }
    return String.join(separator, parts);
  }

  private static String operand(Rewrite rewrite) {
    return switch (rewrite) {
      case Rewrite.This t -> throw new IllegalStateException("direct types nested");
      case Rewrite.ComputedUserset c -> c.relation();
      case Rewrite.TupleToUserset t -> t.computedRelation() + " from " + t.tupleset();
      case Rewrite.Union u -> "(" + nested(u.children(), " or ") + ")";
      case Rewrite.Intersection i -> "(" + nested(i.children(), " and ") + ")";
      case Rewrite.Difference d -> "(" + operand(d.base()) + " but not " + operand(d.subtract()) + ")";
    };
  }

  private static String nested(List<Rewrite> children, String separator) {
    return children.stream().map(ModelDsl::operand).collect(Collectors.joining(separator));
  }

  private static String signature(Map<String, ConditionParamType> parameters) {
    return parameters.entrySet().stream()
        .map(e -> e.getKey() + ": " + e.getValue())
        .collect(Collectors.joining(", "));
  }
}
