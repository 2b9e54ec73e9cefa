package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.audit.AuditFilter;
import dev.castellan.audit.AuditRecord;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.PageRequest;
import dev.castellan.store.TupleFilter;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /stores/{id}/import} has a body limit of its own: past the 1 MiB request limit, up to
 * it; a declared length over it is refused before anything is read; a streamed body that grows past
 * it is cut, keeping only the whole batches committed before the cut.
 */
class ImportLimitHttpTest {
  private static final String ADMIN = "import-admin-token-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String MODEL =
      ModelJson.write(
          ModelDsl.parse(
              "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define owner: [user]\n"));

  private CastellanServer server;
  private MemoryStore store;
  private String storeId;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private void start(long maxImportBytes) throws Exception {
    store = new MemoryStore();
    server =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN).withMaxImportBytes(maxImportBytes),
            store);
    storeId =
        JSON.readTree(
                send("/stores", HttpRequest.BodyPublishers.ofString("{\"name\":\"imports\"}"))
                    .body())
            .get("id")
            .asText();
    assertThat(
            send(
                    "/stores/" + storeId + "/authorization-models",
                    HttpRequest.BodyPublishers.ofString(MODEL))
                .statusCode())
        .isEqualTo(201);
  }

  private HttpResponse<String> send(String path, HttpRequest.BodyPublisher body) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .header("Authorization", "Bearer " + ADMIN)
            .POST(body)
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** {@code count} lines of exactly 80 bytes each, doc:0000000 to doc:(count-1). */
  private static byte[] lines(int count) {
    StringBuilder out = new StringBuilder(count * 80);
    for (int i = 0; i < count; i++) {
      String line =
          String.format(
              "{\"object\":\"doc:%07d\",\"relation\":\"owner\",\"user\":\"user:u%07d\"}", i, i);
      out.append(line).append(" ".repeat(79 - line.length())).append('\n');
    }
    byte[] bytes = out.toString().getBytes(StandardCharsets.US_ASCII);
    assertThat(bytes).hasSize(count * 80);
    return bytes;
  }

  private long tuples() {
    long count = 0;
    String token = "";
    do {
      var page = store.read(storeId, new TupleFilter("doc:", "", ""), new PageRequest(1000, token));
      count += page.items().size();
      token = page.continuationToken();
    } while (!token.isEmpty());
    return count;
  }

  private boolean has(int i) {
    return !store
        .read(
            storeId,
            new TupleFilter(String.format("doc:%07d", i), "owner", ""),
            new PageRequest(10, ""))
        .items()
        .isEmpty();
  }

  @Test
  void anImportPastTheRequestSizeLimit_isStreamedAndCommitted() throws Exception {
    start(CastellanServer.DEFAULT_MAX_IMPORT_BYTES);
    byte[] body = lines(40_000); // 3.2 MB: over the 1 MiB of every other request
    HttpResponse<String> imported =
        send("/stores/" + storeId + "/import", HttpRequest.BodyPublishers.ofByteArray(body));
    assertThat(imported.statusCode()).as(imported.body()).isEqualTo(200);
    assertThat(JSON.readTree(imported.body()).get("written").asInt()).isEqualTo(40_000);
    assertThat(tuples()).isEqualTo(40_000);
  }

  @Test
  void aDeclaredLengthOverTheLimit_is413_beforeAnythingIsImported() throws Exception {
    start(256 * 1024);
    // With Expect: 100-continue, as curl sends for large bodies: the 413 arrives before the body
    // is sent. Without it the server's early answer races the client's writes (the client may see
    // the connection closed before it reads the 413), which made this test flaky.
    HttpResponse<String> refused =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + server.port() + "/stores/" + storeId + "/import"))
                .header("Authorization", "Bearer " + ADMIN)
                .expectContinue(true)
                .POST(HttpRequest.BodyPublishers.ofByteArray(lines(8_000))) // 640 kB, with length
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(refused.statusCode()).isEqualTo(413);
    JsonNode error = JSON.readTree(refused.body());
    assertThat(error.get("code").asText()).isEqualTo("validation_error");
    assertThat(error.get("message").asText())
        .contains("larger than 262144 bytes")
        .contains("import_max_bytes");
    assertThat(tuples()).isZero();
  }

  @Test
  void aStreamedBodyPastTheLimit_isCut_keepingOnlyTheBatchesCommittedBeforeIt() throws Exception {
    start(1024 * 1024); // 13,107 lines of 80 bytes
    byte[] body = lines(24_000); // 1.9 MB, sent chunked: no length to refuse it by
    HttpResponse<String> cut =
        send(
            "/stores/" + storeId + "/import",
            HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)));
    assertThat(cut.statusCode()).as(cut.body()).isEqualTo(413);
    JsonNode error = JSON.readTree(cut.body());
    assertThat(error.get("code").asText()).isEqualTo("validation_error");
    Matcher committed =
        Pattern.compile("the first (\\d+) tuples of the body were committed")
            .matcher(error.get("message").asText());
    assertThat(committed.find()).as(error.get("message").asText()).isTrue();
    int kept = Integer.parseInt(committed.group(1));

    // Whole batches of 5,000 only: the limit falls within the third, which is dropped.
    assertThat(kept).isEqualTo(10_000);
    assertThat(tuples()).isEqualTo(kept);
    assertThat(has(kept - 1)).isTrue();
    assertThat(has(kept)).as("the batch being filled is dropped").isFalse();

    server.audit().flush(Duration.ofSeconds(5));
    AuditRecord audited =
        store.auditRecords().read(AuditFilter.ALL, new PageRequest(1000, "")).items().stream()
            .filter(r -> r.entry().api().equals("import"))
            .findFirst()
            .orElseThrow();
    assertThat(audited.entry().outcome()).isEqualTo("error");
    assertThat(audited.entry().reason())
        .contains("the first " + kept + " tuples were committed")
        .contains("larger than 1048576 bytes");
  }

  @Test
  void aLineLongerThan64KiB_isRefused_withItsNumber() throws Exception {
    start(CastellanServer.DEFAULT_MAX_IMPORT_BYTES);
    String body =
        "{\"object\":\"doc:1\",\"relation\":\"owner\",\"user\":\"user:a\"}\n"
            + "{\"object\":\"doc:"
            + "x".repeat(70_000)
            + "\"}\n";
    HttpResponse<String> refused =
        send("/stores/" + storeId + "/import", HttpRequest.BodyPublishers.ofString(body));
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(refused.body()).get("message").asText())
        .isEqualTo("line 2 is longer than 64 KiB");
    assertThat(tuples()).isZero();
  }
}
