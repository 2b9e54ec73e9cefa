package dev.castellan.engine;

import java.util.List;
import java.util.Objects;

/**
 * Why a check came out as it did: a tree of the rewrite steps and tuples the engine visited. A
 * granted check's tree contains the chain that granted it; a denied one shows the branches tried.
 *
 * @param step what was evaluated, e.g. {@code document:1#viewer}, {@code union}, or {@code tuple
 *     document:1#viewer@group:eng#member}
 */
public record Explanation(String step, Outcome outcome, List<Explanation> children) {

  /** The result of one step. */
  public enum Outcome {
    GRANTED,
    DENIED,
    /** The step led back to itself; OpenFGA treats this as not granted. */
    CYCLE,
    /** The step failed (resolution too deep, condition context missing). */
    ERROR,
    /**
     * Not a step of the evaluation: a marker for steps left out because the explanation reached its
     * size limit; its {@code step} says how many.
     */
    OMITTED
  }

  public Explanation {
    Objects.requireNonNull(step, "step");
    Objects.requireNonNull(outcome, "outcome");
    children = List.copyOf(children);
  }

  /** An indented, human-readable rendering, one step a line. */
  public String render() {
    StringBuilder out = new StringBuilder();
    render(out, 0);
    return out.toString();
  }

  private void render(StringBuilder out, int depth) {
    out.append("  ".repeat(depth))
        .append(step)
        .append(" -> ")
        .append(outcome.name().toLowerCase(java.util.Locale.ROOT))
        .append('\n');
    for (Explanation child : children) {
      child.render(out, depth + 1);
    }
  }
}
