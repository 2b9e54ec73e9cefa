package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.store.MemoryStore;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A modular model (schema 1.2) written over OpenFGA's API in the JSON form {@code fga model
 * transform fga.mod} prints: accepted, evaluated, and read back with its module metadata.
 */
class ModularModelHttpTest {
  private static final String TOKEN = "test-token-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final String MODEL =
      """
      {
        "schema_version": "1.2",
        "type_definitions": [
          {"type": "user", "metadata": {"module": "core", "source_info": {"file": "core.fga"}}},
          {
            "type": "team",
            "relations": {"member": {"this": {}}, "editor": {"computedUserset": {"relation": "member"}}},
            "metadata": {
              "module": "core",
              "source_info": {"file": "core.fga"},
              "relations": {
                "member": {"directly_related_user_types": [{"type": "user"}]},
                "editor": {
                  "directly_related_user_types": [],
                  "module": "wiki",
                  "source_info": {"file": "wiki/wiki.fga"}
                }
              }
            }
          }
        ]
      }
      """;

  private static CastellanServer server;
  private static HttpClient http;

  @BeforeAll
  static void startServer() {
    server =
        CastellanServer.start(ServerHttp.loopback().withBootstrapToken(TOKEN), new MemoryStore());
    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  @Test
  void writeModel_schema12WithModules_keepsTheMetadata_andEvaluates() throws Exception {
    String store =
        JSON.readTree(send("POST", "/stores", "{\"name\":\"wiki\"}").body()).get("id").asText();

    HttpResponse<String> written =
        send("POST", "/stores/" + store + "/authorization-models", MODEL);

    assertThat(written.statusCode()).as(written.body()).isEqualTo(201);
    String id = JSON.readTree(written.body()).get("authorization_model_id").asText();
    JsonNode model =
        JSON.readTree(send("GET", "/stores/" + store + "/authorization-models/" + id, null).body())
            .get("authorization_model");
    assertThat(model.get("schema_version").asText()).isEqualTo("1.2");
    JsonNode team = model.get("type_definitions").get(1);
    assertThat(team.at("/metadata/module").asText()).isEqualTo("core");
    assertThat(team.at("/metadata/source_info/file").asText()).isEqualTo("core.fga");
    assertThat(team.at("/metadata/relations/editor/module").asText()).isEqualTo("wiki");
    assertThat(team.at("/metadata/relations/editor/source_info/file").asText())
        .isEqualTo("wiki/wiki.fga");
    // A relation of the type's own module names none: OpenFGA's shape writes the empty string.
    assertThat(team.at("/metadata/relations/member/module").textValue()).isEmpty();

    assertThat(
            send(
                    "POST",
                    "/stores/" + store + "/write",
                    "{\"writes\":{\"tuple_keys\":[{\"user\":\"user:anne\",\"relation\":\"member\","
                        + "\"object\":\"team:docs\"}]}}")
                .statusCode())
        .isEqualTo(200);
    HttpResponse<String> check =
        send(
            "POST",
            "/stores/" + store + "/check",
            "{\"tuple_key\":{\"user\":\"user:anne\",\"relation\":\"editor\",\"object\":\"team:docs\"}}");
    assertThat(JSON.readTree(check.body()).get("allowed").asBoolean()).as(check.body()).isTrue();
  }

  @Test
  void writeModel_aFileClaimedBySeveralModules_isRefusedAsOpenFgaDoes() throws Exception {
    String store =
        JSON.readTree(send("POST", "/stores", "{\"name\":\"bad\"}").body()).get("id").asText();
    // The wiki relation claims core.fga, which the core module already holds.
    String model = MODEL.replace("\"wiki/wiki.fga\"", "\"core.fga\"");
    assertThat(model).isNotEqualTo(MODEL);

    HttpResponse<String> written =
        send("POST", "/stores/" + store + "/authorization-models", model);

    assertThat(written.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(written.body()).get("message").asText())
        .contains(
            "file core.fga would contain multiple module definitions (core, wiki) when"
                + " transforming to DSL. Only one module can be defined per file.");
  }

  private static HttpResponse<String> send(String method, String path, String body)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + TOKEN)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
