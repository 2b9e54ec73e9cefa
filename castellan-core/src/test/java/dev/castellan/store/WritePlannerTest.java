package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The write rules every tuple store shares, without a store. */
class WritePlannerTest {
  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

  private static ErrorCode codeOf(Runnable action) {
    try {
      action.run();
    } catch (CastellanException e) {
      return e.code();
    }
    throw new AssertionError("no CastellanException");
  }

  @Test
  void check_listsDeletesThenWrites_andRefusesATupleTwice() {
    Tuple anne = Tuple.of("doc:1", "viewer", "user:anne");
    TupleKey bob = new TupleKey("doc:1", "viewer", "user:bob");
    WritePlanner.Checked checked = WritePlanner.check(TupleWrite.of(List.of(anne), List.of(bob)));
    assertThat(checked.keys()).containsExactly(bob, anne.key());

    assertThat(codeOf(() -> WritePlanner.check(TupleWrite.of(List.of(anne), List.of(anne.key())))))
        .isEqualTo(ErrorCode.CANNOT_ALLOW_DUPLICATE_TUPLES_IN_ONE_REQUEST);
  }

  @Test
  void check_enforcesTheLimitsOfEachPart() {
    String longId = "x".repeat(WritePlanner.MAX_OBJECT_ID + 1);
    assertThat(
            codeOf(
                () ->
                    WritePlanner.check(
                        TupleWrite.writes(Tuple.of("doc:" + longId, "viewer", "user:a")))))
        .isEqualTo(ErrorCode.VALIDATION_ERROR);
    assertThat(
            codeOf(
                () -> WritePlanner.check(TupleWrite.writes(Tuple.of("doc", "viewer", "user:a")))))
        .isEqualTo(ErrorCode.VALIDATION_ERROR);
    assertThat(
            codeOf(
                () -> WritePlanner.check(TupleWrite.deletes(new TupleKey("doc:1", "", "user:a")))))
        .isEqualTo(ErrorCode.VALIDATION_ERROR);
    Tuple conditioned =
        Tuple.conditional(
            "doc:1", "viewer", "user:a", "c".repeat(WritePlanner.MAX_CONDITION + 1), Map.of());
    assertThat(codeOf(() -> WritePlanner.check(TupleWrite.writes(conditioned))))
        .isEqualTo(ErrorCode.VALIDATION_ERROR);
    // At the limits exactly, the tuple passes.
    WritePlanner.check(
        TupleWrite.writes(
            Tuple.of(
                "t".repeat(WritePlanner.MAX_OBJECT_TYPE)
                    + ":"
                    + "i".repeat(WritePlanner.MAX_OBJECT_ID),
                "r".repeat(WritePlanner.MAX_RELATION),
                "u".repeat(WritePlanner.MAX_USER))));
  }

  @Test
  void plan_refusesMissingDeletesAndExistingWrites_unlessToldToIgnoreThem() {
    Tuple stored = Tuple.of("doc:1", "viewer", "user:anne");
    Map<TupleKey, Tuple> existing = Map.of(stored.key(), stored);
    TupleKey missing = new TupleKey("doc:1", "viewer", "user:bob");

    assertThatThrownBy(
            () ->
                WritePlanner.plan(
                    WritePlanner.check(TupleWrite.deletes(missing)), existing, t -> t))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("does not exist");
    assertThatThrownBy(
            () ->
                WritePlanner.plan(WritePlanner.check(TupleWrite.writes(stored)), existing, t -> t))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("already exists");

    WritePlanner.Plan ignored =
        WritePlanner.plan(
            WritePlanner.check(new TupleWrite(List.of(stored), List.of(missing), true, true)),
            existing,
            t -> t);
    assertThat(ignored.isEmpty()).isTrue();
  }

