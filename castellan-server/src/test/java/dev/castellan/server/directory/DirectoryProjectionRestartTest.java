package dev.castellan.server.directory;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.jdbc.JdbcStore;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The system store's membership tuples are a projection of the directory, rebuilt on start: a
 * directory changed behind the projection's back (a crash between the two writes) decides as the
 * directory says after a restart. On the embedded store, which outlives the server.
 */
class DirectoryProjectionRestartTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";

  @TempDir Path dir;
  CastellanServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private CastellanServer start() {
    return CastellanServer.start(
        ServerHttp.loopback().withBootstrapToken(ADMIN), JdbcStore.embedded(dir));
  }

  @Test
  void aDirectoryChangedBehindTheProjection_decidesAsTheDirectorySays_afterARestart()
      throws Exception {
    server = start();
    String key =
        ServerHttp.json(
                ServerHttp.send(
                    server, ADMIN, "POST", "/api/keys", "{\"name\":\"okta\",\"scim\":true}"),
                201)
            .get("key")
            .asText();
    String removed =
        scimId(
            key,
            "/Users",
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"ann\"}");
    String added =
        scimId(
            key,
            "/Users",
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"bob\"}");
    String viewers =
        scimId(
            key,
            "/Groups",
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"Viewers\",\"members\":[{\"value\":\""
                + removed
                + "\"}]}");
    String admins =
        scimId(
            key,
            "/Groups",
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"Admins\"}");
    bind("viewer", "group:" + viewers);
    bind("admin", "group:" + admins);
    assertThat(allowed("user:dir/" + removed, "Logs.View")).isTrue();
    assertThat(allowed("user:dir/" + added, "Logs.Delete")).isFalse();
    server.close();
    server = null;

    try (JdbcStore store = JdbcStore.embedded(dir)) {
      DirectoryStore directory = store.directoryStore();
      directory.changeMembers(viewers, DirectoryStore.ANY_VERSION, List.of(), List.of(removed));
      directory.changeMembers(admins, DirectoryStore.ANY_VERSION, List.of(added), List.of());
    }

    server = start();
    assertThat(allowed("user:dir/" + removed, "Logs.View")).isFalse();
    assertThat(allowed("user:ann", "Logs.View")).isFalse();
    assertThat(allowed("user:dir/" + added, "Logs.Delete")).isTrue();
    assertThat(allowed("user:bob", "Logs.Delete")).isTrue();
  }

  private String scimId(String key, String path, String body) throws Exception {
    return ServerHttp.json(
            ServerHttp.send(
                server,
                key,
                "POST",
                "/scim/v2" + path,
                body,
                Map.of("Content-Type", "application/scim+json")),
            201)
        .get("id")
        .asText();
  }

  private void bind(String role, String subject) throws Exception {
    assertThat(
            ServerHttp.send(
                    server,
                    ADMIN,
                    "POST",
                    "/api/roles/" + role + "/members",
                    "{\"subject\":\"" + subject + "\"}")
                .statusCode())
        .isEqualTo(204);
  }

  private boolean allowed(String subject, String permission) throws Exception {
    JsonNode decision =
        ServerHttp.json(
            ServerHttp.send(
                server,
                ADMIN,
                "POST",
                "/api/authorize",
                "{\"subject\":\"" + subject + "\",\"permission\":\"" + permission + "\"}"),
            200);
    return decision.get("allowed").asBoolean();
  }
}
