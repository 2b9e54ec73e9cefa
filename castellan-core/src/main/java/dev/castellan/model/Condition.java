package dev.castellan.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A named CEL condition with typed parameters: {@code condition name(p: type, ...) { expr }}.
 *
 * @param expression the CEL source as written between the braces (trimmed)
 * @param source the module and file declaring the condition in a modular model, else {@link
 *     ModuleSource#NONE}
 */
public record Condition(
    String name,
    Map<String, ConditionParamType> parameters,
    String expression,
    ModuleSource source) {

  public Condition {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(source, "source");
    expression = Objects.requireNonNull(expression, "expression").strip();
    parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
  }

  /** A condition of an ordinary (not modular) model. */
  public Condition(String name, Map<String, ConditionParamType> parameters, String expression) {
    this(name, parameters, expression, ModuleSource.NONE);
  }
}
