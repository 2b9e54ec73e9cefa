package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.openfga.sdk.api.client.ApiClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;

/**
 * OpenFGA's Java SDK against a server with strict responses: every SDK call of {@link
 * OpenFgaSdkTest} works when the responses carry OpenFGA's fields only.
 */
class OpenFgaSdkStrictResponsesTest extends OpenFgaSdkTest {
  /**
   * Hides the suite's own start (same signature), so that each store's run gets a strict server.
   */
  @BeforeParameterizedClassInvocation
  static void startServer(StoreKind kind) {
    testStore = kind.create();
    server =
        testStore.startServer(
            ServerHttp.loopback().withBootstrapToken(TOKEN).withStrictResponses(true));
    apiClient = new ApiClient();
  }

  @Test
  void theServerHereLeavesOutExtensions() throws Exception {
    HttpResponse<String> write =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:" + server.port() + "/stores/" + storeId + "/write"))
                    .header("Authorization", "Bearer " + TOKEN)
                    .POST(
                        HttpRequest.BodyPublishers.ofString(
                            "{\"writes\":{\"tuple_keys\":[{\"object\":\"document:x\","
                                + "\"relation\":\"owner\",\"user\":\"user:x\"}]}}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(write.statusCode()).as(write.body()).isEqualTo(200);
    assertThat(write.body()).isEqualTo("{}");
  }
}
