package dev.castellan.model;

import java.util.Objects;

/**
 * One problem found in a model. Positions are 0-based like OpenFGA's language tooling and are
 * {@link SourceSpan#NONE} for errors found in the JSON form.
 *
 * @param kind OpenFGA's error type, e.g. {@code relation-no-entry-point}, or {@code syntax-error}
 * @param message a message for a person
 * @param symbol the offending name, or {@code ""}
 * @param span where the problem is in the DSL source
 */
public record ModelError(String kind, String message, String symbol, SourceSpan span) {

  public ModelError {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(message, "message");
    Objects.requireNonNull(symbol, "symbol");
    Objects.requireNonNull(span, "span");
  }

  /**
   * {@code line:column: message} with 1-based numbers, as editors expect; just the message when the
   * error has no position.
   */
  public String describe() {
    return span == SourceSpan.NONE
        ? message
        : (span.startLine() + 1) + ":" + (span.startColumn() + 1) + ": " + message;
  }
}
