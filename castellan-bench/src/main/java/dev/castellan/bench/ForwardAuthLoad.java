package dev.castellan.bench;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.server.rbac.RouteTable;
import dev.castellan.store.MemoryStore;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Gateway forward-auth throughput over loopback: the server enforces the example AI workflow API's
 * policy and routes; each request is {@code GET /authz/forward} with a user's HS256 token and the
 * original method and path in {@code X-Forwarded-*}, as nginx and Traefik send it. The mix is its 4
 * roles x 5 actions plus unmapped and tricky paths; every answer (200 or 403) is compared with the
 * expected one. Run: {@code java -cp castellan-benchmarks.jar dev.castellan.bench.HttpLoad
 * --forward-auth}.
 */
final class ForwardAuthLoad {
  static final String SECRET = "bench-secret-0123456789-0123456789-abcdef";
  static final String POLICY =
      """
      roles:
        admin: {replace_system_role: true, permissions: [create, read, run, delete, share]}
        developer: {replace_system_role: true, permissions: [create, read, run]}
        analyst: [read, run]
        viewer: {replace_system_role: true, permissions: [read]}
      routes:
        - {method: POST, path: /workflows, permission: create}
        - {method: GET, path: /workflows, permission: read}
        - {method: POST, path: "/workflows/{id}/run", permission: run}
        - {method: DELETE, path: "/workflows/{id}", permission: delete}
        - {method: POST, path: "/workflows/{id}/share", permission: share}
      """;

  private ForwardAuthLoad() {}

  static void run(HttpLoad.Options options) throws Exception {
    if (!options.client().equals("raw")) {
      throw new IllegalArgumentException("--forward-auth measures with the raw client only");
    }
    Path policy = Files.createTempFile("castellan-bench-rbac", ".yaml");
    Files.writeString(policy, POLICY);
    CastellanServer server =
        CastellanServer.start(
            CastellanServer.Options.defaults()
                .withHost("127.0.0.1")
                .withPort(options.serve())
                .withBootstrapToken(HttpLoad.TOKEN)
                .withJwt(JwtSettings.hs256(SECRET))
                .withRbacFile(policy),
            new MemoryStore());
    try {
      URI base = URI.create("http://127.0.0.1:" + server.port());
      HttpLoad.Requests requests = requests(base, server);
      System.out.printf(
          Locale.ROOT,
          "forward-auth at %s, %d distinct requests (%d allowed), server in this JVM%n",
          base,
          requests.raw().length,
          requests.allowedCount());
      HttpLoad.measure(options, requests);
    } finally {
      server.close();
      Files.deleteIfExists(policy);
    }
  }

  private static HttpLoad.Requests requests(URI base, CastellanServer server) throws Exception {
    List<String> roles = List.of("admin", "developer", "analyst", "viewer");
    String[][] actions = {
      {"POST", "/workflows"},
      {"GET", "/workflows"},
      {"POST", "/workflows/%d/run"},
      {"DELETE", "/workflows/%d"},
      {"POST", "/workflows/%d/share"},
      {"GET", "/admin/%d"},
      {"POST", "/workflows/%d/../1/run"},
    };
    Map<String, String> tokens = new java.util.HashMap<>();
    for (String role : roles) {
      for (int u = 0; u < 16; u++) {
        tokens.put(role + u, token(role + "-user-" + u, role));
      }
    }
    RouteTable routes = new RouteTable(server.rbac().policy().routes());
    int pool = 4096;
    SplittableRandom random = new SplittableRandom(20261125L);
    String[] descriptions = new String[pool];
    byte[][] raw = new byte[pool][];
    boolean[] expected = new boolean[pool];
    for (int i = 0; i < pool; i++) {
      String role = roles.get(random.nextInt(roles.size()));
      int user = random.nextInt(16);
      String[] action = actions[random.nextInt(actions.length)];
      String path = String.format(Locale.ROOT, action[1], random.nextInt(1000));
      var route = routes.match(action[0], path);
      expected[i] =
          route.isPresent()
              && server
                  .rbac()
                  .authorize(
                      "user:" + role + "-user-" + user,
                      List.of(role),
                      List.of(),
                      server.rbac().permission(route.get().permission()),
                      Map.of())
                  .allowed();
      descriptions[i] = role + " " + action[0] + " " + path;
      raw[i] =
          ("GET /authz/forward HTTP/1.1\r\nHost: "
                  + base.getHost()
                  + ":"
                  + base.getPort()
                  + "\r\nAuthorization: Bearer "
                  + tokens.get(role + user)
                  + "\r\nX-Forwarded-Method: "
                  + action[0]
                  + "\r\nX-Forwarded-Uri: "
                  + path
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII);
    }
    return new HttpLoad.Requests(base, "/authz/forward", "", descriptions, raw, expected);
  }

  private static String token(String subject, String role) throws Exception {
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
}
