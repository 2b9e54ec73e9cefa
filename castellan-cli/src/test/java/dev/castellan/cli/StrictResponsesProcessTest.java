package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

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
 * {@code castellan serve --strict-responses} as a process: set by flag, environment variable or
 * config key, the server answers a write with OpenFGA's empty body; unset, with Castellan's
 * extensions; a value that is not true or false stops the start with one line.
 */
class StrictResponsesProcessTest {
  @TempDir Path dir;

  @Test
  void theFlagTheEnvironmentAndTheConfigKey_eachLeaveOutTheExtensions() throws Exception {
    Path config = dir.resolve("castellan.yaml");
    Files.writeString(config, "strict_responses: true\n");
    assertThat(writeAnswer(Map.of(), "--strict-responses")).isEqualTo("{}");
    assertThat(writeAnswer(Map.of("CASTELLAN_STRICT_RESPONSES", "true"))).isEqualTo("{}");
    assertThat(writeAnswer(Map.of(), "--config", config.toString())).isEqualTo("{}");
    assertThat(writeAnswer(Map.of())).contains("\"consistency_token\"").contains("\"written\":1");
  }

  @Test
  void aValueThatIsNotTrueOrFalse_isRefused() throws Exception {
    CliProcess.Result result =
        CliProcess.run(
            Map.of("CASTELLAN_STRICT_RESPONSES", "yes"),
            "serve",
            "--auth",
            "none",
            "--port",
            "0",
            "--data",
            dir.resolve("refused").toString());
    assertThat(result.exit()).as(result.output()).isEqualTo(2);
    assertThat(result.output())
        .contains("error[invalid_setting]")
        .contains("CASTELLAN_STRICT_RESPONSES")
        .contains("'yes'");
  }

  /** The body of a write's answer, from a fresh local-development server. */
  private String writeAnswer(Map<String, String> env, String... args) throws Exception {
    String[] all = new String[args.length + 4];
    all[0] = "--auth";
    all[1] = "none";
    all[2] = "--data";
    all[3] = Files.createTempDirectory(dir, "data").toString();
    System.arraycopy(args, 0, all, 4, args.length);
    try (ServerProcess server = ServerProcess.start(env, all)) {
      String base = "http://127.0.0.1:" + server.port();
      String store =
          new com.fasterxml.jackson.databind.ObjectMapper()
              .readTree(post(base + "/stores", "{\"name\":\"strict\"}").body())
              .get("id")
              .asText();
      String model =
          "{\"schema_version\":\"1.1\",\"type_definitions\":[{\"type\":\"user\"},"
              + "{\"type\":\"doc\",\"relations\":{\"owner\":{\"this\":{}}},\"metadata\":"
              + "{\"relations\":{\"owner\":{\"directly_related_user_types\":[{\"type\":\"user\"}]}}}}]}";
      assertThat(post(base + "/stores/" + store + "/authorization-models", model).statusCode())
          .isEqualTo(201);
      HttpResponse<String> write =
          post(
              base + "/stores/" + store + "/write",
              "{\"writes\":{\"tuple_keys\":[{\"object\":\"doc:1\",\"relation\":\"owner\","
                  + "\"user\":\"user:a\"}]}}");
      assertThat(write.statusCode()).as(write.body()).isEqualTo(200);
      return write.body();
    }
  }

  private static HttpResponse<String> post(String url, String body) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }
}
