package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Date;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The HS256 secret of {@code castellan serve}: from a file or the environment without a word, on
 * the command line with a warning that it shows in {@code ps}.
 */
class JwtSecretProcessTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef-process";
  private static final String WARNING = "warning: --jwt-secret puts the secret on the command line";
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final java.nio.charset.Charset UTF8 = StandardCharsets.UTF_8;

  @TempDir Path dir;

  private static String token(String subject, byte[] secret) throws Exception {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader(JWSAlgorithm.HS256),
            new JWTClaimsSet.Builder()
                .subject(subject)
                .expirationTime(new Date(System.currentTimeMillis() + 300_000))
                .build());
    jwt.sign(new MACSigner(secret));
    return jwt.serialize();
  }

  private static HttpResponse<String> whoami(ServerProcess server, String token) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/api/whoami"))
            .header("Authorization", "Bearer " + token)
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** {@code castellan token mint} in this JVM: the token on its first line. */
  private static String mint(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] all = new String[args.length + 2];
    all[0] = "token";
    all[1] = "mint";
    System.arraycopy(args, 0, all, 2, args.length);
    int exit =
        new CommandLine(new Main())
            .setOut(new PrintWriter(out))
            .setErr(new PrintWriter(err))
            .execute(all);
    assertThat(exit).as(err.toString()).isZero();
    return out.toString().strip();
  }

  @Test
  void theSecretOnTheCommandLine_stillWorks_butWarnsAndNamesTheAlternatives() throws Exception {
    try (ServerProcess server =
        ServerProcess.start("--data", dir.resolve("data").toString(), "--jwt-secret", SECRET)) {
      assertThat(server.output())
          .contains(WARNING)
          .contains("ps")
          .contains("--jwt-secret-file FILE")
          .contains("CASTELLAN_JWT_SECRET");
      HttpResponse<String> me = whoami(server, token("alice", SECRET.getBytes(UTF8)));
      assertThat(me.statusCode()).isEqualTo(200);
      assertThat(me.body()).contains("\"user_name\":\"alice\"");
    }
  }

  @Test
  void aSecretFile_withItsTrailingNewlineDropped_acceptsMintedTokens_withoutAWarning()
      throws Exception {
    Path file = dir.resolve("jwt-secret");
    Files.writeString(file, SECRET + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    try (ServerProcess server =
        ServerProcess.start(
            "--data", dir.resolve("data").toString(), "--jwt-secret-file", file.toString())) {
      assertThat(server.output()).doesNotContain("warning");

      String minted = mint("--sub", "bob", "--secret-file", file.toString());
      HttpResponse<String> me = whoami(server, minted);
      assertThat(me.statusCode()).isEqualTo(200);
      assertThat(me.body()).contains("\"user_name\":\"bob\"");
      assertThat(whoami(server, token("bob", SECRET.getBytes(UTF8))).statusCode()).isEqualTo(200);
      // The newline is not part of the secret: a token signed with it is refused.
      assertThat(whoami(server, token("bob", (SECRET + "\n").getBytes(UTF8))).statusCode())
          .isEqualTo(401);
    }
  }

  @Test
  void theEnvironment_givesTheSecret_orTheFile_withoutAWarning() throws Exception {
    try (ServerProcess server =
        ServerProcess.start(
            Map.of("CASTELLAN_JWT_SECRET", SECRET), "--data", dir.resolve("a").toString())) {
      assertThat(server.output()).doesNotContain("warning");
      assertThat(whoami(server, token("carol", SECRET.getBytes(UTF8))).statusCode()).isEqualTo(200);
    }
    Path file = dir.resolve("secret.txt");
    Files.writeString(file, SECRET + "\r\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    try (ServerProcess server =
        ServerProcess.start(
            Map.of("CASTELLAN_JWT_SECRET_FILE", file.toString()),
            "--data",
            dir.resolve("b").toString())) {
      assertThat(server.output())
          .contains("warning: CASTELLAN_JWT_SECRET_FILE " + file + " can be read by every user")
          .contains("chmod 600 " + file)
          .doesNotContain(WARNING);
      assertThat(whoami(server, token("dave", SECRET.getBytes(UTF8))).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void badSecretFiles_stopStartup_withWhatToDo() throws Exception {
    Path missing = dir.resolve("nowhere");
    CliProcess.Result absent =
        CliProcess.run(
            Map.of(),
            "serve",
            "--port",
            "0",
            "--data",
            dir.resolve("c").toString(),
            "--jwt-secret-file",
            missing.toString());
    assertThat(absent.exit()).isEqualTo(2);
    assertThat(absent.output())
        .contains("--jwt-secret-file " + missing + " does not exist")
        .contains("openssl rand -hex 32 > " + missing)
        .doesNotContain("Exception");

    Path empty = dir.resolve("empty");
    Files.writeString(empty, "\n");
    CliProcess.Result blank =
        CliProcess.run(
            Map.of(),
            "serve",
            "--port",
            "0",
            "--data",
            dir.resolve("d").toString(),
            "--jwt-secret-file",
            empty.toString(),
            "--jwt-secret",
            SECRET);
    assertThat(blank.exit()).isEqualTo(2);
    assertThat(blank.output()).contains("give --jwt-secret or --jwt-secret-file, not both");
  }
}
