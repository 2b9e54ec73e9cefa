package dev.castellan.server;

import static dev.castellan.server.ServerHttp.JSON;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.engine.Tuple;
import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.store.PageRequest;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.jdbc.JdbcStore;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Grants written before the subject scheme of ADR 0010 (subjects folded to {@code _}, claims
 * slugged) and before ADR 0023 (a caller had several subjects), in an embedded database, then a
 * server started on it: what can be rewritten is, the rest is reported once, nothing is dropped,
 * and every caller ends with one subject that holds all it held.
 */
class SubjectMigrationHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String SECRET = "a-development-secret-of-32-bytes-or-more";

  /** By name, not class: the regression also compiles against the code before the fix. */
  private static final String LOGGER = "dev.castellan.server.auth.SubjectMigration";

  private static final java.time.Instant EXPIRY = java.time.Instant.parse("2099-01-01T00:00:00Z");

  @TempDir Path dir;
  CastellanServer server;
  ListAppender<ILoggingEvent> logs;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    if (logs != null) {
      logger().detachAppender(logs);
    }
  }

  @Test
  void oldStyleGrants_areRewrittenWhereUnambiguous_reportedOtherwise_andOnlyOnce()
      throws Exception {
    // A database as the old scheme left it, written through the store API.
    String docs;
    String gail;
    try (JdbcStore store = JdbcStore.embedded(dir)) {
      String system = AccessControl.open(store).systemStoreId();
      docs = store.createStore("docs").id();
      // A user SCIM provisioned before ADR 0023: user:dir/<id> in RBAC, its token jwt:gail.
      gail =
          store
              .directoryStore()
              .createUser(new dev.castellan.store.UserDraft("gail", "", "", true, List.of(), ""))
              .id();
      store.write(
          system,
          TupleWrite.writes(
              // The grant API took '+' and '/', which no token subject could reach: rewritten.
              Tuple.of("role:viewer", "assignee", "user:bob+tag@example.com"),
              Tuple.of("role:viewer", "assignee", "user:carol/x").expiringAt(EXPIRY),
              // '_' also stood for every other character: stays, reported.
              Tuple.of("role:developer", "assignee", "user:bob_smith"),
              // Nothing was lost here: stays, not reported.
              Tuple.of("role:developer", "assignee", "user:alice"),
              // Slugged claims: stays, reported.
              Tuple.of("role:developer", "assignee", "group:platform-admins#member"),
              // Never reachable while claims were slugged; now it is: reported.
              Tuple.of("role:viewer", "assignee", "group:QA_Team#member"),
              Tuple.of("store:" + docs, "reader", "principal:jwt.dave_e"),
              Tuple.of("store:" + docs, "reader", "principal:jwt.erin"),
              // No caller is a robot: reported.
              Tuple.of("store:" + docs, "reader", "principal:robot.x"),
              // ADR 0023: jwt:frank and user:frank were one person; they become one user.
              Tuple.of("role:developer", "assignee", "user:frank"),
              Tuple.of("store:" + docs, "writer", "principal:jwt.frank"),
              Tuple.of("role:developer", "assignee", "user:dir/" + gail),
              Tuple.of("store:" + docs, "reader", "principal:jwt.gail"),
              Tuple.of("store:" + docs, "reader", "principal:key.K1"),
              Tuple.of("role:viewer", "assignee", "service_account:key.K1")));
    }

    logs = capture();
    server = start();

    assertThat(allowed(token("bob+tag@example.com", Map.of()), "Workflows.Read")).isTrue();
    assertThat(allowed(token("carol/x", Map.of()), "Workflows.Read")).isTrue();
    assertThat(allowed(token("bob_smith", Map.of()), "Workflows.Create")).isTrue();
    assertThat(allowed(token("bob smith", Map.of()), "Workflows.Create")).isFalse();
    assertThat(allowed(token("alice", Map.of()), "Workflows.Create")).isTrue();
    assertThat(
            allowed(token("pat", Map.of("groups", List.of("platform-admins"))), "Workflows.Create"))
        .isTrue();
    assertThat(
            allowed(
                token("mallory", Map.of("groups", List.of("PLATFORM_ADMINS"))), "Workflows.Create"))
        .isFalse();
    assertThat(allowed(token("quinn", Map.of("groups", List.of("QA_Team"))), "Workflows.Read"))
        .isTrue();
    assertThat(send(token("dave_e", Map.of()), "GET", "/stores/" + docs, null).statusCode())
        .isEqualTo(200);
    assertThat(send(token("dave e", Map.of()), "GET", "/stores/" + docs, null).statusCode())
        .isEqualTo(403);
    assertThat(send(token("erin", Map.of()), "GET", "/stores/" + docs, null).statusCode())
        .isEqualTo(200);

    // Frank and gail: one subject each, holding the role and the store right alike.
    String frank = token("frank", Map.of());
    assertThat(allowed(frank, "Workflows.Create")).isTrue();
    assertThat(send(frank, "GET", "/stores/" + docs, null).statusCode()).isEqualTo(200);
    JsonNode frankUsers =
        JSON.readTree(send(ADMIN, "GET", "/api/users?user_name=frank", null).body()).get("users");
    assertThat(frankUsers).hasSize(1);
    // The user the migration created is audited as the migration's, not as a grant's alias.
    String frankSubject = "user:" + frankUsers.get(0).get("id").asText();
    Poll.until(
        "frank's creation entry", Duration.ofSeconds(5), () -> !creations(frankSubject).isEmpty());
    assertThat(creations(frankSubject))
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.get("caller").asText()).isEmpty();
              assertThat(e.get("action").asText()).isEqualTo("create");
              assertThat(e.get("reason").asText())
                  .matches(
                      "subject-migration of (user:frank|principal:jwt\\.frank); linked to its oidc identity");
            });
    String gailToken = token("gail", Map.of());
    assertThat(allowed(gailToken, "Workflows.Create")).isTrue();
    assertThat(send(gailToken, "GET", "/stores/" + docs, null).statusCode()).isEqualTo(200);
    assertThat(
            JSON.readTree(send(gailToken, "GET", "/api/whoami", null).body())
                .get("subject")
                .asText())
        .isEqualTo("user:" + gail);

    // Scheme 2's seven subjects, then scheme 3's: one per caller (a subject's last entry shown).
    Map<String, String> reported = awaitReport(16);
    assertThat(reported)
        .hasSize(16)
        .containsKeys("service_account:K1", "user:" + gail)
        .containsKeys(
            "user:bob%2Btag@example.com",
            "user:carol%2Fx",
            "user:bob_smith",
            "group:platform-admins#member",
            "group:QA_Team#member",
            "principal:jwt.dave_e",
            "principal:robot.x");
    assertThat(reported.get("user:bob%2Btag@example.com"))
        .startsWith("rewrite user:bob+tag@example.com to user:bob%2Btag@example.com");
    assertThat(reported.get("user:bob_smith")).startsWith("review");
    assertThat(reported.values())
        .anySatisfy(a -> assertThat(a).startsWith("rewrite user:frank to user:"))
        .anySatisfy(a -> assertThat(a).startsWith("rewrite principal:jwt.erin to user:"))
        .anySatisfy(a -> assertThat(a).startsWith("rewrite user:carol%2Fx to user:"))
        .anySatisfy(a -> assertThat(a).contains("key.K1 to service_account:K1"))
        .anySatisfy(a -> assertThat(a).contains(" to user:" + gail));
    String carolSubject =
        reported.entrySet().stream()
            .filter(e -> e.getValue().startsWith("rewrite user:carol%2Fx to "))
            .map(Map.Entry::getKey)
            .findFirst()
            .orElseThrow();
    assertThat(reported.get("group:platform-admins#member")).startsWith("review");

    List<String> warnings =
        logs.list.stream()
            .filter(e -> e.getLevel() == Level.WARN)
            .map(ILoggingEvent::getFormattedMessage)
            .toList();
    assertThat(warnings)
        .anySatisfy(
            w -> assertThat(w).contains("user:bob+tag@example.com -> user:bob%2Btag@example.com"))
        .anySatisfy(
            w ->
                assertThat(w)
                    .contains("user:bob_smith")
                    .contains("group:platform-admins#member")
                    .contains("group:QA_Team#member")
                    .contains("principal:jwt.dave_e")
                    .contains("principal:robot.x")
                    .doesNotContain("user:alice")
                    .doesNotContain("principal:jwt.erin")
                    .contains("GET /api/whoami")
                    .contains("GET /api/audit?resource=castellan:subjects"));

    // The next start finds the database migrated: no work, no report, the grants as they were.
    server.close();
    server = null;
    try (JdbcStore store = JdbcStore.embedded(dir)) {
      String system = AccessControl.open(store).systemStoreId();
      var carol = store.read(system, TupleFilter.user(carolSubject), PageRequest.first(10)).items();
      assertThat(carol).hasSize(1);
      assertThat(carol.get(0).tuple().expiresAt())
          .as("a rewrite keeps the expiry")
          .isEqualTo(EXPIRY);
      for (String old :
          List.of("user:carol/x", "user:carol%2Fx", "principal:jwt.frank", "principal:key.K1")) {
        assertThat(store.read(system, TupleFilter.user(old), PageRequest.first(10)).items())
            .as(old)
            .isEmpty();
      }
    }
    logs.list.clear();
    server = start();
    assertThat(allowed(token("bob+tag@example.com", Map.of()), "Workflows.Read")).isTrue();
    assertThat(allowed(token("bob_smith", Map.of()), "Workflows.Create")).isTrue();
    assertThat(logs.list).noneMatch(e -> e.getLevel().isGreaterOrEqual(Level.WARN));
    assertThat(report()).hasSize(reported.size());
  }

  // ------------------------------------------------------------------ helpers

  private CastellanServer start() {
    return CastellanServer.start(
        ServerHttp.loopback().withBootstrapToken(ADMIN).withJwt(JwtSettings.hs256(SECRET)),
        JdbcStore.embedded(dir));
  }

  /** The migration's audit entries: subject to action. */
  private Map<String, String> report() throws Exception {
    JsonNode entries =
        JSON.readTree(send(ADMIN, "GET", "/api/audit?resource=castellan:subjects", null).body())
            .get("entries");
    Map<String, String> out = new TreeMap<>();
    entries.forEach(e -> out.put(e.get("subject").asText(), e.get("action").asText()));
    return out;
  }

  /** The {@code directory-user-create} entries about {@code subject}. */
  private List<JsonNode> creations(String subject) throws Exception {
    JsonNode entries =
        JSON.readTree(
                send(
                        ADMIN,
                        "GET",
                        "/api/audit?limit=100&subject="
                            + java.net.URLEncoder.encode(
                                subject, java.nio.charset.StandardCharsets.UTF_8),
                        null)
                    .body())
            .get("entries");
    List<JsonNode> out = new java.util.ArrayList<>();
    entries.forEach(
        e -> {
          if (e.get("api").asText().equals("directory-user-create")) {
            out.add(e);
          }
        });
    return out;
  }

  private Map<String, String> awaitReport(int size) throws Exception {
    Poll.until(
        size + " entries in the migration report",
        Duration.ofSeconds(5),
        () -> report().size() >= size);
    return report();
  }

  private boolean allowed(String token, String permission) throws Exception {
    HttpResponse<String> response =
        send(token, "POST", "/api/authorize", "{\"permission\":\"" + permission + "\"}");
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body()).get("allowed").asBoolean();
  }

  private static String token(String subject, Map<String, Object> claims) throws Exception {
    return ServerHttp.hs256(SECRET, subject, claims, Duration.ofMinutes(5));
  }

  private HttpResponse<String> send(String token, String method, String path, String body)
      throws Exception {
    return ServerHttp.send(server, token, method, path, body);
  }

  private static ch.qos.logback.classic.Logger logger() {
    return (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(LOGGER);
  }

  private static ListAppender<ILoggingEvent> capture() {
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    logger().addAppender(appender);
    return appender;
  }
}
