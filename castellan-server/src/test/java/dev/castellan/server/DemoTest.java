package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.Engine;
import dev.castellan.engine.ListObjectsRequest;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.MemoryStore;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The demo store answers the questions its printed curl commands ask, as the comments say. */
class DemoTest {
  private final MemoryStore store = new MemoryStore();
  private final String storeId = Demo.load(store);
  private final IndexFeed feed = IndexFeed.start(store, storeId);
  private final Engine engine =
      Engine.create(store.latestModel(storeId).orElseThrow().model(), feed.index());

  @AfterEach
  void stop() {
    feed.close();
  }

  private boolean allowed(
      String user, String relation, String object, Map<String, Object> context) {
    return engine.check(CheckRequest.of(object, relation, user).withContext(context)).allowed();
  }

  @Test
  void workflowRoles() {
    assertThat(allowed("user:bob", "can_run", "workflow:summarize-tickets", Map.of())).isTrue();
    assertThat(allowed("user:carol", "can_run", "workflow:summarize-tickets", Map.of())).isFalse();
    assertThat(allowed("user:carol", "can_delete", "workflow:summarize-tickets", Map.of()))
        .isFalse();
    assertThat(allowed("user:anne", "can_delete", "workflow:summarize-tickets", Map.of())).isTrue();
  }

  @Test
  void modelRegistry_separationOfDutiesAndBusinessHours() {
    String model = "registry_model:fraud-detector";
    assertThat(allowed("user:carol", "can_approve", model, Map.of())).isFalse();
    assertThat(allowed("user:dave", "can_approve", model, Map.of())).isTrue();
    assertThat(allowed("user:dave", "can_deploy_to_production", model, Map.of("hour_utc", 10)))
        .isTrue();
    assertThat(allowed("user:dave", "can_deploy_to_production", model, Map.of("hour_utc", 20)))
        .isFalse();
    assertThat(allowed("user:bob", "reader", model, Map.of())).isTrue();
  }

  @Test
  void documents_orgWideSharingAndFolderInheritance() {
    assertThat(engine.listObjects(ListObjectsRequest.of("document", "viewer", "user:bob")))
        .containsExactly("document:onboarding");
    assertThat(engine.listObjects(ListObjectsRequest.of("document", "viewer", "user:anne")))
        .containsExactlyInAnyOrder("document:onboarding", "document:q3-plan", "document:pricing");
  }

  @Test
  void loadingTwice_keepsOneDemoStore() {
    assertThat(Demo.load(store)).isEqualTo(storeId);
  }

  /** Regression: the printed commands quoted $CASTELLAN_BOOTSTRAP_TOKEN so the shell kept it. */
  @Test
  void printedCurlCommands_runAsPastedInAShell_withTheKeyFromTheEnvironment() throws Exception {
    String token = "demo-token-0123456789abcdef";
    try (CastellanServer server =
        CastellanServer.start(ServerHttp.loopback().withBootstrapToken(token), store)) {
      String commands =
          Demo.curlCommands(
              "http://127.0.0.1:" + server.port(), storeId, "$CASTELLAN_BOOTSTRAP_TOKEN");
      String first =
          commands.lines().filter(line -> line.startsWith("curl ")).findFirst().orElseThrow();
      ProcessBuilder shell = new ProcessBuilder("bash", "-c", first).redirectErrorStream(true);
      shell.environment().put("CASTELLAN_BOOTSTRAP_TOKEN", token);
      Process process = shell.start();
      String output = new String(process.getInputStream().readAllBytes());
      assertThat(process.waitFor()).isZero();
      assertThat(output).startsWith("{\"allowed\":true");
    }
  }
}
