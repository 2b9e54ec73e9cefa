package dev.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Fixed windows per source, from its first failure; a used-up source waits the window out. */
class AuthFailureLimiterTest {
  private final MutableClock clock = MutableClock.atSystemTime();

  @Test
  void pastNFailures_aSourceWaitsUntilItsWindowEnds_andOtherSourcesDoNot() {
    AuthFailureLimiter limiter =
        new AuthFailureLimiter(new AuthFailureLimit(3, Duration.ofSeconds(60)), clock);
    for (int i = 0; i < 3; i++) {
      assertThat(limiter.retryAfterSeconds("203.0.113.7")).isZero();
      limiter.failed("203.0.113.7");
      clock.advance(Duration.ofSeconds(10));
    }
    assertThat(limiter.retryAfterSeconds("203.0.113.7")).isEqualTo(30);
    assertThat(limiter.retryAfterSeconds("198.51.100.2")).isZero();

    clock.advance(Duration.ofMillis(29_500));
    assertThat(limiter.retryAfterSeconds("203.0.113.7")).as("rounded up").isEqualTo(1);
    clock.advance(Duration.ofMillis(500));
    assertThat(limiter.retryAfterSeconds("203.0.113.7")).isZero();

    limiter.failed("203.0.113.7"); // a new window starts with this failure
    assertThat(limiter.retryAfterSeconds("203.0.113.7")).isZero();
  }

  @Test
  void off_neverRefuses_andTracksNothing() {
    AuthFailureLimiter limiter = new AuthFailureLimiter(AuthFailureLimit.OFF, clock);
    for (int i = 0; i < 1000; i++) {
      limiter.failed("203.0.113.7");
    }
    assertThat(limiter.retryAfterSeconds("203.0.113.7")).isZero();
    assertThat(limiter.tracked()).isZero();
  }

  @Test
  void theSourcesTracked_areBounded_andEndedWindowsMakeRoom() {
    AuthFailureLimiter limiter =
        new AuthFailureLimiter(new AuthFailureLimit(1, Duration.ofSeconds(10)), clock);
    for (int i = 0; i < AuthFailureLimiter.MAX_SOURCES + 10; i++) {
      limiter.failed("s" + i);
    }
    assertThat(limiter.tracked()).isEqualTo(AuthFailureLimiter.MAX_SOURCES);
    assertThat(limiter.retryAfterSeconds("s0")).as("still blocked, not forgotten").isPositive();

    clock.advance(Duration.ofSeconds(10));
    limiter.failed("newcomer");
    assertThat(limiter.tracked()).isEqualTo(1);
    assertThat(limiter.retryAfterSeconds("newcomer")).isPositive();
  }

  @Test
  void badSettings_areRefused_namingTheSetting() {
    assertThatThrownBy(() -> new AuthFailureLimit(-1, Duration.ofMinutes(1)))
        .hasMessageContaining("auth_failure_limit");
    assertThatThrownBy(() -> new AuthFailureLimit(5, Duration.ZERO))
        .hasMessageContaining("auth_failure_window");
  }
}
