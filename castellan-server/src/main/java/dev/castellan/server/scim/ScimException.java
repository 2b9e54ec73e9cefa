package dev.castellan.server.scim;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import org.jspecify.annotations.Nullable;

/**
 * A request the SCIM service refuses; carries the {@link ScimError} body to answer with. It is a
 * {@link CastellanException} like every other refusal, with the closest {@link ErrorCode}, so a
 * handler that does not know SCIM still answers with the right kind of error; the SCIM routes
 * answer with {@link #error()} in the SCIM error schema instead.
 */
final class ScimException extends CastellanException {
  private static final long serialVersionUID = 1L;

  @SuppressWarnings("serial") // a record of an int, an enum and a string
  private final ScimError error;

  ScimException(ScimError error) {
    super(codeFor(error.status()), error.detail());
    this.error = error;
  }

  static ScimException badRequest(@Nullable ScimType scimType, String detail) {
    return new ScimException(new ScimError(400, scimType, detail));
  }

  ScimError error() {
    return error;
  }

  private static ErrorCode codeFor(int status) {
    return switch (status) {
      case 401 -> ErrorCode.UNAUTHENTICATED;
      case 403 -> ErrorCode.FORBIDDEN;
      case 404 -> ErrorCode.NOT_FOUND;
      case 409 -> ErrorCode.ALREADY_EXISTS;
      case 413 -> ErrorCode.REQUEST_TOO_LARGE;
      default -> status >= 500 ? ErrorCode.INTERNAL_ERROR : ErrorCode.VALIDATION_ERROR;
    };
  }
}
