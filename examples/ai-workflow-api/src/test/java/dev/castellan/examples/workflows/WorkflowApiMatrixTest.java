package dev.castellan.examples.workflows;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.castellan.client.CastellanClient;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.store.MemoryStore;
import io.javalin.Javalin;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seed 000 end to end over real HTTP: a real Castellan server (in-process, seed's rbac.yaml, HS256)
 * and the example app on port 0, asked by tokens of the four roles for the five actions.
 */
class WorkflowApiMatrixTest {
  private static final String SECRET = "example-secret-of-at-least-32-bytes-0123456789";
  private static final String ADMIN_KEY = "example-admin-key-0123456789abcdef";
  private static final Path RBAC_FILE = Path.of("rbac.yaml"); // the example's own file
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  static final ObjectMapper JSON = new ObjectMapper();

  /** Seed 000's matrix, written out again here so that the test checks the file, not itself. */
  private static final Map<String, Set<String>> MATRIX =
      Map.of(
          "admin", Set.of("create", "read", "run", "delete", "share"),
          "developer", Set.of("create", "read", "run"),
          "analyst", Set.of("read", "run"),
          "viewer", Set.of("read"));

  private static final List<String> ACTIONS = List.of("create", "read", "run", "delete", "share");

  private static CastellanServer castellan;
  private static Javalin app;

  @BeforeAll
  static void start() {
    assertThat(RBAC_FILE).exists();
    castellan = startCastellan(RBAC_FILE);
    app = startApp("http://127.0.0.1:" + castellan.port());
  }

  @AfterAll
  static void stop() {
    if (app != null) {
      app.stop();
    }
    if (castellan != null) {
      castellan.close();
    }
  }

  static CastellanServer startCastellan(Path rbacFile) {
    return CastellanServer.start(
        CastellanServer.Options.defaults()
            .withPort(0)
            .withHost("127.0.0.1")
            .withBootstrapToken(ADMIN_KEY)
            .withJwt(JwtSettings.hs256(SECRET))
            .withRbacFile(rbacFile),
        new MemoryStore());
  }

  static Javalin startApp(String castellanUrl) {
    return WorkflowApi.create(
            CastellanClient.builder().baseUrl(castellanUrl).build(), "127.0.0.1", 0)
        .start();
  }

  static String token(Map<String, Object> claims, long expiresInSeconds, String secret)
      throws Exception {
    JWTClaimsSet.Builder builder =
        new JWTClaimsSet.Builder()
            .expirationTime(new Date(System.currentTimeMillis() + expiresInSeconds * 1000));
    claims.forEach(builder::claim);
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), builder.build());
    jwt.sign(new MACSigner(secret));
    return jwt.serialize();
  }

  static String tokenFor(String subject, String role) throws Exception {
    return token(Map.of("sub", subject, "role", role), 3600, SECRET);
  }

  static HttpResponse<String> send(
      Javalin app, String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A fresh workflow made by an admin, so that each cell of the matrix has its own. */
  static long newWorkflow(Javalin app) throws Exception {
    HttpResponse<String> created =
        send(app, "POST", "/workflows", tokenFor("root", "admin"), "{\"name\":\"summarise\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    return JSON.readTree(created.body()).path("workflow").path("id").asLong();
  }

  /** Performs {@code action} as the token's holder; the HTTP answer. */
  static HttpResponse<String> act(Javalin app, String action, String token) throws Exception {
    return switch (action) {
      case "create" -> send(app, "POST", "/workflows", token, "{\"name\":\"triage\"}");
      case "read" -> send(app, "GET", "/workflows", token, null);
      case "run" -> send(app, "POST", "/workflows/" + newWorkflow(app) + "/run", token, null);
      case "delete" -> send(app, "DELETE", "/workflows/" + newWorkflow(app), token, null);
      case "share" ->
          send(
              app,
              "POST",
              "/workflows/" + newWorkflow(app) + "/share",
              token,
              "{\"with\":\"user:bob\"}");
      default -> throw new IllegalArgumentException(action);
    };
  }

  @Test
  void theSeedsMatrix_fourRolesByFiveActions_overRealHttp() throws Exception {
    Map<String, Integer> expected = new LinkedHashMap<>();
    Map<String, Integer> actual = new LinkedHashMap<>();
    for (String role : List.of("admin", "developer", "analyst", "viewer")) {
      String token = tokenFor(role + "-user", role);
      for (String action : ACTIONS) {
        boolean allowed = MATRIX.get(role).contains(action);
        HttpResponse<String> response = act(app, action, token);
        String cell = role + " " + action;
        expected.put(cell, allowed ? (action.equals("create") ? 201 : 200) : 403);
        actual.put(cell, response.statusCode());
        if (!allowed) {
          assertThat(response.body())
              .as(cell)
              .isEqualTo("{\"detail\":\"Insufficient permissions\"}");
        }
      }
    }
    assertThat(actual).containsExactlyEntriesOf(expected);
  }

  @Test
  void theHandler_knowsWhoCalled() throws Exception {
    HttpResponse<String> created =
        send(app, "POST", "/workflows", tokenFor("alice", "developer"), "{\"name\":\"rag-eval\"}");
    assertThat(created.statusCode()).isEqualTo(201);
    JsonNode body = JSON.readTree(created.body());
    // The caller is the directory user alice's token resolves to (ADR 0023): user:<directory id>.
    String owner = body.path("workflow").path("owner").asText();
    assertThat(owner).matches("user:[0-9A-HJKMNP-TV-Z]{26}");
    assertThat(body.path("msg").asText()).isEqualTo("Workflow created by " + owner);
    HttpResponse<String> again =
        send(app, "POST", "/workflows", tokenFor("alice", "developer"), "{\"name\":\"second\"}");
    assertThat(JSON.readTree(again.body()).path("workflow").path("owner").asText())
        .isEqualTo(owner);
    HttpResponse<String> other =
        send(app, "POST", "/workflows", tokenFor("bob", "developer"), "{\"name\":\"third\"}");
    assertThat(JSON.readTree(other.body()).path("workflow").path("owner").asText())
        .isNotEqualTo(owner);
  }

  @Test
  void noTokenAnExpiredTokenAndAForgedToken_are401WithABearerChallenge() throws Exception {
    List<String> tokens = new ArrayList<>();
    tokens.add(null);
    tokens.add(token(Map.of("sub", "alice", "role", "admin"), -600, SECRET));
    tokens.add(token(Map.of("sub", "alice", "role", "admin"), 3600, SECRET + "-but-another-one"));
    for (String token : tokens) {
      HttpResponse<String> response = send(app, "GET", "/workflows", token, null);
      assertThat(response.statusCode()).as(String.valueOf(token)).isEqualTo(401);
      assertThat(response.headers().firstValue("WWW-Authenticate"))
          .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
      assertThat(JSON.readTree(response.body()).path("detail").asText()).isNotBlank();
    }
  }

  @Test
  void anUnknownRoleOrNoRole_grantsNothing() throws Exception {
    String intern = tokenFor("mallory", "intern");
    String roleless = token(Map.of("sub", "mallory"), 3600, SECRET);
    for (String token : List.of(intern, roleless)) {
      for (String action : ACTIONS) {
        assertThat(act(app, action, token).statusCode()).as(action).isEqualTo(403);
      }
    }
  }

  @Test
  void aTokenWithSeveralRoles_getsTheUnionOfTheirPermissions() throws Exception {
    String token =
        token(Map.of("sub", "dana", "roles", List.of("viewer", "analyst")), 3600, SECRET);
    assertThat(act(app, "run", token).statusCode()).isEqualTo(200);
    assertThat(act(app, "share", token).statusCode()).isEqualTo(403);
  }

  @Test
  void castellanUnreachable_is503_neverAnAllow() throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    Javalin orphan = startApp("http://127.0.0.1:" + closed);
    try {
      HttpResponse<String> response =
          send(orphan, "GET", "/workflows", tokenFor("alice", "admin"), null);
      assertThat(response.statusCode()).isEqualTo(503);
      assertThat(response.body()).isEqualTo("{\"detail\":\"Authorization service unavailable\"}");
    } finally {
      orphan.stop();
    }
  }

  @Test
  void anEditedPolicy_reachesTheApp_withoutARestart(@TempDir Path dir) throws Exception {
    Path policy = dir.resolve("rbac.yaml");
    Files.copy(RBAC_FILE, policy);
    try (CastellanServer reloading = startCastellan(policy)) {
      Javalin api = startApp("http://127.0.0.1:" + reloading.port());
      try {
        String viewer = tokenFor("vera", "viewer");
        assertThat(act(api, "create", viewer).statusCode()).isEqualTo(403);

        Files.writeString(
            policy,
            Files.readString(policy)
                .replace(
                    "viewer: {replace_system_role: true, permissions: [read]}",
                    "viewer: {replace_system_role: true, permissions: [read, create]}"));
        long deadline = System.nanoTime() + 5_000_000_000L;
        int status = 403;
        while (status != 201 && System.nanoTime() < deadline) {
          Thread.sleep(100);
          status = act(api, "create", viewer).statusCode();
        }
        assertThat(status).isEqualTo(201);
      } finally {
        api.stop();
      }
    }
  }
}
