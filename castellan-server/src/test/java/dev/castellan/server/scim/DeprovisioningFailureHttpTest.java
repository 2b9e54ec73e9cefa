package dev.castellan.server.scim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.audit.AuditRecords;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.server.auth.JwtSettings;
import dev.castellan.store.Change;
import dev.castellan.store.CredentialStore;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DocumentStore;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.ModelStore;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.Store;
import dev.castellan.store.StoreCatalog;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleStore;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.WriteResult;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A deprovisioning that fails half-way (the system store refuses the revocation once) is not left
 * silently: the token is refused already, the audit trail has an error entry, the identity
 * provider's retry finishes it, and so does the next start of a node.
 */
class DeprovisioningFailureHttpTest {
  private static final String ADMIN = "deprov-fail-admin-token-0123456789abcdef";
  private static final String SECRET = "deprov-fail-secret-0123456789abcdef-xyz";
  private static final String DEACTIVATE =
      "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
          + "\"Operations\":[{\"op\":\"replace\",\"value\":{\"active\":false}}]}";

  private final MemoryStore memory = new MemoryStore();
  private final AtomicBoolean failRevocation = new AtomicBoolean();
  private CastellanServer server;
  private String scimKey;

  @BeforeEach
  void start() throws Exception {
    server = startServer();
    scimKey =
        ServerHttp.json(
                ServerHttp.send(
                    server, ADMIN, "POST", "/api/keys", "{\"name\":\"okta\",\"scim\":true}"),
                201)
            .get("key")
            .asText();
    ServerHttp.json(
        ServerHttp.send(server, ADMIN, "POST", "/api/roles", "{\"name\":\"Runner\"}"), 201);
    ServerHttp.json(
        ServerHttp.send(
            server, ADMIN, "PUT", "/api/roles/runner/permissions", "{\"permission_ids\":[103]}"),
        200);
  }

  @AfterEach
  void stop() {
    server.close();
    memory.close();
  }

  private CastellanServer startServer() {
    return CastellanServer.start(
        ServerHttp.loopback().withBootstrapToken(ADMIN).withJwt(JwtSettings.hs256(SECRET)),
        new FailingRevocations(memory, failRevocation));
  }

  @Test
  void aFailedRevocation_refusesTheTokenAlready_isAudited_andTheRetryFinishesIt() throws Exception {
    String id = provision("erin");
    failRevocation.set(true);
    HttpResponse<String> failed = scim("PATCH", "/Users/" + id, DEACTIVATE);
    assertThat(failed.statusCode()).isEqualTo(503);
    assertThat(failed.body()).doesNotContain("injected");
    // Visible and already safe: the token is refused, the trail says it is unfinished.
    assertThat(ServerHttp.json(call(token("erin"), "GET", "/api/whoami"), 401).get("code").asText())
        .isEqualTo("user_deactivated");
    JsonNode entries = audit(id);
    assertThat(entries).hasSize(1);
    assertThat(entries.get(0).get("outcome").asText()).isEqualTo("error");
    assertThat(entries.get(0).get("reason").asText()).contains("unfinished");
    assertThat(authorize("user:erin")).isTrue();
    assertThat(pendingGauge()).isEqualTo("1.0");

    // The identity provider retries.
    failRevocation.set(false);
    HttpResponse<String> retried = scim("PATCH", "/Users/" + id, DEACTIVATE);
    assertThat(retried.statusCode()).isEqualTo(200);
    assertThat(retried.headers().firstValue("Castellan-Consistency-Token")).isPresent();
    assertThat(authorize("user:erin")).isFalse();
    assertThat(audit(id)).hasSize(2);
    assertThat(audit(id).get(1).get("outcome").asText()).isEqualTo("ok");
    assertThat(audit(id).get(1).get("reason").asText()).contains("role:runner#assignee@user:" + id);
    assertThat(pendingGauge()).isEqualTo("0.0");
  }

  @Test
  void aRetriedDelete_whoseUserIsGone_finishesAndAnswers204() throws Exception {
    String id = provision("fred");
    failRevocation.set(true);
    assertThat(scim("DELETE", "/Users/" + id, null).statusCode()).isEqualTo(503);
    failRevocation.set(false);
    HttpResponse<String> retried = scim("DELETE", "/Users/" + id, null);
    assertThat(retried.statusCode()).isEqualTo(204);
    assertThat(retried.headers().firstValue("Castellan-Consistency-Token")).isPresent();
    assertThat(authorize("user:fred")).isFalse();
    assertThat(scim("DELETE", "/Users/" + id, null).statusCode()).isEqualTo(404);
  }

  @Test
  void theNextStart_finishesAnUnfinishedDeprovisioning() throws Exception {
    String id = provision("gina");
    failRevocation.set(true);
    assertThat(scim("PATCH", "/Users/" + id, DEACTIVATE).statusCode()).isEqualTo(503);
    failRevocation.set(false);
    server.close();
    server = startServer();
    assertThat(authorize("user:gina")).isFalse();
    assertThat(audit(id).get(audit(id).size() - 1).get("outcome").asText()).isEqualTo("ok");
  }

