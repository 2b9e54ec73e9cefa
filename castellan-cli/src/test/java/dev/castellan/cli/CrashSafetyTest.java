package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.cli.ServerProcess.Response;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} during a write load loses no acknowledged write: every write the server answered
 * 200 is there after a restart, on the embedded store and on PostgreSQL.
 */
class CrashSafetyTest {
  private static final String MODEL =
      """
      {"schema_version":"1.1","type_definitions":[{"type":"user"},
       {"type":"doc","relations":{"viewer":{"this":{}}},
        "metadata":{"relations":{"viewer":{"directly_related_user_types":[{"type":"user"}]}}}}]}
      """;

  @Test
  void embeddedStore_losesNoAcknowledgedWrite(@TempDir Path data) throws Exception {
    String[] args = {"--data", data.toString()};
    crashAndVerify(args);
  }

  @Test
  void postgres_losesNoAcknowledgedWrite() throws Exception {
    String url = TestDatabases.create("castellan_crash");
    try {
      crashAndVerify("--pg-url", url);
    } finally {
      TestDatabases.drop(url);
    }
  }

  private static void crashAndVerify(String... storeArgs) throws Exception {
    String storeId;
    List<String> acknowledged = Collections.synchronizedList(new ArrayList<>());
    ServerProcess server = ServerProcess.start(storeArgs);
    try {
      storeId = server.post("/stores", "{\"name\":\"crash\"}").body().get("id").asText();
      assertThat(server.post("/stores/" + storeId + "/authorization-models", MODEL).status())
          .isEqualTo(201);
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> writers = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        int writer = w;
        writers.add(
            Thread.ofVirtual()
                .start(
                    () -> {
                      for (int i = 0; !stop.get(); i++) {
                        String object = "doc:w" + writer + "-" + i;
                        try {
                          Response response =
                              server.post(
                                  "/stores/" + storeId + "/write",
                                  "{\"writes\":{\"tuple_keys\":[{\"object\":\""
                                      + object
                                      + "\",\"relation\":\"viewer\",\"user\":\"user:u\"}]}}");
                          if (response.status() == 200) {
                            acknowledged.add(object);
                          }
                        } catch (Exception e) {
                          return; // the server died mid-request: not acknowledged
                        }
                      }
                    }));
      }
      long deadline = System.nanoTime() + 20_000_000_000L;
      while (acknowledged.size() < 200 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      server.kill();
      stop.set(true);
      for (Thread writer : writers) {
        writer.join(10_000);
      }
    } finally {
      server.kill();
    }
    assertThat(acknowledged.size()).as("writes acknowledged before the kill").isGreaterThan(50);

    try (ServerProcess restarted = ServerProcess.start(storeArgs)) {
      Set<String> present = new HashSet<>();
      String token = "";
      do {
        Response page =
            restarted.post(
                "/stores/" + storeId + "/read",
                "{\"page_size\":100,\"continuation_token\":\"" + token + "\"}");
        assertThat(page.status()).isEqualTo(200);
        page.body().get("tuples").forEach(t -> present.add(t.get("key").get("object").asText()));
        token = page.body().get("continuation_token").asText();
      } while (!token.isEmpty());
      List<String> lost = new ArrayList<>(acknowledged);
      lost.removeAll(present);
      assertThat(lost).as("acknowledged writes missing after kill -9").isEmpty();
    }
  }
}
