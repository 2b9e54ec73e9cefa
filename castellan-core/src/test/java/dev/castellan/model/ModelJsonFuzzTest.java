package dev.castellan.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuzz target for the JSON model reader ({@code WriteAuthorizationModel} bodies, stored models).
 * Only {@link InvalidModelException} may escape, from reading or from printing as DSL; a model that
 * reads prints and reads back to itself; a valid model that prints as DSL parses back to the same
 * model (up to the order the DSL imposes); every input is handled within {@link
 * ModelDslFuzzTest#TIME_LIMIT} of CPU time.
 *
 * <p>The build fuzzes this in its own JVM ({@code fuzz-model-json} in this module's POM).
 */
class ModelJsonFuzzTest {

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  @FuzzTest(maxDuration = "45s")
  @DictionaryEntries({
    "\"schema_version\":\"1.1\"",
    "\"type_definitions\":[",
    "{\"type\":\"",
    "\"relations\":{",
    "\"this\":{}",
    "\"computedUserset\":{\"relation\":\"",
    "\"tupleToUserset\":{\"tupleset\":{\"relation\":\"",
    "\"union\":{\"child\":[",
    "\"intersection\":{\"child\":[",
    "\"difference\":{\"base\":",
    "\"subtract\":",
    "\"metadata\":{\"relations\":{",
    "\"directly_related_user_types\":[",
    "\"wildcard\":{}",
    "\"condition\":\"",
    "\"conditions\":{",
    "\"expression\":\"",
    "\"parameters\":{",
    "{\"type_name\":\"TYPE_NAME_",
    "\"generic_types\":["
  })
  void read(byte[] input) {
    String json = new String(input, StandardCharsets.UTF_8);
    long start = THREADS.getCurrentThreadCpuTime();
    AuthorizationModel model;
    try {
      model = ModelJson.read(json);
    } catch (InvalidModelException e) {
      assertThat(e.errors()).isNotEmpty();
      ModelDslFuzzTest.assertWithinTime(start);
      return;
    }
    List<ModelError> errors = ModelValidator.validate(model);
    ModelDslFuzzTest.assertWithinTime(start);

    String written = ModelJson.write(model);
    assertThat(ModelJson.read(written)).as("JSON round trip of:\n%s", written).isEqualTo(model);
    assertThat(ModelJson.write(ModelJson.read(written))).isEqualTo(written);
    if (!errors.isEmpty()) {
      return;
    }
    String dsl;
    try {
      dsl = ModelDsl.write(model);
    } catch (InvalidModelException e) {
      assertThat(e.errors()).extracting(ModelError::kind).containsOnly("unsupported-by-dsl");
      return;
    }
    assertThat(ModelDsl.parse(dsl)).as("DSL round trip of:\n%s", dsl).isEqualTo(inDslOrder(model));
  }

  /**
   * {@code model} as the DSL orders it: in a union or intersection the directly related types come
   * first ({@code [user] or viewer}), where JSON may have them anywhere; without module sources.
   */
  static AuthorizationModel inDslOrder(AuthorizationModel model) {
    List<TypeDefinition> types = new ArrayList<>();
    for (TypeDefinition type : model.typeDefinitions()) {
      Map<String, RelationDefinition> relations = new LinkedHashMap<>();
      type.relations()
          .forEach(
              (name, r) ->
                  relations.put(
                      name,
                      new RelationDefinition(
                          name, inDslOrder(r.rewrite()), r.directlyRelatedTypes())));
      types.add(new TypeDefinition(type.name(), relations));
    }
    // Module sources are comments in the DSL: parsing the DSL back does not restore them.
    Map<String, Condition> conditions = new LinkedHashMap<>();
    model
        .conditions()
        .forEach(
            (name, c) -> conditions.put(name, new Condition(name, c.parameters(), c.expression())));
    return new AuthorizationModel(model.schemaVersion(), types, conditions);
  }

  private static Rewrite inDslOrder(Rewrite rewrite) {
    return switch (rewrite) {
      case Rewrite.Union u -> new Rewrite.Union(thisFirst(u.children()));
      case Rewrite.Intersection i -> new Rewrite.Intersection(thisFirst(i.children()));
      case Rewrite.Difference d ->
          new Rewrite.Difference(inDslOrder(d.base()), inDslOrder(d.subtract()));
      default -> rewrite;
    };
  }

  private static List<Rewrite> thisFirst(List<Rewrite> children) {
    List<Rewrite> ordered = new ArrayList<>(children.stream().map(c -> inDslOrder(c)).toList());
    for (int i = 1; i < ordered.size(); i++) {
      if (ordered.get(i) instanceof Rewrite.This) {
        ordered.add(0, ordered.remove(i));
        break;
      }
    }
    return ordered;
  }
}
