package dev.castellan.cli;

import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code castellan rbac export}: the RBAC policy a running server enforces, as rbac.yaml. */
@Command(
    name = "rbac",
    mixinStandardHelpOptions = true,
    description = "RBAC policy of a running server.",
    footerHeading = "%nExamples:%n",
    footer = {"  castellan rbac export --token \"$ADMIN_KEY\" -o rbac.yaml"},
    subcommands = {RbacCommand.Export.class})
final class RbacCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "export",
      mixinStandardHelpOptions = true,
      description =
          "Write the policy in force (every role's permissions as they are now, the routes and"
              + " catalog extensions) in the rbac.yaml form --rbac-file reads.",
      footerHeading = "%nExamples:%n",
      footer = {
        "  castellan rbac export --token \"$ADMIN_KEY\" -o rbac.yaml",
        "  CASTELLAN_URL=http://castellan:8080 CASTELLAN_TOKEN=... castellan rbac export"
      })
  static final class Export implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(
        names = "--url",
        description = "the server (default: $CASTELLAN_URL or http://localhost:8080)")
    String url;

    @Option(
        names = "--token",
        description = "an admin API key or token (default: $CASTELLAN_TOKEN)")
    String token;

    @Option(
        names = {"-o", "--output"},
        description = "write here instead of standard output")
    Path output;

    @Override
    public Integer call() throws Exception {
      String base = url != null ? url : envOr("CASTELLAN_URL", "http://localhost:8080");
      String credential = token != null ? token : envOr("CASTELLAN_TOKEN", "");
      if (credential.isEmpty()) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "an admin credential is needed: --token or $CASTELLAN_TOKEN");
      }
      URI endpoint;
      try {
        endpoint = URI.create(base.replaceAll("/+$", "") + "/api/rbac/policy");
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(
            spec.commandLine(),
            "--url must be a URL such as http://localhost:8080, got '" + base + "'");
      }
      HttpResponse<String> response =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(5))
              .build()
              .send(
                  HttpRequest.newBuilder(endpoint)
                      .timeout(Duration.ofSeconds(30))
                      .header("Authorization", "Bearer " + credential)
                      .GET()
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        CliErrors.print(
            spec.commandLine().getErr(),
            new CliFailure(
                response.statusCode() == 401 || response.statusCode() == 403
                    ? "forbidden"
                    : "server_error",
                "the server answered "
                    + response.statusCode()
                    + ": "
                    + response.body()
                    + (response.statusCode() == 401 || response.statusCode() == 403
                        ? " (the policy needs a Castellan administrator's key)"
                        : "")));
        return 1;
      }
      if (output != null) {
        Files.writeString(output, response.body());
      } else {
        PrintWriter out = spec.commandLine().getOut();
        out.print(response.body());
        out.flush();
      }
      return 0;
    }

    private static String envOr(String name, String fallback) {
      String value = System.getenv(name);
      return value == null || value.isBlank() ? fallback : value;
    }
  }
}
