package dev.castellan.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.castellan.Conformance;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs OpenFGA's language test data ({@code conformance/openfga/language}). Semantic errors must
 * match OpenFGA's kind, message and line; syntax errors must be found on the line OpenFGA reports
 * (our wording is our own, see ADR 0001). Cases we knowingly answer differently are listed in
 * {@link #KNOWN_DIFFERENCES} and in {@code docs/conformance.md}; a listed case that starts passing
 * fails the build so the list stays true.
 */
class LanguageConformanceTest {

  private static final YAMLMapper YAML = new YAMLMapper();

  /** Case name -> why we differ. Keep in sync with docs/conformance.md. */
  static final Map<String, String> KNOWN_DIFFERENCES = Map.of();

  @TestFactory
  Stream<DynamicTest> dslSyntaxCases() throws IOException {
    return cases("dsl-syntax-validation-cases.yaml", this::checkSyntaxCase);
  }

  @TestFactory
  Stream<DynamicTest> dslSemanticCases() throws IOException {
    return cases("dsl-semantic-validation-cases.yaml", this::checkSemanticCase);
  }

  @TestFactory
  Stream<DynamicTest> jsonValidationCases() throws IOException {
    return cases("json-validation-cases.yaml", this::checkJsonValidationCase);
  }

  @TestFactory
  Stream<DynamicTest> jsonToDslCases() throws IOException {
    return cases("json-syntax-transformer-validation-cases.yaml", this::checkJsonToDslCase);
  }

  @TestFactory
  Stream<DynamicTest> objectIdCases() throws IOException {
    return cases(
        "object-id-validation-cases.yaml",
        c ->
            assertThat(Identifiers.isValidObjectId(c.get("object_id").asText()))
                .as(c.get("object_id").asText())
                .isEqualTo(c.get("valid").asBoolean()));
  }

  // ------------------------------------------------------------------ case kinds

  private void checkSyntaxCase(JsonNode c) {
    String dsl = c.get("dsl").asText();
    List<JsonNode> expected = expectedErrors(c);
    DslParser.Result parsed = DslParser.parse(dsl);
    if (expected.isEmpty()) {
      assertThat(parsed.errors()).as("syntax errors").isEmpty();
      return;
    }
    List<ModelError> actual =
        parsed.errors().isEmpty() ? ModelValidator.validateDsl(dsl) : parsed.errors();
    assertThat(actual).as("errors").isNotEmpty();
    int expectedLine = expected.get(0).path("line").path("start").asInt(-1);
    if (expectedLine >= 0) {
      assertThat(actual.get(0).span().startLine())
          .as("line of the first error, %s", actual.get(0).describe())
          .isEqualTo(expectedLine);
    }
  }

  private void checkSemanticCase(JsonNode c) {
    List<ModelError> actual = ModelValidator.validateDsl(c.get("dsl").asText());
    List<JsonNode> expected = expectedErrors(c);
    List<String> want = new ArrayList<>();
    for (JsonNode error : expected) {
      want.add(
          error.path("metadata").path("errorType").asText()
              + " | "
              + error.get("msg").asText().replaceAll("\\s+", " ")
              + " | line "
              + error.path("line").path("start").asInt(-1));
    }
    List<String> got = new ArrayList<>();
    for (ModelError error : actual) {
      got.add(error.kind() + " | " + error.message() + " | line " + error.span().startLine());
    }
    assertThat(got).containsExactlyInAnyOrderElementsOf(want);
  }

  private void checkJsonValidationCase(JsonNode c) {
    List<ModelError> actual;
    try {
      actual = ModelValidator.validate(ModelJson.read(c.get("json").asText()));
    } catch (InvalidModelException e) {
      actual = e.errors();
    }
    List<String> want = new ArrayList<>();
    for (JsonNode error : expectedErrors(c)) {
      want.add(
          error.path("metadata").path("errorType").asText() + " | " + error.get("msg").asText());
    }
    List<String> got = actual.stream().map(e -> e.kind() + " | " + e.message()).toList();
    assertThat(got).containsExactlyInAnyOrderElementsOf(want);
  }

  private void checkJsonToDslCase(JsonNode c) throws IOException {
    AuthorizationModel model = ModelJson.read(c.get("json").asText());
    if (c.path("valid").asBoolean(true)) {
      String dsl = ModelDsl.write(model);
      AuthorizationModel reparsed = ModelDsl.parse(dsl);
      assertThat(ModelValidator.validate(reparsed)).isEmpty();
      assertThat(ModelDsl.write(reparsed)).isEqualTo(dsl);
    } else {
      assertThatThrownBy(() -> ModelDsl.write(model))
          .isInstanceOf(InvalidModelException.class)
          .hasMessage(c.get("error_message").asText());
    }
  }

  // ------------------------------------------------------------------ plumbing

  interface CaseCheck {
    void check(JsonNode testCase) throws Exception;
  }

  private static Stream<DynamicTest> cases(String file, CaseCheck check) throws IOException {
    JsonNode all = YAML.readTree(Conformance.dir().resolve("language").resolve(file).toFile());
    assertThat(all.size()).as("cases in " + file).isPositive();
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode c : all) {
      String name = c.get("name").asText();
      tests.add(
          DynamicTest.dynamicTest(
              name,
              () -> {
                String reason = KNOWN_DIFFERENCES.get(name);
                Throwable failure = null;
                try {
                  check.check(c);
                } catch (AssertionError | Exception e) {
                  failure = e;
                }
                if (reason == null && failure != null) {
                  throw failure;
                }
                if (reason != null && failure == null) {
                  fail("listed as a known difference but passes; remove it: " + name);
                }
              }));
    }
    return tests.stream();
  }

  private static List<JsonNode> expectedErrors(JsonNode c) {
    List<JsonNode> errors = new ArrayList<>();
    JsonNode node = c.get("expected_errors");
    if (node != null && node.isArray()) {
      node.forEach(errors::add);
    }
    return errors;
  }
}
