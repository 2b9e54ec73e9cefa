package dev.castellan.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.castellan.model.ModelDsl;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link CheckResult#validUntilMillis()}: how long an answer stays the answer at its revision,
 * which a cache of answers relies on.
 */
class CheckValidityTest {
  private static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");
  private static final String MODEL =
      """
      model
        schema 1.1
      type user
      type group
        relations
          define member: [user]
      type doc
        relations
          define viewer: [user, group#member]
      """;

  private final TupleIndex index = TupleIndex.create();
  private final Engine engine =
      Engine.create(ModelDsl.parse(MODEL), index, Clock.fixed(NOW, ZoneOffset.UTC));

  private static Tuple expiring(String object, String relation, String user, Instant at) {
    return new Tuple(new TupleKey(object, relation, user), "", Map.of(), at);
  }

  @Test
  void anAnswerReadFromNoExpiringTupleHoldsForever() {
    index.write(List.of(Tuple.of("doc:1", "viewer", "user:a")), List.of());
    CheckResult result = engine.check(CheckRequest.of("doc:1", "viewer", "user:a"));
    assertTrue(result.allowed());
    assertEquals(Long.MAX_VALUE, result.validUntilMillis());
    assertEquals(
        Long.MAX_VALUE,
        engine.check(CheckRequest.of("doc:1", "viewer", "user:b")).validUntilMillis());
  }

  @Test
  void anAnswerHoldsUntilTheEarliestExpiryItReadStillAhead() {
    Instant soon = NOW.plusSeconds(30);
    Instant later = NOW.plusSeconds(90);
    index.write(
        List.of(
            expiring("doc:1", "viewer", "group:g#member", later),
            expiring("group:g", "member", "user:a", soon),
            expiring("doc:2", "viewer", "user:a", NOW.minusSeconds(1))),
        List.of());
    CheckResult viaGroup = engine.check(CheckRequest.of("doc:1", "viewer", "user:a"));
    assertTrue(viaGroup.allowed());
    assertEquals(soon.toEpochMilli(), viaGroup.validUntilMillis());
    // Expired already: as if absent, and it stays absent, so the denial holds.
    CheckResult expired = engine.check(CheckRequest.of("doc:2", "viewer", "user:a"));
    assertFalse(expired.allowed());
    assertEquals(Long.MAX_VALUE, expired.validUntilMillis());
    // A denial that read a tuple expiring later may also change then (not here, but it is bounded).
    CheckResult denied = engine.check(CheckRequest.of("doc:1", "viewer", "user:b"));
    assertFalse(denied.allowed());
    assertTrue(denied.validUntilMillis() >= soon.toEpochMilli());
  }
}
