package dev.castellan.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.server.CastellanServer;
import dev.castellan.store.jdbc.JdbcStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Provisioning through SCIM as an IdP's connector does it, over real HTTP against a server on
 * PostgreSQL: {@code --users} users (POST), then {@code --groups} empty groups (POST), then each
 * group's members (10 to 100, seeded) added by PATCH in batches of {@code --batch}, the shape
 * Okta's group push sends. Every answer is checked; at the end one member's role through its group
 * is decided with the last PATCH's consistency token. Issue 16's target: 10,000 users and 1,000
 * groups in at most 60 s.
 *
 * <p>Run: {@code java -cp castellan-benchmarks.jar dev.castellan.bench.ScimLoad --pg
 * 'jdbc:postgresql://127.0.0.1:5432/<empty database>?user=postgres'}.
 */
public final class ScimLoad {
  private static final String ADMIN = "bench-admin-token-0123456789abcdef";
  private static final String SCIM = "application/scim+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient client =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private final URI base;
  private final String key;

  private ScimLoad(URI base, String key) {
    this.base = base;
    this.key = key;
  }

  public static void main(String[] args) throws Exception {
    String pg = "";
    int users = 10_000;
    int groups = 1_000;
    int clients = 16;
    int batch = 25;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--pg" -> pg = args[++i];
        case "--users" -> users = Integer.parseInt(args[++i]);
        case "--groups" -> groups = Integer.parseInt(args[++i]);
        case "--clients" -> clients = Integer.parseInt(args[++i]);
        case "--batch" -> batch = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (pg.isEmpty()) {
      throw new IllegalArgumentException(
          "--pg <JDBC URL of an empty PostgreSQL database> is required");
    }
    CastellanServer server =
        CastellanServer.start(
            CastellanServer.Options.defaults()
                .withHost("127.0.0.1")
                .withPort(0)
                .withBootstrapToken(ADMIN),
            JdbcStore.postgres(pg));
    try {
      URI base = URI.create("http://127.0.0.1:" + server.port());
      ScimLoad load = new ScimLoad(base, "");
      String key =
          load.json(
                  load.send(
                      ADMIN,
                      "POST",
                      "/api/keys",
                      "{\"name\":\"bench\",\"scim\":true}",
                      "application/json"),
                  201)
              .get("key")
              .asText();
      new ScimLoad(base, key).run(users, groups, clients, batch);
    } finally {
      server.close();
    }
  }

  private void run(int userCount, int groupCount, int clients, int batch) throws Exception {
    System.out.printf(
        Locale.ROOT,
        "SCIM provisioning at %s: %d users, %d groups (10-100 members each, PATCH batches of %d),"
            + " %d concurrent clients%n",
        base,
        userCount,
        groupCount,
        batch,
        clients);
    AtomicLong requests = new AtomicLong();
    long start = System.nanoTime();
    String[] users = new String[userCount];
    parallel(
        clients,
        userCount,
        i -> {
          String body =
              "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"user"
                  + i
                  + "@example.com\",\"externalId\":\"00u"
                  + i
                  + "\",\"name\":{\"givenName\":\"User\",\"familyName\":\"N"
                  + i
                  + "\"},\"displayName\":\"User "
                  + i
                  + "\",\"emails\":[{\"value\":\"user"
                  + i
                  + "@example.com\",\"primary\":true,\"type\":\"work\"}],\"active\":true}";
          users[i] = json(send(key, "POST", "/scim/v2/Users", body, SCIM), 201).get("id").asText();
          requests.incrementAndGet();
        });
    long usersDone = System.nanoTime();
    String[] groups = new String[groupCount];
    parallel(
        clients,
        groupCount,
        i -> {
          String body =
              "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"Group "
                  + i
                  + "\",\"externalId\":\"00g"
                  + i
                  + "\",\"members\":[]}";
          groups[i] =
              json(send(key, "POST", "/scim/v2/Groups", body, SCIM), 201).get("id").asText();
          requests.incrementAndGet();
        });
    long groupsDone = System.nanoTime();
    int[] sizes = new int[groupCount];
    AtomicLong memberships = new AtomicLong();
    String[] lastToken = new String[1];
    parallel(
        clients,
        groupCount,
        g -> {
          SplittableRandom random = new SplittableRandom(42L * 1_000_003 + g);
          int size = 10 + random.nextInt(91);
          sizes[g] = size;
          List<String> members = new ArrayList<>(size);
          int first = random.nextInt(userCount);
          for (int m = 0; m < size; m++) {
            members.add(users[(first + m * 7919) % userCount]);
          }
          for (int from = 0; from < size; from += batch) {
            StringBuilder value = new StringBuilder();
            for (String member : members.subList(from, Math.min(size, from + batch))) {
              value
                  .append(value.isEmpty() ? "" : ",")
                  .append("{\"value\":\"")
                  .append(member)
                  .append("\"}");
            }
            String body =
                "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
                    + "[{\"op\":\"add\",\"path\":\"members\",\"value\":["
                    + value
                    + "]}]}";
            HttpResponse<String> response =
                send(key, "PATCH", "/scim/v2/Groups/" + groups[g], body, SCIM);
            json(response, 200);
            if (g == 0) {
              lastToken[0] =
                  response.headers().firstValue("Castellan-Consistency-Token").orElseThrow();
            }
            requests.incrementAndGet();
          }
          memberships.addAndGet(size);
        });
    long end = System.nanoTime();
    check(groups, sizes, users, lastToken[0]);
    double total = (end - start) / 1e9;
    System.out.printf(
        Locale.ROOT,
        "users: %.1f s, groups: %.1f s, memberships (%d, by PATCH): %.1f s; total %.1f s,"
            + " %d requests, %.0f requests/s%n",
        (usersDone - start) / 1e9,
        (groupsDone - usersDone) / 1e9,
        memberships.get(),
        (end - groupsDone) / 1e9,
        total,
        requests.get(),
        requests.get() / total);
    System.out.println(total <= 60 ? "target (<= 60 s) met" : "target (<= 60 s) NOT met");
  }

