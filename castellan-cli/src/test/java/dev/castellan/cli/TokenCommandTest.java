package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.castellan.server.auth.JwtAuthenticator;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.server.auth.Principal;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code castellan token mint}: the printed token verifies, carries the claims, and is accepted.
 */
class TokenCommandTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef-dev";

  private record Run(int exit, String out, String err) {}

  private static Run mint(String... args) {
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
    return new Run(exit, out.toString().strip(), err.toString());
  }

  private static JWTClaimsSet verified(String token) throws Exception {
    SignedJWT jwt = SignedJWT.parse(token);
    assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.HS256);
    assertThat(jwt.verify(new MACVerifier(SECRET.getBytes(StandardCharsets.UTF_8)))).isTrue();
    return jwt.getJWTClaimsSet();
  }

  @Test
  void mint_printsAnHs256Token_withSubRoleAndAnHourOfLife() throws Exception {
    Instant before = Instant.now().minusSeconds(1);
    Run run = mint("--sub", "alice", "--role", "admin", "--secret", SECRET);

    assertThat(run.exit()).isZero();
    assertThat(run.out()).doesNotContain("\n").matches("[\\w-]+\\.[\\w-]+\\.[\\w-]+");
    JWTClaimsSet claims = verified(run.out());
    assertThat(claims.getSubject()).isEqualTo("alice");
    assertThat(claims.getStringClaim("role")).isEqualTo("admin");
    assertThat(claims.getClaim("roles")).isNull();
    assertThat(claims.getIssueTime().toInstant())
        .isAfterOrEqualTo(before.truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    assertThat(claims.getExpirationTime().getTime() - claims.getIssueTime().getTime())
        .isEqualTo(3_600_000L);
    assertThat(claims.getAudience()).isEmpty();
    assertThat(claims.getIssuer()).isNull();
  }

  @Test
  void severalRoles_becomeARolesArray_andAudIssAndTtlAreHonoured() throws Exception {
    Run run =
        mint(
            "--sub",
            "bob",
            "--role",
            "developer",
            "--role",
            "analyst",
            "--secret",
            SECRET,
            "--ttl",
            "15m",
            "--aud",
            "workflows",
            "--iss",
            "https://dev.example");

    assertThat(run.exit()).isZero();
    JWTClaimsSet claims = verified(run.out());
    assertThat(claims.getStringListClaim("roles")).containsExactly("developer", "analyst");
    assertThat(claims.getClaim("role")).isNull();
    assertThat(claims.getAudience()).containsExactly("workflows");
    assertThat(claims.getIssuer()).isEqualTo("https://dev.example");
    assertThat(claims.getExpirationTime().getTime() - claims.getIssueTime().getTime())
        .isEqualTo(900_000L);
  }

  @Test
  void theMintedToken_isAcceptedByTheServersAuthenticator() {
    Run run = mint("--sub", "alice", "--role", "admin", "--secret", SECRET);
    Principal principal =
        new JwtAuthenticator(JwtSettings.hs256(SECRET), Clock.systemUTC()).authenticate(run.out());
    assertThat(principal.display()).isEqualTo("alice");
    assertThat(principal.id()).startsWith("user:");
    assertThat(principal.claims()).containsEntry("role", "admin");
  }

  @Test
  void aShortSecret_isRefused_withHowToMakeOne() {
    Run run = mint("--sub", "alice", "--role", "admin", "--secret", "too-short");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.out()).isEmpty();
    assertThat(run.err())
        .contains("the secret has 9 bytes; HS256 needs at least 32")
        .contains("openssl rand -hex 32");
  }

  @Test
  void badLifetimes_areRefused() {
    for (String ttl : new String[] {"0s", "-1h", "1y", "forever", "31d"}) {
      Run run = mint("--sub", "alice", "--secret", SECRET, "--ttl", ttl);
      assertThat(run.exit()).as(ttl).isEqualTo(2);
      assertThat(run.err()).as(ttl).contains("--ttl");
    }
    assertThat(mint("--sub", "alice", "--secret", SECRET, "--ttl", "PT90M").exit()).isZero();
  }

  @Test
  void theSecret_comesFromCastellanJwtSecret_whenNotGiven() throws Exception {
    ProcessBuilder builder =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "dev.castellan.cli.Main",
                "token",
                "mint",
                "--sub",
                "carol",
                "--role",
                "analyst")
            .redirectError(ProcessBuilder.Redirect.DISCARD);
    builder.environment().put("CASTELLAN_JWT_SECRET", SECRET);
    Process process = builder.start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isZero();
    JWTClaimsSet claims = verified(out.strip());
    assertThat(claims.getSubject()).isEqualTo("carol");
    assertThat(claims.getStringClaim("role")).isEqualTo("analyst");
    assertThat(List.of(out.strip().split("\\."))).hasSize(3);

    builder.environment().remove("CASTELLAN_JWT_SECRET");
    builder.redirectError(ProcessBuilder.Redirect.PIPE);
    Process without = builder.start();
    String err = new String(without.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(without.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(without.exitValue()).isEqualTo(2);
    assertThat(err).contains("no secret").contains("CASTELLAN_JWT_SECRET");
  }
}
