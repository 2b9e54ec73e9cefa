package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.cli.ServerProcess.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two real Castellan processes over one PostgreSQL database: what one node writes, the other
 * serves, at once with the writer's consistency token and within a second without it.
 */
class TwoNodesTest {
  private static final String MODEL =
      """
      {"schema_version":"1.1","type_definitions":[{"type":"user"},
       {"type":"doc","relations":{"viewer":{"this":{}}},
        "metadata":{"relations":{"viewer":{"directly_related_user_types":[{"type":"user"}]}}}}]}
      """;

  private static String databaseUrl;
  private static ServerProcess nodeA;
  private static ServerProcess nodeB;
  private static String storeId;

  @BeforeAll
  static void startTwoNodes() throws Exception {
    databaseUrl = TestDatabases.create("castellan_two_nodes");
    nodeA = ServerProcess.start("--pg-url", databaseUrl);
    nodeB = ServerProcess.start("--pg-url", databaseUrl);
    storeId = nodeA.post("/stores", "{\"name\":\"two-nodes\"}").body().get("id").asText();
    assertThat(nodeA.post("/stores/" + storeId + "/authorization-models", MODEL).status())
        .isEqualTo(201);
  }

  @AfterAll
  static void stop() throws Exception {
    if (nodeA != null) {
      nodeA.close();
    }
    if (nodeB != null) {
      nodeB.close();
    }
    if (databaseUrl != null) {
      TestDatabases.drop(databaseUrl);
    }
  }

  private static String tuple(String object, String user) {
    return "{\"object\":\"" + object + "\",\"relation\":\"viewer\",\"user\":\"" + user + "\"}";
  }

  private static Response check(ServerProcess node, String object, String user, String token)
      throws Exception {
    String body =
        "{\"tuple_key\":"
            + tuple(object, user)
            + (token == null ? "" : ",\"consistency_token\":\"" + token + "\"")
            + "}";
    return node.post("/stores/" + storeId + "/check", body);
  }

  @Test
  void aGrantOnA_isSeenOnB_withAsToken_andARevokeLikewise() throws Exception {
    // B must already hold the store, so that it is following, not loading fresh.
    assertThat(check(nodeB, "doc:warm", "user:anne", null).status()).isEqualTo(200);

    Response grant =
        nodeA.post(
            "/stores/" + storeId + "/write",
            "{\"writes\":{\"tuple_keys\":[" + tuple("doc:1", "user:anne") + "]}}");
    assertThat(grant.status()).isEqualTo(200);
    String grantToken = grant.body().get("consistency_token").asText();
    Response seen = check(nodeB, "doc:1", "user:anne", grantToken);
    assertThat(seen.status()).isEqualTo(200);
    assertThat(seen.body().get("allowed").asBoolean()).isTrue();

    Response revoke =
        nodeA.post(
            "/stores/" + storeId + "/write",
            "{\"deletes\":{\"tuple_keys\":[" + tuple("doc:1", "user:anne") + "]}}");
    String revokeToken = revoke.body().get("consistency_token").asText();
    Response after = check(nodeB, "doc:1", "user:anne", revokeToken);
    assertThat(after.body().get("allowed").asBoolean()).as("no new-enemy miss").isFalse();
  }

  @Test
  void withoutAToken_BConvergesWithinOneSecond() throws Exception {
    assertThat(check(nodeB, "doc:warm", "user:bob", null).status()).isEqualTo(200);
    nodeA.post(
        "/stores/" + storeId + "/write",
        "{\"writes\":{\"tuple_keys\":[" + tuple("doc:2", "user:bob") + "]}}");
    long start = System.nanoTime();
    boolean allowed = false;
    while (!allowed && System.nanoTime() - start < 1_000_000_000L) {
      allowed = check(nodeB, "doc:2", "user:bob", null).body().get("allowed").asBoolean();
      if (!allowed) {
        Thread.sleep(20);
      }
    }
    assertThat(allowed).as("B sees A's grant within one second").isTrue();
  }

  @Test
  void denialsOnBothNodes_areInOneAuditChain_readableFromEither() throws Exception {
    for (int i = 0; i < 20; i++) {
      check(i % 2 == 0 ? nodeA : nodeB, "doc:audit", "user:eve" + (i % 2), null);
    }
    for (ServerProcess node : new ServerProcess[] {nodeA, nodeB}) {
      java.util.Set<String> subjects = new java.util.HashSet<>();
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (subjects.size() < 2 && System.nanoTime() < deadline) {
        subjects.clear();
        node.get("/api/audit?resource=doc:audit&outcome=deny&limit=1000")
            .body()
            .get("entries")
            .forEach(e -> subjects.add(e.get("subject").asText()));
      }
      assertThat(subjects).containsExactlyInAnyOrder("user:eve0", "user:eve1");
    }
    try (dev.castellan.store.jdbc.JdbcStore store =
        dev.castellan.store.jdbc.JdbcStore.postgres(databaseUrl)) {
      dev.castellan.audit.AuditVerification result =
          dev.castellan.audit.AuditVerification.of(store.auditRecords());
      assertThat(result.intact()).as(result.describe()).isTrue();
      assertThat(result.entries()).isGreaterThanOrEqualTo(20);
    }
  }

  @Test
  void aTokenFromTheFuture_isAClearTimeoutNotAWrongAnswer() throws Exception {
    String future = dev.castellan.store.ConsistencyToken.encode(storeId, 1_000_000);
    Response response = check(nodeB, "doc:1", "user:anne", future);
    assertThat(response.status()).isEqualTo(503);
    assertThat(response.body().get("code").asText()).isEqualTo("consistency_timeout");
  }
}
