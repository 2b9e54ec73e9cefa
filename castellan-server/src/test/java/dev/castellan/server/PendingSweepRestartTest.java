package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.model.ModelDsl;
import dev.castellan.store.Identity;
import dev.castellan.store.PendingTuple;
import dev.castellan.store.UserDraft;
import dev.castellan.store.jdbc.JdbcStore;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rows held while no server ran (as {@code castellan import} holds them) for people already in the
 * directory: the sweep at start applies an active user's, keeps a deactivated user's held, and
 * SCIM's reactivation (a replace) applies those (ADR 0024, amended).
 */
class PendingSweepRestartTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";

  @TempDir Path dir;
  CastellanServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private HttpResponse<String> send(String method, String path, String body) throws Exception {
    return ServerHttp.send(server, ADMIN, method, path, body);
  }

  private boolean allowed(String store, String object, String userId) throws Exception {
    return ServerHttp.json(
            send(
                "POST",
                "/stores/" + store + "/check",
                "{\"tuple_key\":{\"object\":\""
                    + object
                    + "\",\"relation\":\"viewer\",\"user\":\"user:"
                    + userId
                    + "\"}}"),
            200)
        .get("allowed")
        .asBoolean();
  }

  @Test
  void theStartsSweep_appliesAnActiveUsersRows_andKeepsADeactivatedUsersHeld_untilReactivated()
      throws Exception {
    String store;
    String ann;
    String ben;
    try (JdbcStore offline = JdbcStore.embedded(dir)) {
      store = offline.createStore("drive").id();
      offline.writeModel(
          store,
          ModelDsl.parse(
              "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [user]\n"));
      ann =
          offline
              .directoryStore()
              .createUser(new UserDraft("ann", "", "", true, List.of("ann@example.com"), ""))
              .id();
      ben =
          offline
              .directoryStore()
              .createUser(new UserDraft("ben", "", "", false, List.of("ben@example.com"), ""))
              .id();
      offline
          .pendingStore()
          .hold(
              store,
              List.of(
                  PendingTuple.of("doc:1", "viewer", Identity.email("ann@example.com"), "cli"),
                  PendingTuple.of("doc:2", "viewer", Identity.email("ben@example.com"), "cli")));
    }

    server =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN), JdbcStore.embedded(dir));
    assertThat(allowed(store, "doc:1", ann)).as("the active user's row, applied").isTrue();
    assertThat(allowed(store, "doc:2", ben)).as("the deactivated user's row").isFalse();
    JsonNode held = ServerHttp.json(send("GET", "/api/stores/" + store + "/pending", null), 200);
    assertThat(held.get("total").asInt()).isEqualTo(1);
    assertThat(held.get("pending").get(0).get("identity").get("value").asText())
        .isEqualTo("ben@example.com");

    String key =
        ServerHttp.json(send("POST", "/api/keys", "{\"name\":\"okta\",\"scim\":true}"), 201)
            .get("key")
            .asText();
    HttpResponse<String> reactivated =
        ServerHttp.send(
            server,
            key,
            "PUT",
            "/scim/v2/Users/" + ben,
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"ben\","
                + "\"active\":true,\"emails\":[{\"value\":\"ben@example.com\"}]}",
            Map.of("Content-Type", "application/scim+json"));
    assertThat(reactivated.statusCode()).as(reactivated.body()).isEqualTo(200);
    assertThat(allowed(store, "doc:2", ben)).isTrue();
    assertThat(
            ServerHttp.json(send("GET", "/api/stores/" + store + "/pending", null), 200)
                .get("total")
                .asInt())
        .isZero();
  }
}
