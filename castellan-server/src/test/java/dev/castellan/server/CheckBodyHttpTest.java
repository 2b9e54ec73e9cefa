package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.store.MemoryStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The check reads its body itself when its length is declared and small (RequestBody), and leaves
 * the rest to Javalin: every way a body can come gives the same answer, and the request size limit
 * still holds.
 */
class CheckBodyHttpTest {
  private static final String TOKEN = "check-body-bootstrap-token-0123456789";
  private static final String MODEL =
      "{\"schema_version\":\"1.1\",\"type_definitions\":[{\"type\":\"user\"},{\"type\":\"doc\","
          + "\"relations\":{\"viewer\":{\"this\":{}}},\"metadata\":{\"relations\":{\"viewer\":"
          + "{\"directly_related_user_types\":[{\"type\":\"user\"}]}}}}]}";

  private final MemoryStore store = new MemoryStore();
  private final HttpClient http = HttpClient.newHttpClient();
  private CastellanServer server;
  private String storeId;

  @BeforeEach
  void start() throws Exception {
    server =
        CastellanServer.start(
            CastellanServer.Options.defaults()
                .withHost("127.0.0.1")
                .withPort(0)
                .withBootstrapToken(TOKEN)
                .withLimits(new Limits(100, 50, 100, 1000, 256 * 1024, 4096)),
            store);
    String created = post("/stores", "{\"name\":\"body\"}", "application/json").body();
    storeId = created.replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");
    assertThat(
            post("/stores/" + storeId + "/authorization-models", MODEL, "application/json")
                .statusCode())
        .isEqualTo(201);
    assertThat(
            post(
                    "/stores/" + storeId + "/write",
                    "{\"writes\":{\"tuple_keys\":[{\"user\":\"user:zoë\",\"relation\":\"viewer\","
                        + "\"object\":\"doc:1\"}]}}",
                    "application/json")
                .statusCode())
        .isEqualTo(200);
  }

  @AfterEach
  void stop() {
    server.close();
    store.close();
  }

  private static String check(String user) {
    return "{\"tuple_key\":{\"user\":\""
        + user
        + "\",\"relation\":\"viewer\",\"object\":\"doc:1\"}}";
  }

  @Test
  void aDeclaredLengthAChunkedBodyAndAnotherCharsetAnswerAlike() throws Exception {
    HttpResponse<String> declared =
        post("/stores/" + storeId + "/check", check("user:zoë"), "application/json");
    assertThat(declared.statusCode()).isEqualTo(200);
    assertThat(declared.body()).startsWith("{\"allowed\":true,\"resolution\":\"\"");
    assertThat(post("/stores/" + storeId + "/check", check("user:zoe"), "application/json").body())
        .startsWith("{\"allowed\":false");
    String chunked = raw(check("user:zoë").getBytes(StandardCharsets.UTF_8), true, "");
    assertThat(chunked).startsWith("HTTP/1.1 200").contains("{\"allowed\":true");
    String latin1 =
        raw(
            check("user:zoë").getBytes(Charset.forName("ISO-8859-1")),
            false,
            "; charset=ISO-8859-1");
    assertThat(latin1).startsWith("HTTP/1.1 200").contains("{\"allowed\":true");
    assertThat(post("/stores/" + storeId + "/check", "", "application/json").statusCode())
        .isEqualTo(400);
    assertThat(post("/stores/" + storeId + "/check", "{\"tuple_key\":", "application/json").body())
        .contains("not valid JSON");
  }

  @Test
  void theRequestSizeLimitStillHolds() throws Exception {
    String padded =
        "{\"tuple_key\":{\"user\":\"user:zoë\",\"relation\":\"viewer\",\"object\":\"doc:1\"},"
            + "\"authorization_model_id\":\""
            + "x".repeat(5000)
            + "\"}";
    HttpResponse<String> tooLarge =
        post("/stores/" + storeId + "/check", padded, "application/json");
    assertThat(tooLarge.statusCode()).isEqualTo(413);
    assertThat(raw(padded.getBytes(StandardCharsets.UTF_8), true, "")).startsWith("HTTP/1.1 413");
    assertThat(post("/stores/" + storeId + "/check", check("user:zoë"), "application/json").body())
        .startsWith("{\"allowed\":true");
  }

  /**
   * Short answers go to the response's own stream, past Javalin's compressing one: they are not
   * compressed even when the client accepts gzip, as before, while a long answer still is.
   */
  @Test
  void aShortAnswerIsNotCompressedALongOneStillIs() throws Exception {
    HttpResponse<byte[]> plain =
        gzipPost("/stores/" + storeId + "/check", check("user:zoë"), HttpRequest.newBuilder());
    assertThat(plain.statusCode()).isEqualTo(200);
    assertThat(plain.headers().firstValue("Content-Encoding")).isEmpty();
    assertThat(new String(plain.body(), StandardCharsets.UTF_8))
        .startsWith("{\"allowed\":true,\"resolution\":\"\",\"consistency_token\":\"");
    StringBuilder writes = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      writes
          .append(i == 0 ? "" : ",")
          .append("{\"user\":\"user:u")
          .append(i)
          .append("\",\"relation\":\"viewer\",\"object\":\"doc:many\"}");
    }
    assertThat(
            post(
                    "/stores/" + storeId + "/write",
                    "{\"writes\":{\"tuple_keys\":[" + writes + "]}}",
                    "application/json")
                .statusCode())
        .isEqualTo(200);
    // A check after the write names the new revision (the answers are kept per revision).
    HttpResponse<byte[]> after =
        gzipPost("/stores/" + storeId + "/check", check("user:zoë"), HttpRequest.newBuilder());
    assertThat(new String(after.body(), StandardCharsets.UTF_8))
        .startsWith("{\"allowed\":true,")
        .isNotEqualTo(new String(plain.body(), StandardCharsets.UTF_8));
    HttpResponse<byte[]> read =
        gzipPost(
            "/stores/" + storeId + "/read",
            "{\"tuple_key\":{\"object\":\"doc:many\"}}",
            HttpRequest.newBuilder());
    assertThat(read.statusCode()).isEqualTo(200);
    assertThat(read.headers().firstValue("Content-Encoding")).contains("gzip");
    String text;
    try (InputStream in =
        new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(read.body()))) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(text.length()).isGreaterThanOrEqualTo(1500);
    assertThat(text).contains("\"user:u39\"");
  }

  private HttpResponse<byte[]> gzipPost(String path, String body, HttpRequest.Builder builder)
      throws IOException, InterruptedException {
    return http.send(
        builder
            .uri(URI.create("http://127.0.0.1:" + server.port() + path))
            .header("Authorization", "Bearer " + TOKEN)
            .header("Content-Type", "application/json")
            .header("Accept-Encoding", "gzip")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private HttpResponse<String> post(String path, String body, String type)
      throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .header("Authorization", "Bearer " + TOKEN)
            .header("Content-Type", type)
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A check sent by hand: chunked (no declared length), or with a charset in its content type. */
  private String raw(byte[] body, boolean chunked, String charset) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      OutputStream out = socket.getOutputStream();
      String head =
          "POST /stores/"
              + storeId
              + "/check HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
              + TOKEN
              + "\r\nContent-Type: application/json"
              + charset
              + "\r\nConnection: close\r\n"
              + (chunked
                  ? "Transfer-Encoding: chunked\r\n\r\n"
                  : "Content-Length: " + body.length + "\r\n\r\n");
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      if (chunked) {
        out.write((Integer.toHexString(body.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      } else {
        out.write(body);
      }
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      in.transferTo(answer);
      return answer.toString(StandardCharsets.UTF_8);
    }
  }
}
