package dev.castellan.cli;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.castellan.server.auth.JwtSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code castellan token mint}: an HS256 token for development, signed with the secret the server
 * was given ({@code --jwt-secret-file} or {@code CASTELLAN_JWT_SECRET}), so that a newcomer can try
 * roles without an identity provider.
 */
@Command(
    name = "token",
    mixinStandardHelpOptions = true,
    description = "Make bearer tokens for development.",
    footerHeading = "%nExamples:%n",
    footer = {
      "  export CASTELLAN_JWT_SECRET=$(openssl rand -hex 32)  the server's secret too",
      "  castellan token mint --sub alice --role developer"
    },
    subcommands = {TokenCommand.Mint.class})
final class TokenCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "mint",
      mixinStandardHelpOptions = true,
      description = {
        "Print an HS256 JWT for development: sub, role (or roles), iat, exp.",
        "Use it as 'Authorization: Bearer <token>' with a server given the same HS256 secret.",
        "The role is an RBAC role (for /api/authorize and the gateway); it does not make the"
            + " caller a Castellan administrator (that is 'castellan keys create --admin')."
      },
      footerHeading = "%nExamples:%n",
      footer = {
        "  export CASTELLAN_JWT_SECRET=$(openssl rand -hex 32)  the server's secret too",
        "  castellan token mint --sub alice --role developer",
        "  castellan token mint --sub bob --role analyst --role viewer --ttl 15m"
      })
  static final class Mint implements Callable<Integer> {
    /** Longer lifetimes are refused: a development token should not outlive the afternoon much. */
    static final Duration MAX_TTL = Duration.ofDays(30);

    private static final Pattern TTL = Pattern.compile("(\\d{1,9})([smhd])");

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--sub", required = true, description = "the subject, e.g. alice")
    String subject;

    @Option(
        names = "--role",
        description = "a role (repeatable); one gives a 'role' claim, several a 'roles' array")
    List<String> roles = new ArrayList<>();

    @Option(
        names = "--secret",
        description =
            "the HS256 secret, 32+ bytes (default: $CASTELLAN_JWT_SECRET; prefer the variable"
                + " or --secret-file, a flag shows in the process list)")
    String secret;

    @Option(
        names = "--secret-file",
        paramLabel = "FILE",
        description = "read the HS256 secret from FILE, as the server's --jwt-secret-file does")
    java.nio.file.Path secretFile;

    @Option(names = "--ttl", description = "lifetime: 30s, 15m, 1h, 7d or ISO-8601 (default: 1h)")
    String ttl = "1h";

    @Option(names = "--aud", description = "audience claim (aud)")
    String audience;

    @Option(names = "--iss", description = "issuer claim (iss)")
    String issuer;

    @Override
    public Integer call() throws JOSEException {
      if (secret != null && secretFile != null) {
        return fail("give --secret or --secret-file, not both");
      }
      String key;
      try {
        key =
            secretFile != null
                ? SecretFile.read(secretFile, "--secret-file")
                : secret != null
                    ? secret
                    : System.getenv().getOrDefault("CASTELLAN_JWT_SECRET", "");
      } catch (dev.castellan.CastellanException e) {
        return fail(e.getMessage());
      }
      if (key.isEmpty()) {
        return fail(
            "no secret: pass --secret-file (the server's --jwt-secret-file) or set"
                + " CASTELLAN_JWT_SECRET to the server's secret. Make one with: openssl rand -hex"
                + " 32");
      }
      int bytes = key.getBytes(StandardCharsets.UTF_8).length;
      if (bytes < JwtSettings.MIN_HS256_SECRET_BYTES) {
        return fail(
            "the secret has "
                + bytes
                + " bytes; HS256 needs at least "
                + JwtSettings.MIN_HS256_SECRET_BYTES
                + " (256 bits). Make one with: openssl rand -hex 32");
      }
      if (subject.isBlank()) {
        return fail("--sub must not be blank");
      }
      for (String role : roles) {
        if (role.isBlank()) {
          return fail("--role must not be blank");
        }
      }
      Duration lifetime;
      try {
        lifetime = parseTtl(ttl);
      } catch (IllegalArgumentException e) {
        return fail(e.getMessage());
      }
      Instant now = Instant.now();
      JWTClaimsSet.Builder claims =
          new JWTClaimsSet.Builder()
              .subject(subject)
              .issueTime(Date.from(now))
              .expirationTime(Date.from(now.plus(lifetime)));
      if (roles.size() == 1) {
        claims.claim("role", roles.getFirst());
      } else if (roles.size() > 1) {
        claims.claim("roles", List.copyOf(roles));
      }
      if (audience != null && !audience.isBlank()) {
        claims.audience(audience);
      }
      if (issuer != null && !issuer.isBlank()) {
        claims.issuer(issuer);
      }
      SignedJWT jwt =
          new SignedJWT(
              new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(),
              claims.build());
      jwt.sign(new MACSigner(key.getBytes(StandardCharsets.UTF_8)));
      spec.commandLine().getOut().println(jwt.serialize());
      spec.commandLine().getOut().flush();
      return 0;
    }

    private int fail(String message) {
      CliErrors.print(spec.commandLine().getErr(), new CliFailure(CliFailure.USAGE, message));
      return CliErrors.EXIT;
    }

    static Duration parseTtl(String text) {
      String t = text.strip().toLowerCase(Locale.ROOT);
      Duration d;
      Matcher m = TTL.matcher(t);
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        d =
            switch (m.group(2)) {
              case "s" -> Duration.ofSeconds(n);
              case "m" -> Duration.ofMinutes(n);
              case "h" -> Duration.ofHours(n);
              default -> Duration.ofDays(n);
            };
      } else {
        try {
          d = Duration.parse(text.strip().toUpperCase(Locale.ROOT));
        } catch (DateTimeParseException e) {
          throw new IllegalArgumentException(
              "--ttl '" + text + "' is not a lifetime; use e.g. 30s, 15m, 1h, 7d or PT1H");
        }
      }
      if (d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException("--ttl must be positive, got '" + text + "'");
      }
      if (d.compareTo(MAX_TTL) > 0) {
        throw new IllegalArgumentException(
            "--ttl must be at most " + MAX_TTL.toDays() + " days for a development token");
      }
      return d;
    }
  }
}
