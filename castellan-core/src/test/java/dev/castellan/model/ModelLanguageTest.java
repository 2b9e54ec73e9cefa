package dev.castellan.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Round trips and hostile input for the DSL and JSON forms. */
class ModelLanguageTest {

  private static final String RAG =
      """
      model
        schema 1.1

      type user

      type group
        relations
          define member: [user, group#member]

      type folder
        relations
          define parent: [folder]
          define viewer: [user, group#member] or viewer from parent

      type document
        relations
          define parent: [folder]
          define blocked: [user]
          define viewer: ([user, user:*, group#member with in_office] or viewer from parent) but not blocked

      condition in_office(ip: ipaddress, allowed: list<string>, tags: map<int>) {
        ip.in_cidr("10.0.0.0/8") && "a" in allowed && tags["x"] > 1
      }
      """;

  @Test
  void dsl_toJson_andBack_isTheSameModel() {
    AuthorizationModel model = ModelValidator.parseValid(RAG);
    AuthorizationModel fromJson = ModelJson.read(ModelJson.write(model));
    assertThat(fromJson).isEqualTo(model);
    assertThat(ModelDsl.parse(ModelDsl.write(model))).isEqualTo(model);
    assertThat(ModelDsl.write(model))
        .contains(
            "define viewer: ([user, user:*, group#member with in_office] or viewer from parent)"
                + " but not blocked")
        .contains("condition in_office(ip: ipaddress, allowed: list<string>, tags: map<int>) {");
  }

  @Test
  void json_acceptsCamelCaseAndSnakeCaseFieldNames() {
    String json =
        """
        {"schemaVersion": "1.1", "typeDefinitions": [
          {"type": "user"},
          {"type": "doc", "relations": {"viewer": {"this": {}},
             "editor": {"computed_userset": {"relation": "viewer"}}},
           "metadata": {"relations": {"viewer": {"directlyRelatedUserTypes": [{"type": "user"}]}}}}]}
        """;
    AuthorizationModel model = ModelJson.read(json);
    assertThat(ModelValidator.validate(model)).isEmpty();
    assertThat(model.type("doc").orElseThrow().relation("editor").orElseThrow().rewrite())
        .isEqualTo(new Rewrite.ComputedUserset("viewer"));
  }

  @Test
  void errors_carryLineAndColumn() {
    assertThatThrownBy(
            () ->
                ModelValidator.parseValid(
                    "model\n  schema 1.1\ntype user\ntype doc\n  relations\n"
                        + "    define viewer: [user] or editor\n"))
        .isInstanceOf(InvalidModelException.class)
        .hasMessage("6:30: the relation `editor` does not exist.");
    assertThatThrownBy(
            () -> ModelDsl.parse("model\n  schema 1.1\ntype doc\n  relations\n  defne x"))
        .isInstanceOf(InvalidModelException.class)
        .hasMessageStartingWith("5:3:");
  }

  @Test
  void deeplyNestedParentheses_areRefusedWithoutStackOverflow() {
    String nested = "(".repeat(100_000) + "a" + ")".repeat(100_000);
    String dsl =
        "model\n  schema 1.1\ntype user\ntype t\n  relations\n    define a: [user]\n"
            + "    define b: "
            + nested
            + "\n";
    assertThatThrownBy(() -> ModelDsl.parse(dsl))
        .isInstanceOf(InvalidModelException.class)
        .hasMessageContaining("nested deeper than");
  }

  @Test
  void deeplyNestedJson_isRefusedWithoutStackOverflow() {
    String rewrite =
        "{\"union\":{\"child\":[".repeat(5_000)
            + "{\"this\":{}}"
            + ",{\"this\":{}}]}}".repeat(5_000);
    String json =
        "{\"schema_version\":\"1.1\",\"type_definitions\":[{\"type\":\"t\","
            + "\"relations\":{\"r\":"
            + rewrite
            + "}}]}";
    assertThatThrownBy(() -> ModelJson.read(json)).isInstanceOf(InvalidModelException.class);
  }

