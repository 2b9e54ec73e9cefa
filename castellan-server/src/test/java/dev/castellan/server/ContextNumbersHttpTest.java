package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.store.MemoryStore;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A condition context number with a huge exponent ({@code 1e99999999}) was a CPU denial of service:
 * read exactly, then turned into an unsigned integer, it kept a core busy for minutes. It is now a
 * 400 {@code validation_error} from the body reader, before anything converts it, wherever a
 * context is accepted.
 */
class ContextNumbersHttpTest {
  private static final String TOKEN = "test-token-0123456789abcdef";
  private static final String MODEL =
      """
      model
        schema 1.1
      type user
      type doc
        relations
          define viewer: [user with small]
      condition small(x: uint) {
        x < 10u
      }
      """;

  static CastellanServer server;
  static String storeId;

  @BeforeAll
  static void start() throws Exception {
    server =
        CastellanServer.start(ServerHttp.loopback().withBootstrapToken(TOKEN), new MemoryStore());
    storeId = post("/stores", "{\"name\":\"numbers\"}", 201).get("id").asText();
    post(
        "/stores/" + storeId + "/authorization-models",
        ModelJson.write(ModelDsl.parse(MODEL)),
        201);
    post(
        "/stores/" + storeId + "/write",
        "{\"writes\":{\"tuple_keys\":[{\"object\":\"doc:1\",\"relation\":\"viewer\","
            + "\"user\":\"user:a\",\"condition\":{\"name\":\"small\"}}]}}",
        200);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void check_withAContextNumberOutsideTheRangeOfADouble_isAValidationError_quickly()
      throws Exception {
    assertThat(post("/stores/" + storeId + "/check", check("3"), 200).get("allowed").asBoolean())
        .isTrue();
    // 1e99999999 as an unsigned integer is a number of 330 million bits: minutes of CPU.
    for (String number :
        new String[] {
          "1e99999999", "1e-99999999", "1e999999999", "1e-999999999", "-1e999999999", "1e400"
        }) {
      long start = System.nanoTime();
      JsonNode error =
          assertTimeoutPreemptively(
              Duration.ofSeconds(10),
              () -> post("/stores/" + storeId + "/check", check(number), 400),
              number);
      assertThat(error.get("code").asText()).isEqualTo("validation_error");
      assertThat(error.get("message").asText())
          .as(number)
          .startsWith("'context.x' is the number ")
          .contains("outside the range of a double");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }
  }

  @Test
  void writeListObjectsAndImport_withAContextNumberOutsideTheRangeOfADouble_areValidationErrors()
      throws Exception {
    String tuple =
        "{\"object\":\"doc:2\",\"relation\":\"viewer\",\"user\":\"user:a\","
            + "\"condition\":{\"name\":\"small\",\"context\":{\"x\":1e999999999}}}";
    assertThat(
            post(
                    "/stores/" + storeId + "/write",
                    "{\"writes\":{\"tuple_keys\":[" + tuple + "]}}",
                    400)
                .get("message")
                .asText())
        .startsWith("'writes.tuple_keys[0].condition.context.x' is the number 1E+999999999");
    assertThat(
            post(
                    "/stores/" + storeId + "/list-objects",
                    "{\"type\":\"doc\",\"relation\":\"viewer\",\"user\":\"user:a\","
                        + "\"context\":{\"x\":1e-999999999}}",
                    400)
                .get("message")
                .asText())
        .startsWith("'context.x' is the number 1E-999999999");
    assertThat(post("/stores/" + storeId + "/import", tuple + "\n", 400).get("message").asText())
        .startsWith("'line 1.condition.context.x' is the number 1E+999999999");
  }

  /**
   * A string is not a number to the body reader, but a uint condition converts a numeric string:
   * {@code "1e99999999"} took minutes there too, for a request context or a written tuple's. As
   * OpenFGA does, the value saturates at the largest uint it keeps, so the condition is not met.
   */
  @Test
  void check_withANumericStringWithAHugeExponent_isDecidedQuickly() throws Exception {
    JsonNode answer =
        assertTimeoutPreemptively(
            Duration.ofSeconds(10),
            () -> post("/stores/" + storeId + "/check", check("\"1e99999999\""), 200));
    assertThat(answer.get("allowed").asBoolean()).isFalse();
    assertThat(
            post("/stores/" + storeId + "/check", check("\"3\""), 200).get("allowed").asBoolean())
        .as("the same check with a small value, so that the refusal above is the number's doing")
        .isTrue();
  }

  private static String check(String number) {
    return "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:a\"},"
        + "\"context\":{\"x\":"
        + number
        + "}}";
  }

  private static JsonNode post(String path, String body, int status) throws Exception {
    HttpResponse<String> response = ServerHttp.send(server, TOKEN, "POST", path, body);
    return ServerHttp.json(response, status);
  }
}
