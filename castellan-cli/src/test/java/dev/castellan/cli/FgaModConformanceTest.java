package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.castellan.model.ModelError;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * OpenFGA's {@code fga.mod} transformer cases ({@code language/fga-mod-transformer-cases.yaml}): a
 * valid manifest prints OpenFGA's JSON exactly (values, lines, columns); an invalid one gives
 * OpenFGA's messages, lines and columns, in order.
 */
class FgaModConformanceTest {

  @TestFactory
  Stream<DynamicTest> fgaModTransformerCases() throws IOException {
    JsonNode cases =
        new YAMLMapper()
            .readTree(
                StoreFileConformanceTest.conformance()
                    .resolve("language/fga-mod-transformer-cases.yaml")
                    .toFile());
    assertThat(cases.size()).isEqualTo(9);
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode c : cases) {
      tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> check(c)));
    }
    return tests.stream();
  }

  private static void check(JsonNode c) throws IOException {
    String manifest = c.get("modFile").asText();
    JsonNode expectedErrors = c.get("expected_errors");
    if (expectedErrors == null) {
      JsonNode expected = new ObjectMapper().readTree(c.get("json").asText());
      assertThat(FgaModFile.parse(manifest).toJson()).isEqualTo(expected);
      return;
    }
    List<String> want = new ArrayList<>();
    for (JsonNode error : expectedErrors) {
      want.add(
          error.get("msg").asText()
              + " @ "
              + error.at("/line/start").asInt()
              + "-"
              + error.at("/line/end").asInt()
              + ":"
              + error.at("/column/start").asInt()
              + "-"
              + error.at("/column/end").asInt());
    }
    assertThatThrownBy(() -> FgaModFile.parse(manifest))
        .isInstanceOfSatisfying(
            FgaModFile.InvalidManifestException.class,
            e ->
                assertThat(e.errors().stream().map(FgaModConformanceTest::describe).toList())
                    .containsExactlyElementsOf(want));
  }

  private static String describe(ModelError error) {
    return error.message()
        + " @ "
        + error.span().startLine()
        + "-"
        + error.span().endLine()
        + ":"
        + error.span().startColumn()
        + "-"
        + error.span().endColumn();
  }
}
