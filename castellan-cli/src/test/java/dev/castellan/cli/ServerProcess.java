package dev.castellan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real {@code castellan serve} process for tests: started from the test classpath, on a free
 * port, talked to over HTTP, stopped gently or killed with SIGKILL.
 */
final class ServerProcess implements AutoCloseable {
  static final String TOKEN = "test-bootstrap-token-0123456789";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern SERVING = Pattern.compile("serving on https?://[^:]+:(\\d+)");

  record Response(int status, JsonNode body) {}

  private final Process process;
  private final int port;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final StringBuilder output = new StringBuilder();
  private Thread drainer;

  private ServerProcess(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  static ServerProcess start(String... storeArgs) throws IOException, InterruptedException {
    return start(Map.of("CASTELLAN_BOOTSTRAP_TOKEN", TOKEN), storeArgs);
  }

  /**
   * Starts {@code castellan serve} with {@code env} as its only {@code CASTELLAN_*} variables (so
   * without a bootstrap token unless {@code env} names one), on 127.0.0.1 and a free port unless
   * {@code args} name them.
   */
  static ServerProcess start(Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("dev.castellan.cli.Main");
    command.add("serve");
    List<String> given = List.of(args);
    if (!given.contains("--host")) {
      command.addAll(List.of("--host", "127.0.0.1"));
    }
    if (!given.contains("--port")) {
      command.addAll(List.of("--port", "0"));
    }
    command.addAll(given);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().keySet().removeIf(name -> name.startsWith("CASTELLAN_"));
    builder.environment().putAll(env);
    Process process = builder.start();
    BufferedReader reader =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    StringBuilder seen = new StringBuilder();
    CompletableFuture<Integer> port =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                String line;
                while ((line = reader.readLine()) != null) {
                  seen.append(line).append('\n');
                  Matcher matcher = SERVING.matcher(line);
                  if (matcher.find()) {
                    return Integer.parseInt(matcher.group(1));
                  }
                }
                return -1;
              } catch (IOException e) {
                return -1;
              }
            });
    int found;
    try {
      // Generous: a start takes seconds, but on a busy 2-core CI machine it has taken over 60.
      found = port.get(120, TimeUnit.SECONDS);
    } catch (Exception e) {
      found = -1;
    }
    if (found < 0) {
      process.destroyForcibly();
      throw new IllegalStateException("castellan serve did not start:\n" + seen);
    }
    ServerProcess server = new ServerProcess(process, found);
    synchronized (server.output) {
      server.output.append(seen); // what it logged while starting
    }
    // Keep draining the output so the process never blocks on a full pipe.
    server.drainer =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    String line;
                    while ((line = reader.readLine()) != null) {
                      synchronized (server.output) {
                        server.output.append(line).append('\n');
                      }
                    }
                  } catch (IOException e) {
                    // process ended
                  }
                });
    return server;
  }

  Response post(String path, String body) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  Response get(String path) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  /** POST with {@code credential} (a key or token) instead of the bootstrap token. */
  Response post(String path, String body, String credential)
      throws IOException, InterruptedException {
    return send(
        HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)),
        credential);
  }

  /** GET with {@code credential} (a key or token) instead of the bootstrap token. */
  Response get(String path, String credential) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(uri(path)).GET(), credential);
  }

  /**
   * The output once it holds {@code text}, or as it is after 30 s: serve prints its key and hints
   * just after the line {@link #start} waits for.
   */
  String awaitOutput(String text) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!output().contains(text) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    return output();
  }

  private Response send(HttpRequest.Builder request) throws IOException, InterruptedException {
    return send(request, TOKEN);
  }

  private Response send(HttpRequest.Builder request, String credential)
      throws IOException, InterruptedException {
    HttpResponse<String> response =
        http.send(
            request
                .header("Authorization", "Bearer " + credential)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    JsonNode body =
        response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
    return new Response(response.statusCode(), body);
  }

  int port() {
    return port;
  }

  long pid() {
    return process.pid();
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  /** SIGKILL: no shutdown hook, no flush. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  String output() {
    synchronized (output) {
      return output.toString();
    }
  }

  /** Stops the server; afterwards {@link #output()} holds everything it printed. */
  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
    if (drainer != null) {
      drainer.join(java.time.Duration.ofSeconds(10));
    }
  }
}
