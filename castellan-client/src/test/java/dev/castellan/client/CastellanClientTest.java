package dev.castellan.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client against a real local HTTP server: each kind of answer and how it is mapped. */
class CastellanClientTest {
  private FakeCastellan castellan;
  private CastellanClient client;

  @BeforeEach
  void start() throws IOException {
    castellan = new FakeCastellan();
    client = CastellanClient.builder().baseUrl(castellan.url()).build();
  }

  @AfterEach
  void stop() {
    castellan.close();
  }

  @Test
  void anAllow_isADecisionWithSubjectRolesAndPermission() {
    Decision decision = client.authorize("role-analyst", "run", "workflow:42");

    assertThat(decision.allowed()).isTrue();
    assertThat(decision.subject()).isEqualTo("user:analyst-user");
    assertThat(decision.roles()).containsExactly("analyst");
    assertThat(decision.permission()).isEqualTo("Workflows.Run");
    assertThat(decision.reason()).isNotEmpty();
    FakeCastellan.Received sent = castellan.received.getFirst();
    assertThat(sent.authorization()).isEqualTo("Bearer role-analyst");
    assertThat(sent.body().get("permission").asText()).isEqualTo("run");
    assertThat(sent.body().get("resource").asText()).isEqualTo("workflow:42");
  }

  @Test
  void aDenial_isADecision_notAnException() {
    Decision decision = client.authorize("role-viewer", "create");

    assertThat(decision.allowed()).isFalse();
    assertThat(castellan.received.getFirst().body().has("resource")).isFalse();
  }

  @Test
  void a401_isUnauthenticated_withCastellansMessage() {
    assertThatThrownBy(() -> client.authorize("expired", "read"))
        .isInstanceOf(CastellanClientException.Unauthenticated.class)
        .hasMessage("the token has expired");
  }

  @Test
  void a400_isRejected_withStatusAndCode() {
    assertThatThrownBy(() -> client.authorize("role-admin", "fly"))
        .isInstanceOfSatisfying(
            CastellanClientException.Rejected.class,
            e -> {
              assertThat(e.status()).isEqualTo(400);
              assertThat(e.code()).isEqualTo("validation_error");
              assertThat(e.getMessage()).contains("unknown permission fly");
            });
  }

  @Test
  void serverErrorsAndRateLimits_areUnavailable() {
    for (int status : new int[] {500, 502, 503, 429}) {
      castellan.answer =
          new FakeCastellan.Answer(
              status, "application/json", "{\"code\":\"internal_error\"}", false);
      assertThatThrownBy(() -> client.authorize("role-admin", "read"))
          .isInstanceOf(CastellanClientException.Unavailable.class)
          .hasMessageContaining(String.valueOf(status));
    }
  }

  @Test
  void anAnswerThatIsNotADecision_isUnavailable_neverAnAllow() {
    for (String body : new String[] {"<html>ok</html>", "{\"allowed\":\"true\"}", "[]", ""}) {
      castellan.answer = new FakeCastellan.Answer(200, "text/html", body, false);
      assertThatThrownBy(() -> client.authorize("role-admin", "read"))
          .as(body)
          .isInstanceOf(CastellanClientException.Unavailable.class);
    }
  }

  @Test
  void anOversizedAnswer_isUnavailable() {
    String huge = "{\"allowed\":true,\"reason\":\"" + "x".repeat(70_000) + "\"}";
    castellan.answer = new FakeCastellan.Answer(200, "application/json", huge, false);
    assertThatThrownBy(() -> client.authorize("role-admin", "read"))
        .isInstanceOf(CastellanClientException.Unavailable.class)
        .hasMessageContaining("larger than");
  }

