package dev.castellan.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.model.ModelDsl;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

/**
 * Conditions and self-defining usersets across check, list-objects and list-users, as OpenFGA's
 * source and its own tests (list_users_rpc_test.go, check_test.go, reverse_expand.go) decide them.
 */
class OpenFgaExactnessTest {

  private static Engine engine(String dsl, Tuple... tuples) {
    TupleIndex index = TupleIndex.create();
    Engine engine = Engine.create(ModelDsl.parse(dsl), index);
    for (Tuple tuple : tuples) {
      engine.validateTuple(tuple);
    }
    index.write(List.of(tuples));
    return engine;
  }

  private static Tuple conditional(String object, String relation, String user, String name) {
    return Tuple.conditional(object, relation, user, name, Map.of());
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertValidationError(
      Runnable call, String message) {
    return assertThatThrownBy(call::run)
        .isInstanceOf(CastellanException.class)
        .hasMessage(message)
        .satisfies(e -> assertThat(((CastellanException) e).code().number()).isEqualTo(2000));
  }

  private static final String TWO_CONDITIONS =
      """
      model
        schema 1.1
      type user
      type document
        relations
          define viewer: [user with isEqualToFive, user with isEqualToTen]
      condition isEqualToFive(param1: int) {
        param1 == 5
      }
      condition isEqualToTen(param2: int) {
        param2 == 10
      }
      """;

  @Test
  void listUsers_oneTupleMissingItsParameter_isAValidationErrorNamingIt() {
    // OpenFGA's list_users_rpc_test "multiple_conditions_one_param_missing".
    Engine engine =
        engine(
            TWO_CONDITIONS,
            conditional("document:1", "viewer", "user:will", "isEqualToFive"),
            conditional("document:1", "viewer", "user:maria", "isEqualToTen"));
    ListUsersRequest request = ListUsersRequest.of("document:1", "viewer", "user");

    assertValidationError(
        () -> engine.listUsers(request.withContext(Map.of("param1", 5))),
        "failed to evaluate relationship condition: 'isEqualToTen' - tuple"
            + " 'document:1#viewer@user:maria' is missing context parameters '[param2]'");
    assertThat(engine.listUsers(request.withContext(Map.of("param1", 5, "param2", 10))))
        .containsExactlyInAnyOrder("user:will", "user:maria");
  }

  @Test
  void listObjects_andCheck_tupleMissingItsParameter_isAValidationError() {
    Engine engine =
        engine(
            TWO_CONDITIONS,
            conditional("document:1", "viewer", "user:maria", "isEqualToFive"),
            conditional("document:2", "viewer", "user:maria", "isEqualToTen"));
    ListObjectsRequest request =
        ListObjectsRequest.of("document", "viewer", "user:maria").withContext(Map.of("param1", 5));

    assertValidationError(
        () -> engine.listObjects(request),
        "failed to evaluate relationship condition: 'isEqualToTen' - tuple"
            + " 'document:2#viewer@user:maria' is missing context parameters '[param2]'");
    assertValidationError(
        () ->
            engine.check(
                CheckRequest.of("document:2", "viewer", "user:maria")
                    .withContext(Map.of("param1", 5))),
        "failed to evaluate relationship condition: 'isEqualToTen' - tuple"
            + " 'document:2#viewer@user:maria' is missing context parameters '[param2]'");
    assertThat(
            engine
                .check(
                    CheckRequest.of("document:1", "viewer", "user:maria")
                        .withContext(Map.of("param1", 5)))
                .allowed())
        .isTrue();
  }

  @Test
  void partlyGivenContext_isNotDecidedByShortCircuit() {
    Engine engine =
        engine(
            """
            model
              schema 1.1
            type user
            type document
              relations
                define viewer: [user with either]
            condition either(x: int, y: int) {
              x < 100 || y < 50
            }
            """,
            conditional("document:1", "viewer", "user:anne", "either"));
    String missingY =
        "failed to evaluate relationship condition: 'either' - tuple"
            + " 'document:1#viewer@user:anne' is missing context parameters '[y]'";

    assertValidationError(
        () ->
            engine.check(
                CheckRequest.of("document:1", "viewer", "user:anne").withContext(Map.of("x", 1))),
        missingY);
    assertValidationError(
        () ->
            engine.listObjects(
                ListObjectsRequest.of("document", "viewer", "user:anne")
                    .withContext(Map.of("x", 1))),
        missingY);
    assertValidationError(
        () ->
            engine.listUsers(
                ListUsersRequest.of("document:1", "viewer", "user").withContext(Map.of("x", 1))),
        missingY);
  }

  private static final String FLOAT_MODEL =
      """
      model
        schema 1.1
      type user
      type folder
        relations
          define viewer: [user with condFloat]
      type document
        relations
          define parent: [folder with condFloat]
          define viewer: [user with condFloat] or viewer from parent
      condition condFloat(x: double) {
        x > 0.0
      }
      """;

  private static final String OUT_OF_RANGE =
      "failed to evaluate relationship condition: parameter type error on condition 'condFloat'"
          + " - failed to convert context parameter 'x': number cannot be represented as a"
          + " float64: 1.797693135e+309";

  @Test
  void doubleBeyondFloat64_isAValidationErrorEverywhere() {
    // OpenFGA's list_users_rpc_test "error_in_direct_eval" and "error_in_ttu_eval".
    Engine engine =
        engine(
            FLOAT_MODEL,
            conditional("document:1", "viewer", "user:maria", "condFloat"),
            conditional("document:2", "parent", "folder:x", "condFloat"));
    Map<String, Object> context = Map.of("x", "1.79769313486231570814527423731704356798070e+309");

    assertValidationError(
        () ->
            engine.listUsers(
                ListUsersRequest.of("document:1", "viewer", "user").withContext(context)),
        OUT_OF_RANGE);
    assertValidationError(
        () ->
            engine.listUsers(
                ListUsersRequest.of("document:2", "viewer", "user").withContext(context)),
        OUT_OF_RANGE);
    assertValidationError(
        () ->
            engine.listObjects(
                ListObjectsRequest.of("document", "viewer", "user:maria").withContext(context)),
        OUT_OF_RANGE);
    assertValidationError(
        () ->
            engine.check(
                CheckRequest.of("document:1", "viewer", "user:maria").withContext(context)),
        OUT_OF_RANGE);
    assertThat(
            engine
                .check(
                    CheckRequest.of("document:1", "viewer", "user:maria")
                        .withContext(Map.of("x", "1.5")))
                .allowed())
        .isTrue();
  }

  @Test
  void contextualTupleContext_isUsedAndWinsOverTheRequest() {
    Engine engine = engine(FLOAT_MODEL);
    Tuple contextual =
        Tuple.conditional("document:9", "viewer", "user:bob", "condFloat", Map.of("x", -1));

    assertThat(
            engine
                .check(
                    CheckRequest.of("document:9", "viewer", "user:bob")
                        .withContextualTuples(List.of(contextual))
                        .withContext(Map.of("x", 1)))
                .allowed())
        .isFalse();
    assertValidationError(
        () ->
            engine.listObjects(
                ListObjectsRequest.of("document", "viewer", "user:bob")
                    .withContextualTuples(
                        List.of(conditional("document:9", "viewer", "user:bob", "condFloat")))),
        "failed to evaluate relationship condition: 'condFloat' - tuple"
            + " 'document:9#viewer@user:bob' is missing context parameters '[x]'");
  }

  private static final String GROUPS =
      """
      model
        schema 1.1
      type user
      type group
        relations
          define member: [user, group#member]
          define viewer: member
      type folder
        relations
          define owner: [group]
          define viewer: viewer from owner
      """;

  @Test
  void check_userset_isAlwaysItsOwnMember() {
    Engine engine =
        engine(
            GROUPS,
            Tuple.of("group:other", "member", "user:anne"),
            Tuple.of("group:g", "member", "user:bob"));

    assertThat(engine.check(CheckRequest.of("group:g", "member", "group:g#member")).allowed())
        .isTrue();
    assertThat(engine.check(CheckRequest.of("group:new", "member", "group:new#member")).allowed())
        .as("nothing was written about group:new")
        .isTrue();
    assertThat(engine.check(CheckRequest.of("group:g", "viewer", "group:g#member")).allowed())
        .isTrue();
    assertThat(engine.check(CheckRequest.of("group:new", "viewer", "group:new#member")).allowed())
        .isTrue();
    assertThat(engine.check(CheckRequest.of("group:new", "member", "group:new#viewer")).allowed())
        .isFalse();
    assertThat(engine.check(CheckRequest.of("group:g", "member", "group:h#member")).allowed())
        .isFalse();
  }

  @Test
  void listObjects_usersetUser_includesItsOwnObject() {
    Engine engine =
        engine(
            GROUPS,
            Tuple.of("group:g", "member", "user:bob"),
            Tuple.of("group:all", "member", "group:g#member"),
            Tuple.of("folder:f", "owner", "group:g"));

    assertThat(engine.listObjects(ListObjectsRequest.of("group", "member", "group:g#member")))
        .containsExactlyInAnyOrder("group:g", "group:all");
    assertThat(engine.listObjects(ListObjectsRequest.of("group", "viewer", "group:g#member")))
        .containsExactlyInAnyOrder("group:g", "group:all");
    assertThat(engine.listObjects(ListObjectsRequest.of("folder", "viewer", "group:g#member")))
        .containsExactly("folder:f");
    assertThat(engine.listObjects(ListObjectsRequest.of("group", "member", "group:new#member")))
        .as("nothing was written about group:new")
        .containsExactly("group:new");
    assertThat(engine.listObjects(ListObjectsRequest.of("group", "viewer", "group:new#member")))
        .containsExactly("group:new");
    assertThat(engine.listObjects(ListObjectsRequest.of("folder", "viewer", "group:new#member")))
        .isEmpty();
    for (String object :
        engine.listObjects(ListObjectsRequest.of("group", "member", "group:g#member"))) {
      assertThat(engine.check(CheckRequest.of(object, "member", "group:g#member")).allowed())
          .as(object)
          .isTrue();
    }
  }

  @Test
  void listUsers_filterOnTheObjectsOwnRelation_includesItsUserset() {
    Engine engine = engine(GROUPS, Tuple.of("group:g", "member", "user:bob"));

    assertThat(engine.listUsers(ListUsersRequest.of("group:g", "member", "group#member")))
        .containsExactly("group:g#member");
    assertThat(engine.listUsers(ListUsersRequest.of("group:new", "member", "group#member")))
        .containsExactly("group:new#member");
  }

  // ------------------------------------------------------------------ write-time validation

  private static void assertRefused(Engine engine, Tuple tuple, String message) {
    assertValidationError(() -> engine.validateTuple(tuple), message);
  }

  @Test
  void validateTuple_refusesContextsOpenFgaRefuses() {
    Engine engine = engine(TWO_CONDITIONS);
    String tuple =
        "Invalid tuple 'document:1#viewer@user:anne (condition isEqualToFive)'. Reason: ";

    assertRefused(
        engine,
        Tuple.conditional("document:1", "viewer", "user:anne", "isEqualToFive", Map.of("bogus", 1)),
        tuple + "found invalid context parameter: bogus");
    assertRefused(
        engine,
        Tuple.conditional(
            "document:1", "viewer", "user:anne", "isEqualToFive", Map.of("param1", "xx")),
        tuple
            + "parameter type error on condition 'isEqualToFive' - failed to convert context"
            + " parameter 'param1': expected a int64 value, but found invalid string value 'xx'");
    assertRefused(
        engine,
        Tuple.of("document:1", "viewer", "user:anne"),
        "Invalid tuple 'document:1#viewer@user:anne'. Reason: condition is missing");
    assertRefused(
        engine,
        Tuple.conditional("document:1", "viewer", "user:anne", "nope", Map.of()),
        "Invalid tuple 'document:1#viewer@user:anne (condition nope)'. Reason: undefined condition");
    engine.validateTuple(
        Tuple.conditional(
            "document:1", "viewer", "user:anne", "isEqualToFive", Map.of("param1", 5)));
  }

  @Test
  void contextualTupleWithABadContext_isAnInvalidTupleInCheck_andAValidationErrorInLists() {
    Engine engine = engine(TWO_CONDITIONS);
    List<Tuple> bad =
        List.of(
            Tuple.conditional(
                "document:1", "viewer", "user:anne", "isEqualToFive", Map.of("bogus", 1)));
    String message =
        "Invalid tuple 'document:1#viewer@user:anne (condition isEqualToFive)'. Reason: found"
            + " invalid context parameter: bogus";

    assertThatThrownBy(
            () ->
                engine.check(
                    CheckRequest.of("document:1", "viewer", "user:anne").withContextualTuples(bad)))
        .isInstanceOf(CastellanException.class)
        .hasMessage(message)
        .satisfies(e -> assertThat(((CastellanException) e).code().number()).isEqualTo(2027));
    assertValidationError(
        () ->
            engine.listObjects(
                ListObjectsRequest.of("document", "viewer", "user:anne").withContextualTuples(bad)),
        message);
    assertValidationError(
        () ->
            engine.listUsers(
                ListUsersRequest.of("document:1", "viewer", "user").withContextualTuples(bad)),
        message);
    assertValidationError(() -> engine.expand("document:1", "viewer", bad), message);
  }
}
