package dev.castellan.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One {@code type} block: its name and its relations, in the order written.
 *
 * @param source the module and file that declare the type in a modular model, else {@link
 *     ModuleSource#NONE}
 */
public record TypeDefinition(
    String name, Map<String, RelationDefinition> relations, ModuleSource source) {

  public TypeDefinition {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(source, "source");
    relations = Collections.unmodifiableMap(new LinkedHashMap<>(relations));
  }

  /** A type of an ordinary (not modular) model. */
  public TypeDefinition(String name, Map<String, RelationDefinition> relations) {
    this(name, relations, ModuleSource.NONE);
  }

  public Optional<RelationDefinition> relation(String relation) {
    return Optional.ofNullable(relations.get(relation));
  }
}
