package dev.castellan.client;

import org.jspecify.annotations.Nullable;

/**
 * Why {@link CastellanClient#authorize} gave no decision. A denial is not an exception: it is a
 * {@link Decision} with {@code allowed == false}. Messages never contain the bearer token.
 */
public abstract sealed class CastellanClientException extends RuntimeException
    permits CastellanClientException.Unauthenticated,
        CastellanClientException.Unavailable,
        CastellanClientException.Rejected {
  private static final long serialVersionUID = 1L;

  CastellanClientException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }

  /**
   * Castellan did not accept the token (HTTP 401): missing, malformed, expired or badly signed. The
   * message is Castellan's, safe to show to the caller.
   */
  public static final class Unauthenticated extends CastellanClientException {
    private static final long serialVersionUID = 1L;

    public Unauthenticated(String message) {
      super(message, null);
    }
  }

  /**
   * Castellan could not be asked or did not answer properly: connection refused, timeout, a 5xx or
   * 429, or an answer that is not a decision. Callers must fail closed.
   */
  public static final class Unavailable extends CastellanClientException {
    private static final long serialVersionUID = 1L;

    public Unavailable(String message, @Nullable Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Castellan refused the question itself (a 4xx other than 401), e.g. {@code validation_error} for
   * a permission its catalog does not know. This is a configuration error of the application.
   */
  public static final class Rejected extends CastellanClientException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String code;

    public Rejected(int status, String code, String message) {
      super("Castellan answered HTTP " + status + " (" + code + "): " + message, null);
      this.status = status;
      this.code = code;
    }

    /** The HTTP status Castellan answered with. */
    public int status() {
      return status;
    }

    /** Castellan's error code, e.g. {@code validation_error}; empty when the body had none. */
    public String code() {
      return code;
    }
  }
}
