package dev.castellan.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.ErrorCode;
import dev.castellan.model.ModelDsl;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 12: every evaluation runs under a {@link Budget} (steps, deadline, cancellation, result
 * bytes, explanation bytes), and lists cut by theirs go on from where they stopped.
 */
@Timeout(60)
class BudgetTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Engine engine(String dsl, List<Tuple> tuples) {
    TupleIndex index = TupleIndex.create();
    Engine engine = Engine.create(ModelDsl.parse(dsl), index);
    tuples.forEach(engine::validateTuple);
    index.write(tuples);
    return engine;
  }

  private static Budget steps(long max) {
    return Budget.builder().maxSteps(max).start();
  }

  // ------------------------------------------------------------------ check

  @Test
  void check_unionLadderOf18Levels_stopsAtItsStepBudget_asTooComplex() {
    Engine engine =
        engine(Pathological.unionLadder(18), List.of(Tuple.of("doc:1", "r0", "user:bob")));
    Budget budget = steps(10_000);
    assertThatThrownBy(() -> engine.check(CheckRequest.of("doc:1", "r17", "user:anne"), budget))
        .isInstanceOfSatisfying(
            BudgetExceededException.class,
            e -> {
              assertThat(e.limit()).isEqualTo(Budget.Limit.STEPS);
              assertThat(e.code()).isEqualTo(ErrorCode.AUTHORIZATION_MODEL_RESOLUTION_TOO_COMPLEX);
              assertThat(e.steps()).isEqualTo(10_001);
            });
    // The same model answers checks that fit: bob's grant is found on the first path.
    assertThat(engine.check(CheckRequest.of("doc:1", "r17", "user:bob"), steps(10_000)).allowed())
        .isTrue();
  }

  @Test
  void check_unionLadder_underTheDefaultBudget_stopsWhereItUsedToRunOn() {
    // 2^23 paths: the old engine walked them all (seconds); the default budget stops it.
    Engine engine =
        engine(Pathological.unionLadder(24), List.of(Tuple.of("doc:1", "r0", "user:bob")));
    Budget budget = steps(Budget.DEFAULT_MAX_STEPS);
    assertThatThrownBy(() -> engine.check(CheckRequest.of("doc:1", "r23", "user:anne"), budget))
        .isInstanceOf(BudgetExceededException.class);
    assertThat(budget.exceeded()).contains(Budget.Limit.STEPS);
  }

  @Test
  void check_parentLadderOf130Tuples_stopsAtItsDeadline() {
    Engine engine = engine(Pathological.FOLDERS, Pathological.parentLadder(130));
    Budget budget = Budget.builder().timeout(Duration.ofMillis(50)).start();
    assertThatThrownBy(
            () ->
                engine.check(CheckRequest.of(Pathological.top(130), "viewer", "user:anne"), budget))
        .isInstanceOfSatisfying(
            BudgetExceededException.class,
            e -> {
              assertThat(e.limit()).isEqualTo(Budget.Limit.DEADLINE);
              assertThat(e.code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED);
              assertThat(e.elapsed()).isGreaterThanOrEqualTo(Duration.ofMillis(50));
              assertThat(e.getMessage()).contains("50 ms");
            });
  }

  @Test
  void check_94ContextualTuples_asAReaderSends_stopAtTheBudgetToo() {
    Engine engine = engine(Pathological.FOLDERS, List.of());
    CheckRequest request =
        CheckRequest.of(Pathological.top(92), "viewer", "user:anne")
            .withContextualTuples(
                concat(
                    Pathological.parentLadder(92),
                    List.of(
                        Tuple.of("folder:x", "parent", "folder:y"),
                        Tuple.of("folder:y", "parent", "folder:z"))));
    assertThat(request.contextualTuples()).hasSize(94);
    assertThatThrownBy(() -> engine.check(request, steps(Budget.DEFAULT_MAX_STEPS)))
        .isInstanceOf(BudgetExceededException.class)
        .extracting(e -> ((BudgetExceededException) e).limit())
        .isEqualTo(Budget.Limit.STEPS);
  }

  @Test
  void check_whoseCallerWentAway_stopsAsCancelled() {
    Engine engine = engine(Pathological.FOLDERS, Pathological.parentLadder(130));
    AtomicInteger polls = new AtomicInteger();
    Budget budget = Budget.builder().cancelledWhen(() -> polls.incrementAndGet() > 3).start();
    assertThatThrownBy(
            () ->
                engine.check(CheckRequest.of(Pathological.top(130), "viewer", "user:anne"), budget))
        .isInstanceOfSatisfying(
            BudgetExceededException.class,
            e -> {
              assertThat(e.limit()).isEqualTo(Budget.Limit.CANCELLED);
              assertThat(e.code()).isEqualTo(ErrorCode.CANCELLED);
            });
    assertThat(polls.get()).isEqualTo(4);
    assertThat(budget.steps()).isEqualTo(4L * Budget.POLL_EVERY);
  }

  @Test
  void part_ofABatch_hasItsOwnSteps_butNeverOutlivesTheBatch() {
    Budget batch = Budget.builder().timeout(Duration.ofMillis(20)).maxSteps(5).start();
    Budget item = batch.part(Duration.ofSeconds(30), 1_000);
    assertThat(item.maxSteps()).isEqualTo(1_000);
    assertThat(item.timeout()).contains(Duration.ofMillis(20));
    Engine engine = engine(Pathological.FOLDERS, Pathological.parentLadder(130));
    assertThatThrownBy(
            () ->
                engine.check(
                    CheckRequest.of(Pathological.top(130), "viewer", "user:anne"),
                    batch.part(Duration.ofSeconds(30), Long.MAX_VALUE)))
        .isInstanceOfSatisfying(
            BudgetExceededException.class,
            e -> assertThat(e.limit()).isEqualTo(Budget.Limit.DEADLINE));
  }

  @Test
  void longEvaluationsOnVirtualThreads_shareTheCarriers_andGiveEveryPermitBack() throws Exception {
    Engine engine = engine(Pathological.FOLDERS, Pathological.parentLadder(130));
    int permits = Budget.LONG_RUNNING.availablePermits();
    List<Thread> threads = new ArrayList<>();
    AtomicInteger stopped = new AtomicInteger();
    for (int i = 0; i < 8; i++) {
      int n = i;
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    Budget budget =
                        n % 2 == 0
                            ? Budget.builder().timeout(Duration.ofMillis(100)).start()
                            : steps(200_000);
                    try {
                      engine.check(
                          CheckRequest.of(Pathological.top(130), "viewer", "user:anne"), budget);
                    } catch (BudgetExceededException e) {
                      stopped.incrementAndGet();
                    }
                  }));
    }
    for (Thread thread : threads) {
      thread.join(Duration.ofSeconds(30));
    }
    assertThat(stopped.get()).isEqualTo(8);
    assertThat(Budget.LONG_RUNNING.availablePermits()).isEqualTo(permits);
  }

  // ------------------------------------------------------------------ explain

  @Test
  void explain_onAGraphWithAHugeTrace_staysUnderItsCap_andSaysWhatItLeftOut() throws Exception {
    Engine engine =
        engine(Pathological.unionLadder(16), List.of(Tuple.of("doc:1", "r0", "user:bob")));
    CheckRequest request = CheckRequest.of("doc:1", "r15", "user:anne").withExplain(true);
    int cap = 64 * 1024;
    CheckResult result =
        engine.check(
            request,
            Budget.builder().maxSteps(Budget.DEFAULT_MAX_STEPS).maxExplanationBytes(cap).start());
    assertThat(result.allowed())
        .isEqualTo(engine.check(CheckRequest.of("doc:1", "r15", "user:anne")).allowed());
    Explanation explanation = result.explanation().orElseThrow();
    assertThat(result.explanationOmittedSteps()).isGreaterThan(10_000);
    assertThat(explanationBytes(explanation)).isLessThanOrEqualTo(cap).isGreaterThan(cap / 2);
    List<Explanation> markers = new ArrayList<>();
    collect(explanation, Explanation.Outcome.OMITTED, markers);
    assertThat(markers).isNotEmpty();
    assertThat(markers.getFirst().step()).contains("not shown").contains(String.valueOf(cap));
    // check -> doc:1#r15 -> union [direct, doc:1#r14, ..., marker]: the union says how much of it
    // is not shown.
    Explanation union = explanation.children().getFirst().children().getFirst();
    assertThat(union.step()).isEqualTo("union");
    assertThat(union.children().getLast().outcome()).isEqualTo(Explanation.Outcome.OMITTED);
    long counted = 0;
    for (Explanation marker : markers) {
      counted += Long.parseLong(marker.step().split(" ")[1]);
    }
    assertThat(counted).isEqualTo(result.explanationOmittedSteps());
  }

  @Test
  void explain_underItsCap_isComplete() {
    Engine engine =
        engine(Pathological.unionLadder(4), List.of(Tuple.of("doc:1", "r0", "user:bob")));
    CheckResult result =
        engine.check(
            CheckRequest.of("doc:1", "r3", "user:bob").withExplain(true),
            Budget.builder().maxExplanationBytes(256 * 1024).start());
    assertThat(result.allowed()).isTrue();
    assertThat(result.explanationOmittedSteps()).isZero();
    List<Explanation> markers = new ArrayList<>();
    collect(result.explanation().orElseThrow(), Explanation.Outcome.OMITTED, markers);
    assertThat(markers).isEmpty();
  }

  /** The bytes of the explanation as the server sends it: its tree and its rendering. */
  static long explanationBytes(Explanation explanation) throws Exception {
    ObjectNode out = JSON.createObjectNode();
    out.put("resolution", explanation.render());
    out.set("explanation", tree(explanation));
    return JSON.writeValueAsBytes(out).length;
  }

  private static ObjectNode tree(Explanation explanation) {
    ObjectNode node = JSON.createObjectNode();
    node.put("step", explanation.step());
    node.put("outcome", explanation.outcome().name().toLowerCase(java.util.Locale.ROOT));
    if (!explanation.children().isEmpty()) {
      ArrayNode children = node.putArray("children");
      explanation.children().forEach(c -> children.add(tree(c)));
    }
    return node;
  }

  private static void collect(
      Explanation explanation, Explanation.Outcome outcome, List<Explanation> out) {
    if (explanation.outcome() == outcome) {
      out.add(explanation);
    }
    explanation.children().forEach(c -> collect(c, outcome, out));
  }

  @Test
  void explanationCost_boundsTheEscapedUtf8OfAnyText() throws Exception {
    for (String text :
        List.of(
            "plain", "quote\" and \\ back", "tab\tnew\nline\u0001", "\u00e9\u20ac\ud834\udd1e")) {
      long json = JSON.writeValueAsBytes(text).length - 2;
      assertThat(Trace.escapedUtf8(text)).as(text).isGreaterThanOrEqualTo(json);
    }
  }

  // ------------------------------------------------------------------ lists

  private static final String TREE =
      """
      model
        schema 1.1
      type user
      type folder
        relations
          define parent: [folder]
          define viewer: [user] or viewer from parent
          define blocked: [user]
          define can_view: viewer but not blocked
      """;

  private static Engine tree(int children) {
    List<Tuple> tuples = new ArrayList<>();
    tuples.add(Tuple.of("folder:root", "viewer", "user:anne"));
    for (int i = 0; i < children; i++) {
      tuples.add(Tuple.of("folder:c" + i, "parent", "folder:root"));
      tuples.add(Tuple.of("folder:g" + i, "parent", "folder:c" + i));
      if (i % 7 == 0) {
        tuples.add(Tuple.of("folder:g" + i, "blocked", "user:anne"));
      }
    }
    return engine(TREE, tuples);
  }

  @Test
  void listObjects_cutByItsBudget_goesOnWhereItStopped_withoutLosingOrRepeatingAnything() {
    Engine engine = tree(150);
    ListObjectsRequest request = ListObjectsRequest.of("folder", "can_view", "user:anne");
    List<String> whole = engine.listObjects(request);
    assertThat(whole).hasSize(1 + 150 + 150 - 22);

    Listing listing = engine.objectListing(request);
    List<String> sliced = new ArrayList<>();
    int slices = 0;
    while (!listing.complete()) {
      sliced.addAll(listing.run(steps(200)));
      slices++;
      if (!listing.complete()) {
        assertThat(listing.stoppedBy()).contains(Budget.Limit.STEPS);
      }
    }
    assertThat(slices).isGreaterThan(5);
    assertThat(sliced).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(whole);
    assertThat(listing.run(steps(200))).isEmpty();
  }

  @Test
  void listUsers_cutByItsBudget_goesOnWhereItStopped() {
    List<Tuple> tuples = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      tuples.add(Tuple.of("folder:root", "viewer", "user:u" + i));
    }
    tuples.add(Tuple.of("folder:root", "blocked", "user:u7"));
    Engine engine = engine(TREE, tuples);
    ListUsersRequest request = ListUsersRequest.of("folder:root", "can_view", "user");
    List<String> whole = engine.listUsers(request);
    assertThat(whole).hasSize(199);

    Listing listing = engine.userListing(request);
    Set<String> sliced = new HashSet<>();
    int slices = 0;
    while (!listing.complete()) {
      for (String user : listing.run(steps(250))) {
        assertThat(sliced.add(user)).as("returned once: " + user).isTrue();
      }
      slices++;
    }
    assertThat(slices).isGreaterThan(3);
    assertThat(sliced).containsExactlyInAnyOrderElementsOf(whole);
  }

  @Test
  void listObjects_cutByResultBytes_goesOnToo() {
    Engine engine = tree(150);
    Listing listing = engine.objectListing(ListObjectsRequest.of("folder", "viewer", "user:anne"));
    List<String> first = listing.run(Budget.builder().maxResultBytes(1_000).start());
    assertThat(listing.complete()).isFalse();
    assertThat(listing.stoppedBy()).contains(Budget.Limit.RESULT_BYTES);
    assertThat(first).isNotEmpty().hasSizeLessThan(40);
    List<String> rest = listing.run(Budget.unlimited());
    assertThat(listing.complete()).isTrue();
    assertThat(concat(first, rest)).doesNotHaveDuplicates().hasSize(301);
  }

  @Test
  void listing_whoseSingleConfirmationNeedsMoreThanABudget_fails_ratherThanPagingForever() {
    String dsl =
        Pathological.unionLadder(18)
            + """
                define candidate: [user]
                define can: candidate and r17
            """;
    Engine engine = engine(dsl, List.of(Tuple.of("doc:1", "candidate", "user:anne")));
    Listing listing = engine.objectListing(ListObjectsRequest.of("doc", "can", "user:anne"));
    assertThat(listing.run(steps(5_000))).as("the seeds are found first").isEmpty();
    assertThat(listing.stoppedBy()).contains(Budget.Limit.STEPS);
    // The next slice starts on the confirmation of doc:1 (2^17 paths), and cannot finish it.
    assertThatThrownBy(() -> listing.run(steps(5_000)))
        .isInstanceOfSatisfying(
            BudgetExceededException.class,
            e -> assertThat(e.limit()).isEqualTo(Budget.Limit.STEPS));
  }

  @Test
  void listing_whoseCallerWentAway_fails() {
    Engine engine = tree(150);
    Listing listing =
        engine.objectListing(ListObjectsRequest.of("folder", "can_view", "user:anne"));
    assertThatThrownBy(() -> listing.run(Budget.builder().cancelledWhen(() -> true).start()))
        .isInstanceOfSatisfying(
            BudgetExceededException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.CANCELLED));
  }

  // ------------------------------------------------------------------ expand

  @Test
  void expand_largerThanItsResultBytes_failsAsExceededEntityLimit() {
    List<Tuple> tuples = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      tuples.add(Tuple.of("folder:root", "viewer", "user:u" + i));
    }
    Engine engine = engine(TREE, tuples);
    assertThat(engine.expand("folder:root", "viewer")).isNotNull();
    assertThatThrownBy(
            () ->
                engine.expand(
                    "folder:root",
                    "viewer",
                    List.of(),
                    Budget.builder().maxResultBytes(4_096).start()))
        .isInstanceOfSatisfying(
            BudgetExceededException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.EXCEEDED_ENTITY_LIMIT);
              assertThat(e.getMessage()).contains("4096 bytes");
            });
  }

  private static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
