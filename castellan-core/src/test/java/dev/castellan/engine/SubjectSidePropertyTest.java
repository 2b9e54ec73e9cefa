package dev.castellan.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.CastellanException;
import dev.castellan.model.ModelDsl;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Random role and group graphs with many usersets per key, checked twice: by an engine that tries
 * the subject-side walk on every key it applies to, and by one that never does. Answers and errors
 * (code and message) must be the same. The graphs have what makes the full walk's answer subtle:
 * cycles (self-loops too), chains past the depth limit, wildcards, conditional and expired tuples,
 * contextual tuples (plain and usersets), userset subjects, relations that use the walked ones
 * under an intersection or an exclusion (where a cycle result differs from a plain denial), and a
 * second round of checks after the graph changed.
 */
class SubjectSidePropertyTest {
  private static final String MODEL =
      """
      model
        schema 1.1
      type user
      type group
        relations
          define member: [user, user:*, group#member, user with in_hours, group#member with in_hours]
      type role
        relations
          define assignee: [user, group#member, role#assignee, user with in_hours]
      type permission
        relations
          define granted: [role#assignee, group#member, role#assignee with in_hours]
          define banned: [user, group#member]
          define effective: granted but not banned
          define strict: granted and banned
          define either: [role#assignee] or banned
          define outsider: [user, user:*] but not granted
      condition in_hours(hour: int) {
        hour >= 9 && hour < 17
      }
      """;

  private static final int TRIALS = 100;
  private static final int USERS = 5;
  private static final int PERMISSIONS = 3;
  private static final List<String> RELATIONS =
      List.of("granted", "banned", "effective", "strict", "either", "outsider");
  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
  private static final List<Map<String, Object>> CONTEXTS =
      List.of(Map.of(), Map.of("hour", 10), Map.of("hour", 20));

  @Test
  void subjectSideWalk_answersExactlyAsTheFullWalk() {
    int checks = 0;
    int answeredAllowed = 0;
    int answeredDenied = 0;
    for (int trial = 0; trial < TRIALS; trial++) {
      Random random = new Random(trial);
      Graph graph = new Graph(random);
      TupleIndex index = TupleIndex.create();
      Engine engine = Engine.create(ModelDsl.parse(MODEL), index, Clock.fixed(NOW, ZoneOffset.UTC));
      Engine subjectSide = engine.withSubjectSideThreshold(0);
      Engine fullWalk = engine.withSubjectSideThreshold(Integer.MAX_VALUE);
      graph.tuples.forEach(engine::validateTuple);
      index.write(graph.tuples);
      for (int round = 0; round < 2; round++) {
        if (round == 1) {
          // Change the graph, mostly below the permissions, after the first round has let the
          // engine remember what it saw: answers must follow the change.
          Graph other = new Graph(random);
          List<TupleKey> deletes = new ArrayList<>();
          for (Tuple tuple : graph.tuples) {
            if (random.nextInt(3) == 0) {
              deletes.add(tuple.key());
            }
          }
          List<Tuple> writes = new ArrayList<>();
          for (Tuple tuple : other.tuples) {
            if (random.nextInt(3) == 0) {
              engine.validateTuple(tuple);
              writes.add(tuple);
            }
          }
          index.write(writes, deletes);
        }
        String where = "seed " + trial + " round " + round + "\ntuples " + index.tuples();
        for (int p = 0; p < PERMISSIONS; p++) {
          for (String relation : RELATIONS) {
            for (String user : graph.subjects()) {
              CheckRequest request =
                  CheckRequest.of("permission:p" + p, relation, user)
                      .withContext(CONTEXTS.get(random.nextInt(CONTEXTS.size())))
                      .withContextualTuples(graph.contextual(random, user));
              String expected = outcome(fullWalk, request);
              assertThat(outcome(subjectSide, request))
                  .as("%s\n%s", request, where)
                  .isEqualTo(expected);
              checks++;
              if (answered(subjectSide, request)) {
                if (expected.equals("allowed")) {
                  answeredAllowed++;
                } else {
                  answeredDenied++;
                }
              }
            }
          }
        }
      }
    }
    // The comparison means something only if the walk answers often, both ways.
    assertThat(answeredAllowed)
        .as("of %d checks, allowed from the subject side", checks)
        .isGreaterThan(checks / 10);
    assertThat(answeredDenied)
        .as("of %d checks, denied from the subject side", checks)
        .isGreaterThan(checks / 10);
  }

  private static String outcome(Engine engine, CheckRequest request) {
    try {
      return engine.check(request).allowed() ? "allowed" : "denied";
    } catch (CastellanException e) {
      return e.code() + ": " + e.getMessage();
    }
  }

  private static boolean answered(Engine engine, CheckRequest request) {
    try {
      return engine.subjectSideAnswers(request) > 0;
    } catch (CastellanException e) {
      return false;
    }
  }

  /** One trial's random tuples. */
  private static final class Graph {
    final int groups;
    final int roles;
    final boolean conditions;
    final boolean expiries;
    final List<Tuple> tuples;

