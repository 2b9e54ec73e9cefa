package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression: a token minted with {@code --role admin} was allowed by /api/authorize while
 * /api/whoami said {@code admin:false}, and nothing said that these are two different admins.
 */
class WhoamiTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef-whoami";

  @TempDir Path dir;

  @Test
  void whoami_spellsOutCastellanAdministration_apartFromRbacRoles() throws Exception {
    Cli.Result minted =
        Cli.run(
            dir,
            Map.of("CASTELLAN_JWT_SECRET", SECRET),
            "token",
            "mint",
            "--sub",
            "alice",
            "--role",
            "admin");
    assertThat(minted.exit()).as(minted.toString()).isZero();
    String token = minted.out().strip();
    try (ServerProcess server =
        ServerProcess.start(
            Map.of(
                "CASTELLAN_BOOTSTRAP_TOKEN", ServerProcess.TOKEN, "CASTELLAN_JWT_SECRET", SECRET),
            "--data",
            dir.resolve("data").toString())) {
      JsonNode alice = server.get("/api/whoami", token).body();
      assertThat(alice.get("subject").asText()).matches("user:[0-9A-Z]{26}");
      assertThat(alice.get("user_name").asText()).isEqualTo("alice");
      assertThat(alice.get("admin").asBoolean()).isFalse(); // the field kept its meaning
      assertThat(alice.get("castellan_admin").asBoolean()).isFalse();
      assertThat(alice.get("rbac_subject").asText()).isEqualTo(alice.get("subject").asText());
      assertThat(alice.get("rbac_roles")).extracting(JsonNode::asText).containsExactly("admin");
      assertThat(alice.get("about").asText())
          .contains("castellan_admin")
          .contains("rbac_roles")
          .contains("never Castellan administration");

      JsonNode operator = server.get("/api/whoami").body();
      assertThat(operator.get("castellan_admin").asBoolean()).isTrue();
      assertThat(operator.get("admin").asBoolean()).isTrue();
      assertThat(operator.get("rbac_roles")).isEmpty();
    }
  }
}
