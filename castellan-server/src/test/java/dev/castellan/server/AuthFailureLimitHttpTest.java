package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.audit.AuditFilter;
import dev.castellan.audit.AuditRecord;
import dev.castellan.server.auth.AuthFailureLimit;
import dev.castellan.server.auth.TrustedProxies;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.PageRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The per-source limit on failed authentications over HTTP: 429 with {@code Retry-After} past the
 * limit, the source taken from {@code X-Forwarded-For} only behind a trusted proxy, and never a 429
 * on the endpoints that relay end users' credentials ({@code /authz/...}, {@code /api/authorize}).
 * Every request of these tests comes from 127.0.0.1.
 */
class AuthFailureLimitHttpTest {
  private static final String ADMIN = "limit-admin-token-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private CastellanServer server;
  private MemoryStore store;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private void start(String trustedProxies, AuthFailureLimit limit) {
    store = new MemoryStore();
    server =
        CastellanServer.start(
            ServerHttp.loopback()
                .withBootstrapToken(ADMIN)
                .withTrustedProxies(TrustedProxies.parse(trustedProxies))
                .withAuthFailureLimit(limit),
            store);
  }

  private HttpResponse<String> get(String path, String token, String... headers) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static int status(HttpResponse<String> response) {
    return response.statusCode();
  }

  private List<AuditRecord> authFailures() {
    assertThat(server.audit().flush(Duration.ofSeconds(5))).isTrue();
    return store.auditRecords().read(AuditFilter.ALL, new PageRequest(1000, "")).items().stream()
        .filter(r -> r.entry().api().equals("auth-failure"))
        .toList();
  }

  @Test
  void behindATrustedProxy_oneAttackerCannotLockOutAnotherClientOfTheSameProxy() throws Exception {
    start("127.0.0.1/32", new AuthFailureLimit(5, Duration.ofMinutes(1)));
    for (int i = 0; i < 5; i++) {
      assertThat(status(get("/stores", "cst_guess_" + i, "X-Forwarded-For", "203.0.113.7")))
          .isEqualTo(401);
    }
    HttpResponse<String> refused = get("/stores", ADMIN, "X-Forwarded-For", "203.0.113.7");
    assertThat(refused.statusCode()).as("even with good credentials").isEqualTo(429);
    long retryAfter = Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow());
    assertThat(retryAfter).isBetween(1L, 60L);
    JsonNode body = JSON.readTree(refused.body());
    assertThat(body.get("code").asText()).isEqualTo("too_many_authentication_failures");
    assertThat(body.get("message").asText()).contains("203.0.113.7");

    // What the attacker writes to the left of the proxy's entry changes nothing.
    assertThat(status(get("/stores", ADMIN, "X-Forwarded-For", "198.51.100.2, 203.0.113.7")))
        .isEqualTo(429);

    // Another client behind the same proxy is served, and has its own budget.
    assertThat(status(get("/stores", ADMIN, "X-Forwarded-For", "198.51.100.2"))).isEqualTo(200);
    assertThat(status(get("/stores", "cst_typo_x", "X-Forwarded-For", "198.51.100.2")))
        .isEqualTo(401);
    assertThat(status(get("/stores", ADMIN, "X-Forwarded-For", "198.51.100.2"))).isEqualTo(200);
    // And so is the proxy itself, for its own calls.
    assertThat(status(get("/stores", ADMIN))).isEqualTo(200);

    assertThat(authFailures())
        .extracting(r -> r.entry().clientAddress())
        .as("each source's first refusal, recorded under the client's address")
        .containsExactly("203.0.113.7", "198.51.100.2");
  }

  @Test
  void anUntrustedPeer_cannotSpoofXForwardedFor_toEscapeTheLimitOrTheTrail() throws Exception {
    start("10.0.0.0/8", new AuthFailureLimit(5, Duration.ofMinutes(1)));
    for (int i = 0; i < 5; i++) {
      assertThat(status(get("/stores", "cst_guess_" + i, "X-Forwarded-For", "198.51.100." + i)))
          .isEqualTo(401);
    }
    HttpResponse<String> refused = get("/stores", ADMIN, "X-Forwarded-For", "198.51.100.77");
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("Retry-After")).isPresent();
    assertThat(authFailures())
        .singleElement()
        .satisfies(r -> assertThat(r.entry().clientAddress()).isEqualTo("127.0.0.1"));
  }

  @Test
  void theRefusalEnds_whenTheWindowHasPassed() throws Exception {
    start("", new AuthFailureLimit(2, Duration.ofSeconds(1)));
    assertThat(status(get("/stores", "cst_a_b"))).isEqualTo(401);
    assertThat(status(get("/stores", "cst_a_b"))).isEqualTo(401);
    HttpResponse<String> refused = get("/stores", ADMIN);
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
    Poll.until(
        "the end of the window", Duration.ofSeconds(10), () -> statusOf("/stores", ADMIN) == 200);
  }

  private int statusOf(String path, String token) {
    try {
      return get(path, token).statusCode();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void forwardAuthAndAuthorize_areNeverAnswered429_norCountAgainstTheAddress() throws Exception {
    start("", new AuthFailureLimit(2, Duration.ofMinutes(1)));
    String[] forwarded = {"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/workflows"};
    for (int i = 0; i < 10; i++) {
      assertThat(status(get("/authz/forward", "cst_user_" + i, forwarded))).isEqualTo(401);
      assertThat(status(get("/authz/envoy/workflows", "cst_user_" + i))).isEqualTo(401);
    }
    HttpResponse<String> authorize =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/api/authorize"))
                .header("Authorization", "Bearer cst_user_x")
                .POST(HttpRequest.BodyPublishers.ofString("{\"permission\":\"run\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(authorize.statusCode()).isEqualTo(401);
    assertThat(status(get("/stores", ADMIN)))
        .as("the gateway's failures do not count")
        .isEqualTo(200);

    // Once the address is refused on the API, forward-auth still answers as it always did.
    assertThat(status(get("/stores", "cst_guess_1"))).isEqualTo(401);
    assertThat(status(get("/stores", "cst_guess_2"))).isEqualTo(401);
    assertThat(status(get("/stores", ADMIN))).isEqualTo(429);
    assertThat(status(get("/authz/forward", "cst_user_y", forwarded))).isEqualTo(401);
    assertThat(status(get("/authz/forward", ADMIN, forwarded))).isNotEqualTo(429).isLessThan(500);
  }

  @Test
  void refusalsAreCountedInMetrics_apartFromFailedCredentials() throws Exception {
    start("", new AuthFailureLimit(1, Duration.ofMinutes(1)));
    assertThat(status(get("/stores", "cst_a_b"))).isEqualTo(401);
    assertThat(status(get("/stores", ADMIN))).isEqualTo(429);
    assertThat(status(get("/stores", ADMIN))).isEqualTo(429);
    String scrape = server.metrics().scrape(); // this address may not ask /metrics now
    assertThat(scrape).contains("castellan_authentication_throttled_total 2.0");
    assertThat(scrape).contains("castellan_authentication_failures_total{reason=\"api_key\"} 1.0");
  }
}
