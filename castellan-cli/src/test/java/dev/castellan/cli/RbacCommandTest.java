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

  /**
   * Regression: seed 000's rbac.yaml (admin, developer, analyst, viewer) silently replaced the
   * permissions of the system roles it names. Served as written, it is refused at start, naming the
   * role, what it would drop and the fix.
   */
  @Test
  void seed000sPolicyFile_isRefusedAtStart_namingTheSystemRoleAndWhatItWouldDrop()
      throws Exception {
    Path policy = dir.resolve("rbac.yaml");
    // The file in seed 000 ("Example rbac.yaml"), as the seed writes it.
    Files.writeString(
        policy,
        """
        roles:
          admin: [create, read, run, delete, share]
          developer: [create, read, run]
          analyst: [read, run]
          viewer: [read]
        """);
    Cli.Result refused =
        Cli.run(
            dir,
            "serve",
            "--port",
            "0",
            "--data",
            dir.resolve("data").toString(),
            "--rbac-file",
            policy.toString());
    assertThat(refused.exit()).as(refused.toString()).isEqualTo(2);
    assertThat(refused.errorLines())
        .as(refused.toString())
        .singleElement()
        .asString()
        .startsWith("error[validation_error]: the policy file " + policy + " cannot be loaded:")
        .contains("roles.admin: 'admin' is a system role")
        .contains("would replace its 53 permissions with 5, dropping 48: Logs.View")
        .contains(
            "admin: {replace_system_role: true, permissions: [create, read, run, delete, share]}");
  }

  @Test
  void export_writesBackThePolicyARunningServerEnforces() throws Exception {
    Path policy = dir.resolve("rbac.yaml");
    Files.writeString(
        policy,
        """
        roles:
          admin: {replace_system_role: true, permissions: [create, read, run, delete, share]}
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
      // System roles come back marked, so that serving the export keeps them as they are.
      assertThat(reparsed.replacingSystemRoles())
          .containsExactlyInAnyOrder("admin", "developer", "viewer");
      assertThat(reparsed.roles().get("admin"))
          .containsExactly("create", "read", "run", "delete", "share");

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
