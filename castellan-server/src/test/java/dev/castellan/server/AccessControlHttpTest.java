package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Castellan authorizes its own API with its own engine: admin, writer and reader rights per store,
 * a global admin, keys created, listed and revoked through the API, the system store hidden.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class AccessControlHttpTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
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

  /** The store this run of the suite is on; JUnit sets it, and hands it to start. */
  @Parameter StoreKind kind;

  private static StoreKind.TestStore testStore;
  private static CastellanServer server;

  record Response(int status, JsonNode body) {}

  @BeforeParameterizedClassInvocation
  static void start(StoreKind kind) {
    testStore = kind.create();
    server = testStore.startServer(ServerHttp.loopback().withBootstrapToken(ADMIN));
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    testStore.close();
  }

  private static Response call(String token, String method, String path, String body)
      throws Exception {
    HttpResponse<String> response = ServerHttp.send(server, token, method, path, body);
    JsonNode json =
        response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
    return new Response(response.statusCode(), json);
  }

  private static String newStore(String name) throws Exception {
    Response created = call(ADMIN, "POST", "/stores", "{\"name\":\"" + name + "\"}");
    assertThat(created.status()).isEqualTo(201);
    String id = created.body().get("id").asText();
    assertThat(call(ADMIN, "POST", "/stores/" + id + "/authorization-models", MODEL).status())
        .isEqualTo(201);
    return id;
  }

  private static String newKey(String body) throws Exception {
    Response created = call(ADMIN, "POST", "/api/keys", body);
    assertThat(created.status()).as(created.body().toString()).isEqualTo(201);
    return created.body().get("key").asText();
  }

  private static String write(String store, String object) {
    return "{\"writes\":{\"tuple_keys\":[{\"object\":\""
        + object
        + "\",\"relation\":\"viewer\",\"user\":\"user:anne\"}]}}";
  }

  private static final String CHECK =
      "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:anne\"}}";

  @Test
  void aReaderKey_readsItsStoreOnly_andCannotWriteOrAdminister() throws Exception {
    String mine = newStore("readers-own");
    String other = newStore("someone-else");
    String reader =
        newKey("{\"name\":\"reader\",\"store_id\":\"" + mine + "\",\"role\":\"reader\"}");

    assertThat(call(reader, "POST", "/stores/" + mine + "/check", CHECK).status()).isEqualTo(200);
    Response write = call(reader, "POST", "/stores/" + mine + "/write", write(mine, "doc:1"));
    assertThat(write.status()).isEqualTo(403);
    assertThat(write.body().get("code").asText()).isEqualTo("forbidden");
    assertThat(call(reader, "POST", "/stores/" + other + "/check", CHECK).status()).isEqualTo(403);
    assertThat(call(reader, "POST", "/stores", "{\"name\":\"nope\"}").status()).isEqualTo(403);
    assertThat(call(reader, "POST", "/stores/" + mine + "/authorization-models", MODEL).status())
        .isEqualTo(403);
    assertThat(call(reader, "DELETE", "/stores/" + mine, null).status()).isEqualTo(403);
    assertThat(call(reader, "GET", "/api/keys", null).status()).isEqualTo(403);

    List<String> listed = new ArrayList<>();
    call(reader, "GET", "/stores", null)
        .body()
        .get("stores")
        .forEach(s -> listed.add(s.get("id").asText()));
    assertThat(listed).containsExactly(mine);
  }

  @Test
  void aWriterKey_writes_andAStoreAdmin_grantsAccess() throws Exception {
    String storeId = newStore("writers");
    String writer =
        newKey("{\"name\":\"writer\",\"store_id\":\"" + storeId + "\",\"role\":\"writer\"}");
    assertThat(
            call(writer, "POST", "/stores/" + storeId + "/write", write(storeId, "doc:1")).status())
        .isEqualTo(200);
    assertThat(call(writer, "POST", "/stores/" + storeId + "/authorization-models", MODEL).status())
        .isEqualTo(403);

    String nobody = newKey("{\"name\":\"nobody\"}");
    String nobodySubject = call(nobody, "GET", "/api/whoami", null).body().get("subject").asText();
    assertThat(call(nobody, "POST", "/stores/" + storeId + "/check", CHECK).status())
        .isEqualTo(403);

    String storeAdmin =
        newKey("{\"name\":\"store-admin\",\"store_id\":\"" + storeId + "\",\"role\":\"admin\"}");
    Response grant =
        call(
            storeAdmin,
            "POST",
            "/api/stores/" + storeId + "/access",
            "{\"subject\":\"" + nobodySubject + "\",\"role\":\"reader\"}");
    assertThat(grant.status()).as(grant.body().toString()).isEqualTo(204);
    Response check = call(nobody, "POST", "/stores/" + storeId + "/check", CHECK);
    assertThat(check.status()).isEqualTo(200);
    assertThat(check.body().get("allowed").asBoolean()).isTrue();

    assertThat(
            call(
                    storeAdmin,
                    "DELETE",
                    "/api/stores/" + storeId + "/access",
                    "{\"subject\":\"" + nobodySubject + "\",\"role\":\"reader\"}")
                .status())
        .isEqualTo(204);
    assertThat(call(nobody, "POST", "/stores/" + storeId + "/check", CHECK).status())
        .isEqualTo(403);
  }

  @Test
  void keys_areListedWithoutSecrets_andARevokedKeyIsRefused() throws Exception {
    Response created = call(ADMIN, "POST", "/api/keys", "{\"name\":\"ci\",\"admin\":true}");
    String key = created.body().get("key").asText();
    String id = created.body().get("id").asText();
    assertThat(call(key, "GET", "/api/keys", null).status()).isEqualTo(200);

    Response list = call(ADMIN, "GET", "/api/keys", null);
    assertThat(list.body().toString())
        .contains(id)
        .doesNotContain(key.substring(key.lastIndexOf('_') + 1));

    assertThat(call(ADMIN, "DELETE", "/api/keys/" + id, null).status()).isEqualTo(204);
    Response after = call(key, "GET", "/api/keys", null);
    assertThat(after.status()).isEqualTo(401);
  }

  @Test
  void theSystemStore_isInvisibleThroughTheApi() throws Exception {
    List<String> names = new ArrayList<>();
    call(ADMIN, "GET", "/stores?page_size=100", null)
        .body()
        .get("stores")
        .forEach(s -> names.add(s.get("name").asText()));
    assertThat(names).doesNotContain("castellan-system");
    String systemId = server.systemStoreId();
    assertThat(call(ADMIN, "GET", "/stores/" + systemId, null).status()).isEqualTo(404);
    assertThat(
            call(
                    ADMIN,
                    "POST",
                    "/stores/" + systemId + "/write",
                    "{\"writes\":{\"tuple_keys\":[{\"object\":\"castellan:global\",\"relation\":\"admin\",\"user\":\"principal:x\"}]}}")
                .status())
        .isEqualTo(404);
  }
}
