package dev.castellan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code castellan healthcheck}: asks a running server's {@code /healthz} whether it serves. An OCI
 * image carries no HEALTHCHECK and the Castellan image has no shell or curl, so this is what a
 * container health check (Docker Compose, Kubernetes exec probe) runs.
 */
@Command(
    name = "healthcheck",
    mixinStandardHelpOptions = true,
    description = {
      "Ask a running Castellan whether it is up: GET /healthz.",
      "Exit 0 when it answers 200 {\"status\":\"SERVING\"}, 1 otherwise; one line of output.",
      "For container health checks (the image has no shell and no curl)."
    },
    footer = {
      "",
      "Examples:",
      "  castellan healthcheck",
      "  castellan healthcheck --url http://castellan:8080/healthz --timeout 2",
      "  healthcheck: {test: [\"CMD\", \"/opt/java/openjdk/bin/java\", \"-jar\","
          + " \"/opt/castellan/castellan.jar\", \"healthcheck\"]}   (docker-compose.yaml)"
    })
final class HealthcheckCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--url",
      paramLabel = "URL",
      defaultValue = "http://127.0.0.1:${env:CASTELLAN_PORT:-8080}/healthz",
      description = "what to ask (default: ${DEFAULT-VALUE}, the port from $CASTELLAN_PORT)")
  String url;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "5",
      description = "give up after this many seconds (default: ${DEFAULT-VALUE})")
  int timeoutSeconds;

  @Override
  public Integer call() {
    if (timeoutSeconds < 1) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--timeout must be at least 1 second, got " + timeoutSeconds);
    }
    URI uri = parse(url);
    String problem = problem(uri, Duration.ofSeconds(timeoutSeconds));
    if (problem.isEmpty()) {
      spec.commandLine().getOut().println("healthy: " + uri + " answered SERVING");
      spec.commandLine().getOut().flush();
      return 0;
    }
    spec.commandLine().getErr().println("unhealthy: " + uri + " " + problem);
    spec.commandLine().getErr().flush();
    return 1;
  }

  private URI parse(String text) {
    try {
      URI uri = URI.create(text);
      if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          && uri.getHost() != null) {
        return uri;
      }
    } catch (IllegalArgumentException e) {
      // reported below, without the exception's class name
    }
    throw new CommandLine.ParameterException(
        spec.commandLine(),
        "--url must be an http(s) URL such as http://127.0.0.1:8080/healthz, got '" + text + "'");
  }

  /** Why the server is not healthy, or "" when it is. */
  private static String problem(URI uri, Duration timeout) {
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(timeout)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    HttpRequest request =
        HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "application/json").build();
    HttpResponse<String> response;
    try {
      response = client.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (HttpConnectTimeoutException e) {
      return "did not accept a connection within " + timeout.toSeconds() + "s";
    } catch (HttpTimeoutException e) {
      return "did not answer within " + timeout.toSeconds() + "s";
    } catch (ConnectException e) {
      return "refused the connection (is the server running, on this port?)";
    } catch (IOException e) {
      return "could not be asked: "
          + (e.getMessage() == null ? "the connection failed" : e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "was not asked: interrupted";
    }
    if (response.statusCode() != 200) {
      return "answered HTTP " + response.statusCode();
    }
    String status;
    try {
      JsonNode body = JSON.readTree(response.body());
      status = body == null ? "" : body.path("status").asText("");
    } catch (IOException e) {
      status = "";
    }
    if (status.equals("SERVING")) {
      return "";
    }
    // The status is the server's text: shortened and without control characters.
    String shown = status.replaceAll("\\p{Cntrl}", "?");
    shown = shown.length() > 40 ? shown.substring(0, 40) + "..." : shown;
    return "answered 200 without {\"status\":\"SERVING\"}"
        + (shown.isEmpty() ? "" : " (status " + shown + ")");
  }
}
