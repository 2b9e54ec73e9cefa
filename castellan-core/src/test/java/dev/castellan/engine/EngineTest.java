package dev.castellan.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.model.ModelDsl;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class EngineTest {
  private static final String RAG_MODEL =
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
          define owner: [user]
          define blocked: [user]
          define viewer: ([user, user:*, group#member] or owner or viewer from parent) but not blocked
      """;

  private final TupleIndex index = TupleIndex.create();
  private final Engine engine = Engine.create(ModelDsl.parse(RAG_MODEL), index);

  private void write(String... triples) {
    List<Tuple> tuples = new ArrayList<>();
    for (String triple : triples) {
      String[] p = triple.split(" ");
      tuples.add(Tuple.of(p[0], p[1], p[2]));
    }
    tuples.forEach(engine::validateTuple);
    index.write(tuples);
  }

  private boolean check(String object, String relation, String user) {
    return engine.check(CheckRequest.of(object, relation, user)).allowed();
  }

  @Test
  void check_throughNestedFoldersAndGroups_allows() {
    write(
        "group:eng member user:anne",
        "group:all member group:eng#member",
        "folder:root viewer group:all#member",
        "folder:deals parent folder:root",
        "document:q3 parent folder:deals");
    assertThat(check("document:q3", "viewer", "user:anne")).isTrue();
    assertThat(check("document:q3", "viewer", "user:bob")).isFalse();
  }

  @Test
  void check_blockedUser_isDeniedDespiteInheritedAccess() {
    write("folder:root viewer user:anne", "document:q3 parent folder:root");
    assertThat(check("document:q3", "viewer", "user:anne")).isTrue();
    write("document:q3 blocked user:anne");
    assertThat(check("document:q3", "viewer", "user:anne")).isFalse();
  }

  @Test
  void check_orgWideWildcard_allowsAnyUserButNotBlocked() {
    write("document:handbook viewer user:*", "document:handbook blocked user:mallory");
    assertThat(check("document:handbook", "viewer", "user:newcomer")).isTrue();
    assertThat(check("document:handbook", "viewer", "user:mallory")).isFalse();
  }

  @Test
  void check_withExplain_namesTheTupleChainThatGranted() {
    write(
        "group:eng member user:anne",
        "folder:root viewer group:eng#member",
        "document:q3 parent folder:root");
    CheckResult result =
        engine.check(CheckRequest.of("document:q3", "viewer", "user:anne").withExplain(true));
    assertThat(result.allowed()).isTrue();
    Explanation explanation = result.explanation().orElseThrow();
    assertThat(explanation.outcome()).isEqualTo(Explanation.Outcome.GRANTED);
    String rendered = explanation.render();
    assertThat(rendered)
        .contains("viewer from parent")
        .contains("tuple folder:root#viewer@group:eng#member -> granted")
        .contains("tuple group:eng#member@user:anne -> granted");
  }

  @Test
  void check_withExplain_onDenial_showsTheBranchesTried() {
    write(
        "folder:root viewer user:anne",
        "document:q3 parent folder:root",
        "document:q3 blocked user:anne");
    CheckResult result =
        engine.check(CheckRequest.of("document:q3", "viewer", "user:anne").withExplain(true));
    assertThat(result.allowed()).isFalse();
    assertThat(result.explanation().orElseThrow().render())
        .contains("but not -> denied")
        .contains("tuple document:q3#blocked@user:anne -> granted");
  }

  @Test
  void check_withoutExplain_hasNoExplanation() {
    assertThat(engine.check(CheckRequest.of("document:x", "viewer", "user:a")).explanation())
        .isEmpty();
  }

  @Test
  void listObjects_returnsInheritedDocumentsAndNotBlockedOnes() {
    write(
        "folder:root viewer user:anne",
        "folder:sub parent folder:root",
        "document:a parent folder:root",
        "document:b parent folder:sub",
        "document:c parent folder:sub",
        "document:c blocked user:anne",
        "document:d owner user:anne");
    assertThat(engine.listObjects(ListObjectsRequest.of("document", "viewer", "user:anne")))
        .containsExactlyInAnyOrder("document:a", "document:b", "document:d");
  }

  @Test
  void listObjects_respectsTheLimit() {
    for (int i = 0; i < 50; i++) {
      write("document:d" + i + " viewer user:anne");
    }
    assertThat(engine.listObjects(ListObjectsRequest.of("document", "viewer", "user:anne"), 10))
        .hasSize(10);
  }

  @Test
  void listUsers_expandsGroupsAndKeepsWildcard() {
    write(
        "group:eng member user:anne",
        "document:q3 viewer group:eng#member",
        "document:q3 viewer user:bob",
        "document:q3 blocked user:bob");
    assertThat(engine.listUsers(ListUsersRequest.of("document:q3", "viewer", "user")))
        .containsExactly("user:anne");
    assertThat(engine.listUsers(ListUsersRequest.of("document:q3", "viewer", "group#member")))
        .containsExactly("group:eng#member");
  }

  @Test
  void expand_showsOneLevelOfTheRewrite() {
    write("document:q3 viewer user:anne", "document:q3 parent folder:root");
    ExpandNode root = engine.expand("document:q3", "viewer");
    assertThat(root).isInstanceOf(ExpandNode.Difference.class);
    ExpandNode.Union base = (ExpandNode.Union) ((ExpandNode.Difference) root).base();
    assertThat(base.nodes().get(0))
        .isEqualTo(new ExpandNode.Users("document:q3#viewer", List.of("user:anne")));
    assertThat(base.nodes().get(2))
        .isEqualTo(
            new ExpandNode.TupleToUserset(
                "document:q3#viewer", "document:q3#parent", List.of("folder:root#viewer")));
  }

  @Test
  void expand_countsContextualTuples() {
    write("document:q3 viewer user:anne");
    ExpandNode root =
        engine.expand(
            "document:q3", "viewer", List.of(Tuple.of("document:q3", "viewer", "user:bob")));
    ExpandNode.Union base = (ExpandNode.Union) ((ExpandNode.Difference) root).base();
    assertThat(base.nodes().get(0))
        .isEqualTo(new ExpandNode.Users("document:q3#viewer", List.of("user:anne", "user:bob")));
    assertThat(index.size()).isEqualTo(1);
  }

  @Test
  void contextualTuples_countForTheRequestOnly() {
    CheckRequest request =
        CheckRequest.of("document:q3", "viewer", "user:anne")
            .withContextualTuples(List.of(Tuple.of("document:q3", "viewer", "user:anne")));
    assertThat(engine.check(request).allowed()).isTrue();
    assertThat(check("document:q3", "viewer", "user:anne")).isFalse();
    assertThat(index.size()).isZero();
  }

  @Test
  void contextualTuple_notAllowedByTheModel_isInvalidTuple() {
    CheckRequest request =
        CheckRequest.of("document:q3", "viewer", "user:anne")
            .withContextualTuples(List.of(Tuple.of("document:q3", "parent", "user:anne")));
    assertThatThrownBy(() -> engine.check(request))
        .isInstanceOf(CastellanException.class)
        .extracting(e -> ((CastellanException) e).code())
        .isEqualTo(ErrorCode.INVALID_TUPLE);
  }

  @Test
  void check_malformedInput_isAValidationErrorNotACrash() {
    for (String user :
        List.of("anne", "user:", ":anne", "user:a:b", "user:a#", "user:a b", "user:*#member")) {
      assertThatThrownBy(() -> check("document:q3", "viewer", user))
          .as(user)
          .isInstanceOf(CastellanException.class)
          .extracting(e -> ((CastellanException) e).code())
          .isEqualTo(ErrorCode.VALIDATION_ERROR);
    }
    assertThatThrownBy(() -> check("document:" + "x".repeat(10_000), "viewer", "user:anne"))
        .isInstanceOf(CastellanException.class);
    assertThatThrownBy(() -> check("nosuchtype:1", "viewer", "user:anne"))
        .isInstanceOf(CastellanException.class);
  }

  @Test
  void write_malformedTuple_changesNothing() {
    List<Tuple> batch =
        List.of(
            Tuple.of("document:a", "viewer", "user:anne"),
            Tuple.of("document:b", "viewer", "bad user"));
    assertThatThrownBy(() -> index.write(batch))
        .isInstanceOf(CastellanException.class)
        .extracting(e -> ((CastellanException) e).code())
        .isEqualTo(ErrorCode.INVALID_TUPLE);
    assertThat(index.size()).isZero();
    assertThat(index.revision()).isZero();
  }

  @Test
  void deleteAndRewrite_roundTrips() {
    write("document:a viewer user:anne");
    long revision = index.revision();
    index.write(List.of(), List.of(new TupleKey("document:a", "viewer", "user:anne")));
    assertThat(index.revision()).isEqualTo(revision + 1);
    assertThat(check("document:a", "viewer", "user:anne")).isFalse();
    assertThat(engine.listObjects(ListObjectsRequest.of("document", "viewer", "user:anne")))
        .isEmpty();
    write("document:a viewer user:anne");
    assertThat(check("document:a", "viewer", "user:anne")).isTrue();
  }

  @Test
  void readers_neverSeeHalfABatch() throws Exception {
    Engine pair =
        Engine.create(
            ModelDsl.parse(
                """
                model
                  schema 1.1
                type user
                type doc
                  relations
                    define a: [user]
                    define b: [user]
                    define torn: a but not b
                """),
            index);
    List<Tuple> both = List.of(Tuple.of("doc:1", "a", "user:u"), Tuple.of("doc:1", "b", "user:u"));
    List<TupleKey> keys = both.stream().map(Tuple::key).toList();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger torn = new AtomicInteger();
    Thread reader =
        new Thread(
            () -> {
              CheckRequest request = CheckRequest.of("doc:1", "torn", "user:u");
              while (!stop.get()) {
                if (pair.check(request).allowed()) {
                  torn.incrementAndGet();
                }
              }
            });
    reader.start();
    for (int i = 0; i < 20_000; i++) {
      index.write(both, List.of());
      index.write(List.of(), keys);
    }
    stop.set(true);
    reader.join();
    assertThat(torn.get()).as("checks that saw 'a' without 'b'").isZero();
  }

  @Test
  void check_chainLongerThan25Hops_isResolutionTooComplex() {
    StringBuilder dsl =
        new StringBuilder(
            "model\n  schema 1.1\ntype user\ntype group\n  relations\n    define member: [user, group#member]\n");
    Engine groups = Engine.create(ModelDsl.parse(dsl.toString()), index);
    List<Tuple> chain = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      chain.add(Tuple.of("group:g" + i, "member", "group:g" + (i + 1) + "#member"));
    }
    chain.add(Tuple.of("group:g30", "member", "user:deep"));
    index.write(chain);
    assertThatThrownBy(() -> groups.check(CheckRequest.of("group:g0", "member", "user:deep")))
        .isInstanceOf(CastellanException.class)
        .extracting(e -> ((CastellanException) e).code())
        .isEqualTo(ErrorCode.AUTHORIZATION_MODEL_RESOLUTION_TOO_COMPLEX);
    assertThat(groups.check(CheckRequest.of("group:g10", "member", "user:deep")).allowed())
        .isTrue();
  }

  @Test
  void conditionalTuple_grantsOnlyWhenItsConditionHolds() {
    Engine abac =
        Engine.create(
            ModelDsl.parse(
                """
                model
                  schema 1.1
                type user
                type model_version
                  relations
                    define deployer: [user with in_office_network]
                condition in_office_network(ip: ipaddress, cidr: string) {
                  ip.in_cidr(cidr)
                }
                """),
            index);
    Tuple tuple =
        Tuple.conditional(
            "model_version:v7",
            "deployer",
            "user:ml-eng",
            "in_office_network",
            Map.of("cidr", "10.1.0.0/16"));
    abac.validateTuple(tuple);
    index.write(List.of(tuple));
    CheckRequest request = CheckRequest.of("model_version:v7", "deployer", "user:ml-eng");
    assertThat(abac.check(request.withContext(Map.of("ip", "10.1.2.3"))).allowed()).isTrue();
    assertThat(abac.check(request.withContext(Map.of("ip", "192.168.0.1"))).allowed()).isFalse();
    assertThatThrownBy(() -> abac.check(request))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("ip");
    assertThatThrownBy(
            () ->
                abac.listObjects(ListObjectsRequest.of("model_version", "deployer", "user:ml-eng")))
        .isInstanceOf(CastellanException.class)
        .hasMessage(
            "failed to evaluate relationship condition: 'in_office_network' - tuple"
                + " 'model_version:v7#deployer@user:ml-eng' is missing context parameters '[ip]'");
    assertThat(
            abac.listObjects(
                ListObjectsRequest.of("model_version", "deployer", "user:ml-eng")
                    .withContext(Map.of("ip", "10.1.9.9"))))
        .containsExactly("model_version:v7");
  }

  @Test
  void tuplesOfAnOlderModel_areIgnoredByTheNewOne() {
    write("folder:root viewer user:anne", "document:q3 parent folder:root");
    Engine narrower =
        Engine.create(
            ModelDsl.parse(
                """
                model
                  schema 1.1
                type user
                type document
                  relations
                    define viewer: [user]
                """),
            index);
    assertThat(narrower.check(CheckRequest.of("document:q3", "viewer", "user:anne")).allowed())
        .isFalse();
  }
}
