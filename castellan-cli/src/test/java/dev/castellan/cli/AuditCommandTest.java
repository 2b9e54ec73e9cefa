package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.castellan.audit.AuditEntry;
import dev.castellan.audit.AuditFilter;
import dev.castellan.audit.AuditRecord;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.store.PageRequest;
import dev.castellan.store.jdbc.JdbcStore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code castellan serve} with audit and alert settings from its config file, and {@code castellan
 * audit verify} on both databases: exit 0 on an intact trail, 1 naming the first bad entry after
 * rows were edited, deleted or reordered behind Castellan's back.
 */
class AuditCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  record Run(int exitCode, String output) {}

  private static Run castellan(String... args) {
    StringWriter text = new StringWriter();
    PrintWriter writer = new PrintWriter(text, true);
    int code = new picocli.CommandLine(new Main()).setOut(writer).setErr(writer).execute(args);
    return new Run(code, text.toString());
  }

  private static void sql(String url, String user, String... statements) throws Exception {
    try (Connection connection = DriverManager.getConnection(url, user, "");
        Statement statement = connection.createStatement()) {
      for (String sql : statements) {
        statement.execute(sql);
      }
    }
  }

  @Test
  void aServedEmbeddedStore_recordsToItsFileAndAlerts_andVerifyCatchesAnEdit(@TempDir Path dir)
      throws Exception {
    BlockingQueue<JsonNode> alerts = new LinkedBlockingQueue<>();
    HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext(
        "/alerts",
        exchange -> {
          alerts.add(
              JSON.readTree(
                  new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
          exchange.sendResponseHeaders(200, -1);
          exchange.close();
        });
    receiver.start();
    Path data = dir.resolve("data");
    Path file = dir.resolve("audit.jsonl");
    Path config = dir.resolve("castellan.yaml");
    Files.writeString(
        config,
        """
        audit:
          allows: none
          file: %s
          retention: 30d
        alerts:
          webhook: http://127.0.0.1:%d/alerts
          denials:
            more_than: 1
            within: 10m
        """
            .formatted(file, receiver.getAddress().getPort()));
    try (ServerProcess server =
        ServerProcess.start("--data", data.toString(), "--config", config.toString())) {
      String store = server.post("/stores", "{\"name\":\"audited\"}").body().get("id").asText();
      String model =
          ModelJson.write(
              ModelDsl.parse(
                  "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [user]\n"));
      assertThat(server.post("/stores/" + store + "/authorization-models", model).status())
          .isEqualTo(201);
      String check =
          "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:%s\"}}";
      server.post(
          "/stores/" + store + "/write",
          "{\"writes\":{\"tuple_keys\":[{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:anne\"}]}}");
      server.post("/stores/" + store + "/check", check.formatted("anne"));
      server.post("/stores/" + store + "/check", check.formatted("bob"));
      server.post("/stores/" + store + "/check", check.formatted("bob"));

      JsonNode alert = alerts.poll(15, TimeUnit.SECONDS);
      assertThat(alert).as("the denials alert").isNotNull();
      assertThat(alert.get("subject").asText()).isEqualTo("user:bob");

      ServerProcess.Response denials = server.get("/api/audit?outcome=deny");
      assertThat(denials.body().get("entries")).hasSize(2);
      ServerProcess.Response allows = server.get("/api/audit?outcome=allow");
      assertThat(allows.body().get("entries")).as("allows: none").isEmpty();
    } finally {
      receiver.stop(0);
    }
    List<String> lines = Files.readAllLines(file);
    assertThat(lines).hasSizeGreaterThanOrEqualTo(5); // store, model, tuple write, two denials
    assertThat(JSON.readTree(lines.getLast()).get("outcome").asText()).isEqualTo("deny");

    Run created =
        castellan("keys", "create", "--name", "compliance", "--auditor", "--data", data.toString());
    assertThat(created.exitCode()).as(created.output()).isZero();

    Run intact = castellan("audit", "verify", "--data", data.toString());
    assertThat(intact.exitCode()).as(intact.output()).isZero();
    assertThat(intact.output()).contains("audit trail intact: " + (lines.size() + 2) + " entries");

    sql(
        "jdbc:h2:file:" + data.toAbsolutePath().resolve("castellan"),
        "sa",
        // The entry's line in its segment, edited in place: a denial made to look allowed.
        "UPDATE audit_segment SET entries = STRINGTOUTF8(REGEXP_REPLACE(UTF8TOSTRING(entries),"
            + " '(\\{\"seq\":"
            + (lines.size() - 1)
            + ",[^\\n]*\"outcome\":)\"deny\"', '$1\"allow\"'))");
    Run tampered = castellan("audit", "verify", "--data", data.toString());
    assertThat(tampered.exitCode()).isEqualTo(1);
    assertThat(tampered.output())
        .contains("first bad entry is seq " + (lines.size() - 1))
        .contains("edited");
  }

  @Test
  void verifyOnPostgres_namesADeletedAndThenAReorderedEntry() throws Exception {
    String url = TestDatabases.create("castellan_audit_verify");
    try {
      try (JdbcStore store = JdbcStore.postgres(url)) {
        List<AuditEntry> entries = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
          entries.add(
              new AuditEntry(
                  Instant.now(),
                  "decision",
                  "check",
                  "key:k",
                  "user:" + i,
                  List.of(),
                  "viewer",
                  "doc:" + i,
                  i % 2 == 0 ? "deny" : "allow",
                  "",
                  "",
                  i,
                  "",
                  "127.0.0.1"));
        }
        store.auditRecords().append(entries);
        assertThat(store.auditRecords().read(AuditFilter.ALL, PageRequest.first(10)).items())
            .extracting(AuditRecord::seq)
            .containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
      }
      Run intact = castellan("audit", "verify", "--pg-url", url);
      assertThat(intact.exitCode()).as(intact.output()).isZero();
      assertThat(intact.output()).contains("intact: 6 entries").doesNotContain("user=");
      java.util.regex.Matcher head =
          java.util.regex.Pattern.compile("head: seq 6 hash ([0-9a-f]{64})")
              .matcher(intact.output());
      assertThat(head.find()).as(intact.output()).isTrue();
      String headHash = head.group(1);

      Run anchored = castellan("audit", "verify", "--pg-url", url, "--expect", "6:" + headHash);
      assertThat(anchored.exitCode()).as(anchored.output()).isZero();
      String otherHash = (headHash.charAt(0) == 'a' ? "b" : "a") + headHash.substring(1);
      Run rewritten = castellan("audit", "verify", "--pg-url", url, "--expect", "6:" + otherHash);
      assertThat(rewritten.exitCode()).isEqualTo(1);
      assertThat(rewritten.output()).contains("TAMPERED").contains("not the expected");
      Run beyond = castellan("audit", "verify", "--pg-url", url, "--expect", "9:" + headHash);
      assertThat(beyond.exitCode()).isEqualTo(1);
      assertThat(beyond.output()).contains("does not hold the expected entry 9");
      Run malformed = castellan("audit", "verify", "--pg-url", url, "--expect", "six:abc");
      assertThat(malformed.exitCode()).isEqualTo(2);
      assertThat(malformed.output()).contains("--expect must be SEQ:HASH");

      sql(
          url,
          null,
          "UPDATE audit_segment SET entries = convert_to(regexp_replace("
              + "convert_from(entries, 'UTF8'), '(\\{\"seq\":5,[^\\n]*\\n)(\\{\"seq\":6,[^\\n]*\\n)',"
              + " '\\2\\1'), 'UTF8')");
      Run reordered = castellan("audit", "verify", "--pg-url", url);
      assertThat(reordered.exitCode()).isEqualTo(1);
      assertThat(reordered.output()).contains("first bad entry is seq 5").contains("reordered");

      sql(
          url,
          null,
          "UPDATE audit_segment SET entries = convert_to(regexp_replace("
              + "convert_from(entries, 'UTF8'), '\\{\"seq\":3,[^\\n]*\\n', ''), 'UTF8')");
      Run deleted = castellan("audit", "verify", "--pg-url", url);
      assertThat(deleted.exitCode()).isEqualTo(1);
      assertThat(deleted.output()).contains("first bad entry is seq 3").contains("missing");
    } finally {
      TestDatabases.drop(url);
    }
  }
}
