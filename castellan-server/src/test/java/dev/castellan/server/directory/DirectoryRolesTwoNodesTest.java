package dev.castellan.server.directory;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.Poll;
import dev.castellan.server.ServerHttp;
import dev.castellan.server.StoreKind;
import dev.castellan.store.jdbc.JdbcStore;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ADR 0019, amended: two nodes over one PostgreSQL PATCH the same group at once, so the projections
 * of two PATCHes may land in another order than the directory applied them; the projection still
 * ends equal to the directory's membership on both nodes, without a restart.
 */
class DirectoryRolesTwoNodesTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String PERMISSION = "Logs.View"; // held by the system role viewer
  private static final int USERS = 3;
  private static final int PATCHES_PER_NODE = 40;

  private String adminUrl;
  private String database;
  private CastellanServer nodeA;
  private CastellanServer nodeB;

  @BeforeEach
  void startTwoNodes() {
    adminUrl = System.getenv(StoreKind.PG_ENV);
    assertThat(adminUrl)
        .as(StoreKind.PG_ENV + " must name a PostgreSQL server (./run-tests sets it)")
        .isNotBlank();
    database = "castellan_dir2_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    StoreKind.sql(adminUrl, "CREATE DATABASE " + database);
    String url = StoreKind.withDatabase(adminUrl, database);
    nodeA =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN), JdbcStore.postgres(url));
    nodeB =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN), JdbcStore.postgres(url));
  }

  @AfterEach
  void stop() {
    try {
      if (nodeA != null) {
        nodeA.close();
      }
      if (nodeB != null) {
        nodeB.close();
      }
    } finally {
      StoreKind.sql(adminUrl, "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
    }
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

  private static String patchBody(boolean add, String userId) {
    String operation =
        add
            ? "{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"" + userId + "\"}]}"
            : "{\"op\":\"remove\",\"path\":\"members[value eq \\\"" + userId + "\\\"]\"}";
    return "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["
        + operation
        + "]}";
  }

  private static boolean allowed(CastellanServer node, String userId) throws Exception {
    return ServerHttp.json(
            ServerHttp.send(
                node,
                ADMIN,
                "POST",
                "/api/authorize",
                "{\"subject\":\"user:dir/" + userId + "\",\"permission\":\"" + PERMISSION + "\"}"),
            200)
        .get("allowed")
        .asBoolean();
  }

  @Test
  void concurrentPatchesOfOneGroupFromTwoNodes_leaveTheProjectionEqualToTheDirectory()
      throws Exception {
    String scimKey =
        ServerHttp.json(
                ServerHttp.send(
                    nodeA, ADMIN, "POST", "/api/keys", "{\"name\":\"okta\",\"scim\":true}"),
                201)
            .get("key")
            .asText();
    List<String> users = new ArrayList<>();
    for (int i = 0; i < USERS; i++) {
      users.add(
          ServerHttp.json(
                  scim(
                      nodeA,
                      scimKey,
                      "POST",
                      "/Users",
                      "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
                          + "\"userName\":\"u"
                          + i
                          + "\"}"),
                  201)
              .get("id")
              .asText());
    }
    String group =
        ServerHttp.json(
                scim(
                    nodeA,
                    scimKey,
                    "POST",
                    "/Groups",
                    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
                        + "\"displayName\":\"Contended\"}"),
                201)
            .get("id")
            .asText();
    assertThat(
            ServerHttp.send(
                    nodeA,
                    ADMIN,
                    "POST",
                    "/api/roles/viewer/members",
                    "{\"subject\":\"group:" + group + "\"}")
                .statusCode())
        .isIn(200, 201, 204);

    // Both nodes toggle the same few users of the same group at once, from one start signal.
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Integer>> done = new ArrayList<>();
      long seed = 0;
      for (CastellanServer node : List.of(nodeA, nodeB)) {
        Random random = new Random(++seed);
        done.add(
            pool.submit(
                () -> {
                  go.await();
                  int ok = 0;
                  for (int i = 0; i < PATCHES_PER_NODE; i++) {
                    String user = users.get(random.nextInt(USERS));
                    HttpResponse<String> response =
                        scim(
                            node,
                            scimKey,
                            "PATCH",
                            "/Groups/" + group,
                            patchBody(random.nextBoolean(), user));
                    assertThat(response.statusCode()).as(response.body()).isIn(200, 204);
                    ok++;
                  }
                  return ok;
                }));
      }
      go.countDown();
      for (Future<Integer> patches : done) {
        assertThat(patches.get(60, TimeUnit.SECONDS)).isEqualTo(PATCHES_PER_NODE);
      }
    } finally {
      pool.shutdownNow();
    }

    JsonNode stored = ServerHttp.json(scim(nodeA, scimKey, "GET", "/Groups/" + group, null), 200);
    Set<String> members = new HashSet<>();
    JsonNode listed = stored.get("members");
    if (listed != null) {
      listed.forEach(m -> members.add(m.get("value").asText()));
    }
    // No restart: both nodes' decisions reach the directory's membership within the deadline.
    for (CastellanServer node : List.of(nodeA, nodeB)) {
      Poll.until(
          "the projection to equal the directory's members " + members,
          Duration.ofSeconds(5),
          () -> {
            for (String user : users) {
              if (allowed(node, user) != members.contains(user)) {
                return false;
              }
            }
            return true;
          });
    }
  }
}
