package dev.castellan.server.directory;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.Poll;
import dev.castellan.server.ServerHttp;
import dev.castellan.server.StoreKind;
import dev.castellan.store.PendingStore;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Imports that name people by identity, over real HTTP on every store (ADR 0024): known emails are
 * written as {@code user:<directory id>}, unknown ones held and written when SCIM creates the user
 * or an administrator links the identity; a bad row writes nothing; held rows are listed, dropped
 * by source, and dropped with an audit entry when the model no longer admits them.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class PendingIdentitiesHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final String MODEL =
      "{\"schema_version\":\"1.1\",\"type_definitions\":[{\"type\":\"user\"},"
          + "{\"type\":\"doc\",\"relations\":{\"viewer\":{\"this\":{}},\"editor\":{\"this\":{}}},"
          + "\"metadata\":{\"relations\":{\"viewer\":{\"directly_related_user_types\":"
          + "[{\"type\":\"user\"}]},\"editor\":{\"directly_related_user_types\":"
          + "[{\"type\":\"user\"}]}}}}]}";
  private static final String VIEWER_ONLY =
      "{\"schema_version\":\"1.1\",\"type_definitions\":[{\"type\":\"user\"},"
          + "{\"type\":\"doc\",\"relations\":{\"viewer\":{\"this\":{}}},"
          + "\"metadata\":{\"relations\":{\"viewer\":{\"directly_related_user_types\":"
          + "[{\"type\":\"user\"}]}}}}]}";

  @Parameter StoreKind kind;

  private static StoreKind.TestStore testStore;
  private static CastellanServer server;
  private static String scimKey;
  private String store;

  @BeforeParameterizedClassInvocation
  static void start(StoreKind kind) throws Exception {
    testStore = kind.create();
    server = testStore.startServer(ServerHttp.loopback().withBootstrapToken(ADMIN));
    scimKey =
        ServerHttp.json(
                ServerHttp.send(
                    server, ADMIN, "POST", "/api/keys", "{\"name\":\"okta\",\"scim\":true}"),
                201)
            .get("key")
            .asText();
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
  }

  @BeforeEach
  void storeWithModel() throws Exception {
    store =
        ServerHttp.json(send("POST", "/stores", "{\"name\":\"drive\"}"), 201).get("id").asText();
    ServerHttp.json(send("POST", "/stores/" + store + "/authorization-models", MODEL), 201);
  }

  private static HttpResponse<String> send(String method, String path, String body)
      throws Exception {
    return ServerHttp.send(server, ADMIN, method, path, body);
  }

  private static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** A SCIM user with one email; its directory id. */
  private static String scimUser(String userName, String email) throws Exception {
    HttpResponse<String> response =
        ServerHttp.send(
            server,
            scimKey,
            "POST",
            "/scim/v2/Users",
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\""
                + userName
                + "\",\"emails\":[{\"value\":\""
                + email
                + "\",\"primary\":true}]}",
            Map.of("Content-Type", "application/scim+json"));
    return ServerHttp.json(response, 201).get("id").asText();
  }

  private JsonNode importRows(String rows) throws Exception {
    return ServerHttp.json(importResponse("drive", rows), 200);
  }

  private HttpResponse<String> importResponse(String source, String rows) throws Exception {
    return send(
        "POST",
        "/api/stores/" + store + "/imports",
        "{\"source\":\"" + source + "\",\"tuples\":[" + rows + "]}");
  }

  private static String byEmail(String object, String email) {
    return "{\"object\":\""
        + object
        + "\",\"relation\":\"viewer\",\"identity\":{\"kind\":\"email\",\"value\":\""
        + email
        + "\"}}";
  }

  private boolean allowed(String object, String user) throws Exception {
    return ServerHttp.json(
            send(
                "POST",
                "/stores/" + store + "/check",
                "{\"tuple_key\":{\"object\":\""
                    + object
                    + "\",\"relation\":\"viewer\",\"user\":\""
                    + user
                    + "\"}}"),
            200)
        .get("allowed")
        .asBoolean();
  }

  private JsonNode pending() throws Exception {
    return ServerHttp.json(send("GET", "/api/stores/" + store + "/pending", null), 200);
  }

  private static JsonNode audit(String action) throws Exception {
    return ServerHttp.json(send("GET", "/api/audit?limit=1000&action=" + action, null), 200);
  }

  @Test
  void knownEmails_areWrittenAsDirectoryUsers_unknownOnesHeld_andAppliedWhenScimCreatesTheUser()
      throws Exception {
    String alice = unique("alice");
    String aliceId = scimUser(alice, alice + "@example.com");
    String carol = unique("carol");
    JsonNode answer =
        importRows(
            byEmail("doc:1", alice.toUpperCase(java.util.Locale.ROOT) + "@Example.com")
                + ","
                + byEmail("doc:2", carol + "@example.com")
                + ",{\"object\":\"doc:3\",\"relation\":\"viewer\",\"user\":\"user:bob\"}");
    assertThat(answer.get("written").asInt()).isEqualTo(2);
    assertThat(answer.get("pending").asInt()).isEqualTo(1);
    assertThat(answer.get("unchanged").asInt()).isZero();
    assertThat(answer.get("consistency_token").asText()).isNotEmpty();
    assertThat(allowed("doc:1", "user:" + aliceId)).isTrue();
    assertThat(allowed("doc:3", "user:bob")).isTrue();
    JsonNode held = pending();
    assertThat(held.get("total").asInt()).isEqualTo(1);
    assertThat(held.get("pending").get(0).get("identity").get("value").asText())
        .isEqualTo(carol + "@example.com");
    assertThat(held.get("pending").get(0).get("source").asText()).isEqualTo("drive");

    // The same import again changes nothing.
    JsonNode again =
        importRows(
            byEmail("doc:1", alice + "@example.com")
                + ","
                + byEmail("doc:2", carol + "@example.com"));
    assertThat(again.get("written").asInt()).isZero();
    assertThat(again.get("pending").asInt()).isZero();
    assertThat(again.get("unchanged").asInt()).isEqualTo(2);

    String carolId = scimUser(carol, carol + "@example.com");
    assertThat(allowed("doc:2", "user:" + carolId)).isTrue();
    assertThat(pending().get("total").asInt()).isZero();
    Poll.until(
        "the applied rows' audit entry",
        Duration.ofSeconds(10),
        () -> audit(PendingIdentities.APPLIED).toString().contains("user:" + carolId));
  }

  @Test
  void anEmailAddedByScimPatch_appliesTheRowsHeldForIt() throws Exception {
    String gail = unique("gail");
    String work = gail + "@work.example.com";
    importRows(byEmail("doc:5", work));
    String gailId = scimUser(gail, gail + "@example.com");
    assertThat(allowed("doc:5", "user:" + gailId)).isFalse();
    HttpResponse<String> patched =
        ServerHttp.send(
            server,
            scimKey,
            "PATCH",
            "/scim/v2/Users/" + gailId,
            "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
                + "[{\"op\":\"add\",\"path\":\"emails\",\"value\":[{\"value\":\""
                + work
                + "\"}]}]}",
            Map.of("Content-Type", "application/scim+json"));
    assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);
    assertThat(allowed("doc:5", "user:" + gailId)).isTrue();
    assertThat(pending().get("total").asInt()).isZero();
  }

  @Test
  void aSlackIdentity_isAppliedWhenAnAdministratorLinksIt() throws Exception {
    String slackUser = unique("U");
    importRows(
        "{\"object\":\"doc:9\",\"relation\":\"viewer\",\"identity\":"
            + "{\"kind\":\"slack\",\"namespace\":\"T0ACME\",\"value\":\""
            + slackUser
            + "\"}}");
    String dave = unique("dave");
    String daveId = scimUser(dave, dave + "@example.com");
    assertThat(allowed("doc:9", "user:" + daveId)).isFalse();
    String identity =
        "{\"kind\":\"slack\",\"namespace\":\"T0ACME\",\"value\":\"" + slackUser + "\"}";
    JsonNode linked =
        ServerHttp.json(send("POST", "/api/users/" + daveId + "/identities", identity), 201);
    assertThat(linked.get("applied").asInt()).isEqualTo(1);
    assertThat(allowed("doc:9", "user:" + daveId)).isTrue();
    assertThat(pending().get("total").asInt()).isZero();
    // Linking it again is no change; another user cannot have it.
    ServerHttp.json(send("POST", "/api/users/" + daveId + "/identities", identity), 200);
    String erin = unique("erin");
    String erinId = scimUser(erin, erin + "@example.com");
    JsonNode taken =
        ServerHttp.json(send("POST", "/api/users/" + erinId + "/identities", identity), 409);
    assertThat(taken.get("code").asText()).isEqualTo("uniqueness_conflict");
    // Listed on the user, and on its own route.
    JsonNode user = ServerHttp.json(send("GET", "/api/users/" + daveId, null), 200);
    assertThat(user.get("identities").toString()).contains(slackUser);
    JsonNode list = ServerHttp.json(send("GET", "/api/users/" + daveId + "/identities", null), 200);
    assertThat(list.get("identities")).hasSize(1);
    String query = "?kind=slack&namespace=T0ACME&value=" + slackUser;
    assertThat(send("DELETE", "/api/users/" + daveId + "/identities" + query, null).statusCode())
        .isEqualTo(204);
    assertThat(send("DELETE", "/api/users/" + daveId + "/identities" + query, null).statusCode())
        .isEqualTo(404);
    Poll.until(
        "the link's audit entry",
        Duration.ofSeconds(10),
        () -> audit("directory.identity.linked").toString().contains("user:" + daveId));
  }

  @Test
  void anInvalidRow_writesNothing_andItsErrorNamesTheRow() throws Exception {
    String nobody = unique("nobody");
    HttpResponse<String> refused =
        importResponse(
            "drive",
            "{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:bob\"},"
                + byEmail("doc:2", nobody + "@example.com")
                + ",{\"object\":\"doc:3\",\"relation\":\"owner\",\"identity\":"
                + "{\"kind\":\"email\",\"value\":\"x@example.com\"}}");
    JsonNode error = ServerHttp.json(refused, 400);
    assertThat(error.get("code").asText()).isEqualTo("validation_error");
    assertThat(error.get("message").asText()).contains("tuples[2]").contains("owner");
    assertThat(allowed("doc:1", "user:bob")).isFalse();
    assertThat(pending().get("total").asInt()).isZero();
  }

  @Test
  void badRequests_areRefusedWithStableCodes() throws Exception {
    StringBuilder many = new StringBuilder();
    for (int i = 0; i <= 1_000; i++) {
      many.append(i == 0 ? "" : ",").append(byEmail("doc:" + i, "p" + i + "@example.com"));
    }
    assertThat(ServerHttp.json(importResponse("drive", many.toString()), 400).get("code").asText())
        .isEqualTo("exceeded_entity_limit");
    assertThat(importResponse("Drive Share", byEmail("doc:1", "a@example.com")).statusCode())
        .isEqualTo(400);
    String both =
        "{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:a\",\"identity\":"
            + "{\"kind\":\"email\",\"value\":\"a@example.com\"}}";
    assertThat(ServerHttp.json(importResponse("drive", both), 400).get("message").asText())
        .contains("not both");
    String badKind =
        "{\"object\":\"doc:1\",\"relation\":\"viewer\",\"identity\":{\"kind\":\"E mail\","
            + "\"value\":\"a@example.com\"}}";
    assertThat(importResponse("drive", badKind).statusCode()).isEqualTo(400);
    assertThat(send("DELETE", "/api/stores/" + store + "/pending", null).statusCode())
        .isEqualTo(400);
    assertThat(pending().get("total").asInt()).isZero();
  }

  @Test
  void heldRows_areDroppedBySource() throws Exception {
    importRows(byEmail("doc:1", unique("f") + "@example.com"));
    ServerHttp.json(importResponse("slack", byEmail("doc:2", unique("g") + "@example.com")), 200);
    JsonNode dropped =
        ServerHttp.json(
            send("DELETE", "/api/stores/" + store + "/pending?source=drive", null), 200);
    assertThat(dropped.get("dropped").asInt()).isEqualTo(1);
    JsonNode left = pending();
    assertThat(left.get("total").asInt()).isEqualTo(1);
    assertThat(left.get("pending").get(0).get("source").asText()).isEqualTo("slack");
  }

  @Test
  void aHeldRowTheModelNoLongerAdmits_isDroppedWithAnAuditEntry_notWritten() throws Exception {
    String henry = unique("henry");
    importRows(
        "{\"object\":\"doc:7\",\"relation\":\"editor\",\"identity\":{\"kind\":\"email\","
            + "\"value\":\""
            + henry
            + "@example.com\"},\"condition\":null}");
    ServerHttp.json(send("POST", "/stores/" + store + "/authorization-models", VIEWER_ONLY), 201);
    String henryId = scimUser(henry, henry + "@example.com");
    assertThat(pending().get("total").asInt()).isZero();
    JsonNode read =
        ServerHttp.json(
            send("POST", "/stores/" + store + "/read", "{\"tuple_key\":{\"object\":\"doc:7\"}}"),
            200);
    assertThat(read.get("tuples")).isEmpty();
    Poll.until(
        "the dropped row's audit entry",
        Duration.ofSeconds(10),
        () -> audit(PendingIdentities.DROPPED).toString().contains("user:" + henryId));
  }

  @Test
  void aFullStore_refusesTheImportWhole_withAStableCode() throws Exception {
    // The store contract fills a store on every database; the answer the API gives for it does
    // not depend on the database, so the memory store alone is filled here (a second is enough).
    if (kind != StoreKind.MEMORY) {
      return;
    }
    PendingStore part = testStore.store().pendingStore();
    for (int batch = 0; batch < PendingStore.MAX_PER_STORE / PendingStore.MAX_BATCH; batch++) {
      java.util.List<dev.castellan.store.PendingTuple> rows = new java.util.ArrayList<>();
      for (int i = 0; i < PendingStore.MAX_BATCH; i++) {
        rows.add(
            dev.castellan.store.PendingTuple.of(
                "doc:" + batch + "-" + i,
                "viewer",
                dev.castellan.store.Identity.email("p" + i + "@example.com"),
                "cli"));
      }
      part.hold(store, rows);
    }
    HttpResponse<String> refused =
        importResponse(
            "drive",
            "{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:bob\"},"
                + byEmail("doc:x", unique("q") + "@example.com"));
    assertThat(ServerHttp.json(refused, 400).get("code").asText())
        .isEqualTo("exceeded_entity_limit");
    assertThat(allowed("doc:1", "user:bob")).as("nothing written").isFalse();
  }

  private static void scimWrite(String method, String userId, String body) throws Exception {
    HttpResponse<String> response =
        ServerHttp.send(
            server,
            scimKey,
            method,
            "/scim/v2/Users/" + userId,
            body,
            Map.of("Content-Type", "application/scim+json"));
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
  }

  private static void scimPatch(String userId, String operations) throws Exception {
    scimWrite(
        "PATCH",
        userId,
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["
            + operations
            + "]}");
  }

  private static final String DEACTIVATE =
      "{\"op\":\"replace\",\"path\":\"active\",\"value\":false}";

  @Test
  void aDeactivatedUsersRows_stayHeldThroughImportsWritesAndLinks_untilScimReactivatesThem()
      throws Exception {
    String ivan = unique("ivan");
    String ivanId = scimUser(ivan, ivan + "@example.com");
    scimPatch(ivanId, DEACTIVATE);

    // An import naming the deactivated person holds the row instead of writing it.
    JsonNode answer = importRows(byEmail("doc:11", ivan + "@example.com"));
    assertThat(answer.get("written").asInt()).isZero();
    assertThat(answer.get("pending").asInt()).isEqualTo(1);
    // Neither a SCIM write that adds an email while inactive, nor a link, applies its rows.
    String work = ivan + "@work.example.com";
    importRows(byEmail("doc:12", work));
    scimPatch(
        ivanId, "{\"op\":\"add\",\"path\":\"emails\",\"value\":[{\"value\":\"" + work + "\"}]}");
    String slackUser = unique("U");
    String slack = "{\"kind\":\"slack\",\"namespace\":\"T0ACME\",\"value\":\"" + slackUser + "\"}";
    importRows("{\"object\":\"doc:13\",\"relation\":\"viewer\",\"identity\":" + slack + "}");
    JsonNode linked =
        ServerHttp.json(send("POST", "/api/users/" + ivanId + "/identities", slack), 201);
    assertThat(linked.get("applied").asInt()).isZero();
    assertThat(pending().get("total").asInt()).isEqualTo(3);
    for (String doc : java.util.List.of("doc:11", "doc:12", "doc:13")) {
      assertThat(allowed(doc, "user:" + ivanId)).as(doc).isFalse();
    }

    // Reactivation applies them all.
    scimPatch(ivanId, "{\"op\":\"replace\",\"path\":\"active\",\"value\":true}");
    assertThat(pending().get("total").asInt()).isZero();
    for (String doc : java.util.List.of("doc:11", "doc:12", "doc:13")) {
      assertThat(allowed(doc, "user:" + ivanId)).as(doc).isTrue();
    }
    Poll.until(
        "the applied rows' audit entries",
        Duration.ofSeconds(10),
        () -> {
          String entries = audit(PendingIdentities.APPLIED).toString();
          return entries.contains("email:" + ivan + "@example.com")
              && entries.contains("email:" + work)
              && entries.contains("slack:T0ACME/" + slackUser);
        });
  }

  @Test
  void theWriteThatDeactivatesAUser_appliesNoRows_andAReplaceReactivatingItDoes() throws Exception {
    String jane = unique("jane");
    String janeId = scimUser(jane, jane + "@example.com");
    String work = jane + "@work.example.com";
    importRows(byEmail("doc:21", work));
    // One patch gives the user the held email and deactivates it: the rows stay held.
    scimPatch(
        janeId,
        "{\"op\":\"add\",\"path\":\"emails\",\"value\":[{\"value\":\""
            + work
            + "\"}]},"
            + DEACTIVATE);
    assertThat(pending().get("total").asInt()).isEqualTo(1);
    assertThat(allowed("doc:21", "user:" + janeId)).isFalse();

    scimWrite(
        "PUT",
        janeId,
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\""
            + jane
            + "\",\"active\":true,\"emails\":[{\"value\":\""
            + work
            + "\"}]}");
    assertThat(allowed("doc:21", "user:" + janeId)).isTrue();
    assertThat(pending().get("total").asInt()).isZero();
  }
}
