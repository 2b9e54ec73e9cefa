package dev.castellan.model;

/** A 0-based line and column range in DSL source; end columns are exclusive. */
public record SourceSpan(int startLine, int endLine, int startColumn, int endColumn) {

  /** No position known (e.g. the model came from JSON). */
  public static final SourceSpan NONE = new SourceSpan(-1, -1, -1, -1);
}
