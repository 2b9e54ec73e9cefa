package dev.castellan.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * Fuzz target for the DSL parser and the validator on what it parses. Only {@link
 * InvalidModelException} may escape; a parsed model prints and parses back to itself, in the DSL
 * and in JSON; every input is handled within {@link #TIME_LIMIT} of CPU time.
 *
 * <p>The build fuzzes this for {@code maxDuration} in its own JVM ({@code fuzz-model-dsl} in this
 * module's POM); without {@code JAZZER_FUZZ} it replays the inputs under {@code
 * ModelDslFuzzTestInputs/parse}, where the fuzzer also writes every input that fails.
 */
class ModelDslFuzzTest {

  /**
   * CPU time one input may take: far above the milliseconds any input takes, so only a superlinear
   * blow-up reaches it. CPU time of this thread, not wall time, so a loaded machine does not fail
   * the build.
   */
  static final Duration TIME_LIMIT = Duration.ofSeconds(1);

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  @FuzzTest(maxDuration = "45s")
  @DictionaryEntries({
    "model",
    "schema 1.1",
    "type ",
    "relations",
    "define ",
    ": [",
    " or ",
    " and ",
    " but not ",
    " from ",
    ":*",
    " with ",
    "condition ",
    "(x: ",
    "list<",
    "map<",
    "ipaddress",
    ") {",
    "module",
    "extend"
  })
  void parse(byte[] input) {
    String dsl = new String(input, StandardCharsets.UTF_8);
    long start = THREADS.getCurrentThreadCpuTime();
    AuthorizationModel model;
    try {
      model = ModelDsl.parse(dsl);
    } catch (InvalidModelException e) {
      assertThat(e.errors()).isNotEmpty();
      assertSpansInside(e.errors(), dsl);
      assertWithinTime(start);
      return;
    }
    List<ModelError> positioned = ModelValidator.validateDsl(dsl);
    assertSpansInside(positioned, dsl);
    assertThat(withoutPositions(ModelValidator.validate(model)))
        .as("the validator's verdict does not depend on source positions")
        .isEqualTo(withoutPositions(positioned));
    assertWithinTime(start);
    if (model.schemaVersion().isEmpty()) {
      // A module file (`module name`): it has no schema and is written only once combined.
      assertThat(positioned).extracting(ModelError::kind).contains("schema-version-required");
      return;
    }

    String written = ModelDsl.write(model);
    assertThat(ModelDsl.parse(written)).as("DSL round trip of:\n%s", written).isEqualTo(model);
    assertThat(ModelJson.read(ModelJson.write(model))).as("JSON round trip").isEqualTo(model);
  }

  static void assertWithinTime(long startCpuNanos) {
    assertThat(Duration.ofNanos(THREADS.getCurrentThreadCpuTime() - startCpuNanos))
        .isLessThan(TIME_LIMIT);
  }

  /** Every position points into the source: editors jump to it. */
  private static void assertSpansInside(List<ModelError> errors, String source) {
    long lines = source.chars().filter(c -> c == '\n').count() + 1;
    for (ModelError error : errors) {
      SourceSpan span = error.span();
      if (span.equals(SourceSpan.NONE)) {
        continue;
      }
      assertThat(span.startLine()).as(error.describe()).isBetween(0, (int) lines - 1);
      assertThat(span.endLine()).as(error.describe()).isBetween(span.startLine(), (int) lines - 1);
      assertThat(span.startColumn()).as(error.describe()).isNotNegative();
      assertThat(error.describe()).isNotBlank();
    }
  }

  private static List<String> withoutPositions(List<ModelError> errors) {
    return errors.stream().map(e -> e.kind() + " " + e.symbol() + " " + e.message()).toList();
  }
}