  @Test
  void plan_comparesARewriteAsTheStoreKeepsIt_soADifferentConditionIsRefused() {
    Tuple stored = Tuple.of("doc:1", "viewer", "user:anne").expiringAt(T0);
    Map<TupleKey, Tuple> existing = Map.of(stored.key(), stored);
    Tuple rewrite = Tuple.of("doc:1", "viewer", "user:anne").expiringAt(T0.plusNanos(1));
    TupleWrite ignoring = new TupleWrite(List.of(rewrite), List.of(), true, false);

    // This store drops the extra nanosecond: the rewrite is the stored tuple, and is ignored.
    assertThat(
            WritePlanner.plan(
                    WritePlanner.check(ignoring),
                    existing,
                    t -> Tuple.of("doc:1", "viewer", "user:anne").expiringAt(T0))
                .isEmpty())
        .isTrue();
    // Kept as sent, it differs from the stored tuple and is refused even when ignoring duplicates.
    assertThat(codeOf(() -> WritePlanner.plan(WritePlanner.check(ignoring), existing, t -> t)))
        .isEqualTo(ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT);
  }

  @Test
  void plan_deletesTheStoredTuple_andNumbersChangesDeletesFirst() {
    Tuple stored = Tuple.of("doc:1", "viewer", "user:anne").expiringAt(T0);
    Tuple fresh = Tuple.of("doc:2", "viewer", "user:anne");
    WritePlanner.Plan plan =
        WritePlanner.plan(
            WritePlanner.check(TupleWrite.of(List.of(fresh), List.of(stored.key()))),
            Map.of(stored.key(), stored),
            t -> t);
    assertThat(plan.deletes()).containsExactly(stored);
    List<Change> changes = plan.changes(7, T0);
    assertThat(changes)
        .extracting(Change::revision, Change::sequence, Change::operation, Change::tuple)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(7L, 0, Change.Operation.DELETE, stored),
            org.assertj.core.groups.Tuple.tuple(7L, 1, Change.Operation.WRITE, fresh));
  }

  @Test
  void deleteFilters_needAnObjectATypeAndRelationOrAUser() {
    WritePlanner.requireDeleteFilter(TupleFilter.object("doc:1"));
    WritePlanner.requireDeleteFilter(TupleFilter.user("user:anne"));
    WritePlanner.requireDeleteFilter(new TupleFilter("doc:", "viewer", ""));
    assertThat(codeOf(() -> WritePlanner.requireDeleteFilter(new TupleFilter("doc:", "", ""))))
        .isEqualTo(ErrorCode.VALIDATION_ERROR);
    assertThat(codeOf(() -> WritePlanner.requireDeleteFilter(TupleFilter.ALL)))
        .isEqualTo(ErrorCode.VALIDATION_ERROR);
  }

  @Test
  void aTupleExpiresAtItsExpiry_notBefore() {
    Tuple tuple = Tuple.of("doc:1", "viewer", "user:anne").expiringAt(T0);
    assertThat(WritePlanner.isExpired(tuple, T0.minusNanos(1))).isFalse();
    assertThat(WritePlanner.isExpired(tuple, T0)).isTrue();
    assertThat(WritePlanner.isExpired(Tuple.of("doc:1", "viewer", "user:anne"), T0)).isFalse();
  }

  @Test
  void planNew_writesOnlyKeysWithoutATuple_andLeavesStoredOnesAsTheyAre() {
    Tuple stored = Tuple.conditional("doc:1", "viewer", "user:a", "office", Map.of("ip", "x"));
    Tuple sameKeyOtherCondition = Tuple.of("doc:1", "viewer", "user:a");
    Tuple fresh = Tuple.of("doc:2", "viewer", "user:a");
    WritePlanner.Plan plan =
        WritePlanner.planNew(
            WritePlanner.check(TupleWrite.of(List.of(sameKeyOtherCondition, fresh), List.of())),
            Map.of(stored.key(), stored),
            t -> t);
    assertThat(plan.deletes()).isEmpty();
    assertThat(plan.writes()).containsExactly(fresh);
  }
}
