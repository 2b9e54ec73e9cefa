package dev.castellan.server.auth;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts failed authentications per source (a client address) in fixed windows that start at the
 * source's first failure, and says how long a source that used up its {@link AuthFailureLimit} must
 * wait. The check on every request is one map lookup without a lock; only failures write.
 *
 * <p>At most {@value #MAX_SOURCES} sources are tracked at once. When that many are, windows that
 * have ended are dropped; if none has, a new source is not tracked (and so not limited) until one
 * ends: an attacker with that many addresses is past what a per-address limit can stop, and
 * forgetting sources already blocked would free them.
 */
public final class AuthFailureLimiter {
  static final int MAX_SOURCES = 100_000;

  private final AuthFailureLimit limit;
  private final Clock clock;
  private final long windowMillis;
  private final Map<String, Window> windows = new ConcurrentHashMap<>();

  private record Window(long start, AtomicInteger failures) {}

  public AuthFailureLimiter(AuthFailureLimit limit, Clock clock) {
    this.limit = limit;
    this.clock = clock;
    this.windowMillis = limit.window().toMillis();
  }

  /**
   * 0 when {@code source} may present credentials; otherwise the whole seconds (at least 1) until
   * its window ends, for {@code Retry-After}.
   */
  public long retryAfterSeconds(String source) {
    if (!limit.enabled() || windows.isEmpty()) {
      return 0;
    }
    Window window = windows.get(source);
    if (window == null || window.failures().get() < limit.failures()) {
      return 0;
    }
    long left = window.start() + windowMillis - clock.millis();
    return left <= 0 ? 0 : Math.max(1, (left + 999) / 1000);
  }

  /** One failed authentication from {@code source}. */
  public void failed(String source) {
    if (!limit.enabled()) {
      return;
    }
    long now = clock.millis();
    if (windows.size() >= MAX_SOURCES && !windows.containsKey(source)) {
      windows.values().removeIf(w -> w.start() + windowMillis <= now);
      if (windows.size() >= MAX_SOURCES) {
        return;
      }
    }
    windows.compute(
        source,
        (key, window) -> {
          if (window == null || window.start() + windowMillis <= now) {
            return new Window(now, new AtomicInteger(1));
          }
          window.failures().incrementAndGet();
          return window;
        });
  }

  /** Sources tracked now (for tests and the curious). */
  int tracked() {
    return windows.size();
  }
}
