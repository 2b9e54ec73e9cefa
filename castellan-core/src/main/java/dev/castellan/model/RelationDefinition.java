package dev.castellan.model;

import java.util.List;
import java.util.Objects;

/**
 * One {@code define name: ...} line: the rewrite that computes the relation and, when the rewrite
 * contains {@link Rewrite.This}, the user types that may be assigned directly.
 */
public record RelationDefinition(
    String name, Rewrite rewrite, List<TypeRestriction> directlyRelatedTypes) {

  public RelationDefinition {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(rewrite, "rewrite");
    directlyRelatedTypes = List.copyOf(directlyRelatedTypes);
  }
}
