package dev.castellan.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** One {@code type} block: its name and its relations, in the order written. */
public record TypeDefinition(String name, Map<String, RelationDefinition> relations) {

  public TypeDefinition {
    Objects.requireNonNull(name, "name");
    relations = Collections.unmodifiableMap(new LinkedHashMap<>(relations));
  }

  public Optional<RelationDefinition> relation(String relation) {
    return Optional.ofNullable(relations.get(relation));
  }
}
