package dev.castellan.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Mutable recording of one explained check; turned into an {@link Explanation} at the end.
 *
 * <p>The recording is capped in bytes: each step is charged what it can cost in the answer (its
 * JSON node and its line of the text rendering, both as escaped UTF-8), and once a step would pass
 * the cap nothing more is recorded. The check itself runs on to its answer; every step that had
 * steps left out below it gets one {@link Explanation.Outcome#OMITTED} child saying how many. Room
 * for those markers is kept from the start (one per level of the path being recorded), so the
 * explanation with its markers stays within the cap.
 */
final class Trace {
  /** Charged per step besides its text: the JSON keys and punctuation, the longest outcome. */
  private static final int STEP_OVERHEAD = 64;

  /** The most a marker can cost besides its indentation (its text is at most ~110 characters). */
  static final int MARKER_BYTES = 2 * (128 + STEP_OVERHEAD);

  private final String step;
  private final int depth;
  private final Recorder recorder;

  /** Null for a step that is not recorded: its steps are counted on {@link #owner}. */
  private final @Nullable List<Trace> children;

  /** The recorded step an unrecorded one is counted on; this step itself when recorded. */
  private final Trace owner;

  private Explanation.Outcome outcome = Explanation.Outcome.DENIED;

  /** Steps left out below this recorded step. */
  private long omitted;

  /** A root, recorded whatever its size. */
  Trace(String step, int maxBytes) {
    this.step = step;
    this.depth = 0;
    this.recorder = new Recorder(maxBytes);
    this.children = new ArrayList<>(2);
    this.owner = this;
    recorder.bytes = cost(step, 0);
  }

  private Trace(
      String step, int depth, Recorder recorder, @Nullable Trace owner, boolean recorded) {
    this.step = step;
    this.depth = depth;
    this.recorder = recorder;
    this.children = recorded ? new ArrayList<>(2) : null;
    this.owner = recorded ? this : Objects.requireNonNull(owner, "an unrecorded step's owner");
  }

  Trace child(String childStep) {
    if (children == null) {
      owner.omitted++;
      recorder.omitted++;
      return this;
    }
    int childDepth = depth + 1;
    if (!recorder.full) {
      long cost = cost(childStep, childDepth);
      if (recorder.bytes + cost + reserve(childDepth) <= recorder.maxBytes) {
        recorder.bytes += cost;
        Trace child = new Trace(childStep, childDepth, recorder, null, true);
        children.add(child);
        return child;
      }
      recorder.full = true;
    }
    omitted++;
    recorder.omitted++;
    return new Trace("", childDepth, recorder, this, false);
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

  /** Steps left out of the whole explanation. */
  long omittedSteps() {
    return recorder.omitted;
  }

  Explanation toExplanation() {
    List<Trace> recorded = children == null ? List.of() : children;
    List<Explanation> out = new ArrayList<>(recorded.size() + 1);
    for (Trace child : recorded) {
      out.add(child.toExplanation());
    }
    if (omitted > 0) {
      out.add(
          new Explanation(
              "... "
                  + omitted
                  + (omitted == 1 ? " more step" : " more steps")
                  + " not shown: the explanation reached its limit of "
                  + recorder.maxBytes
                  + " bytes",
              Explanation.Outcome.OMITTED,
              List.of()));
    }
    return new Explanation(step, outcome, out);
  }

  /**
   * What a step at {@code depth} can cost: its JSON node ({@code {"step":..,"outcome":..,
   * "children":[]}}) and its line of the rendering ({@code depth} indents, the step, the outcome),
   * which is a JSON string too.
   */
  static long cost(String step, int depth) {
    long text = escapedUtf8(step);
    return 2 * (text + STEP_OVERHEAD) + 2L * depth;
  }

  /** Room for a marker on every step of a path down to {@code depth}. */
  private static long reserve(int depth) {
    long levels = depth + 1L;
    return levels * MARKER_BYTES + levels * (levels + 1);
  }

  /** An upper bound of the bytes of {@code text} in a JSON string, UTF-8 encoded. */
  static long escapedUtf8(String text) {
    long bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x20) {
        bytes += 6; // \\u00XX
      } else if (c == '"' || c == '\\') {
        bytes += 2;
      } else if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isSurrogate(c)) {
        bytes += 6; // Jackson escapes each half of a pair, 6 bytes each
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  /** What the whole recording shares. */
  private static final class Recorder {
    final int maxBytes;
    long bytes;
    boolean full;
    long omitted;

    Recorder(int maxBytes) {
      this.maxBytes = maxBytes;
    }
  }
}