  /** Every group has its members; a role bound to group 0 reaches its first member at once. */
  private void check(String[] groups, int[] sizes, String[] users, String token) throws Exception {
    for (int g = 0; g < groups.length; g += Math.max(1, groups.length / 50)) {
      int count =
          json(send(ADMIN, "GET", "/api/groups/" + groups[g] + "?page_size=1", null, ""), 200)
              .get("member_count")
              .asInt();
      if (count != sizes[g]) {
        throw new IllegalStateException(
            "group " + g + " has " + count + " members, not " + sizes[g]);
      }
    }
    json(
        send(
            ADMIN,
            "POST",
            "/api/roles/viewer/members",
            "{\"subject\":\"group:" + groups[0] + "\"}",
            "application/json"),
        204);
    JsonNode group =
        json(send(ADMIN, "GET", "/api/groups/" + groups[0] + "?page_size=1", null, ""), 200);
    String member = group.get("members").get(0).get("id").asText();
    JsonNode decision =
        json(
            send(
                ADMIN,
                "POST",
                "/api/authorize",
                "{\"subject\":\"user:dir/"
                    + member
                    + "\",\"permission\":\"Logs.View\",\"consistency_token\":\""
                    + token
                    + "\"}",
                "application/json"),
            200);
    if (!decision.get("allowed").asBoolean()) {
      throw new IllegalStateException(
          "a member of a group bound to viewer was denied: " + decision);
    }
  }

  @FunctionalInterface
  private interface Task {
    void run(int i) throws Exception;
  }

  private static void parallel(int clients, int count, Task task) throws Exception {
    try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
      List<Future<?>> futures = new ArrayList<>();
      int per = (count + clients - 1) / clients;
      for (int c = 0; c < clients; c++) {
        int from = c * per;
        int to = Math.min(count, from + per);
        futures.add(
            pool.submit(
                () -> {
                  for (int i = from; i < to; i++) {
                    task.run(i);
                  }
                  return null;
                }));
      }
      for (Future<?> future : futures) {
        future.get();
      }
    }
  }

  private HttpResponse<String> send(
      String token, String method, String path, String body, String type) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(base.resolve(path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + token)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", type);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode json(HttpResponse<String> response, int status) throws Exception {
    if (response.statusCode() != status) {
      throw new IllegalStateException(
          response.request().method()
              + " "
              + response.request().uri()
              + " answered "
              + response.statusCode()
              + ": "
              + response.body());
    }
    return response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
  }
}
