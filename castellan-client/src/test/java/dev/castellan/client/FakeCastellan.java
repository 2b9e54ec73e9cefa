package dev.castellan.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

/**
 * A stand-in for Castellan's {@code POST /api/authorize} over real HTTP (the JDK's server), with
 * the contract's status codes and bodies. Tokens are plain names: {@code role-admin} holds the role
 * admin; {@code expired} and {@code bad-signature} get 401. {@link #answer} overrides the answer
 * for failure tests.
 */
final class FakeCastellan implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  static final Map<String, Set<String>> SEED_000 =
      Map.of(
          "admin", Set.of("create", "read", "run", "delete", "share"),
          "developer", Set.of("create", "read", "run"),
          "analyst", Set.of("read", "run"),
          "viewer", Set.of("read"));

  /** One request as received. */
  record Received(String authorization, JsonNode body) {}

  /** A canned answer; a {@code held} one is sent only once {@link #release} is counted down. */
  record Answer(int status, String contentType, String body, boolean held) {}

  private final HttpServer server;
  final List<Received> received = new CopyOnWriteArrayList<>();
  volatile Answer answer; // null: answer from the policy

  /** Lets held answers go (the test's doing, or {@link #close()}'s). */
  final CountDownLatch release = new CountDownLatch(1);

  FakeCastellan() throws IOException {
    this("");
  }

  /** Serves {@code prefix + "/api/authorize"}. */
  FakeCastellan(String prefix) throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(prefix + "/api/authorize", this::handle);
    server.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] bytes = exchange.getRequestBody().readAllBytes();
      JsonNode body = bytes.length == 0 ? null : JSON.readTree(bytes);
      String authorization = exchange.getRequestHeaders().getFirst("Authorization");
      received.add(new Received(authorization, body));
      Answer canned = answer;
      if (canned != null) {
        if (canned.held()) {
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        send(exchange, canned.status(), canned.contentType(), canned.body());
        return;
      }
      if (!exchange.getRequestMethod().equals("POST")) {
        send(exchange, 405, "application/json", "{\"code\":\"undefined_endpoint\"}");
        return;
      }
      String token =
          authorization != null && authorization.startsWith("Bearer ")
              ? authorization.substring(7)
              : "";
      if (token.isEmpty() || token.equals("expired") || token.equals("bad-signature")) {
        exchange.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"castellan\"");
        String message =
            token.equals("expired")
                ? "the token has expired"
                : "the token's signature is not valid";
        send(exchange, 401, "application/json", error("unauthenticated", message));
        return;
      }
      String permission = body == null ? "" : body.path("permission").asText("");
      if (permission.equals("fly")) {
        send(
            exchange, 400, "application/json", error("validation_error", "unknown permission fly"));
        return;
      }
      String role = token.startsWith("role-") ? token.substring(5) : "";
      String operation =
          permission.contains(".")
              ? permission.substring(permission.indexOf('.') + 1).toLowerCase()
              : permission;
      boolean allowed = SEED_000.getOrDefault(role, Set.of()).contains(operation);
      Map<String, Object> decision =
          Map.of(
              "allowed",
              allowed,
              "reason",
              allowed ? "role " + role + " grants it" : "no role grants it",
              "subject",
              "user:" + role + "-user",
              "roles",
              role.isEmpty() ? List.of() : List.of(role),
              "permission",
              "Workflows." + Character.toUpperCase(operation.charAt(0)) + operation.substring(1));
      send(exchange, 200, "application/json", JSON.writeValueAsString(decision));
    }
  }

  private static String error(String code, String message) {
    return "{\"code\":\"" + code + "\",\"message\":\"" + message + "\"}";
  }

  private static void send(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  @Override
  public void close() {
    release.countDown();
    server.stop(0);
  }
}
