package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code castellan serve} with its monitoring switches: JSON logs whose request lines carry
 * the request id and never a credential, the access log, and {@code /metrics} opened by the config
 * file.
 */
class MonitoringProcessTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String BAD_KEY = "cst_NoSuchKey_thisSecretMustNeverBeLogged42";

  @TempDir Path dir;

  private static HttpResponse<String> send(
      ServerProcess server, String method, String path, String authorization, String requestId)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .method(
                method,
                method.equals("POST")
                    ? HttpRequest.BodyPublishers.ofString("{\"name\":\"logged\"}")
                    : HttpRequest.BodyPublishers.noBody())
            .timeout(Duration.ofSeconds(10));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    if (requestId != null) {
      request.header("X-Request-Id", requestId);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Waits until the server has logged {@code text} (the access line comes after the response). */
  private static String awaitOutput(ServerProcess server, String text) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!server.output().contains(text) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    return server.output();
  }

  private static JsonNode accessLine(List<JsonNode> lines, String requestId) {
    return lines.stream()
        .filter(line -> line.path("logger_name").asText().equals("castellan.access"))
        .filter(line -> line.path("request_id").asText().equals(requestId))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no access line for " + requestId + ": " + lines));
  }

  @Test
  void jsonLogs_parseLineByLine_carryTheRequestId_andNeverACredential() throws Exception {
    try (ServerProcess server =
        ServerProcess.start(
            "--data", dir.resolve("data").toString(), "--log-format", "json", "--access-log")) {
      String auth = "Bearer " + ServerProcess.TOKEN;
      assertThat(send(server, "POST", "/stores", auth, "req-json-create").statusCode())
          .isEqualTo(201);
      assertThat(
              send(server, "GET", "/stores", "Bearer " + BAD_KEY, "req-json-refused").statusCode())
          .isEqualTo(401);
      String output = awaitOutput(server, "req-json-refused");

      List<JsonNode> lines = new ArrayList<>();
      for (String line : output.split("\n")) {
        if (line.startsWith("{")) {
          lines.add(JSON.readTree(line)); // every log line is one JSON object
        }
      }
      // Startup lines are JSON too, including the core's System.Logger ones.
      assertThat(lines)
          .anyMatch(line -> line.path("logger_name").asText().endsWith("IndexFeed"))
          .allMatch(line -> line.has("@timestamp") && line.has("level") && line.has("message"));

      JsonNode created = accessLine(lines, "req-json-create");
      assertThat(created.get("method").asText()).isEqualTo("POST");
      assertThat(created.get("path").asText()).isEqualTo("/stores");
      assertThat(created.get("route").asText()).isEqualTo("/stores");
      assertThat(created.get("status").asInt()).isEqualTo(201);
      assertThat(created.get("duration_ms").isNumber()).isTrue();
      assertThat(created.get("caller").asText()).startsWith("key:");

      JsonNode refused = accessLine(lines, "req-json-refused");
      assertThat(refused.get("status").asInt()).isEqualTo(401);
      assertThat(refused.get("caller").asText()).isEmpty();

      assertThat(output)
          .doesNotContain(ServerProcess.TOKEN)
          .doesNotContain("thisSecretMustNeverBeLogged")
          .doesNotContain("Bearer");
    }
  }

  @Test
  void configFile_nestedKeys_openMetrics_andTurnOnTheAccessLog_inTextFormat() throws Exception {
    Path config = dir.resolve("castellan.yaml");
    Files.writeString(
        config,
        """
        metrics:
          public: true
        log:
          access: true
        """);
    try (ServerProcess server =
        ServerProcess.start(
            "--data", dir.resolve("data").toString(), "--config", config.toString())) {
      HttpResponse<String> metrics = send(server, "GET", "/metrics", null, "req-text-metrics");
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.body()).contains("castellan_decisions_total{api=\"check\"");
      assertThat(send(server, "GET", "/stores", null, null).statusCode()).isEqualTo(401);

      String output = awaitOutput(server, "req-text-metrics");
      String line =
          output
              .lines()
              .filter(l -> l.contains("[req-text-metrics]"))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no access line in:\n" + output));
      assertThat(line)
          .doesNotStartWith("{")
          .contains("method=GET")
          .contains("route=/metrics")
          .contains("status=200");
    }
  }

  @Test
  void anUnknownLogFormat_stopsStartup_sayingWhatIsAllowed() {
    assertThatThrownBy(
            () ->
                ServerProcess.start(
                    "--data", dir.resolve("data").toString(), "--log-format", "xml"))
        .hasMessageContaining("log format must be 'text' or 'json', was 'xml'");
  }
}
