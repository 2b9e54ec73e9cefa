package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.directory.PendingIdentities;
import dev.castellan.store.jdbc.JdbcStore;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two nodes on one PostgreSQL database reactivate the same deactivated user at the same moment,
 * round after round: the rows held for the user while inactive are applied once, by one of them
 * (ADR 0024, amended), as for every other trigger.
 */
class PendingReactivationTwoNodesTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String MODEL =
      "{\"schema_version\":\"1.1\",\"type_definitions\":[{\"type\":\"user\"},"
          + "{\"type\":\"doc\",\"relations\":{\"viewer\":{\"this\":{}}},"
          + "\"metadata\":{\"relations\":{\"viewer\":{\"directly_related_user_types\":"
          + "[{\"type\":\"user\"}]}}}}]}";
  private static final int ROWS = 300;
  private static final Pattern APPLIED_COUNT = Pattern.compile("^(\\d+) held rows applied");

  private String adminUrl;
  private String database;
  private final List<CastellanServer> nodes = new ArrayList<>();

  @BeforeEach
  void createDatabase() {
    adminUrl = System.getenv(StoreKind.PG_ENV);
    assertThat(adminUrl)
        .as(StoreKind.PG_ENV + " must name a PostgreSQL server (./run-tests sets it)")
        .isNotBlank();
    database = "castellan_react_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    StoreKind.sql(adminUrl, "CREATE DATABASE " + database);
  }

  @AfterEach
  void dropDatabase() {
    nodes.forEach(CastellanServer::close);
    StoreKind.sql(adminUrl, "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
  }

  private CastellanServer node() {
    CastellanServer node =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN),
            JdbcStore.postgres(StoreKind.withDatabase(adminUrl, database)));
    nodes.add(node);
    return node;
  }

  private static HttpResponse<String> scim(
      CastellanServer node, String key, String method, String path, String body) throws Exception {
    return ServerHttp.send(
        node,
        key,
        method,
        "/scim/v2" + path,
        body,
        Map.of("Content-Type", "application/scim+json"));
  }

  private static String active(boolean active) {
    return "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
        + "[{\"op\":\"replace\",\"path\":\"active\",\"value\":"
        + active
        + "}]}";
  }

  /** How many rows the {@code import.pending.applied} entries of {@code source} applied, summed. */
  private static int appliedFrom(CastellanServer node, String subject, String source)
      throws Exception {
    JsonNode entries =
        ServerHttp.json(
                ServerHttp.send(
                    node,
                    ADMIN,
                    "GET",
                    "/api/audit?limit=1000&action=" + PendingIdentities.APPLIED,
                    null),
                200)
            .get("entries");
    int sum = 0;
    for (JsonNode entry : entries) {
      String reason = entry.get("reason").asText();
      Matcher count = APPLIED_COUNT.matcher(reason);
      if (entry.get("subject").asText().equals(subject)
          && reason.endsWith("from sources " + source)
          && count.find()) {
        sum += Integer.parseInt(count.group(1));
      }
    }
    return sum;
  }

  @Test
  void twoNodesReactivatingOneUserAtOnce_applyItsHeldRowsOnce() throws Exception {
    CastellanServer first = node();
    CastellanServer second = node();
    String key =
        ServerHttp.json(
                ServerHttp.send(
                    first, ADMIN, "POST", "/api/keys", "{\"name\":\"okta\",\"scim\":true}"),
                201)
            .get("key")
            .asText();
    String store =
        ServerHttp.json(
                ServerHttp.send(first, ADMIN, "POST", "/stores", "{\"name\":\"drive\"}"), 201)
            .get("id")
            .asText();
    ServerHttp.json(
        ServerHttp.send(first, ADMIN, "POST", "/stores/" + store + "/authorization-models", MODEL),
        201);
    String userId =
        ServerHttp.json(
                scim(
                    first,
                    key,
                    "POST",
                    "/Users",
                    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
                        + "\"userName\":\"ann\",\"emails\":[{\"value\":\"ann@example.com\"}]}"),
                201)
            .get("id")
            .asText();
    String subject = "user:" + userId;

    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 3; round++) {
        assertThat(scim(first, key, "PATCH", "/Users/" + userId, active(false)).statusCode())
            .isEqualTo(200);
        String source = "round" + round;
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < ROWS; i++) {
          rows.append(i == 0 ? "" : ",")
              .append("{\"object\":\"doc:")
              .append(round)
              .append('-')
              .append(i)
              .append("\",\"relation\":\"viewer\",\"identity\":{\"kind\":\"email\",")
              .append("\"value\":\"ann@example.com\"}}");
        }
        JsonNode imported =
            ServerHttp.json(
                ServerHttp.send(
                    first,
                    ADMIN,
                    "POST",
                    "/api/stores/" + store + "/imports",
                    "{\"source\":\"" + source + "\",\"tuples\":[" + rows + "]}"),
                200);
        assertThat(imported.get("pending").asInt()).as("held while inactive").isEqualTo(ROWS);

        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> reactivations = new ArrayList<>();
        for (CastellanServer node : List.of(first, second)) {
          reactivations.add(
              pool.submit(
                  () -> {
                    go.await();
                    return scim(node, key, "PATCH", "/Users/" + userId, active(true)).statusCode();
                  }));
        }
        go.countDown();
        for (Future<Integer> reactivation : reactivations) {
          assertThat(reactivation.get()).isEqualTo(200);
        }
        // Every entry either node recorded is in the shared trail before it is counted.
        assertThat(first.audit().flush(Duration.ofSeconds(10))).isTrue();
        assertThat(second.audit().flush(Duration.ofSeconds(10))).isTrue();

        JsonNode pending =
            ServerHttp.json(
                ServerHttp.send(first, ADMIN, "GET", "/api/stores/" + store + "/pending", null),
                200);
        assertThat(pending.get("total").asInt()).isZero();
        assertThat(appliedFrom(first, subject, source)).as(source).isEqualTo(ROWS);
        JsonNode check =
            ServerHttp.json(
                ServerHttp.send(
                    first,
                    ADMIN,
                    "POST",
                    "/stores/" + store + "/check",
                    "{\"tuple_key\":{\"object\":\"doc:"
                        + round
                        + "-"
                        + (ROWS - 1)
                        + "\",\"relation\":\"viewer\",\"user\":\""
                        + subject
                        + "\"},\"consistency\":\"HIGHER_CONSISTENCY\"}"),
                200);
        assertThat(check.get("allowed").asBoolean()).as(source + " written").isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
