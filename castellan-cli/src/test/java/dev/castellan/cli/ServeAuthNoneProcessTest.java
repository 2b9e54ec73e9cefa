package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code castellan serve --auth none} as a process: the warning on every start, no admin key, every
 * request the local developer; and a start on an address others can reach refused with one line,
 * before the database is touched.
 */
class ServeAuthNoneProcessTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String WARNING = "WARNING: authentication is OFF (--auth none)";

  @TempDir Path dir;

  /** The one line a refused start prints: exit 2, no stack trace, nothing served. */
  private static String errorLine(CliProcess.Result result) {
    assertThat(result.exit()).as(result.output()).isEqualTo(2);
    assertThat(result.output())
        .doesNotContain("\tat ")
        .doesNotContain("Exception")
        .doesNotContain("serving on");
    return result
        .output()
        .lines()
        .filter(line -> line.startsWith("error"))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void everyStart_printsTheWarning_andNoKey_andCallersNeedNoCredentials() throws Exception {
    Path data = dir.resolve("data");
    for (int start = 1; start <= 2; start++) {
      try (ServerProcess server =
          ServerProcess.start(Map.of(), "--auth", "none", "--data", data.toString())) {
        String output = server.awaitOutput(WARNING);
        assertThat(output)
            .as("start %d", start)
            .contains(WARNING)
            .contains("http://127.0.0.1:" + server.port())
            .contains("anonymous:local-dev")
            .doesNotContain("Admin API key")
            .doesNotContain("No admin API key");
        HttpResponse<String> whoami =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + server.port() + "/api/whoami"))
                        .timeout(Duration.ofSeconds(30))
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertThat(whoami.statusCode()).as(whoami.body()).isEqualTo(200);
        JsonNode me = JSON.readTree(whoami.body());
        assertThat(me.get("subject").asText()).isEqualTo("anonymous:local-dev");
        assertThat(me.get("castellan_admin").asBoolean()).isTrue();
      }
    }
  }

  @Test
  void aHostOthersCanReach_isRefused_withOneLine_beforeTheDatabaseIsMade() throws Exception {
    Path data = dir.resolve("refused");
    CliProcess.Result wildcard =
        CliProcess.run(
            Map.of(),
            "serve",
            "--auth",
            "none",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--data",
            data.toString());
    assertThat(errorLine(wildcard))
        .startsWith("error[invalid_setting]: --auth none listens only on a loopback address")
        .contains("--host is '0.0.0.0'");
    assertThat(Files.exists(data)).as("no database made").isFalse();

    CliProcess.Result fromEnvironment =
        CliProcess.run(
            Map.of("CASTELLAN_AUTH", "none", "CASTELLAN_HOST", "192.0.2.10"),
            "serve",
            "--port",
            "0",
            "--data",
            data.toString());
    assertThat(errorLine(fromEnvironment)).contains("CASTELLAN_HOST is '192.0.2.10'");
    assertThat(Files.exists(data)).isFalse();
  }

  @Test
  void anUnknownMode_orJwtSettingsWithNone_areRefused() throws Exception {
    Path data = dir.resolve("other");
    CliProcess.Result unknown =
        CliProcess.run(
            Map.of(), "serve", "--auth", "off", "--port", "0", "--data", data.toString());
    assertThat(errorLine(unknown))
        .startsWith("error[invalid_setting]: --auth must be required or none");

    CliProcess.Result jwt =
        CliProcess.run(
            Map.of("CASTELLAN_JWT_SECRET", "auth-none-test-secret-0123456789abcdef"),
            "serve",
            "--auth",
            "none",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data",
            data.toString());
    assertThat(errorLine(jwt)).contains("--auth none reads no credentials");
    assertThat(Files.exists(data)).isFalse();
  }
}
