package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code castellan healthcheck} run as a process, as a container health check runs it: exit code 0
 * only for 200 {"status":"SERVING"}, one line of output, no Java class names.
 */
class HealthcheckCommandTest {
  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  private static Run healthcheck(Map<String, String> env, String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("dev.castellan.cli.Main");
    command.add("healthcheck");
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().remove("CASTELLAN_PORT");
    builder.environment().putAll(env);
    Process process = builder.start();
    CompletableFuture<String> out = read(process.getInputStream());
    CompletableFuture<String> err = read(process.getErrorStream());
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("castellan healthcheck did not end within 60s");
    }
    return new Run(process.exitValue(), out.get(), err.get());
  }

  private static CompletableFuture<String> read(InputStream stream) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (stream) {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
  }

  /** A stand-in server answering {@code /healthz} with the given status and body. */
  private static HttpServer answering(int status, String body) throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/healthz",
        exchange -> {
          byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(status, bytes.length);
          exchange.getResponseBody().write(bytes);
          exchange.close();
        });
    server.start();
    return server;
  }

  private static String url(int port) {
    return "http://127.0.0.1:" + port + "/healthz";
  }

  @Test
  void aServingServer_exitsZero_withOneLine_askedByUrlOrOnCastellanPort() throws Exception {
    try (ServerProcess server = ServerProcess.start("--data", dir.resolve("data").toString())) {
      Run byUrl = healthcheck(Map.of(), "--url", url(server.port()));
      Run byPort = healthcheck(Map.of("CASTELLAN_PORT", String.valueOf(server.port())));

      assertThat(byUrl.exit()).as(byUrl.toString()).isZero();
      assertThat(byUrl.out()).isEqualTo("healthy: " + url(server.port()) + " answered SERVING\n");
      assertThat(byUrl.err()).isEmpty();
      assertThat(byPort.exit()).as(byPort.toString()).isZero();
      assertThat(byPort.out()).isEqualTo(byUrl.out());
    }
  }

  @Test
  void aClosedPort_exitsOne_withOneLineSayingTheConnectionWasRefused() throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = socket.getLocalPort();
    }

    Run run = healthcheck(Map.of(), "--url", url(closed));

    assertThat(run.exit()).as(run.toString()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err())
        .isEqualTo(
            "unhealthy: "
                + url(closed)
                + " refused the connection (is the server running, on this port?)\n");
  }

  @Test
  void anErrorStatus_orAnotherBody_exitsOne() throws Exception {
    HttpServer unavailable = answering(503, "{\"status\":\"SERVING\"}");
    HttpServer notServing = answering(200, "{\"status\":\"NOT_SERVING\"}");
    HttpServer notJson = answering(200, "<html>welcome to nginx</html>");
    try {
      Run down = healthcheck(Map.of(), "--url", url(unavailable.getAddress().getPort()));
      Run other = healthcheck(Map.of(), "--url", url(notServing.getAddress().getPort()));
      Run html = healthcheck(Map.of(), "--url", url(notJson.getAddress().getPort()));

      assertThat(down.exit()).isEqualTo(1);
      assertThat(down.err()).endsWith(" answered HTTP 503\n").hasLineCount(1);
      assertThat(other.exit()).isEqualTo(1);
      assertThat(other.err())
          .endsWith(" answered 200 without {\"status\":\"SERVING\"} (status NOT_SERVING)\n")
          .hasLineCount(1);
      assertThat(html.exit()).isEqualTo(1);
      assertThat(html.err()).endsWith(" answered 200 without {\"status\":\"SERVING\"}\n");
    } finally {
      unavailable.stop(0);
      notServing.stop(0);
      notJson.stop(0);
    }
  }

  @Test
  void aServerThatNeverAnswers_exitsOneAfterTheTimeout() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    HttpServer hanging =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    hanging.createContext(
        "/healthz",
        exchange -> {
          try {
            release.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          exchange.close();
        });
    hanging.start();
    try {
      Run run =
          healthcheck(Map.of(), "--url", url(hanging.getAddress().getPort()), "--timeout", "1");

      assertThat(run.exit()).isEqualTo(1);
      assertThat(run.err()).endsWith(" did not answer within 1s\n").hasLineCount(1);
    } finally {
      release.countDown();
      hanging.stop(0);
    }
  }

  @Test
  void help_showsTheOptionsAndAnExample() throws Exception {
    Run run = healthcheck(Map.of(), "--help");

    assertThat(run.exit()).isZero();
    assertThat(run.out())
        .contains("Usage: castellan healthcheck")
        .contains("--url=URL")
        .contains("http://127.0.0.1:8080/healthz")
        .contains("--timeout=SECONDS")
        .contains("Examples:");
  }

  @Test
  void aUrlThatIsNotHttp_isAUsageError_withoutAJavaClassName() throws Exception {
    Run run = healthcheck(Map.of(), "--url", "127.0.0.1:8080");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err())
        .startsWith(
            "error[usage]: --url must be an http(s) URL such as http://127.0.0.1:8080/healthz")
        .doesNotContain("Exception");
  }
}
