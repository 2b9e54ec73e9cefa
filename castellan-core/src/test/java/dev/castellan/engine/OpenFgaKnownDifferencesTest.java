package dev.castellan.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.model.ModelDsl;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The differences from OpenFGA that {@code docs/conformance.md} lists, each asserted as Castellan
 * decides it. OpenFGA's answer is in each test's comment: a test here that fails because Castellan
 * now answers as OpenFGA does means the difference is gone, and the page must lose its entry.
 */
class OpenFgaKnownDifferencesTest {

  private static Engine engine(String dsl, Tuple... tuples) {
    TupleIndex index = TupleIndex.create();
    Engine engine = Engine.create(ModelDsl.parse(dsl), index);
    index.write(List.of(tuples));
    return engine;
  }

  @Test
  void aConditionCarriedOnlyByAnotherRestrictionOfTheUserType_isRefused() {
    // OpenFGA's validateCondition (internal/validation) accepts the condition when any restriction
    // of the user's type carries it: user:anne with in_office is written there, though only
    // user:* carries in_office, and its check never counts the tuple.
    Engine engine =
        engine(
            """
            model
              schema 1.1
            type user
            type doc
              relations
                define viewer: [user, user:* with in_office]
            condition in_office(office: bool) {
              office
            }
            """);
    Tuple tuple = Tuple.conditional("doc:1", "viewer", "user:anne", "in_office", Map.of());
    assertThatThrownBy(() -> engine.validateTuple(tuple))
        .isInstanceOf(CastellanException.class)
        .hasMessage(
            "Invalid tuple 'doc:1#viewer@user:anne (condition in_office)'. Reason: condition"
                + " 'in_office' is not allowed for 'user' on 'doc#viewer'")
        .satisfies(e -> assertThat(((CastellanException) e).code().number()).isEqualTo(2000));
  }

  @Test
  void aNumericStringOfMoreThan1024Characters_isRefused() {
    // OpenFGA reads any length with big.ParseFloat (an int saturates at the int64 maximum, so
    // this check would be allowed there); Castellan refuses such a string before converting it.
    Engine engine =
        engine(
            """
            model
              schema 1.1
            type user
            type doc
              relations
                define viewer: [user with positive]
            condition positive(n: int) {
              n > 0
            }
            """,
            Tuple.conditional("doc:1", "viewer", "user:anne", "positive", Map.of()));
    CheckRequest request =
        CheckRequest.of("doc:1", "viewer", "user:anne").withContext(Map.of("n", "1".repeat(1025)));
    assertThatThrownBy(() -> engine.check(request))
        .isInstanceOf(CastellanException.class)
        .satisfies(e -> assertThat(((CastellanException) e).code().number()).isEqualTo(2000));
    assertThat(
            engine
                .check(
                    CheckRequest.of("doc:1", "viewer", "user:anne")
                        .withContext(Map.of("n", "1".repeat(1024))))
                .allowed())
        .isTrue();
  }

  @Test
  void aContextualTupleOutsideTheTypeRestrictions_namesTheTupleAsObjectRelationUser() {
    // OpenFGA's lists (HandleTupleValidateError) print the tuple key in protobuf's text form,
    // 'object:"doc:1" relation:"viewer" user:"group:g"'; the code, 2027, is the same.
    Engine engine =
        engine(
            """
            model
              schema 1.1
            type user
            type group
            type doc
              relations
                define viewer: [user]
            """);
    assertThatThrownBy(
            () ->
                engine.listObjects(
                    ListObjectsRequest.of("doc", "viewer", "user:anne")
                        .withContextualTuples(List.of(Tuple.of("doc:1", "viewer", "group:g")))))
        .isInstanceOf(CastellanException.class)
        .hasMessage(
            "Invalid tuple 'doc:1#viewer@group:g'. Reason: type 'group' is not an allowed type"
                + " restriction for 'doc#viewer'")
        .satisfies(e -> assertThat(((CastellanException) e).code().number()).isEqualTo(2027));
  }
}
