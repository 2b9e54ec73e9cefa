package dev.castellan.model;

import java.util.List;
import java.util.Objects;

/**
 * How a relation is computed: OpenFGA's userset rewrites. A closed set, evaluated with exhaustive
 * {@code switch}.
 */
public sealed interface Rewrite {

  /** Directly assigned users ({@code [user, group#member]}); OpenFGA's {@code this}. */
  record This() implements Rewrite {}

  /** Another relation on the same object: {@code define viewer: editor}. */
  record ComputedUserset(String relation) implements Rewrite {
    public ComputedUserset {
      Objects.requireNonNull(relation, "relation");
    }
  }

  /** {@code computedRelation from tupleset}: follow tupleset's objects, then their relation. */
  record TupleToUserset(String tupleset, String computedRelation) implements Rewrite {
    public TupleToUserset {
      Objects.requireNonNull(tupleset, "tupleset");
      Objects.requireNonNull(computedRelation, "computedRelation");
    }
  }

  /** {@code a or b or ...}. */
  record Union(List<Rewrite> children) implements Rewrite {
    public Union {
      children = List.copyOf(children);
    }
  }

  /** {@code a and b and ...}. */
  record Intersection(List<Rewrite> children) implements Rewrite {
    public Intersection {
      children = List.copyOf(children);
    }
  }

  /** {@code base but not subtract}. */
  record Difference(Rewrite base, Rewrite subtract) implements Rewrite {
    public Difference {
      Objects.requireNonNull(base, "base");
      Objects.requireNonNull(subtract, "subtract");
    }
  }
}
