package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.audit.AuditVerification;
import dev.castellan.cli.ServerProcess.Response;
import dev.castellan.store.jdbc.JdbcStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Databases written by the previous release, opened by this one: the fixtures under {@code
 * upgrade/deafaff/} were made by {@code scripts/upgrade-fixtures.sh deafaff} (the embedded store's
 * file, and a {@code pg_dump} of a PostgreSQL database), with the API keys it created. This release
 * must migrate them and serve their data, grants, keys and audit chain as they were.
 */
class UpgradeTest {
  private static final String FIXTURES = "/upgrade/deafaff/";

  @TempDir Path dir;

  @Test
  void anEmbeddedStoreOfThePreviousRelease_opensWithItsDataGrantsKeysAndAuditChain()
      throws Exception {
    Properties fixture = fixture("h2");
    Path data = dir.resolve("data");
    Files.createDirectories(data);
    try (InputStream file = resource("h2/castellan.mv.db")) {
      Files.copy(file, JdbcStore.embeddedFile(data));
    }
    String[] store = {"--data", data.toString()};
    long before = verifyAuditChain(store);
    try (ServerProcess server = start(fixture, store)) {
      servesTheOldData(server, fixture);
    }
    assertThat(verifyAuditChain(store))
        .as("entries appended by this release")
        .isGreaterThan(before);
  }

  @Test
  void aPostgresqlDatabaseOfThePreviousRelease_opensWithItsDataGrantsKeysAndAuditChain()
      throws Exception {
    Properties fixture = fixture("postgresql");
    String url = TestDatabases.create("castellan_upgrade");
    try {
      restore(url, "postgresql/castellan.sql");
      String[] store = {"--pg-url", url};
      long before = verifyAuditChain(store);
      try (ServerProcess server = start(fixture, store)) {
        servesTheOldData(server, fixture);
      }
      assertThat(verifyAuditChain(store))
          .as("entries appended by this release")
          .isGreaterThan(before);
    } finally {
      TestDatabases.drop(url);
    }
  }

  /** HS256 tokens are accepted too, so that the old grants to {@code user:alice} can be used. */
  private static final String JWT_SECRET = "upgrade-test-jwt-secret-0123456789abcdef";

  private static ServerProcess start(Properties fixture, String... store) throws Exception {
    return ServerProcess.start(
        Map.of(
            "CASTELLAN_BOOTSTRAP_TOKEN",
            fixture.getProperty("bootstrap_token"),
            "CASTELLAN_JWT_SECRET",
            JWT_SECRET),
        store);
  }

