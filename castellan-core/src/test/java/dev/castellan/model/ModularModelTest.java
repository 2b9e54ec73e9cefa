package dev.castellan.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.model.ModularModel.FileError;
import dev.castellan.model.ModularModel.InvalidModularModelException;
import dev.castellan.model.ModularModel.SourceFile;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModularModelTest {

  private static final SourceFile CORE =
      new SourceFile(
          "core.fga",
          """
          module core

          type user

          type team
            relations
              define member: [user]

          type folder
          """);

  private static final SourceFile WIKI =
      new SourceFile(
          "wiki/wiki.fga",
          """
          module wiki

          extend type team
            relations
              define wiki_admin: [user with business_hours]

          extend type folder
            relations
              define viewer: [user, team#member]

          type page
            relations
              define editor: [user] or wiki_admin from space
              define space: [team]

          condition business_hours(hour: int) {
            hour >= 9 && hour < 17
          }
          """);

  @Test
  void combine_declaredAndExtendedTypes_keepsEachPartsModuleAndFile() {
    AuthorizationModel model = ModularModel.combine(List.of(CORE, WIKI));

    assertThat(model.schemaVersion()).isEqualTo("1.2");
    assertThat(model.typeDefinitions())
        .extracting(TypeDefinition::name)
        .containsExactly("user", "team", "folder", "page");
    TypeDefinition team = model.type("team").orElseThrow();
    assertThat(team.source()).isEqualTo(new ModuleSource("core", "core.fga"));
    assertThat(team.relations().keySet()).containsExactly("member", "wiki_admin");
    assertThat(team.relations().get("member").source()).isEqualTo(ModuleSource.NONE);
    assertThat(team.relations().get("wiki_admin").source())
        .isEqualTo(new ModuleSource("wiki", "wiki/wiki.fga"));
    assertThat(model.type("folder").orElseThrow().relations()).containsKey("viewer");
    assertThat(model.type("page").orElseThrow().source())
        .isEqualTo(new ModuleSource("wiki", "wiki/wiki.fga"));
    assertThat(model.conditions().get("business_hours").source())
        .isEqualTo(new ModuleSource("wiki", "wiki/wiki.fga"));
    assertThat(ModelValidator.validate(model)).isEmpty();
  }

  @Test
  void json_ofACombinedModel_carriesOpenFgasModuleMetadata_andReadsBack() {
    AuthorizationModel model = ModularModel.combine(List.of(CORE, WIKI));

    JsonNode tree = ModelJson.toTree(model);

    JsonNode team = tree.get("type_definitions").get(1);
    assertThat(team.at("/metadata/module").asText()).isEqualTo("core");
    assertThat(team.at("/metadata/source_info/file").asText()).isEqualTo("core.fga");
    assertThat(team.at("/metadata/relations/member/module").isMissingNode()).isTrue();
    assertThat(team.at("/metadata/relations/wiki_admin/module").asText()).isEqualTo("wiki");
    assertThat(team.at("/metadata/relations/wiki_admin/source_info/file").asText())
        .isEqualTo("wiki/wiki.fga");
    JsonNode user = tree.get("type_definitions").get(0);
    assertThat(user.at("/metadata/module").asText()).isEqualTo("core");
    assertThat(user.at("/metadata/relations").isMissingNode()).isTrue();
    assertThat(tree.at("/conditions/business_hours/metadata/module").asText()).isEqualTo("wiki");
    assertThat(ModelJson.read(ModelJson.write(model))).isEqualTo(model);
  }

  @Test
  void dsl_ofACombinedModel_namesSourcesInComments_andParsesBack() {
    AuthorizationModel model = ModularModel.combine(List.of(CORE, WIKI));

    String dsl = ModelDsl.write(model);

    assertThat(dsl)
        .startsWith("model\n  schema 1.2\n")
        .contains("type team # module: core, file: core.fga\n")
        .contains(
            "    define wiki_admin: [user with business_hours]"
                + " # extended by: module: wiki, file: wiki/wiki.fga\n")
        .contains("} # module: wiki, file: wiki/wiki.fga\n");
    AuthorizationModel reparsed = ModelDsl.parse(dsl);
    assertThat(ModelValidator.validate(reparsed)).isEmpty();
    assertThat(reparsed.type("team").orElseThrow().relations().keySet())
        .containsExactly("member", "wiki_admin");
  }

  @Test
  void combine_reportsEveryCombinationErrorInItsFile() {
    SourceFile plain = new SourceFile("plain.fga", "model\n  schema 1.1\n\ntype robot\n");
    SourceFile other =
        new SourceFile(
            "other.fga",
            """
            module other

            type user

            extend type missing

            extend type team
              relations
                define member: [user]

            condition business_hours(h: int) {
              h > 1
            }
            """);

    assertThatThrownBy(() -> ModularModel.combine(List.of(CORE, WIKI, plain, other)))
        .isInstanceOfSatisfying(
            InvalidModularModelException.class,
            e ->
                assertThat(e.errors())
                    .extracting(FileError::describe)
                    .containsExactly(
                        "plain.fga:1:1: file is not a module",
                        "other.fga:3:6: duplicate type definition user",
                        "other.fga:11:11: duplicate condition business_hours",
                        "other.fga:5:13: extended type missing does not exist",
                        "other.fga:9:12: relation member already exists on type team"));
  }

  @Test
  void combine_syntaxErrors_areReportedWithTheirFile() {
    SourceFile broken = new SourceFile("broken.fga", "module broken\n\ntype a\n  define b: [a]\n");

    assertThatThrownBy(() -> ModularModel.combine(List.of(CORE, broken)))
        .isInstanceOfSatisfying(
            InvalidModularModelException.class,
            e -> {
              assertThat(e.errors()).hasSize(1);
              assertThat(e.errors().get(0).file()).isEqualTo("broken.fga");
              assertThat(e.errors().get(0).error().span().startLine()).isEqualTo(3);
            });
  }

  @Test
  void combine_semanticErrors_pointIntoTheFileThatHoldsTheCause() {
    SourceFile jira =
        new SourceFile(
            "jira.fga",
            """
            module jira

            type ticket
              relations
                define reporter: member
            """);

    assertThatThrownBy(() -> ModularModel.combine(List.of(CORE, jira)))
        .isInstanceOfSatisfying(
            InvalidModularModelException.class,
            e ->
                assertThat(e.errors())
                    .extracting(FileError::describe)
                    .containsExactly("jira.fga:5:22: the relation `member` does not exist."));
  }

  @Test
  void combine_aTypeExtendedTwiceInOneFile_isASyntaxError() {
    SourceFile twice =
        new SourceFile(
            "twice.fga",
            "module twice\n\nextend type team\n  relations\n    define a: [user]\n\n"
                + "extend type team\n  relations\n    define b: [user]\n");

    assertThatThrownBy(() -> ModularModel.combine(List.of(CORE, twice)))
        .isInstanceOfSatisfying(
            InvalidModularModelException.class,
            e ->
                assertThat(e.errors())
                    .extracting(FileError::describe)
                    .containsExactly("twice.fga:7:13: 'team' is already extended in file."));
  }

  @Test
  void dsl_aSourceWithALineBreak_isNotWrittenAsAComment() {
    AuthorizationModel model =
        new AuthorizationModel(
            "1.2",
            List.of(
                new TypeDefinition(
                    "user", java.util.Map.of(), new ModuleSource("core", "a.fga\ntype evil"))),
            java.util.Map.of());

    assertThatThrownBy(() -> ModelDsl.write(model))
        .isInstanceOf(InvalidModelException.class)
        .hasMessageContaining("line break");
  }
}
