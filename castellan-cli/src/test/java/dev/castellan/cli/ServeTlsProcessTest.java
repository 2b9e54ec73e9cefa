package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code castellan serve --tls-cert --tls-key} as a process: HTTPS on the one port it listens on,
 * plain HTTP answered only with "use https", and bad settings stop it with one line naming the flag
 * and the fix.
 */
class ServeTlsProcessTest {
  @TempDir static Path dir;
  private static CliProcess.Pem pem;
  private static CliProcess.Pem other;

  @BeforeAll
  static void certificates() throws Exception {
    pem = CliProcess.selfSigned(dir, "server");
    other = CliProcess.selfSigned(dir, "other");
  }

  private static HttpResponse<String> get(HttpClient client, String url, String token)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The one line a failed start prints, checked to be one line without a Java class name. */
  private static String errorLine(CliProcess.Result result) {
    assertThat(result.exit()).as(result.output()).isEqualTo(2);
    assertThat(result.output()).doesNotContain("\tat ").doesNotContain("Exception");
    return result
        .output()
        .lines()
        .filter(line -> line.startsWith("error"))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void tlsOnly_servesHttpsOnTheOnePortItListensOn_andNothingInPlainHttp() throws Exception {
    try (ServerProcess server =
        ServerProcess.start(
            "--data",
            dir.resolve("data-tls").toString(),
            "--tls-cert",
            pem.certFile().toString(),
            "--tls-key",
            pem.keyFile().toString(),
            "--tls-only")) {
      assertThat(server.output()).contains("serving on https://127.0.0.1:" + server.port());
      HttpClient https = HttpClient.newBuilder().sslContext(pem.trustingIt()).build();
      String base = "https://localhost:" + server.port();

      assertThat(get(https, base + "/healthz", null).statusCode()).isEqualTo(200);
      HttpResponse<String> stores = get(https, base + "/stores", ServerProcess.TOKEN);
      assertThat(stores.statusCode()).isEqualTo(200);
      assertThat(stores.body()).contains("stores");
      assertThat(get(https, base + "/stores", null).statusCode()).isEqualTo(401);

      HttpResponse<String> plain =
          get(
              HttpClient.newHttpClient(),
              "http://127.0.0.1:" + server.port() + "/stores",
              ServerProcess.TOKEN);
      assertThat(plain.statusCode()).isEqualTo(400);
      assertThat(plain.body()).contains("This port speaks HTTPS only: use https://");
      assertThat(CliProcess.listeningPorts(server.pid())).containsExactly(server.port());
    }
  }

  @Test
  void theFilesMayComeFromTheEnvironment() throws Exception {
    try (ServerProcess server =
        ServerProcess.start(
            Map.of(
                "CASTELLAN_BOOTSTRAP_TOKEN",
                ServerProcess.TOKEN,
                "CASTELLAN_TLS_CERT",
                pem.certFile().toString(),
                "CASTELLAN_TLS_KEY",
                pem.keyFile().toString(),
                "CASTELLAN_TLS_ONLY",
                "true"),
            "--data",
            dir.resolve("data-env").toString())) {
      HttpClient https = HttpClient.newBuilder().sslContext(pem.trustingIt()).build();
      assertThat(get(https, "https://localhost:" + server.port() + "/healthz", null).statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void aKeyOfAnotherCertificate_stopsStartup_withOneLineNamingTheFlag() throws Exception {
    CliProcess.Result result =
        CliProcess.run(
            Map.of(),
            "serve",
            "--port",
            "0",
            "--data",
            dir.resolve("data-bad").toString(),
            "--tls-cert",
            pem.certFile().toString(),
            "--tls-key",
            other.keyFile().toString());
    assertThat(errorLine(result))
        .contains("--tls-key " + other.keyFile() + " is not the private key of the certificate")
        .contains("give the key this certificate was issued for");
    assertThat(result.output()).doesNotContain("serving on");
  }

  @Test
  void halfASetting_orTlsOnlyWithoutACertificate_stopsStartup() throws Exception {
    CliProcess.Result keyOnly =
        CliProcess.run(
            Map.of(),
            "serve",
            "--port",
            "0",
            "--data",
            dir.resolve("data-half").toString(),
            "--tls-key",
            pem.keyFile().toString());
    assertThat(errorLine(keyOnly)).contains("--tls-key is given without --tls-cert");

    CliProcess.Result tlsOnly =
        CliProcess.run(
            Map.of("CASTELLAN_TLS_ONLY", "true"),
            "serve",
            "--port",
            "0",
            "--data",
            dir.resolve("data-only").toString());
    assertThat(errorLine(tlsOnly))
        .contains("--tls-only refuses plain HTTP")
        .contains("give --tls-cert FILE and --tls-key FILE");
    assertThat(tlsOnly.output()).doesNotContain("serving on");
  }

  @Test
  void anUnreadableFile_isNamed() throws Exception {
    Path missing = dir.resolve("missing.crt");
    CliProcess.Result result =
        CliProcess.run(
            Map.of(),
            "serve",
            "--port",
            "0",
            "--data",
            dir.resolve("data-missing").toString(),
            "--tls-cert",
            missing.toString(),
            "--tls-key",
            pem.keyFile().toString());
    assertThat(errorLine(result)).contains("--tls-cert " + missing + " does not exist");
    assertThat(Files.exists(missing)).isFalse();
  }
}
