package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class EvaluationLimitsTest {
  @Test
  void timeouts_readMillisecondsAndSeconds_andNameTheSettingOtherwise() {
    assertThat(EvaluationLimits.parseTimeout("1s", "x")).isEqualTo(Duration.ofSeconds(1));
    assertThat(EvaluationLimits.parseTimeout(" 250ms ", "x")).isEqualTo(Duration.ofMillis(250));
    assertThatThrownBy(() -> EvaluationLimits.parseTimeout("1.5s", "evaluation.check_timeout"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("evaluation.check_timeout")
        .hasMessageContaining("'1.5s'");
    assertThatThrownBy(() -> EvaluationLimits.parseTimeout("2m", "evaluation.list_timeout"))
        .hasMessageContaining("ms or s");
  }

  @Test
  void sizes_readBytesKibAndMib() {
    assertThat(EvaluationLimits.parseBytes("262144", "x")).isEqualTo(262_144);
    assertThat(EvaluationLimits.parseBytes("256KiB", "x")).isEqualTo(262_144);
    assertThat(EvaluationLimits.parseBytes("8 MiB", "x")).isEqualTo(8L << 20);
    assertThatThrownBy(() -> EvaluationLimits.parseBytes("8MB", "evaluation.max_result_bytes"))
        .hasMessageContaining("evaluation.max_result_bytes");
  }

  @Test
  void limitsTooSmallToServeAnything_areRefused() {
    EvaluationLimits limits = EvaluationLimits.DEFAULT;
    assertThatThrownBy(() -> limits.withMaxSteps(10)).hasMessageContaining("at least 1000");
    assertThatThrownBy(() -> limits.withCheckTimeout(Duration.ZERO))
        .hasMessageContaining("check timeout must be positive");
    assertThatThrownBy(() -> limits.withMaxExplanationBytes(100)).hasMessageContaining("4096");
    assertThat(limits.withListTimeout(Duration.ofSeconds(10)).listTimeout())
        .isEqualTo(Duration.ofSeconds(10));
  }
}
