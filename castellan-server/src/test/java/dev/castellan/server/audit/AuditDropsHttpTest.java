package dev.castellan.server.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.store.MemoryStore;
import java.lang.ref.WeakReference;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Regression for "audit drops are invisible": allowed decisions dropped by a full queue show in
 * {@code /metrics}, also after a garbage collection (Micrometer's FunctionCounter holds its source
 * weakly, and the counter used to read 0 for ever once it was collected).
 */
class AuditDropsHttpTest {
  private static final String ADMIN = "drops-admin-token-0123456789abcdef";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private CastellanServer server;
  private AuditTrailTest.StalledRecords records;

  @AfterEach
  void stop() {
    if (records != null) {
      records.release.countDown();
    }
    if (server != null) {
      server.close();
    }
  }

  /** Runs collections until a weakly held object is gone: weak references were cleared. */
  static void collectGarbage() throws InterruptedException {
    WeakReference<Object> sentinel = new WeakReference<>(new Object());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (sentinel.get() != null) {
      if (System.nanoTime() > deadline) {
        fail("no garbage collection cleared a weak reference within 30 s");
      }
      System.gc();
      Thread.sleep(5);
    }
    System.gc();
  }

  private static double sample(String scrape, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? (\\S+)$").matcher(scrape);
    assertThat(m.find()).as(name + " in the scrape").isTrue();
    return Double.parseDouble(m.group(1));
  }

  @Test
  void droppedAllows_stayCountedInMetrics_afterAGarbageCollection() throws Exception {
    records = new AuditTrailTest.StalledRecords();
    server =
        CastellanServer.start(
            ServerHttp.loopback().withBootstrapToken(ADMIN),
            StalledAuditStore.over(new MemoryStore(), records),
            AuditSettings.DEFAULT.withQueue(4, 100));
    AuditTrail trail = server.audit();
    trail.record(AuditTrailTest.decision("user:first", true)); // the writer takes it and stalls
    assertThat(records.writerStalled.await(10, TimeUnit.SECONDS)).isTrue();
    while (trail.queueDepth() < 4) {
      trail.record(AuditTrailTest.decision("user:queued", true));
    }
    long before = trail.droppedAllows();
    for (int i = 0; i < 25; i++) {
      trail.record(AuditTrailTest.decision("user:dropped", true));
    }
    assertThat(trail.droppedAllows() - before).isEqualTo(25);

    collectGarbage();

    HttpResponse<String> scrape =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                .header("Authorization", "Bearer " + ADMIN)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(scrape.statusCode()).isEqualTo(200);
    assertThat(sample(scrape.body(), "castellan_audit_dropped_allows_total"))
        .isEqualTo((double) trail.droppedAllows())
        .isGreaterThanOrEqualTo(25.0);
  }
}
