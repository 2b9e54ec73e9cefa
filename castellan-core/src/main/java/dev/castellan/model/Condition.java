package dev.castellan.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A named CEL condition with typed parameters: {@code condition name(p: type, ...) { expr }}.
 *
 * @param expression the CEL source as written between the braces (trimmed)
 */
public record Condition(
    String name, Map<String, ConditionParamType> parameters, String expression) {

  public Condition {
    Objects.requireNonNull(name, "name");
    expression = Objects.requireNonNull(expression, "expression").strip();
    parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
  }
}
