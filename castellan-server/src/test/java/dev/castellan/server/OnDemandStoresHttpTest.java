package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.engine.Tuple;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.store.ConsistencyToken;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.TupleWrite;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 14 point 3: stores load on first use and are let go least recently used under the index
 * memory budget, on every store. The budget here is one byte, so a node holds the system store
 * (never let go) and the store it used last (held while it loads), and every other store is loaded
 * again from the database at its next use: the answers, and consistency tokens, must not notice.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class OnDemandStoresHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String MODEL =
      ModelJson.write(
          ModelDsl.parse(
              """
              model
                schema 1.1
              type user
              type doc
                relations
                  define viewer: [user]
              """));

  @Parameter StoreKind kind;

  private static StoreKind.TestStore testStore;
  private static CastellanServer server;

  @BeforeParameterizedClassInvocation
  static void start(StoreKind kind) {
    testStore = kind.create();
    server =
        testStore.startServer(
            ServerHttp.loopback()
                .withBootstrapToken(ADMIN)
                .withIndexMemoryBudget(1)
                .withConsistencyTimeout(Duration.ofMillis(500))
                // An hour between polls: only a token (or a write here) brings a loaded store's
                // index forward, so the tests see what the token does.
                .withFeed(new IndexFeed.Options(Duration.ofHours(1), 10_000, Duration.ZERO)));
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
  }

  private static JsonNode call(String method, String path, String body, int status)
      throws Exception {
    HttpResponse<String> response = ServerHttp.send(server, ADMIN, method, path, body);
    return response.body().isEmpty()
        ? ServerHttp.JSON.createObjectNode()
        : ServerHttp.json(response, status);
  }

  private static String newStore(String name, String user) throws Exception {
    String id = call("POST", "/stores", "{\"name\":\"" + name + "\"}", 201).get("id").asText();
    call("POST", "/stores/" + id + "/authorization-models", MODEL, 201);
    call(
        "POST",
        "/stores/" + id + "/write",
        "{\"writes\":{\"tuple_keys\":[{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\""
            + user
            + "\"}]}}",
        200);
    return id;
  }

  private static boolean allowed(String storeId, String user, String token) throws Exception {
    String consistency = token.isEmpty() ? "" : ",\"consistency_token\":\"" + token + "\"";
    return call(
            "POST",
            "/stores/" + storeId + "/check",
            "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\""
                + user
                + "\"}"
                + consistency
                + "}",
            200)
        .get("allowed")
        .asBoolean();
  }

  @Test
  void underATinyBudget_theNodeHoldsTheSystemStoreAndTheLastUsed_andReloadsGiveTheSameAnswers()
      throws Exception {
    List<String> stores = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      stores.add(newStore("tenant-" + i, "user:owner" + i));
    }
    StoreRuntime runtime = server.runtime();
    assertThat(allowed(stores.get(3), "user:owner3", "")).isTrue(); // the last used: loaded
    long loadsBefore = runtime.loadedStores().loads();
    long evictionsBefore = runtime.loadedStores().evictions();
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < stores.size(); i++) {
        assertThat(allowed(stores.get(i), "user:owner" + i, "")).isTrue();
        assertThat(allowed(stores.get(i), "user:owner" + ((i + 1) % stores.size()), "")).isFalse();
        assertThat(runtime.loadedFeeds()).containsKeys(server.systemStoreId(), stores.get(i));
      }
    }
    StoreRuntime.LoadedStores after = runtime.loadedStores();
    assertThat(after.loaded()).isEqualTo(2);
    // Each store was let go before its next use: eight uses, eight loads.
    assertThat(after.loads() - loadsBefore).isEqualTo(8);
    assertThat(after.evictions() - evictionsBefore).isEqualTo(8);
    assertThat(runtime.changeFeed().followedStores())
        .as("the change feed follows only the loaded stores")
        .isEqualTo(2);
  }

  @Test
  void aConsistencyToken_isHonouredOnAStoreLoadedAgain_andOnOneStillLoaded() throws Exception {
    String tenant = newStore("token-tenant", "user:anne");
    String other = newStore("token-other", "user:bob");
    StoreRuntime runtime = server.runtime();
    assertThat(runtime.loadedFeeds()).doesNotContainKey(tenant);

    // Written behind the node's back, as by another node on the same database.
    long revision =
        testStore
            .store()
            .write(tenant, TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:carl")))
            .revision();
    String token = ConsistencyToken.encode(tenant, revision);
    assertThat(allowed(tenant, "user:carl", token))
        .as("loaded again, at or past the token")
        .isTrue();

    // Now loaded, and the poll is an hour away: the token alone brings the index forward.
    long next =
        testStore
            .store()
            .write(tenant, TupleWrite.writes(Tuple.of("doc:1", "viewer", "user:dora")))
            .revision();
    assertThat(allowed(tenant, "user:dora", ConsistencyToken.encode(tenant, next))).isTrue();

    // A revision no node has written: the request times out, loaded or not.
    String future = ConsistencyToken.encode(other, Long.MAX_VALUE / 2);
    HttpResponse<String> late =
        ServerHttp.send(
            server,
            ADMIN,
            "POST",
            "/stores/" + other + "/check",
            "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:bob\"},"
                + "\"consistency_token\":\""
                + future
                + "\"}");
    assertThat(late.statusCode()).as(late.body()).isEqualTo(503);
  }

  @Test
  void largestStores_listsLoadedStoresLargestFirst_withoutTheSystemStore() throws Exception {
    String small = newStore("small", "user:a");
    // The last one used stays loaded under this budget: make it the large one.
    String large = newStore("large", "user:a");
    StringBuilder writes = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      writes
          .append(i == 0 ? "" : ",")
          .append("{\"object\":\"doc:")
          .append(i + 2)
          .append("\",\"relation\":\"viewer\",\"user\":\"user:a\"}");
    }
    call(
        "POST",
        "/stores/" + large + "/write",
        "{\"writes\":{\"tuple_keys\":[" + writes + "]}}",
        200);
    assertThat(allowed(large, "user:a", "")).isTrue();

    JsonNode listed = call("GET", "/api/admin/stores/largest?limit=5", null, 200).get("stores");
    assertThat(listed).isNotEmpty();
    JsonNode first = listed.get(0);
    assertThat(first.get("id").asText()).isEqualTo(large);
    assertThat(first.get("name").asText()).isEqualTo("large");
    assertThat(first.get("tuples").asInt()).isEqualTo(51);
    assertThat(first.get("estimated_bytes").asLong()).isPositive();
    assertThat(java.time.Instant.parse(first.get("last_used").asText())).isNotNull();
    List<String> ids = new ArrayList<>();
    listed.forEach(item -> ids.add(item.get("id").asText()));
    assertThat(ids).doesNotContain(server.systemStoreId(), small);

    assertThat(call("GET", "/api/admin/stores/largest?limit=1", null, 200).get("stores"))
        .hasSize(1);
    for (String bad : List.of("0", "101", "ten", "-1")) {
      JsonNode error = call("GET", "/api/admin/stores/largest?limit=" + bad, null, 400);
      assertThat(error.get("code").asText()).as(bad).isEqualTo("validation_error");
    }
  }

  @Test
  void largestStores_needsTheAdminRight() throws Exception {
    String id = newStore("rights", "user:a");
    String storeAdmin =
        call(
                "POST",
                "/api/keys",
                "{\"name\":\"sa\",\"store_id\":\"" + id + "\",\"role\":\"admin\"}",
                201)
            .get("key")
            .asText();
    String auditor =
        call("POST", "/api/keys", "{\"name\":\"au\",\"auditor\":true}", 201).get("key").asText();
    for (String key : List.of(storeAdmin, auditor)) {
      assertThat(
              ServerHttp.send(server, key, "GET", "/api/admin/stores/largest", null).statusCode())
          .isEqualTo(403);
    }
    assertThat(ServerHttp.send(server, null, "GET", "/api/admin/stores/largest", null).statusCode())
        .isEqualTo(401);
  }
}