  @Test
  void oversizedModel_isRefusedBeforeParsing() {
    String huge = "model\n  schema 1.1\n" + "type user\n".repeat(60_000);
    assertThatThrownBy(() -> ModelDsl.parse(huge))
        .isInstanceOf(InvalidModelException.class)
        .hasMessageContaining("at most");
  }

  @Test
  void tooManyTypes_isAnEntityLimitError() {
    StringBuilder dsl = new StringBuilder("model\n  schema 1.1\n");
    for (int i = 0; i <= ModelValidator.MAX_TYPES; i++) {
      dsl.append("type t").append(i).append('\n');
    }
    assertThat(ModelValidator.validateDsl(dsl.toString()))
        .extracting(ModelError::kind)
        .containsExactly("exceeded-entity-limit");
  }

  /**
   * Found by reading the validator beside the fuzz target: relations that reach each other by two
   * paths at every level and never reach a user made the entry-point search exponential. This
   * 865-character model took over two minutes to validate (each level doubled the time).
   */
  @Test
  void validate_relationsReachingEachOtherByManyPaths_finishesQuicklyWithOpenFgasVerdict() {
    int levels = 18;
    StringBuilder dsl = new StringBuilder("model\n  schema 1.1\ntype user\ntype t\n  relations\n");
    for (int i = 0; i < levels; i++) {
      dsl.append("    define r").append(i).append(": r").append(i + 1).append(" or x").append(i);
      dsl.append("\n    define x").append(i).append(": r").append(i + 1).append('\n');
    }
    dsl.append("    define r").append(levels).append(": r0\n");

    List<ModelError> errors =
        assertTimeoutPreemptively(
            Duration.ofSeconds(10), () -> ModelValidator.validateDsl(dsl.toString()));

    assertThat(errors).hasSize(2 * levels + 1);
    assertThat(errors)
        .allSatisfy(e -> assertThat(e.kind()).isEqualTo("relation-no-entry-point"))
        .allSatisfy(e -> assertThat(e.message()).endsWith("(potential loop)."));
  }

  @Test
  void validate_withoutEntryPointsByExponentiallyManyPaths_staysWithinTheSearchBudget() {
    int levels = 40; // no loop, so the search cannot stop early: only the budget bounds it
    StringBuilder dsl =
        new StringBuilder(
            "model\n  schema 1.1\ntype user\ntype g\n  relations\n    define m: [user]\n"
                + "type t\n  relations\n");
    for (int i = 0; i < levels; i++) {
      dsl.append("    define r").append(i).append(": r").append(i + 1).append(" or x").append(i);
      dsl.append("\n    define x").append(i).append(": r").append(i + 1).append('\n');
    }
    dsl.append("    define r").append(levels).append(": [g#n]\n");
    dsl.insert(
        dsl.indexOf("define m: [user]\n") + "define m: [user]\n".length(),
        "    define n: m and n\n");

    List<ModelError> errors =
        assertTimeoutPreemptively(
            Duration.ofSeconds(10), () -> ModelValidator.validateDsl(dsl.toString()));

    assertThat(errors).extracting(ModelError::kind).containsOnly("relation-no-entry-point");
    assertThat(errors).hasSize(2 * levels + 2);
  }

  /** Found by ModelJsonFuzzTest (crash-b6a12e39): the DSL printed "()", which does not parse. */
  @Test
  void dslWrite_conditionWithoutParameters_isUnsupportedInsteadOfUnparsable() {
    AuthorizationModel model =
        ModelJson.read(
            """
            {"schema_version": "1.1", "type_definitions": [{"type": "user"},
              {"type": "doc", "relations": {"viewer": {"this": {}}},
               "metadata": {"relations": {"viewer": {"directly_related_user_types":
                 [{"type": "user", "condition": "always"}]}}}}],
             "conditions": {"always": {"name": "always", "expression": "true"}}}
            """);
    assertThat(ModelValidator.validate(model)).isEmpty();

    assertThatThrownBy(() -> ModelDsl.write(model))
        .isInstanceOf(InvalidModelException.class)
        .satisfies(
            e ->
                assertThat(((InvalidModelException) e).errors())
                    .extracting(ModelError::kind, ModelError::symbol)
                    .containsExactly(tuple("unsupported-by-dsl", "always")));
  }