  private static String token(String subject) throws Exception {
    com.nimbusds.jwt.SignedJWT jwt =
        new com.nimbusds.jwt.SignedJWT(
            new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.HS256),
            new com.nimbusds.jwt.JWTClaimsSet.Builder()
                .subject(subject)
                .expirationTime(new java.util.Date(System.currentTimeMillis() + 300_000))
                .build());
    jwt.sign(new com.nimbusds.jose.crypto.MACSigner(JWT_SECRET.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }

  /** What the fixture script wrote, read back through the old keys. */
  private static void servesTheOldData(ServerProcess server, Properties fixture) throws Exception {
    String store = fixture.getProperty("store_id");
    String admin = fixture.getProperty("admin_key");
    String reader = fixture.getProperty("reader_key");
    String writer = fixture.getProperty("writer_key");
    String auditor = fixture.getProperty("auditor_key");
    String scim = fixture.getProperty("scim_key");

    // Checks answer as before: a direct tuple, one through a team, a condition whose stored
    // context fails it, a deleted tuple, a stranger.
    assertThat(allowed(server, reader, store, "doc:1", "user:anne")).isTrue();
    assertThat(allowed(server, reader, store, "doc:2", "user:bob")).isTrue();
    assertThat(allowed(server, reader, store, "doc:3", "user:carl")).isFalse();
    assertThat(allowed(server, reader, store, "doc:4", "user:dora")).isFalse();
    assertThat(allowed(server, reader, store, "doc:1", "user:mallory")).isFalse();

    // The model (with its condition), the tuples and the changelog read back.
    Response model =
        server.get(
            "/stores/" + store + "/authorization-models/" + fixture.getProperty("model_id"),
            reader);
    assertThat(model.status()).isEqualTo(200);
    assertThat(model.body().at("/authorization_model/conditions/level_ok/expression").asText())
        .isEqualTo("level >= 3");
    Response read = server.post("/stores/" + store + "/read", "{}", reader);
    assertThat(read.status()).isEqualTo(200);
    List<String> tuples = new ArrayList<>();
    for (JsonNode tuple : read.body().get("tuples")) {
      JsonNode key = tuple.get("key");
      String condition = key.path("condition").path("name").asText("");
      tuples.add(
          key.get("object").asText()
              + "#"
              + key.get("relation").asText()
              + "@"
              + key.get("user").asText()
              + (condition.isEmpty() ? "" : " if " + condition));
    }
    assertThat(tuples)
        .containsExactlyInAnyOrder(
            "doc:1#viewer@user:anne",
            "team:eng#member@user:bob",
            "doc:2#viewer@team:eng#member",
            "doc:3#viewer@user:carl if level_ok");
    Response changes = server.get("/stores/" + store + "/changes", reader);
    assertThat(changes.status()).isEqualTo(200);
    List<String> operations = new ArrayList<>();
    changes.body().get("changes").forEach(c -> operations.add(c.get("operation").asText()));
    assertThat(operations)
        .containsExactly(
            "TUPLE_OPERATION_WRITE",
            "TUPLE_OPERATION_WRITE",
            "TUPLE_OPERATION_WRITE",
            "TUPLE_OPERATION_WRITE",
            "TUPLE_OPERATION_WRITE",
            "TUPLE_OPERATION_DELETE");

    // Store grants: the reader key reads but may not write; the key granted writer through
    // /access writes.
    String write =
        "{\"writes\":{\"tuple_keys\":[{\"object\":\"doc:5\",\"relation\":\"viewer\","
            + "\"user\":\"user:erin\"}]}}";
    assertThat(server.post("/stores/" + store + "/write", write, reader).status()).isEqualTo(403);
    assertThat(server.post("/stores/" + store + "/write", write, writer).status()).isEqualTo(200);
    assertThat(allowed(server, reader, store, "doc:5", "user:erin")).isTrue();

    // RBAC: the custom role, its permission and its member.
    Response authorize =
        server.post(
            "/api/authorize",
            "{\"subject\":\"user:alice\",\"permission\":\"Workflows.Run\"}",
            admin);
    assertThat(authorize.status()).isEqualTo(200);
    assertThat(authorize.body().get("allowed").asBoolean())
        .as(authorize.body().toString())
        .isTrue();
    // ADR 0023: the old member user:alice is now the directory user alice, one subject, which is
    // what alice's token resolves to: the grant made before still authorizes her token.
    String alice = token("alice");
    Response me = server.get("/api/whoami", alice);
    assertThat(me.status()).as(me.body().toString()).isEqualTo(200);
    String aliceSubject = me.body().get("subject").asText();
    assertThat(aliceSubject).matches("user:[0-9A-Z]{26}");
    assertThat(me.body().get("user_name").asText()).isEqualTo("alice");
    assertThat(server.get("/api/roles/upgrader/members", admin).body().toString())
        .contains(aliceSubject)
        .doesNotContain("\"user:alice\"");
    Response own = server.post("/api/authorize", "{\"permission\":\"Workflows.Run\"}", alice);
    assertThat(own.body().get("allowed").asBoolean()).as(own.body().toString()).isTrue();
    assertThat(
            server
                .post("/api/authorize", "{\"permission\":\"Workflows.Run\"}", token("mallory"))
                .body()
                .get("allowed")
                .asBoolean())
        .isFalse();
    // The old keys' store rights moved from principal:key.<id> to service_account:<id>.
    assertThat(keys(server, admin))
        .contains("service_account:" + fixture.getProperty("writer_key_id"));

    // Every old key authenticates, with its rights and no more.
    Response keys = server.get("/api/keys", admin);
    assertThat(keys.status()).isEqualTo(200);
    assertThat(keys.body().toString())
        .contains("old-admin", "old-auditor", "old-scim", "old-reader", "old-writer");
    assertThat(server.get("/api/keys", auditor).status()).isEqualTo(403);
    Response users = server.get("/scim/v2/Users", scim);
    assertThat(users.status()).isEqualTo(200);
    assertThat(users.body().toString()).contains("\"erin\"");
    assertThat(server.get("/api/whoami", scim).status()).isEqualTo(403);

    // The old audit entries are readable, and this release's entries follow them.
    Response audit = server.get("/api/audit?limit=1000", auditor);
    assertThat(audit.status()).isEqualTo(200);
    assertThat(audit.body().get("entries").size())
        .isGreaterThan(Integer.parseInt(fixture.getProperty("audit_entries")));
  }

  private static String keys(ServerProcess server, String admin) throws Exception {
    return server.get("/api/keys", admin).body().toString();
  }

  private static boolean allowed(
      ServerProcess server, String key, String store, String object, String user) throws Exception {
    Response response =
        server.post(
            "/stores/" + store + "/check",
            "{\"tuple_key\":{\"object\":\""
                + object
                + "\",\"relation\":\"viewer\",\"user\":\""
                + user
                + "\"}}",
            key);
    assertThat(response.status()).as(response.body().toString()).isEqualTo(200);
    return response.body().get("allowed").asBoolean();
  }

  /**
   * Verifies the chain with this release's {@code castellan audit verify} and returns how many
   * entries it holds.
   */
  private long verifyAuditChain(String... store) throws Exception {
    List<String> args = new ArrayList<>(List.of("audit", "verify"));
    args.addAll(List.of(store));
    Cli.Result result = Cli.run(dir, args.toArray(String[]::new));
    assertThat(result.exit()).as(result.toString()).isZero();
    assertThat(result.out()).contains("audit trail intact");
    try (JdbcStore opened =
        store[0].equals("--data")
            ? JdbcStore.embedded(Path.of(store[1]))
            : JdbcStore.postgres(store[1])) {
      AuditVerification chain = AuditVerification.of(opened.auditRecords());
      assertThat(chain.intact()).as(chain.describe()).isTrue();
      return chain.entries();
    }
  }

  /**
   * Loads a plain {@code pg_dump --inserts} into an empty database over JDBC: one multi-statement
   * execution, psql's meta-commands ({@code \restrict}) left out.
   */
  private static void restore(String url, String dump) throws Exception {
    String sql;
    try (InputStream in = resource(dump)) {
      sql =
          new String(in.readAllBytes(), StandardCharsets.UTF_8)
              .lines()
              .filter(line -> !line.startsWith("\\"))
              .collect(Collectors.joining("\n"));
    }
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static Properties fixture(String kind) throws IOException {
    Properties properties = new Properties();
    try (InputStream in = resource(kind + "/fixture.properties")) {
      properties.load(new StringReader(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
    }
    return properties;
  }

  private static InputStream resource(String name) throws IOException {
    InputStream in = UpgradeTest.class.getResourceAsStream(FIXTURES + name);
    if (in == null) {
      throw new IOException(
          "missing test fixture " + FIXTURES + name + ": run scripts/upgrade-fixtures.sh");
    }
    return in;
  }
}