  @Test
  void aClosedPort_isUnavailable() throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    CastellanClient nowhere = CastellanClient.builder().baseUrl("http://127.0.0.1:" + port).build();
    assertThatThrownBy(() -> nowhere.authorize("role-admin", "read"))
        .isInstanceOf(CastellanClientException.Unavailable.class)
        .hasMessageContaining("unreachable");
  }

  @Test
  void aSlowServer_isUnavailable_afterTheRequestTimeout() {
    castellan.answer =
        new FakeCastellan.Answer(200, "application/json", "{\"allowed\":true}", true);
    CastellanClient impatient =
        CastellanClient.builder()
            .baseUrl(castellan.url())
            .requestTimeout(Duration.ofMillis(200))
            .build();
    long start = System.nanoTime();
    assertThatThrownBy(() -> impatient.authorize("role-admin", "read"))
        .isInstanceOf(CastellanClientException.Unavailable.class)
        .hasMessageContaining("did not answer within");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
  }

  @Test
  void aRedirect_isNotFollowed_soTheTokenGoesNowhereElse() {
    castellan.answer = new FakeCastellan.Answer(302, "text/plain", "", false);
    assertThatThrownBy(() -> client.authorize("role-admin", "read"))
        .isInstanceOfSatisfying(
            CastellanClientException.Rejected.class, e -> assertThat(e.status()).isEqualTo(302));
    assertThat(castellan.received).hasSize(1);
  }

  @Test
  void malformedTokens_areUnauthenticated_withoutARequest() {
    for (String token :
        new String[] {"", "two words", "a\r\nX-Injected: 1", "é", "x".repeat(9000)}) {
      assertThatThrownBy(() -> client.authorize(token, "read"))
          .isInstanceOf(CastellanClientException.Unauthenticated.class)
          .message()
          .doesNotContain("X-Injected");
    }
    assertThat(castellan.received).isEmpty();
  }

  @Test
  void aBaseUrlWithAPathPrefix_isKept() throws IOException {
    try (FakeCastellan prefixed = new FakeCastellan("/castellan")) {
      CastellanClient behindProxy =
          CastellanClient.builder().baseUrl(prefixed.url() + "/castellan/").build();
      assertThat(behindProxy.authorize("role-admin", "delete").allowed()).isTrue();
    }
  }

  @Test
  void theBuilder_refusesBadSettings_sayingWhatIsWrong() {
    assertThatThrownBy(() -> CastellanClient.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("base URL is required");
    assertThatThrownBy(() -> CastellanClient.builder().baseUrl("ftp://castellan"))
        .hasMessageContaining("http(s)");
    assertThatThrownBy(() -> CastellanClient.builder().baseUrl("http://castellan/?x=1"))
        .hasMessageContaining("no query");
    assertThatThrownBy(() -> CastellanClient.builder().requestTimeout(Duration.ZERO))
        .hasMessageContaining("requestTimeout must be positive");
    assertThatThrownBy(() -> CastellanClient.builder().cache(Duration.ofSeconds(-1)))
        .hasMessageContaining("must not be negative");
    assertThatThrownBy(() -> client.authorize("role-admin", " "))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theCache_answersRepeatsLocally_perTokenPermissionAndResource_untilTheTtl() {
    MutableClock clock = new MutableClock();
    CastellanClient cached =
        CastellanClient.builder()
            .baseUrl(castellan.url())
            .cache(Duration.ofSeconds(5))
            .clock(clock)
            .build();

    assertThat(cached.authorize("role-viewer", "read", "workflow:1").allowed()).isTrue();
    assertThat(cached.authorize("role-viewer", "read", "workflow:1").allowed()).isTrue();
    assertThat(castellan.received).hasSize(1);

    cached.authorize("role-viewer", "read", "workflow:2");
    cached.authorize("role-viewer", "run", "workflow:1");
    cached.authorize("role-admin", "read", "workflow:1");
    assertThat(castellan.received).hasSize(4);

    clock.advance(Duration.ofMillis(4_999));
    cached.authorize("role-viewer", "read", "workflow:1");
    assertThat(castellan.received).hasSize(4);
    clock.advance(Duration.ofMillis(1));
    cached.authorize("role-viewer", "read", "workflow:1");
    assertThat(castellan.received).hasSize(5);
  }

  @Test
  void theCache_neverKeepsADecisionPastTheTokensExpiry() {
    MutableClock clock = new MutableClock();
    CastellanClient cached =
        CastellanClient.builder()
            .baseUrl(castellan.url())
            .cache(Duration.ofMinutes(5))
            .clock(clock)
            .build();
    long now = clock.instant().getEpochSecond();
    // Unsigned JWT-shaped tokens: the fake does not verify, and the cache only reads exp.
    String soon = "role-admin." + payload(now + 2) + ".sig";
    cached.authorize(soon, "read");
    cached.authorize(soon, "read");
    assertThat(castellan.received).hasSize(1);
    clock.advance(Duration.ofSeconds(2));
    cached.authorize(soon, "read");
    assertThat(castellan.received).hasSize(2);

    String past = "role-admin." + payload(now - 10) + ".sig";
    cached.authorize(past, "read");
    cached.authorize(past, "read");
    assertThat(castellan.received).hasSize(4);
  }

  @Test
  void unauthenticatedAnswers_areNotCached() {
    CastellanClient cached =
        CastellanClient.builder().baseUrl(castellan.url()).cache(Duration.ofMinutes(1)).build();
    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(() -> cached.authorize("expired", "read"))
          .isInstanceOf(CastellanClientException.Unauthenticated.class);
    }
    assertThat(castellan.received).hasSize(2);
  }

  @Test
  void aFullCache_makesRoomInsteadOfGrowing() {
    DecisionCache cache = new DecisionCache(Duration.ofMinutes(1), 3, new MutableClock());
    Decision decision = new Decision(true, "", "user:a", java.util.List.of(), "");
    for (int i = 0; i < 10; i++) {
      cache.put(DecisionCache.key("t" + i, "read", ""), "t" + i, decision);
      assertThat(cache.size()).isLessThanOrEqualTo(3);
    }
    assertThat(cache.get(DecisionCache.key("t9", "read", ""))).isEqualTo(decision);
  }

  private static String payload(long exp) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(("{\"exp\":" + exp + "}").getBytes(StandardCharsets.UTF_8));
  }

  /** A clock tests move by hand. */
  static final class MutableClock extends Clock {
    private volatile Instant now = Instant.parse("2026-11-25T10:00:00Z");

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
