package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.castellan.server.api.Right;
import dev.castellan.server.api.SecuredRoutes.Route;
import dev.castellan.server.auth.AuthMode;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.store.MemoryStore;
import io.javalin.http.HandlerType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Date;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every route of the server x every kind of caller x every spelling of its path, with the status
 * each must get, generated from the server's own route table: a route added tomorrow is in the
 * matrix without anyone writing a line here. It would have caught the percent-encoded system store
 * id that let an admin key write to Castellan's own rights.
 */
class RouteAuthorizationMatrixTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String SECRET = "matrix-test-secret-0123456789abcdef-xyz";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** Who calls. */
  enum Caller {
    GLOBAL_ADMIN,
    STORE_ADMIN,
    STORE_WRITER,
    STORE_READER,
    OTHER_STORE_ADMIN,
    OTHER_STORE_WRITER,
    OTHER_STORE_READER,
    AUDITOR,
    RBAC_ONLY_JWT,
    /** A provisioning key ({@code "scim": true}): {@code /scim/v2} and nothing else. */
    SCIM_KEY,
    NO_CREDENTIALS,
    /**
     * No credentials, on a second server started with {@code auth none} (local development): a
     * global administrator who still cannot see the system store.
     */
    LOCAL_DEV;

    /** Holds every right, as the global admin does. */
    boolean globalAdmin() {
      return this == GLOBAL_ADMIN || this == LOCAL_DEV;
    }
  }

  /** How the path is written; the store spelt in it is {@link #effective} of the target store. */
  enum Spelling {
    PLAIN,
    /** The first character of the store id percent-encoded: the same store. */
    ENCODED,
    /** {@code %25} and the encoding: a different id, which does not exist. */
    DOUBLE_ENCODED,
    TRAILING_SLASH,
    /** {@code ;x} after the store id: a different id, which does not exist. */
    SEMICOLON;

    boolean sameStore() {
      return this == PLAIN || this == ENCODED || this == TRAILING_SLASH;
    }
  }

  private static CastellanServer server;
  private static CastellanServer localDev; // auth none, for LOCAL_DEV
  private static String store; // the store the store callers hold rights on
  private static String localDevStore; // LOCAL_DEV's target, on localDev
  private static String otherStore; // the store the OTHER_ callers hold rights on
  private static final Map<Caller, String> tokens = new EnumMap<>(Caller.class);
  private static final Map<Caller, String> subjects = new EnumMap<>(Caller.class);

  @BeforeAll
  static void start() throws Exception {
    server =
        CastellanServer.start(
            ServerHttp.loopback()
                .withBootstrapToken(ADMIN)
                .withJwt(JwtSettings.hs256(SECRET))
                // The matrix sends hundreds of requests without credentials from one address.
                .withAuthFailureLimit(
                    new dev.castellan.server.auth.AuthFailureLimit(
                        0, java.time.Duration.ofMinutes(1))),
            new MemoryStore());
    store = createStore("matrix");
    otherStore = createStore("other");
    tokens.put(Caller.GLOBAL_ADMIN, ADMIN);
    key(Caller.STORE_ADMIN, "{\"name\":\"sa\",\"store_id\":\"" + store + "\",\"role\":\"admin\"}");
    key(
        Caller.STORE_WRITER,
        "{\"name\":\"sw\",\"store_id\":\"" + store + "\",\"role\":\"writer\"}");
    key(
        Caller.STORE_READER,
        "{\"name\":\"sr\",\"store_id\":\"" + store + "\",\"role\":\"reader\"}");
    key(
        Caller.OTHER_STORE_ADMIN,
        "{\"name\":\"oa\",\"store_id\":\"" + otherStore + "\",\"role\":\"admin\"}");
    key(
        Caller.OTHER_STORE_WRITER,
        "{\"name\":\"ow\",\"store_id\":\"" + otherStore + "\",\"role\":\"writer\"}");
    key(
        Caller.OTHER_STORE_READER,
        "{\"name\":\"or\",\"store_id\":\"" + otherStore + "\",\"role\":\"reader\"}");
    key(Caller.AUDITOR, "{\"name\":\"au\",\"auditor\":true}");
    key(Caller.SCIM_KEY, "{\"name\":\"okta\",\"scim\":true}");
    tokens.put(Caller.RBAC_ONLY_JWT, jwt("mallory", "admin"));
    localDev =
        CastellanServer.start(ServerHttp.loopback().withAuth(AuthMode.NONE), new MemoryStore());
    localDevStore = createStore(localDev, "matrix");
  }

  @AfterAll
  static void stop() {
    server.close();
    localDev.close();
  }

  @Test
  void routeTable_holdsEveryApi_andEachRouteOnce() {
    List<Route> routes = server.routes();
    assertThat(routes)
        .extracting(Route::path)
        .contains("/stores/{store_id}/check", "/api/keys", "/api/admin/stores/largest");
    assertThat(routes).extracting(r -> r.method() + " " + r.path()).doesNotHaveDuplicates();
    // Rotation hands out a new secret of any key: administrators only.
    assertThat(routes)
        .filteredOn(r -> r.path().equals("/api/keys/{id}/rotate"))
        .singleElement()
        .satisfies(r -> assertThat(r.method()).isEqualTo(HandlerType.POST))
        .extracting(Route::right)
        .isEqualTo(Right.ADMIN);
    assertThat(routes.stream().filter(r -> r.right() == Right.PUBLIC))
        .extracting(Route::path)
        .containsExactlyInAnyOrder("/healthz", "/readyz");
    // The directory is read by administrators and auditors alone: who is in which group and holds
    // which role is what an access review reads (ADR 0011's table).
    assertThat(routes.stream().filter(r -> r.path().matches("/api/(users|groups).*")))
        .extracting(r -> r.method() + " " + r.path() + " " + r.right())
        .containsExactlyInAnyOrder(
            "GET /api/users AUDITOR",
            "GET /api/users/{id} AUDITOR",
            "GET /api/users/{id}/identities AUDITOR",
            "POST /api/users/{id}/identities ADMIN",
            "DELETE /api/users/{id}/identities ADMIN",
            "GET /api/groups AUDITOR",
            "GET /api/groups/{id} AUDITOR");
    // Imports by identity write the store's tuples; what they hold is read like its tuples.
    assertThat(
            routes.stream()
                .filter(r -> r.path().matches("/api/stores/\\{store_id}/(imports|pending)")))
        .extracting(r -> r.method() + " " + r.path() + " " + r.right())
        .containsExactlyInAnyOrder(
            "POST /api/stores/{store_id}/imports STORE_WRITER",
            "GET /api/stores/{store_id}/pending STORE_READER",
            "DELETE /api/stores/{store_id}/pending STORE_WRITER");
    // LOCAL_DEV runs through this table on the other server: it must serve the same routes.
    assertThat(localDev.routes()).containsExactlyElementsOf(routes);
  }

  @TestFactory
  Stream<DynamicTest> everyRoute_everyCaller_everySpelling() {
    List<DynamicTest> tests = new ArrayList<>();
    for (Route route : server.routes()) {
      boolean scoped = route.path().contains("{store_id}");
      List<Spelling> spellings =
          scoped
              ? List.of(Spelling.values())
              : List.of(Spelling.PLAIN, Spelling.TRAILING_SLASH, Spelling.SEMICOLON);
      for (Spelling spelling : spellings) {
        tests.add(
            DynamicTest.dynamicTest(
                route.method() + " " + route.path() + " " + spelling, () -> run(route, spelling)));
      }
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> systemStore_isNotFound_forEveryCaller_underEverySpelling() {
    String system = server.systemStoreId();
    List<DynamicTest> tests = new ArrayList<>();
    for (Route route : server.routes()) {
      if (!route.path().contains("{store_id}")) {
        continue;
      }
      for (Spelling spelling : List.of(Spelling.PLAIN, Spelling.ENCODED, Spelling.TRAILING_SLASH)) {
        tests.add(
            DynamicTest.dynamicTest(
                route.method() + " " + route.path() + " " + spelling,
                () -> {
                  SoftAssertions soft = new SoftAssertions();
                  for (Caller caller : Caller.values()) {
                    String id = caller == Caller.LOCAL_DEV ? localDev.systemStoreId() : system;
                    HttpResponse<String> response =
                        send(
                            serverOf(caller), route, path(route, id, spelling), tokens.get(caller));
                    int expected = caller == Caller.NO_CREDENTIALS ? 401 : 404;
                    soft.assertThat(response.statusCode())
                        .as("%s %s", caller, response.body())
                        .isEqualTo(expected);
                  }
                  soft.assertAll();
                }));
      }
    }
    return tests.stream();
  }

  @Test
  void systemStore_cannotBeGranted_orNamedInAKey() throws Exception {
    String system = server.systemStoreId();
    String encoded = "%" + hex(system.charAt(0)) + system.substring(1);
    HttpResponse<String> grant =
        request(
            ADMIN,
            "POST",
            "/api/stores/" + encoded + "/access",
            "{\"subject\":\"jwt:mallory\",\"role\":\"writer\"}");
    assertThat(grant.statusCode()).isEqualTo(404);
    HttpResponse<String> key =
        request(
            ADMIN,
            "POST",
            "/api/keys",
            "{\"name\":\"x\",\"store_id\":\"" + system + "\",\"role\":\"admin\"}");
    assertThat(key.statusCode()).isEqualTo(404);
  }

  @Test
  void grantOnAStoreThatDoesNotExist_isNotFound_andNothingIsWritten() throws Exception {
    String missing = "%25" + hex(store.charAt(0)) + store.substring(1);
    HttpResponse<String> grant =
        request(
            ADMIN,
            "POST",
            "/api/stores/" + missing + "/access",
            "{\"subject\":\"jwt:mallory\",\"role\":\"writer\"}");
    assertThat(grant.statusCode()).isEqualTo(404);
    HttpResponse<String> lowercase =
        request(
            ADMIN,
            "POST",
            "/api/stores/" + store.toLowerCase(Locale.ROOT) + "/access",
            "{\"subject\":\"jwt:mallory\",\"role\":\"writer\"}");
    assertThat(lowercase.statusCode()).as("store ids are case-sensitive").isEqualTo(404);
  }

  @Test
  void grantOfAnUnknownSubjectKind_isRefused() throws Exception {
    // user:alice is an alias of a person now (ADR 0023); the engine's own types are no subjects.
    for (String subject :
        List.of("principal:key.x", "castellan:global", "alice", "group:eng", "user:a b")) {
      HttpResponse<String> grant =
          request(
              ADMIN,
              "POST",
              "/api/stores/" + store + "/access",
              "{\"subject\":\"" + subject + "\",\"role\":\"reader\"}");
      assertThat(grant.statusCode()).as(subject).isEqualTo(400);
    }
  }

  @Test
  void invalidUtf8OrBadEscapes_inAPathParameter_areBadRequests() throws Exception {
    // %C0%B0 is an overlong '0'; %FF is never UTF-8; %zz, %u0030 and a lone % are no escapes.
    for (String id :
        List.of(
            "%C0%B0" + store.substring(1),
            "%FF" + store,
            "%E0%80%B0x",
            "%u0030" + store.substring(1),
            "%zz",
            "a%")) {
      int status = rawStatus("POST", "/stores/" + id + "/check", ADMIN);
      assertThat(status).as(id).isEqualTo(400);
    }
    HttpResponse<String> overlong =
        request(ADMIN, "POST", "/stores/" + "A".repeat(300) + "/check", "{}");
    assertThat(overlong.statusCode()).isEqualTo(400);
  }

  /** Sends a request line as written (java.net.URI refuses malformed escapes); the status. */
  private static int rawStatus(String method, String target, String token) throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      String request =
          method
              + " "
              + target
              + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
              + token
              + "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
      socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      String statusLine =
          new java.io.BufferedReader(
                  new java.io.InputStreamReader(
                      socket.getInputStream(), java.nio.charset.StandardCharsets.ISO_8859_1))
              .readLine();
      return Integer.parseInt(statusLine.split(" ")[1]);
    }
  }

  // ------------------------------------------------------------------ the matrix

  private static void run(Route route, Spelling spelling) throws Exception {
    SoftAssertions soft = new SoftAssertions();
    // A fresh store per caller for DELETE: deleting it must not disturb the other cases.
    boolean fresh =
        route.method() == HandlerType.DELETE && route.path().equals("/stores/{store_id}");
    for (Caller caller : Caller.values()) {
      String storeId;
      if (caller == Caller.LOCAL_DEV) {
        storeId = fresh ? createStore(localDev, "doomed") : localDevStore;
      } else {
        storeId = fresh ? freshStoreForStoreCallers() : store;
      }
      String path = path(route, storeId, spelling);
      HttpResponse<String> response = send(serverOf(caller), route, path, tokens.get(caller));
      int status = response.statusCode();
      String as =
          route.method() + " " + path + " " + caller + " -> " + status + " " + response.body();
      Expect expect = expect(route, caller, spelling);
      switch (expect) {
        case UNAUTHENTICATED -> soft.assertThat(status).as(as).isEqualTo(401);
        case FORBIDDEN -> soft.assertThat(status).as(as).isEqualTo(403);
        case GATEWAY_DECISION -> soft.assertThat(status).as(as).isIn(200, 403);
        case NOT_FOUND_OR_INVALID -> soft.assertThat(status).as(as).isIn(400, 404);
        case NO_SUCH_ROUTE -> {
          soft.assertThat(status).as(as).isEqualTo(404);
          if (route.method() != HandlerType.HEAD) {
            soft.assertThat(response.body()).as(as).contains("undefined_endpoint");
          }
        }
        case ALLOWED -> {
          soft.assertThat(status).as(as).isNotIn(401, 403).isLessThan(500);
          soft.assertThat(response.body()).as(as).doesNotContain("undefined_endpoint");
        }
      }
    }
    soft.assertAll();
  }

  enum Expect {
    UNAUTHENTICATED,
    FORBIDDEN,
    GATEWAY_DECISION,
    /** A right on a store that does not exist: the handler says so, or the body is refused. */
    NOT_FOUND_OR_INVALID,
    /** A path that no route matches (a matrix parameter on a fixed segment). */
    NO_SUCH_ROUTE,
    /** Past authorization: whatever the handler answers, never 401/403 or a 5xx. */
    ALLOWED
  }

  private static Expect expect(Route route, Caller caller, Spelling spelling) {
    Right right = route.right();
    if (right == Right.PUBLIC && spelling != Spelling.SEMICOLON) {
      return Expect.ALLOWED;
    }
    if (caller == Caller.NO_CREDENTIALS) {
      return Expect.UNAUTHENTICATED;
    }
    boolean scoped = route.path().contains("{store_id}");
    boolean endsInParameter =
        route.path().endsWith("}") || route.path().endsWith(">") || route.path().endsWith("*");
    if (spelling == Spelling.SEMICOLON && !scoped && !endsInParameter) {
      return Expect
          .NO_SUCH_ROUTE; // "/api/keys;x" is not "/api/keys"; "/api/roles/x;x" is role "x;x"
    }
    if (right == Right.SCIM || caller == Caller.SCIM_KEY) {
      // Only a provisioning key reaches SCIM, and it reaches nothing else: not even an admin key
      // or the local developer provisions, and the key is no caller of whoami or forward-auth.
      return right == Right.SCIM && caller == Caller.SCIM_KEY ? Expect.ALLOWED : Expect.FORBIDDEN;
    }
    boolean sameStore = spelling.sameStore() || !scoped;
    return switch (right) {
      case PUBLIC, AUTHENTICATED -> Expect.ALLOWED;
      case SCIM -> throw new AssertionError("decided above");
      case GATEWAY -> Expect.GATEWAY_DECISION;
      case ADMIN -> caller.globalAdmin() ? Expect.ALLOWED : Expect.FORBIDDEN;
      case AUDITOR ->
          caller.globalAdmin() || caller == Caller.AUDITOR ? Expect.ALLOWED : Expect.FORBIDDEN;
      case STORE_READER, STORE_WRITER, STORE_ADMIN -> {
        if (caller.globalAdmin()) {
          yield sameStore ? Expect.ALLOWED : Expect.NOT_FOUND_OR_INVALID;
        }
        yield sameStore && rank(caller) >= rank(right) ? Expect.ALLOWED : Expect.FORBIDDEN;
      }
    };
  }

  /** A store caller's rank on the target store (0: none). */
  private static int rank(Caller caller) {
    return switch (caller) {
      case STORE_READER -> 1;
      case STORE_WRITER -> 2;
      case STORE_ADMIN -> 3;
      default -> 0;
    };
  }

  private static int rank(Right right) {
    return switch (right) {
      case STORE_READER -> 1;
      case STORE_WRITER -> 2;
      case STORE_ADMIN -> 3;
      default -> throw new IllegalArgumentException(right.name());
    };
  }

  private static String path(Route route, String storeId, Spelling spelling) {
    String id =
        switch (spelling) {
          case PLAIN, TRAILING_SLASH -> storeId;
          case ENCODED -> "%" + hex(storeId.charAt(0)) + storeId.substring(1);
          case DOUBLE_ENCODED -> "%25" + hex(storeId.charAt(0)) + storeId.substring(1);
          case SEMICOLON -> storeId + ";x";
        };
    String path =
        route
            .path()
            .replace("{store_id}", id)
            .replace("{id}", "x")
            .replace("{subject}", "user:x")
            .replace("<rest>", "workflows")
            .replace("*", "workflows");
    if (spelling == Spelling.TRAILING_SLASH) {
      path = path + "/";
    } else if (spelling == Spelling.SEMICOLON && !route.path().contains("{store_id}")) {
      path = path + ";x";
    }
    return path;
  }

  /** The server a caller's requests go to. */
  private static CastellanServer serverOf(Caller caller) {
    return caller == Caller.LOCAL_DEV ? localDev : server;
  }

  private static HttpResponse<String> send(
      CastellanServer to, Route route, String path, String token) throws Exception {
    String method = route.method().name();
    boolean withBody = method.equals("POST") || method.equals("PUT") || method.equals("PATCH");
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.port() + path))
            .method(
                method,
                withBody
                    ? HttpRequest.BodyPublishers.ofString("{}")
                    : HttpRequest.BodyPublishers.noBody());
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    if (route.right() == Right.GATEWAY) {
      request.header("X-Forwarded-Method", "GET").header("X-Forwarded-Uri", "/workflows");
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  // ------------------------------------------------------------------ setup

  private static String freshStoreForStoreCallers() throws Exception {
    String id = createStore("doomed");
    for (Caller caller : List.of(Caller.STORE_ADMIN, Caller.STORE_WRITER, Caller.STORE_READER)) {
      String role = caller.name().substring("STORE_".length()).toLowerCase(Locale.ROOT);
      HttpResponse<String> granted =
          request(
              ADMIN,
              "POST",
              "/api/stores/" + id + "/access",
              "{\"subject\":\"" + subjects.get(caller) + "\",\"role\":\"" + role + "\"}");
      assertThat(granted.statusCode()).as(granted.body()).isEqualTo(204);
    }
    return id;
  }

  private static String createStore(String name) throws Exception {
    HttpResponse<String> created = request(ADMIN, "POST", "/stores", "{\"name\":\"" + name + "\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    return JSON.readTree(created.body()).get("id").asText();
  }

  /** A store made on {@code to} by a caller without credentials (the local-dev server). */
  private static String createStore(CastellanServer to, String name) throws Exception {
    HttpResponse<String> created =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.port() + "/stores"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + name + "\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    return JSON.readTree(created.body()).get("id").asText();
  }

  private static void key(Caller caller, String body) throws Exception {
    HttpResponse<String> created = request(ADMIN, "POST", "/api/keys", body);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    JsonNode json = JSON.readTree(created.body());
    tokens.put(caller, json.get("key").asText());
    subjects.put(caller, json.get("subject").asText());
  }

  private static String jwt(String subject, String role) throws Exception {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader(JWSAlgorithm.HS256),
            new JWTClaimsSet.Builder()
                .subject(subject)
                .claim("role", role)
                .expirationTime(new Date(System.currentTimeMillis() + 3_600_000))
                .build());
    jwt.sign(new MACSigner(SECRET));
    return jwt.serialize();
  }

  private static HttpResponse<String> request(String token, String method, String path, String body)
      throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .header("Authorization", "Bearer " + token)
            .method(method, HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String hex(char c) {
    return String.format(Locale.ROOT, "%02X", (int) c);
  }
}
