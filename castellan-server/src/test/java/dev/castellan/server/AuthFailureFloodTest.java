package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.audit.AuditFilter;
import dev.castellan.audit.AuditRecord;
import dev.castellan.audit.AuditRecords;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Regression for "unauthenticated flooding": a few thousand requests with bad credentials used to
 * add one audit entry each (21,830 entries, 11 MB, in 10 s). Now the trail grows by at most two
 * entries per address and minute, and their counts add up to the requests refused.
 */
class AuthFailureFloodTest {
  private static final String ADMIN = "flood-admin-token-0123456789abcdef";
  private static final int REQUESTS = 3_000;

  private static List<AuditRecord> all(AuditRecords records) {
    List<AuditRecord> out = new ArrayList<>();
    String token = "";
    do {
      Page<AuditRecord> page = records.read(AuditFilter.ALL, new PageRequest(1000, token));
      out.addAll(page.items());
      token = page.continuationToken();
    } while (!token.isEmpty());
    return out;
  }

  private static long minute(Instant time) {
    return Math.floorDiv(time.toEpochMilli(), 60_000L);
  }

  @Test
  void aFloodOfBadCredentials_addsABoundedNumberOfEntries_whoseCountsAddUp() throws Exception {
    MemoryStore store = new MemoryStore();
    CastellanServer server =
        CastellanServer.start(ServerHttp.loopback().withBootstrapToken(ADMIN), store);
    HttpClient http = HttpClient.newHttpClient();
    URI stores = URI.create("http://127.0.0.1:" + server.port() + "/stores");
    long firstMinute = minute(Instant.now());
    List<Integer> statuses = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
      List<Future<Integer>> sent = new ArrayList<>();
      for (int i = 0; i < REQUESTS; i++) {
        HttpRequest request =
            HttpRequest.newBuilder(stores)
                .header("Authorization", "Bearer cst_guess" + i + "_" + "x".repeat(32))
                .build();
        sent.add(
            pool.submit(
                () -> http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode()));
      }
      for (Future<Integer> status : sent) {
        statuses.add(status.get());
      }
    }
    long lastMinute = minute(Instant.now());
    server.close(); // writes the minute's summaries

    assertThat(statuses).allMatch(s -> s == 401 || s == 429);
    List<AuditRecord> failures =
        all(store.auditRecords()).stream()
            .filter(r -> r.entry().api().equals("auth-failure"))
            .toList();
    assertThat(failures)
        .as("auth-failure entries for %d refused requests", REQUESTS)
        .hasSizeLessThanOrEqualTo((int) (2 * (lastMinute - firstMinute + 1)));
    assertThat(failures).allMatch(r -> r.entry().clientAddress().equals("127.0.0.1"));
    assertThat(failures.stream().mapToLong(r -> r.entry().count()).sum())
        .as("the entries' counts")
        .isEqualTo(REQUESTS);
    long throttled = statuses.stream().filter(s -> s == 429).count();
    assertThat(statuses.size() - throttled)
        .as("401s: the limit's 100 failures, and the few racing past it at once")
        .isBetween(100L, 104L);
  }
}
