package dev.castellan;

import java.util.Objects;

/**
 * The one unchecked exception family of Castellan. It carries a stable {@link ErrorCode}; its
 * message is safe to show to the caller (it never contains stack traces or internal state).
 */
public class CastellanException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ErrorCode code;

  public CastellanException(ErrorCode code, String message) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
  }

  public CastellanException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
  }

  public ErrorCode code() {
    return code;
  }
}
