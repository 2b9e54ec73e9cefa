package dev.castellan.server.auth;

import java.time.Duration;
import java.util.Objects;

/**
 * How many failed authentications one source may make: once {@code failures} have failed within
 * {@code window} of the first, every further API request from that source is answered 429 with
 * {@code Retry-After}, without its credentials being looked at, until the window has passed.
 *
 * @param failures failed authentications allowed per window; 0 turns the limit off
 * @param window how long a window lasts, from the source's first failure in it
 */
public record AuthFailureLimit(int failures, Duration window) {
  /** 100 failures a minute: far above any client with a working credential. */
  public static final AuthFailureLimit DEFAULT = new AuthFailureLimit(100, Duration.ofMinutes(1));

  /** No limit. */
  public static final AuthFailureLimit OFF = new AuthFailureLimit(0, Duration.ofMinutes(1));

  public AuthFailureLimit {
    Objects.requireNonNull(window, "window");
    if (failures < 0) {
      throw new IllegalArgumentException(
          "auth_failure_limit must be 0 (off) or more, not " + failures);
    }
    if (window.compareTo(Duration.ofSeconds(1)) < 0 || window.compareTo(Duration.ofDays(1)) > 0) {
      throw new IllegalArgumentException(
          "auth_failure_window must be between 1s and 1d, not " + window);
    }
  }

  public boolean enabled() {
    return failures > 0;
  }
}
