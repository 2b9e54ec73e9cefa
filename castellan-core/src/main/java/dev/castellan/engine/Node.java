package dev.castellan.engine;

/** A compiled rewrite: {@link dev.castellan.model.Rewrite} with names resolved to ids. */
sealed interface Node {
  record Direct() implements Node {}

  record Computed(int relation) implements Node {}

  record TupleToUserset(int tupleset, int computed) implements Node {}

  record Union(Node[] children) implements Node {}

  record Intersection(Node[] children) implements Node {}

  record Difference(Node base, Node subtract) implements Node {}
}
