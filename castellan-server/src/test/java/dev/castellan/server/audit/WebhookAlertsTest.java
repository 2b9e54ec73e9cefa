package dev.castellan.server.audit;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.store.MemoryStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Alerts reach a real webhook receiver (the JDK's HTTP server on loopback): repeated denials for
 * one subject, a burst of authentication failures from one address, admin grants and rejected
 * policy reloads, each as a JSON POST retried after a failure, and a log line.
 */
class WebhookAlertsTest {
  private static final String ADMIN = "alerts-admin-token-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private HttpServer receiver;
  private final BlockingQueue<JsonNode> delivered = new LinkedBlockingQueue<>();
  private final AtomicInteger requests = new AtomicInteger();

  /** The receiver answers 500 to this many requests before it accepts any. */
  private final AtomicInteger failFirst = new AtomicInteger(1);

  private CastellanServer server;
  private ListAppender<ILoggingEvent> logs;

  @BeforeEach
  void startReceiver() throws IOException {
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext(
        "/hook",
        exchange -> {
          byte[] body = exchange.getRequestBody().readAllBytes();
          requests.incrementAndGet();
          int status = failFirst.getAndDecrement() > 0 ? 500 : 204;
          if (status == 204) {
            delivered.add(JSON.readTree(new String(body, StandardCharsets.UTF_8)));
          }
          exchange.sendResponseHeaders(status, -1);
          exchange.close();
        });
    receiver.start();
    logs = new ListAppender<>();
    logs.start();
    ((Logger) LoggerFactory.getLogger(Alerts.class)).addAppender(logs);
  }

  @AfterEach
  void stop() {
    ((Logger) LoggerFactory.getLogger(Alerts.class)).detachAppender(logs);
    if (server != null) {
      server.close();
    }
    receiver.stop(0);
  }

  private String hook() {
    return "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
  }

  private void startServer(AlertRules rules) {
    server =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN),
            new MemoryStore(),
            AuditSettings.DEFAULT.withAlerts(
                rules.withWebhook(hook()).withRetries(4, Duration.ofMillis(20))));
  }

  private int call(String token, String method, String path, String body) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private JsonNode next() throws InterruptedException {
    JsonNode alert = delivered.poll(10, TimeUnit.SECONDS);
    assertThat(alert).as("an alert delivered to the webhook").isNotNull();
    return alert;
  }

  @Test
  void moreThanNDenialsForOneSubject_postsOneAlert_retriedAfterA500() throws Exception {
    startServer(AlertRules.NONE.withDenials(new AlertRules.Threshold(3, Duration.ofMinutes(5))));
    String model =
        ModelJson.write(
            ModelDsl.parse(
                "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [user]\n"));
    String store = createStore();
    assertThat(call(ADMIN, "POST", "/stores/" + store + "/authorization-models", model))
        .isEqualTo(201);
    String check =
        "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:mallory\"}}";
    for (int i = 0; i < 3; i++) {
      call(ADMIN, "POST", "/stores/" + store + "/check", check);
    }
    // The rules hear each event before the trail counts it as stored, so once flush returns an
    // alert for three denials would already have been logged and handed to the webhook.
    assertThat(server.audit().flush(Duration.ofSeconds(5))).isTrue();
    assertThat(logs.list)
        .as("three denials are not more than three")
        .noneMatch(e -> e.getFormattedMessage().startsWith("ALERT "));

    call(ADMIN, "POST", "/stores/" + store + "/check", check);
    JsonNode alert = next();
    assertThat(alert.get("alert").asText()).isEqualTo("denials");
    assertThat(alert.get("subject").asText()).isEqualTo("user:mallory");
    assertThat(alert.get("count").asInt()).isEqualTo(4);
    assertThat(alert.get("window_seconds").asLong()).isEqualTo(300);
    assertThat(alert.get("message").asText()).contains("4 denials for user:mallory within 5 min");
    assertThat(alert.get("event").get("resource").asText()).isEqualTo("doc:1");
    assertThat(requests.get()).as("one refused delivery, then one accepted").isEqualTo(2);
    assertThat(logs.list)
        .anyMatch(
            e -> e.getFormattedMessage().startsWith("ALERT denials: 4 denials for user:mallory"));
  }

  @Test
  void aBurstOfAuthenticationFailuresFromOneAddress_postsAnAlert() throws Exception {
    failFirst.set(0);
    startServer(
        AlertRules.NONE.withAuthFailures(new AlertRules.Threshold(2, Duration.ofMinutes(1))));
    for (int i = 0; i < 3; i++) {
      assertThat(call("cst_bad_guess" + i, "GET", "/stores", null)).isEqualTo(401);
    }
    JsonNode alert = next();
    assertThat(alert.get("alert").asText()).isEqualTo("auth-failures");
    assertThat(alert.get("client_address").asText()).isEqualTo("127.0.0.1");
    assertThat(alert.get("count").asInt()).isEqualTo(3);
    assertThat(alert.get("event").get("api").asText()).isEqualTo("auth-failure");
  }

  @Test
  void grantsOfAnAdminRole_andRejectedPolicyReloads_postAlerts() throws Exception {
    failFirst.set(0);
    startServer(AlertRules.NONE.withAdminGrants(true).withRejectedPolicyReloads(true));
    assertThat(call(ADMIN, "POST", "/api/keys", "{\"name\":\"ops\",\"admin\":true}"))
        .isEqualTo(201);
    JsonNode keyGrant = next();
    assertThat(keyGrant.get("alert").asText()).isEqualTo("admin-grant");
    assertThat(keyGrant.get("event").get("resource").asText()).isEqualTo("castellan:global");
    assertThat(keyGrant.get("event").get("caller").asText()).startsWith("key:");

    // A store-level writer grant is not an admin grant.
    String store = createStore();
    call(
        ADMIN,
        "POST",
        "/api/stores/" + store + "/access",
        "{\"subject\":\"jwt:w\",\"role\":\"writer\"}");
    call(
        ADMIN,
        "POST",
        "/api/stores/" + store + "/access",
        "{\"subject\":\"jwt:boss\",\"role\":\"admin\"}");
    JsonNode storeGrant = next();
    // jwt:boss named nobody: the person is provisioned, and the grant is to that one subject.
    assertThat(storeGrant.get("event").get("subject").asText()).matches("user:[0-9A-Z]{26}");

    // As the RBAC API and the policy loader report them.
    server
        .audit()
        .record(
            new AuditEvent(
                Instant.now(),
                AuditEvent.Kind.CHANGE,
                "role-member-add",
                "key:x",
                "user:eve",
                List.of(),
                "add",
                "role:admin",
                AuditEvent.Outcome.OK,
                "",
                "",
                0,
                "r1",
                "10.0.0.1"));
    JsonNode roleGrant = next();
    assertThat(roleGrant.get("alert").asText()).isEqualTo("admin-grant");
    assertThat(roleGrant.get("message").asText()).contains("user:eve").contains("role:admin");

    server
        .audit()
        .record(
            new AuditEvent(
                Instant.now(),
                AuditEvent.Kind.CHANGE,
                "policy-reload",
                "",
                "",
                List.of(),
                "reload",
                "rbac.yaml",
                AuditEvent.Outcome.ERROR,
                "line 3: unknown permission",
                "",
                0,
                "",
                ""));
    JsonNode reload = next();
    assertThat(reload.get("alert").asText()).isEqualTo("policy-reload-rejected");
    assertThat(reload.get("message").asText()).contains("line 3: unknown permission");
    assertThat(delivered).isEmpty();
  }

  @Test
  void aDeprovisionedDirectoryUser_postsAnAlert_namingWhatWasRevoked() throws Exception {
    failFirst.set(0);
    startServer(AlertRules.NONE.withDeprovisioning(true));
    String scim =
        ServerHttp.json(
                ServerHttp.send(
                    server, ADMIN, "POST", "/api/keys", "{\"name\":\"okta\",\"scim\":true}"),
                201)
            .get("key")
            .asText();
    String id =
        ServerHttp.json(
                ServerHttp.send(server, scim, "POST", "/scim/v2/Users", "{\"userName\":\"ann\"}"),
                201)
            .get("id")
            .asText();
    ServerHttp.send(server, ADMIN, "POST", "/api/roles", "{\"name\":\"Ops\"}");
    assertThat(call(ADMIN, "POST", "/api/roles/ops/members", "{\"subject\":\"user:ann\"}"))
        .isEqualTo(204);
    assertThat(call(scim, "DELETE", "/scim/v2/Users/" + id, null)).isEqualTo(204);
    JsonNode alert = next();
    assertThat(alert.get("alert").asText()).isEqualTo("deprovisioning");
    assertThat(alert.get("message").asText())
        .contains("user:" + id)
        .contains("role:ops#assignee@user:" + id); // user:ann was an alias of that user
    assertThat(alert.get("event").get("action").asText())
        .isEqualTo(dev.castellan.server.scim.Deprovisioning.ACTION);
    assertThat(delivered).isEmpty();
  }

  @Test
  void droppedAuditEntries_postAnAlert_whileTheWriterIsStillStuck() throws Exception {
    failFirst.set(0);
    AuditTrailTest.StalledRecords records = new AuditTrailTest.StalledRecords();
    server =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN),
            StalledAuditStore.over(new MemoryStore(), records),
            AuditSettings.DEFAULT
                .withQueue(2, 100)
                .withAlerts(
                    AlertRules.NONE
                        .withAuditDropped(true)
                        .withWebhook(hook())
                        .withRetries(4, Duration.ofMillis(20))));
    try {
      AuditTrail trail = server.audit();
      trail.record(AuditTrailTest.decision("user:first", true)); // the writer takes it and stalls
      assertThat(records.writerStalled.await(10, TimeUnit.SECONDS)).isTrue();
      while (trail.queueDepth() < 2) {
        trail.record(AuditTrailTest.decision("user:queued", true));
      }
      for (int i = 0; i < 7; i++) {
        trail.record(AuditTrailTest.decision("user:dropped", true));
      }
      JsonNode alert = next(); // the writer is still blocked on the database here
      assertThat(alert.get("alert").asText()).isEqualTo("audit-dropped");
      long dropped = alert.get("dropped").asLong();
      assertThat(dropped).as("the first report: all so far").isBetween(1L, 7L);
      assertThat(alert.get("dropped_total").asLong()).isEqualTo(dropped);
      assertThat(alert.get("dropped_allows").asLong()).isEqualTo(dropped);
      assertThat(alert.get("message").asText())
          .isEqualTo(
              dropped
                  + " audit entries dropped since the last report ("
                  + dropped
                  + " since start)");
      assertThat(logs.list)
          .anyMatch(e -> e.getFormattedMessage().startsWith("ALERT audit-dropped: "));
    } finally {
      records.release.countDown();
    }
  }

  @Test
  void aWebhookThatNeverAccepts_isTriedABoundedNumberOfTimes() throws Exception {
    failFirst.set(Integer.MAX_VALUE);
    CountDownLatch gaveUp = new CountDownLatch(1);
    AppenderBase<ILoggingEvent> giveUps =
        new AppenderBase<>() {
          @Override
          protected void append(ILoggingEvent event) {
            if (event.getFormattedMessage().startsWith("alert test could not be delivered")) {
              gaveUp.countDown();
            }
          }
        };
    giveUps.start();
    Logger webhookLog = (Logger) LoggerFactory.getLogger(Webhook.class);
    webhookLog.addAppender(giveUps);
    try (Webhook webhook = new Webhook(hook(), 3, Duration.ofMillis(10))) {
      webhook.send("test", "{\"alert\":\"test\"}");
      // The webhook gives up (and says so) after its last attempt and schedules nothing after
      // it; closing it then waits for its thread, so no fourth attempt can still be on its way.
      assertThat(gaveUp.await(10, TimeUnit.SECONDS)).as("the webhook gave up").isTrue();
    } finally {
      webhookLog.detachAppender(giveUps);
    }
    assertThat(requests.get()).isEqualTo(3);
  }

  private String createStore() throws Exception {
    HttpResponse<String> created =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/stores"))
                .header("Authorization", "Bearer " + ADMIN)
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"alerting\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(created.body()).get("id").asText();
  }
}