  /**
   * Found by ModelJsonFuzzTest (crash-529dc8fc): OpenFGA's naming rule allows a type "u(er", which
   * the DSL printed as "type u(er" and read back as a syntax error. Names the DSL would split, or
   * read as an operator, and expressions that end before their closing brace are refused instead.
   */
  @Test
  void dslWrite_whatTheDslWouldReadDifferently_isUnsupported() {
    String doc =
        """
        {"schema_version": "1.1", "type_definitions": [{"type": "user"}, {"type": "doc",
          "relations": {"%s": {"this": {}}, "v": {"computedUserset": {"relation": "%s"}}},
          "metadata": {"relations": {"%s": {"directly_related_user_types": [{"type": "user"}]}}}}]}
        """;
    String conditional =
        """
        {"schema_version": "1.1", "type_definitions": [{"type": "user"}, {"type": "doc",
          "relations": {"v": {"this": {}}}, "metadata": {"relations": {"v":
            {"directly_related_user_types": [{"type": "user", "condition": "c"}]}}}}],
         "conditions": {"c": {"name": "c", "expression": "%s",
           "parameters": {"%s": {"type_name": "TYPE_NAME_INT"}}}}}
        """;
    for (String json :
        List.of(
            "{\"schema_version\": \"1.1\", \"type_definitions\": [{\"type\": \"u(er\"}]}",
            doc.formatted(
                "a\u2003b", "a\u2003b", "a\u2003b"), // a blank to Java, not to the naming rule
            doc.formatted("a,b", "a,b", "a,b"),
            doc.formatted("or", "or", "or"),
            conditional.formatted("x } || {", "x"),
            conditional.formatted("x == \\\"}", "x"),
            conditional.formatted("x > 1", "x<y"))) {
      AuthorizationModel model = ModelJson.read(json);
      assertThat(ModelValidator.validate(model)).as(json).isEmpty();
      assertThatThrownBy(() -> ModelDsl.write(model))
          .as(json)
          .isInstanceOf(InvalidModelException.class)
          .satisfies(
              e ->
                  assertThat(((InvalidModelException) e).errors())
                      .extracting(ModelError::kind)
                      .containsExactly("unsupported-by-dsl"));
    }
  }

  @Test
  void malformedJson_isAClearError() {
    for (String bad :
        List.of(
            "{",
            "[]",
            "{\"schema_version\": 1.1}",
            "{\"schema_version\":\"1.1\",\"type_definitions\":[{\"type\":\"t\","
                + "\"relations\":{\"r\":{\"nonsense\":{}}}}]}",
            "{\"schema_version\":\"1.1\",\"type_definitions\":[{\"type\":\"t\","
                + "\"relations\":{\"r\":{\"this\":{},\"union\":{}}}}]}")) {
      assertThatThrownBy(() -> ModelJson.read(bad))
          .as(bad)
          .isInstanceOf(InvalidModelException.class)
          .satisfies(e -> assertThat(((InvalidModelException) e).errors()).isNotEmpty());
    }
  }

  @Test
  void randomGarbage_neverEscapesAsAnythingButAnInvalidModel() {
    Random random = new Random(7);
    String alphabet =
        "model schema 1.1 type define relations condition [](){}<>,:#*\n or and but"
            + " not from with user group list map string";
    for (int i = 0; i < 5_000; i++) {
      StringBuilder text = new StringBuilder("model\n  schema 1.1\n");
      int length = random.nextInt(200);
      for (int c = 0; c < length; c++) {
        text.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      try {
        AuthorizationModel model = ModelDsl.parse(text.toString());
        ModelValidator.validate(model);
        ModelDsl.write(model);
        ModelJson.read(ModelJson.write(model));
      } catch (InvalidModelException expected) {
        assertThat(expected.errors()).isNotEmpty();
      }
    }
  }
}
