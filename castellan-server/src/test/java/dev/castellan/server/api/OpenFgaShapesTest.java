package dev.castellan.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The extension table, its documentation, and the stripping of nested fields. */
class OpenFgaShapesTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void everyExtension_isDocumentedInConformanceMd_underItsEndpoint() throws Exception {
    String docs = Files.readString(Path.of("..", "docs", "conformance.md"));
    String section = docs.substring(docs.indexOf("## Response shapes and Castellan's extensions"));
    OpenFgaShapes.EXTENSIONS.forEach(
        (route, paths) -> {
          String endpoint = route.substring(route.lastIndexOf('/') + 1);
          String row =
              section
                  .lines()
                  .filter(line -> line.startsWith("| ") && endpoints(line).contains(endpoint))
                  .findFirst()
                  .orElse("");
          assertThat(row).as("a row for %s", route).isNotEmpty();
          for (String path : paths) {
            assertThat(row).as(route).contains("`" + path);
          }
        });
  }

  /** The endpoints a table row is about: its first cell, a comma-separated list. */
  private static java.util.List<String> endpoints(String row) {
    return java.util.Arrays.stream(row.split("\\|")[1].split(",")).map(String::trim).toList();
  }

  @Test
  void strip_removesTopLevelAndListItemFields_andLeavesOpenFgasFields() throws Exception {
    ObjectNode read =
        (ObjectNode)
            JSON.readTree(
                """
                {"tuples":[
                  {"key":{"user":"user:a","relation":"r","object":"doc:1","condition":null,
                          "expires_at":"2030-01-01T00:00:00Z"},
                   "timestamp":"2026-01-01T00:00:00Z","expired":true},
                  {"key":{"user":"user:b","relation":"r","object":"doc:1","condition":null},
                   "timestamp":"2026-01-01T00:00:00Z"}],
                 "continuation_token":""}
                """);
    OpenFgaShapes.strip("/stores/{store_id}/read", read);
    assertThat(read.toString())
        .doesNotContain("expires_at")
        .doesNotContain("expired")
        .contains("\"condition\":null")
        .contains("\"continuation_token\":\"\"");
    ObjectNode list =
        (ObjectNode)
            JSON.readTree(
                "{\"objects\":[],\"continuation_token\":\"\",\"consistency_token\":\"c\"}");
    OpenFgaShapes.strip("/stores/{store_id}/list-objects", list);
    assertThat(list.toString()).isEqualTo("{\"objects\":[]}");
    ObjectNode stores = (ObjectNode) JSON.readTree("{\"stores\":[],\"continuation_token\":\"\"}");
    OpenFgaShapes.strip("/stores", stores);
    assertThat(stores.toString())
        .as("paging is OpenFGA's on the store list")
        .contains("continuation");
  }

  @Test
  void assertions_inTheContextualTuplesObjectForm_comeBackAsAList() throws Exception {
    JsonNode stored =
        JSON.readTree(
            """
            [{"tuple_key":{"object":"doc:1","relation":"r","user":"user:a"},"expectation":true,
              "contextual_tuples":{"tuple_keys":[
                {"object":"doc:1","relation":"r","user":"user:b",
                 "condition":{"name":"c","context":{}}}]}}]
            """);
    assertThat(OpenFgaShapes.assertions(stored).toString())
        .isEqualTo(
            "[{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"r\",\"user\":\"user:a\"},"
                + "\"expectation\":true,\"contextual_tuples\":[{\"user\":\"user:b\","
                + "\"relation\":\"r\",\"object\":\"doc:1\",\"condition\":{\"name\":\"c\","
                + "\"context\":{}}}],\"context\":null}]");
  }
}
