package dev.castellan.engine;

import java.util.ArrayList;
import java.util.List;

/** Mutable recording of one explained check; turned into an {@link Explanation} at the end. */
final class Trace {
  private final String step;
  private final List<Trace> children = new ArrayList<>(2);
  private Explanation.Outcome outcome = Explanation.Outcome.DENIED;

  Trace(String step) {
    this.step = step;
  }

  Trace child(String childStep) {
    Trace child = new Trace(childStep);
    children.add(child);
    return child;
  }

  int done(int result) {
    outcome =
        switch (result) {
          case Evaluation.TRUE -> Explanation.Outcome.GRANTED;
          case Evaluation.CYCLE -> Explanation.Outcome.CYCLE;
          default -> Explanation.Outcome.DENIED;
        };
    return result;
  }

  void failed() {
    outcome = Explanation.Outcome.ERROR;
  }

  Explanation toExplanation() {
    List<Explanation> out = new ArrayList<>(children.size());
    for (Trace child : children) {
      out.add(child.toExplanation());
    }
    return new Explanation(step, outcome, out);
  }
}
