package dev.castellan.model;

import java.util.List;
import java.util.Objects;

/**
 * One {@code define name: ...} line: the rewrite that computes the relation and, when the rewrite
 * contains {@link Rewrite.This}, the user types that may be assigned directly.
 *
 * @param source for a relation added to a type by {@code extend type} in another module, that
 *     module and its file; else {@link ModuleSource#NONE}
 */
public record RelationDefinition(
    String name, Rewrite rewrite, List<TypeRestriction> directlyRelatedTypes, ModuleSource source) {

  public RelationDefinition {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(rewrite, "rewrite");
    Objects.requireNonNull(source, "source");
    directlyRelatedTypes = List.copyOf(directlyRelatedTypes);
  }

  /** A relation declared in its type's own block. */
  public RelationDefinition(
      String name, Rewrite rewrite, List<TypeRestriction> directlyRelatedTypes) {
    this(name, rewrite, directlyRelatedTypes, ModuleSource.NONE);
  }
}
