package dev.castellan.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.castellan.CastellanException;
import dev.castellan.Conformance;
import dev.castellan.model.ModelDsl;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs OpenFGA's own server test suite ({@code consolidated_1_1_tests.yaml}) against the engine,
 * the way OpenFGA runs it: stages of a test share one store; lists compare as sets; every listed
 * object or user must also pass check; and each single-stage test runs a second time with its
 * tuples sent as contextual tuples instead of written. Every test runs once more with the
 * subject-side check tried on every key it applies to (it normally waits for keys with many
 * usersets), so that OpenFGA's cases judge it too.
 *
 * <p>Every check and list runs under the server's default step budget ({@link
 * Budget#DEFAULT_MAX_STEPS}) and every list must finish in one slice of it: legitimate models, deep
 * ones included, must never meet the budget. (The most any case takes, measured 2026-12: 349 steps
 * for a check, 626 for a list.)
 */
class OpenFgaConformanceTest {

  /** Cases that do not pass, with the reason. Each still runs and must still fail as described. */
  static final Map<String, String> KNOWN_DIFFERENCES = Map.of();

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @TestFactory
  Stream<DynamicTest> consolidatedTests() throws IOException {
    JsonNode root =
        YAML.readTree(Conformance.dir().resolve("consolidated_1_1_tests.yaml").toFile());
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode test : root.get("tests")) {
      String name = test.get("name").asText();
      tests.add(
          DynamicTest.dynamicTest(
              name, () -> runAndCompare(name, test, false, Evaluation.SUBJECT_SIDE_THRESHOLD)));
      tests.add(
          DynamicTest.dynamicTest(
              name + " [subject side]", () -> runAndCompare(name, test, false, 0)));
      if (test.get("stages").size() == 1) {
        tests.add(
            DynamicTest.dynamicTest(
                name + " [contextual tuples]",
                () -> runAndCompare(name, test, true, Evaluation.SUBJECT_SIDE_THRESHOLD)));
        tests.add(
            DynamicTest.dynamicTest(
                name + " [contextual tuples, subject side]",
                () -> runAndCompare(name, test, true, 0)));
      }
    }
    assertThat(tests).hasSizeGreaterThan(137);
    return tests.stream();
  }

  private static void runAndCompare(
      String name, JsonNode test, boolean contextual, int subjectSideThreshold) {
    List<String> failures = run(test, contextual, subjectSideThreshold);
    String known = KNOWN_DIFFERENCES.get(name);
    if (known == null) {
      assertThat(failures).as("conformance failures of " + name).isEmpty();
    } else {
      assertThat(failures).as("known difference no longer differs: " + known).isNotEmpty();
    }
  }

  static List<String> run(JsonNode test, boolean contextual, int subjectSideThreshold) {
    List<String> failures = new ArrayList<>();
    TupleIndex index = TupleIndex.create();
    int stageNumber = 0;
    for (JsonNode stage : test.get("stages")) {
      stageNumber++;
      Engine engine =
          Engine.create(ModelDsl.parse(stage.get("model").asText()), index)
              .withSubjectSideThreshold(subjectSideThreshold);
      List<Tuple> stageTuples = tuples(stage.get("tuples"));
      List<Tuple> asContext = List.of();
      if (contextual) {
        asContext = stageTuples;
      } else {
        for (Tuple tuple : stageTuples) {
          engine.validateTuple(tuple);
        }
        index.write(stageTuples);
      }
      String prefix = "stage " + stageNumber + ": ";
      for (JsonNode assertion : iterate(stage.get("checkAssertions"))) {
        checkAssertion(engine, assertion, asContext, prefix, failures);
      }
      for (JsonNode assertion : iterate(stage.get("listObjectsAssertions"))) {
        listObjectsAssertion(engine, assertion, asContext, prefix, failures);
      }
      for (JsonNode assertion : iterate(stage.get("listUsersAssertions"))) {
        listUsersAssertion(engine, assertion, asContext, prefix, failures);
      }
    }
    return failures;
  }

  private static void checkAssertion(
      Engine engine, JsonNode a, List<Tuple> asContext, String prefix, List<String> failures) {
    JsonNode t = a.get("tuple");
    CheckRequest request =
        CheckRequest.of(text(t, "object"), text(t, "relation"), text(t, "user"))
            .withContextualTuples(concat(asContext, tuples(a.get("contextualTuples"))))
            .withContext(context(a.get("context")));
    String what =
        prefix + "check " + text(t, "object") + "#" + text(t, "relation") + "@" + text(t, "user");
    try {
      boolean allowed = engine.check(request, defaultBudget()).allowed();
      if (a.has("errorCode")) {
        failures.add(what + ": expected error " + a.get("errorCode").asInt() + ", got " + allowed);
      } else if (allowed != a.get("expectation").asBoolean()) {
        failures.add(what + ": expected " + a.get("expectation").asBoolean() + ", got " + allowed);
      }
    } catch (CastellanException e) {
      expectError(a, e, what, failures);
    }
  }

  private static void listObjectsAssertion(
      Engine engine, JsonNode a, List<Tuple> asContext, String prefix, List<String> failures) {
    JsonNode r = a.get("request");
    List<Tuple> contextualTuples =
        concat(
            asContext,
            concat(tuples(a.get("contextualTuples")), tuples(r.get("contextualTuples"))));
    Map<String, Object> context = context(a.has("context") ? a.get("context") : r.get("context"));
    ListObjectsRequest request =
        ListObjectsRequest.of(text(r, "type"), text(r, "relation"), text(r, "user"))
            .withContextualTuples(contextualTuples)
            .withContext(context);
    String what =
        prefix
            + "list-objects "
            + text(r, "type")
            + "#"
            + text(r, "relation")
            + "@"
            + text(r, "user");
    try {
      List<String> objects = inOneSlice(engine.objectListing(request), what, failures);
      if (a.has("errorCode")) {
        failures.add(what + ": expected error " + a.get("errorCode").asInt() + ", got " + objects);
        return;
      }
      Set<String> expected = strings(a.get("expectation"));
      if (!expected.equals(new HashSet<>(objects)) || objects.size() != expected.size()) {
        failures.add(what + ": expected " + expected + ", got " + objects);
      }
      for (String object : objects) {
        CheckRequest check =
            CheckRequest.of(object, text(r, "relation"), text(r, "user"))
                .withContextualTuples(contextualTuples)
                .withContext(context);
        if (!engine.check(check).allowed()) {
          failures.add(what + ": listed " + object + " but check denies it");
        }
      }
    } catch (CastellanException e) {
      expectError(a, e, what, failures);
    }
  }

  private static void listUsersAssertion(
      Engine engine, JsonNode a, List<Tuple> asContext, String prefix, List<String> failures) {
    JsonNode r = a.get("request");
    List<Tuple> contextualTuples =
        concat(
            asContext,
            concat(tuples(a.get("contextualTuples")), tuples(r.get("contextualTuples"))));
    Map<String, Object> context = context(a.has("context") ? a.get("context") : r.get("context"));
    List<String> filters = new ArrayList<>(strings(r.get("filters")));
    ListUsersRequest request =
        new ListUsersRequest(
            text(r, "object"), text(r, "relation"), filters, contextualTuples, context);
    String what =
        prefix + "list-users " + text(r, "object") + "#" + text(r, "relation") + " " + filters;
    try {
      List<String> users = inOneSlice(engine.userListing(request), what, failures);
      if (a.has("errorCode")) {
        failures.add(what + ": expected error " + a.get("errorCode").asInt() + ", got " + users);
        return;
      }
      Set<String> expected = strings(a.get("expectation"));
      if (!expected.equals(new HashSet<>(users)) || users.size() != expected.size()) {
        failures.add(what + ": expected " + expected + ", got " + users);
      }
      for (String user : users) {
        CheckRequest check =
            CheckRequest.of(text(r, "object"), text(r, "relation"), user)
                .withContextualTuples(contextualTuples)
                .withContext(context);
        if (!engine.check(check).allowed()) {
          failures.add(what + ": listed " + user + " but check denies it");
        }
      }
    } catch (CastellanException e) {
      expectError(a, e, what, failures);
    }
  }

  private static Budget defaultBudget() {
    return Budget.builder().maxSteps(Budget.DEFAULT_MAX_STEPS).start();
  }

  private static List<String> inOneSlice(Listing listing, String what, List<String> failures) {
    List<String> found = listing.run(defaultBudget());
    if (!listing.complete()) {
      failures.add(what + ": not complete within the default budget: " + listing.stoppedBy());
    }
    return found;
  }

  private static void expectError(
      JsonNode a, CastellanException e, String what, List<String> failures) {
    if (!a.has("errorCode")) {
      failures.add(what + ": unexpected error " + e.code().number() + " " + e.getMessage());
    } else if (a.get("errorCode").asInt() != e.code().number()) {
      failures.add(
          what
              + ": expected error "
              + a.get("errorCode").asInt()
              + ", got "
              + e.code().number()
              + " "
              + e.getMessage());
    }
  }

  static List<Tuple> tuples(JsonNode node) {
    List<Tuple> out = new ArrayList<>();
    for (JsonNode t : iterate(node)) {
      JsonNode condition = t.get("condition");
      if (condition == null || condition.isNull()) {
        out.add(Tuple.of(text(t, "object"), text(t, "relation"), text(t, "user")));
      } else {
        out.add(
            Tuple.conditional(
                text(t, "object"),
                text(t, "relation"),
                text(t, "user"),
                text(condition, "name"),
                context(condition.get("context"))));
      }
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> context(JsonNode node) {
    if (node == null || node.isNull()) {
      return Map.of();
    }
    return YAML.convertValue(node, LinkedHashMap.class);
  }

  private static Set<String> strings(JsonNode node) {
    Set<String> out = new HashSet<>();
    for (JsonNode value : iterate(node)) {
      out.add(value.asText());
    }
    return out;
  }

  private static <T> List<T> concat(List<T> a, List<T> b) {
    if (b.isEmpty()) {
      return a;
    }
    List<T> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  private static Iterable<JsonNode> iterate(JsonNode node) {
    return node == null || node.isNull() ? List.of() : node::elements;
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null ? "" : value.asText();
  }
}
