package dev.castellan.model;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.util.List;
import java.util.stream.Collectors;

/** A model that does not parse or does not validate; carries every problem found. */
public final class InvalidModelException extends CastellanException {
  private static final long serialVersionUID = 1L;
  private final transient List<ModelError> errors;

  public InvalidModelException(List<ModelError> errors) {
    super(ErrorCode.INVALID_AUTHORIZATION_MODEL, summarize(errors));
    this.errors = List.copyOf(errors);
  }

  public List<ModelError> errors() {
    return errors;
  }

  private static String summarize(List<ModelError> errors) {
    if (errors.isEmpty()) {
      throw new IllegalArgumentException("an invalid model needs at least one error");
    }
    String all = errors.stream().map(ModelError::describe).collect(Collectors.joining("; "));
    return errors.size() == 1 ? all : errors.size() + " errors: " + all;
  }
}
