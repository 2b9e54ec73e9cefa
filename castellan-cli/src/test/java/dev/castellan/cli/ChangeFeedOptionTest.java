package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.store.jdbc.JdbcStore.ChangeSignal;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --change-feed}, {@code CASTELLAN_CHANGE_FEED} and {@code change_feed}. */
class ChangeFeedOptionTest {
  @TempDir Path dir;

  @Test
  void theFlagAndTheConfigKey_takeNotifyOrPoll_notifyByDefault() {
    StoreOptions options = new StoreOptions();
    assertThat(options.changeSignal()).isEqualTo(ChangeSignal.NOTIFY);
    options.changeFeedFromConfig = "Poll";
    assertThat(options.changeSignal()).isEqualTo(ChangeSignal.POLL);
    options.changeFeed = "notify";
    assertThat(options.changeSignal())
        .as("the flag wins over the file")
        .isEqualTo(ChangeSignal.NOTIFY);
  }

  @Test
  void anotherValue_isRefusedNamingWhereItCameFrom() {
    StoreOptions options = new StoreOptions();
    options.changeFeed = "listen";
    assertThatThrownBy(options::changeSignal)
        .isInstanceOf(CliFailure.class)
        .hasMessageContaining("--change-feed is 'listen'")
        .hasMessageContaining("notify")
        .hasMessageContaining("poll");
  }

  @Test
  void aWrongEnvironmentValue_stopsServeBeforeItOpensAStore() throws Exception {
    Path data = dir.resolve("data");
    CliProcess.Result result =
        CliProcess.run(
            Map.of("CASTELLAN_CHANGE_FEED", "sometimes"),
            "serve",
            "--port",
            "0",
            "--data",
            data.toString());
    assertThat(result.exit()).as(result.output()).isEqualTo(2);
    assertThat(result.output())
        .contains("error[invalid_setting]")
        .contains("CASTELLAN_CHANGE_FEED is 'sometimes'");
    assertThat(data).doesNotExist();
  }
}
