package dev.castellan.server.scim;

import org.jspecify.annotations.Nullable;

/** A request the SCIM service refuses; carries the {@link ScimError} body to answer with. */
final class ScimException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  @SuppressWarnings("serial") // a record of an int, an enum and a string
  private final ScimError error;

  ScimException(ScimError error) {
    super(error.detail());
    this.error = error;
  }

  static ScimException badRequest(@Nullable ScimType scimType, String detail) {
    return new ScimException(new ScimError(400, scimType, detail));
  }

  ScimError error() {
    return error;
  }
}
