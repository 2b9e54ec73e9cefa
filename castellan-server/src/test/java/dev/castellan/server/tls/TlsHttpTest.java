package dev.castellan.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.store.MemoryStore;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server over real HTTPS: a client that trusts the certificate reaches health and the
 * authenticated API, plain HTTP on the port fails, and bad files stop startup before anything is
 * created.
 */
class TlsHttpTest {
  private static final String ADMIN = "tls-admin-token-0123456789abcdef";

  @TempDir static Path dir;
  private static TestCertificates.Pair pair;
  private static Path cert;
  private static Path key;
  private static CastellanServer server;
  private static HttpClient https;

  @BeforeAll
  static void start() throws Exception {
    pair = TestCertificates.rsa(1);
    cert = dir.resolve("cert.pem");
    key = dir.resolve("key.pem");
    pair.write(cert, key);
    server =
        CastellanServer.start(
            ServerHttp.loopback()
                .withBootstrapToken(ADMIN)
                .withTls(TlsSettings.of(cert, key))
                .withTlsOnly(true),
            new MemoryStore());
    https = HttpClient.newBuilder().sslContext(pair.trustingIt()).build();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static HttpResponse<String> get(HttpClient client, String url, String token)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aClientTrustingTheCertificate_getsHealthAndTheAuthenticatedApi_overTls() throws Exception {
    String base = "https://localhost:" + server.port();
    HttpResponse<String> health = get(https, base + "/healthz", null);
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("SERVING");
    assertThat(health.sslSession()).isPresent();
    assertThat(health.sslSession().get().getProtocol()).isIn("TLSv1.3", "TLSv1.2");
    assertThat(health.sslSession().get().getPeerCertificates()[0]).isEqualTo(pair.certificate());

    HttpResponse<String> created =
        https.send(
            HttpRequest.newBuilder(URI.create(base + "/stores"))
                .header("Authorization", "Bearer " + ADMIN)
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"over-tls\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(get(https, base + "/stores", ADMIN).body()).contains("over-tls");
    assertThat(get(https, base + "/stores", null).statusCode()).isEqualTo(401);
    assertThat(server.tls())
        .hasValueSatisfying(s -> assertThat(s.subject()).isEqualTo("CN=localhost"));
  }

  @Test
  void tls12Only_clientsAreServedToo() throws Exception {
    SSLParameters tls12 = new SSLParameters();
    tls12.setProtocols(new String[] {"TLSv1.2"});
    HttpClient client =
        HttpClient.newBuilder().sslContext(pair.trustingIt()).sslParameters(tls12).build();
    HttpResponse<String> health =
        get(client, "https://localhost:" + server.port() + "/healthz", null);
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.sslSession().get().getProtocol()).isEqualTo("TLSv1.2");
  }

  @Test
  void plainHttp_onTheTlsPort_isRefused_withA400ThatSaysUseHttps_andNeverReachesTheApi()
      throws Exception {
    HttpClient plain = HttpClient.newHttpClient();
    for (String path : new String[] {"/healthz", "/stores"}) {
      HttpResponse<String> refused = get(plain, "http://127.0.0.1:" + server.port() + path, ADMIN);
      assertThat(refused.statusCode()).isEqualTo(400);
      assertThat(refused.body()).isEqualTo(PlainHttpRefusal.BODY);
      assertThat(refused.headers().firstValue("X-Request-Id")).isEmpty(); // no handler ran
      assertThat(refused.sslSession()).isEmpty();
    }
  }

  @Test
  void plainHttp_withABody_isRefusedToo_andTheServerStaysUp() throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      String body = "{\"name\":\"" + "x".repeat(100_000) + "\"}";
      socket
          .getOutputStream()
          .write(
              ("POST /stores HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                      + ADMIN
                      + "\r\nContent-Length: "
                      + body.length()
                      + "\r\n\r\n")
                  .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      String answer =
          new String(
              socket.getInputStream().readNBytes(200), java.nio.charset.StandardCharsets.US_ASCII);
      assertThat(answer).startsWith("HTTP/1.1 400 Bad Request");
    }
    assertThat(get(https, "https://localhost:" + server.port() + "/healthz", null).statusCode())
        .isEqualTo(200);
  }

  @Test
  void aClientThatDoesNotTrustTheCertificate_cannotConnect() {
    HttpClient untrusting = HttpClient.newHttpClient();
    assertThatThrownBy(
            () -> get(untrusting, "https://localhost:" + server.port() + "/healthz", null))
        .isInstanceOf(IOException.class);
  }

  @Test
  void tlsOnly_withoutACertificate_stopsStartup() {
    assertThatThrownBy(
            () ->
                CastellanServer.start(
                    CastellanServer.Options.defaults().withPort(0).withTlsOnly(true),
                    new MemoryStore()))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("--tls-only refuses plain HTTP")
        .hasMessageContaining("give --tls-cert FILE and --tls-key FILE");
  }

  @Test
  void aBadKey_stopsStartup_beforeTheBootstrapKeyIsMade() throws Exception {
    Path wrongKey = dir.resolve("wrong-key.pem");
    Files.writeString(wrongKey, TestCertificates.ec().pkcs8Pem());
    MemoryStore store = new MemoryStore();
    assertThatThrownBy(
            () ->
                CastellanServer.start(
                    ServerHttp.loopback().withTls(TlsSettings.of(cert, wrongKey)), store))
        .isInstanceOf(CastellanException.class)
        .hasMessageStartingWith("--tls-key " + wrongKey + " is not the private key");

    // Nothing was created: the next start on the same store still makes (and shows) the key.
    try (CastellanServer plain =
        CastellanServer.start(
            CastellanServer.Options.defaults().withPort(0).withHost("127.0.0.1"), store)) {
      assertThat(plain.generatedToken()).isNotEmpty();
      assertThat(plain.tls()).isEmpty();
    }
  }
}
