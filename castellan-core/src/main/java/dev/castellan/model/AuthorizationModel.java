package dev.castellan.model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An authorization model in OpenFGA's schema 1.1: type definitions and conditions. Instances are
 * immutable; order of types, relations and conditions is kept as written.
 *
 * <p>A value of this record is only syntactically well-formed; {@link ModelValidator} checks the
 * semantic rules.
 */
public record AuthorizationModel(
    String schemaVersion, List<TypeDefinition> typeDefinitions, Map<String, Condition> conditions) {

  public AuthorizationModel {
    java.util.Objects.requireNonNull(schemaVersion, "schemaVersion");
    typeDefinitions = List.copyOf(typeDefinitions);
    conditions = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(conditions));
  }

  /** The definition of {@code type}, if the model has one. */
  public Optional<TypeDefinition> type(String type) {
    for (TypeDefinition definition : typeDefinitions) {
      if (definition.name().equals(type)) {
        return Optional.of(definition);
      }
    }
    return Optional.empty();
  }
}
