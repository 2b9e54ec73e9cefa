package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code castellan serve --rbac-file} and {@code castellan rbac export} as real processes. */
class RbacCommandTest {
  @TempDir Path dir;

  @Test
  void export_writesBackThePolicyARunningServerEnforces() throws Exception {
    Path policy = dir.resolve("rbac.yaml");
    Files.writeString(
        policy,
        """
        roles:
          admin: [create, read, run, delete, share]
          analyst: [read, run]
        routes:
          - {method: POST, path: "/workflows/{id}/run", permission: run}
        """);
    try (ServerProcess server =
        ServerProcess.start(
            "--data", dir.resolve("data").toString(), "--rbac-file", policy.toString())) {
      Path exported = dir.resolve("exported.yaml");
      StringWriter err = new StringWriter();
      int code =
          new CommandLine(new Main())
              .setErr(new PrintWriter(err))
              .execute(
                  "rbac",
                  "export",
                  "--url",
                  "http://127.0.0.1:" + server.port(),
                  "--token",
                  ServerProcess.TOKEN,
                  "-o",
                  exported.toString());
      assertThat(code).as(err.toString()).isZero();
      String yaml = Files.readString(exported);
      assertThat(yaml).contains("analyst:").contains("- run").contains("/workflows/{id}/run");
      // What export writes, serve reads.
      var reparsed = dev.castellan.server.rbac.RbacPolicy.parse(yaml);
      assertThat(reparsed.roles().get("analyst")).containsExactly("read", "run");

      int refused =
          new CommandLine(new Main())
              .setErr(new PrintWriter(new StringWriter()))
              .execute(
                  "rbac",
                  "export",
                  "--url",
                  "http://127.0.0.1:" + server.port(),
                  "--token",
                  "wrong-token-0123456789abcdef");
      assertThat(refused).isEqualTo(1);
    }
  }

  @Test
  void caseInsensitiveClaims_fromTheConfigFile_matchRoleClaimsInAnyCase() throws Exception {
    Path config = dir.resolve("castellan.yaml");
    Files.writeString(config, "case_insensitive_claims: true\n");
    try (ServerProcess server =
        ServerProcess.start(
            "--data", dir.resolve("data").toString(), "--config", config.toString())) {
      String ask = "{\"permission\":\"Workflows.Read\",\"subject\":\"user:ann\",\"roles\":[%s]}";
      var upper = server.post("/api/authorize", ask.formatted("\"VIEWER\""));
      assertThat(upper.status()).isEqualTo(200);
      assertThat(upper.body().get("allowed").asBoolean()).isTrue();
      var slugged = server.post("/api/authorize", ask.formatted("\"VIEWER!\""));
      assertThat(slugged.body().get("allowed").asBoolean()).isFalse();
    }
  }
}
