package dev.castellan.engine;

import java.util.List;
import java.util.Objects;

/**
 * One level of the userset tree of {@code object#relation}, in OpenFGA's expand shape. Leaves name
 * users, computed usersets or tuple-to-userset hops; callers expand those further as needed.
 */
public sealed interface ExpandNode {
  /** The {@code object#relation} this node describes. */
  String name();

  /** Directly assigned users: {@code user:anne}, {@code user:*}, {@code group:eng#member}. */
  record Users(String name, List<String> users) implements ExpandNode {
    public Users {
      Objects.requireNonNull(name, "name");
      users = List.copyOf(users);
    }
  }

  /** The users of another relation on the same object. */
  record Computed(String name, String userset) implements ExpandNode {
    public Computed {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(userset, "userset");
    }
  }

  /** {@code tupleset} names the parents; {@code computed} lists each parent's userset. */
  record TupleToUserset(String name, String tupleset, List<String> computed) implements ExpandNode {
    public TupleToUserset {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(tupleset, "tupleset");
      computed = List.copyOf(computed);
    }
  }

  record Union(String name, List<ExpandNode> nodes) implements ExpandNode {
    public Union {
      Objects.requireNonNull(name, "name");
      nodes = List.copyOf(nodes);
    }
  }

  record Intersection(String name, List<ExpandNode> nodes) implements ExpandNode {
    public Intersection {
      Objects.requireNonNull(name, "name");
      nodes = List.copyOf(nodes);
    }
  }

  record Difference(String name, ExpandNode base, ExpandNode subtract) implements ExpandNode {
    public Difference {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(base, "base");
      Objects.requireNonNull(subtract, "subtract");
    }
  }
}
