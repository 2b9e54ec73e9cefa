package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.store.MemoryStore;
import dev.openfga.sdk.api.client.ApiClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * OpenFGA's Java SDK against a server with strict responses: every SDK call of {@link
 * OpenFgaSdkTest} works when the responses carry OpenFGA's fields only.
 */
class OpenFgaSdkStrictResponsesTest extends OpenFgaSdkTest {
  @BeforeAll
  static void startServer() {
    server =
        CastellanServer.start(
            CastellanServer.Options.defaults()
                .withPort(0)
                .withHost("127.0.0.1")
                .withBootstrapToken(TOKEN)
                .withStrictResponses(true),
            new MemoryStore());
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
