package dev.castellan.condition;

import java.util.List;

/**
 * The outcome of evaluating one condition.
 *
 * @param met whether the expression evaluated to {@code true}; {@code false} when parameters are
 *     missing
 * @param missingParameters the parameters the expression needed but neither context supplied,
 *     sorted; empty when the expression could be evaluated
 */
public record ConditionResult(boolean met, List<String> missingParameters) {

  private static final ConditionResult MET = new ConditionResult(true, List.of());
  private static final ConditionResult NOT_MET = new ConditionResult(false, List.of());

  public ConditionResult {
    missingParameters = List.copyOf(missingParameters);
  }

  /** A fully evaluated result; shared instances, since evaluation is on the hot path. */
  public static ConditionResult of(boolean met) {
    return met ? MET : NOT_MET;
  }

  /** The expression could not be decided because these parameters were not supplied. */
  public static ConditionResult missing(List<String> missingParameters) {
    return new ConditionResult(false, missingParameters);
  }
}