  // ------------------------------------------------------------------ plumbing

  private String provision(String userName) throws Exception {
    String id =
        ServerHttp.json(scim("POST", "/Users", "{\"userName\":\"" + userName + "\"}"), 201)
            .get("id")
            .asText();
    assertThat(
            ServerHttp.send(
                    server,
                    ADMIN,
                    "POST",
                    "/api/roles/runner/members",
                    "{\"subject\":\"user:" + userName + "\"}")
                .statusCode())
        .isEqualTo(204);
    assertThat(authorize("user:" + userName)).isTrue();
    return id;
  }

  /** The value of castellan_directory_deprovisioning_pending in this node's scrape. */
  private String pendingGauge() throws Exception {
    String scrape = ServerHttp.send(server, ADMIN, "GET", "/metrics", null).body();
    return scrape
        .lines()
        .filter(line -> line.startsWith("castellan_directory_deprovisioning_pending "))
        .map(line -> line.substring(line.indexOf(' ') + 1).strip())
        .findFirst()
        .orElse("absent");
  }

  private static String token(String subject) throws Exception {
    return ServerHttp.hs256(SECRET, subject, Map.of(), Duration.ofHours(1));
  }

  private HttpResponse<String> scim(String method, String path, String body) throws Exception {
    return ServerHttp.send(
        server,
        scimKey,
        method,
        "/scim/v2" + path,
        body,
        body == null ? Map.of() : Map.of("Content-Type", "application/scim+json"));
  }

  private HttpResponse<String> call(String token, String method, String path) throws Exception {
    return ServerHttp.send(server, token, method, path, null);
  }

  private boolean authorize(String subject) throws Exception {
    return ServerHttp.json(
            ServerHttp.send(
                server,
                ADMIN,
                "POST",
                "/api/authorize",
                "{\"permission\":\"run\",\"subject\":\"" + subject + "\"}"),
            200)
        .get("allowed")
        .asBoolean();
  }

  private JsonNode audit(String userId) throws Exception {
    return ServerHttp.json(
            ServerHttp.send(
                server,
                ADMIN,
                "GET",
                "/api/audit?action="
                    + URLEncoder.encode(Deprovisioning.ACTION, StandardCharsets.UTF_8)
                    + "&subject=user:"
                    + userId,
                null),
            200)
        .get("entries");
  }

  /**
   * A memory store whose tuple writes that delete something fail while {@code fail} is set, as a
   * database that goes away between the directory write and the revocation would; closing it leaves
   * the memory store open for the next start.
   */
  private record FailingRevocations(MemoryStore memory, AtomicBoolean fail) implements Store {
    @Override
    public StoreCatalog storeCatalog() {
      return memory.storeCatalog();
    }

    @Override
    public TupleStore tupleStore() {
      TupleStore tuples = memory.tupleStore();
      return new TupleStore() {
        @Override
        public WriteResult write(String storeId, TupleWrite write) {
          if (fail.get() && !write.deletes().isEmpty()) {
            throw new CastellanException(ErrorCode.STORE_UNAVAILABLE, "injected failure");
          }
          return tuples.write(storeId, write);
        }

        @Override
        public WriteResult deleteMatching(String storeId, TupleFilter filter) {
          return tuples.deleteMatching(storeId, filter);
        }

        @Override
        public Page<StoredTuple> read(String storeId, TupleFilter filter, PageRequest page) {
          return tuples.read(storeId, filter, page);
        }

        @Override
        public long snapshot(String storeId, Consumer<StoredTuple> sink) {
          return tuples.snapshot(storeId, sink);
        }

        @Override
        public long revision(String storeId) {
          return tuples.revision(storeId);
        }

        @Override
        public List<Change> changesAfter(String storeId, long revision, int limit) {
          return tuples.changesAfter(storeId, revision, limit);
        }

        @Override
        public Page<Change> readChanges(
            String storeId, String objectType, Instant startTime, PageRequest page) {
          return tuples.readChanges(storeId, objectType, startTime, page);
        }

        @Override
        public int purgeExpired(String storeId, Instant now) {
          return tuples.purgeExpired(storeId, now);
        }
      };
    }

    @Override
    public ModelStore modelStore() {
      return memory.modelStore();
    }

    @Override
    public CredentialStore credentialStore() {
      return memory.credentialStore();
    }

    @Override
    public DocumentStore documentStore() {
      return memory.documentStore();
    }

    @Override
    public DirectoryStore directoryStore() {
      return memory.directoryStore();
    }

    @Override
    public dev.castellan.store.PendingStore pendingStore() {
      return memory.pendingStore();
    }

    @Override
    public AuditRecords auditRecords() {
      return memory.auditRecords();
    }

    @Override
    public void close() {}
  }
}