    Graph(Random random) {
      groups = 6 + random.nextInt(10);
      roles = 6 + random.nextInt(10);
      boolean cycles = random.nextInt(3) == 0;
      conditions = random.nextInt(3) == 0;
      expiries = random.nextInt(3) == 0;
      Set<Tuple> out = new LinkedHashSet<>();
      // Nesting: acyclic (lower index holds higher) unless this trial allows cycles.
      for (int i = 0; i < groups + groups / 2; i++) {
        int a = random.nextInt(groups);
        int b = random.nextInt(groups);
        if (!cycles && a >= b) {
          continue;
        }
        out.add(maybe(random, Tuple.of(group(a), "member", group(b) + "#member")));
      }
      for (int i = 0; i < roles / 2; i++) {
        int a = random.nextInt(roles);
        int b = random.nextInt(roles);
        if (!cycles && a >= b) {
          continue;
        }
        out.add(expiring(random, Tuple.of(role(a), "assignee", role(b) + "#assignee")));
      }
      for (int r = 0; r < roles; r++) {
        if (random.nextBoolean()) {
          out.add(
              expiring(
                  random,
                  Tuple.of(role(r), "assignee", group(random.nextInt(groups)) + "#member")));
        }
      }
      for (int u = 0; u < USERS; u++) {
        for (int m = 1 + random.nextInt(3); m > 0; m--) {
          out.add(
              random.nextBoolean()
                  ? maybe(random, Tuple.of(group(random.nextInt(groups)), "member", user(u)))
                  : maybe(random, Tuple.of(role(random.nextInt(roles)), "assignee", user(u))));
        }
      }
      if (random.nextInt(4) == 0) {
        out.add(Tuple.of(group(random.nextInt(groups)), "member", "user:*"));
      }
      if (random.nextInt(5) == 0) {
        // A chain longer than the depth limit, hanging below one role.
        int length = 20 + random.nextInt(10);
        out.add(Tuple.of(role(random.nextInt(roles)), "assignee", "group:chain0#member"));
        for (int i = 0; i < length; i++) {
          out.add(Tuple.of("group:chain" + i, "member", "group:chain" + (i + 1) + "#member"));
        }
        out.add(Tuple.of("group:chain" + length, "member", user(random.nextInt(USERS))));
      }
      for (int p = 0; p < PERMISSIONS; p++) {
        String permission = "permission:p" + p;
        for (int k = 8 + random.nextInt(8); k > 0; k--) {
          Tuple grant =
              random.nextInt(4) == 0
                  ? Tuple.of(permission, "granted", group(random.nextInt(groups)) + "#member")
                  : Tuple.of(permission, "granted", role(random.nextInt(roles)) + "#assignee");
          out.add(grant.key().user().startsWith("role") ? maybe(random, grant) : grant);
        }
        for (int k = random.nextInt(3); k > 0; k--) {
          out.add(Tuple.of(permission, "banned", group(random.nextInt(groups)) + "#member"));
        }
        if (random.nextBoolean()) {
          out.add(Tuple.of(permission, "banned", user(random.nextInt(USERS))));
        }
        for (int k = 8 + random.nextInt(4); k > 0; k--) {
          out.add(Tuple.of(permission, "either", role(random.nextInt(roles)) + "#assignee"));
        }
        out.add(Tuple.of(permission, "outsider", random.nextBoolean() ? "user:*" : user(0)));
      }
      tuples = new ArrayList<>(out);
    }

    /** Users, a wildcard, an unknown user, and usersets as subjects. */
    List<String> subjects() {
      List<String> out = new ArrayList<>();
      for (int u = 0; u < USERS; u++) {
        out.add(user(u));
      }
      out.add("user:*");
      out.add("user:unknown");
      out.add(group(0) + "#member");
      out.add(group(groups - 1) + "#member");
      out.add(role(roles / 2) + "#assignee");
      return out;
    }

    /** Usually nothing; else a role or group for the user, sometimes a userset grant. */
    List<Tuple> contextual(Random random, String user) {
      if (random.nextInt(3) != 0 || user.contains("#") || user.endsWith("*")) {
        return List.of();
      }
      List<Tuple> out = new ArrayList<>();
      out.add(Tuple.of(role(random.nextInt(roles)), "assignee", user));
      if (random.nextBoolean()) {
        out.add(Tuple.of(group(random.nextInt(groups)), "member", user));
      }
      if (random.nextInt(4) == 0) {
        out.add(
            Tuple.of(
                group(random.nextInt(groups)),
                "member",
                group(random.nextInt(groups)) + "#member"));
      }
      return out;
    }

    /** Sometimes conditional, sometimes expiring (in the past or the future). */
    private Tuple maybe(Random random, Tuple tuple) {
      if (conditions && random.nextInt(5) == 0) {
        tuple =
            Tuple.conditional(
                tuple.key().object(),
                tuple.key().relation(),
                tuple.key().user(),
                "in_hours",
                random.nextBoolean() ? Map.of() : Map.of("hour", 10));
      }
      return expiring(random, tuple);
    }

    private Tuple expiring(Random random, Tuple tuple) {
      if (expiries && random.nextInt(5) == 0) {
        return tuple.expiringAt(random.nextBoolean() ? NOW.minusSeconds(60) : NOW.plusSeconds(60));
      }
      return tuple;
    }

    private static String user(int u) {
      return "user:u" + u;
    }

    private static String group(int g) {
      return "group:g" + g;
    }

    private static String role(int r) {
      return "role:r" + r;
    }
  }
}
