package dev.castellan.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.condition.ConditionEvaluator;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelDsl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * RBAC decisions over ADR 0007's model fragment, where one permission is granted to more roles than
 * {@link Evaluation#SUBJECT_SIDE_THRESHOLD}, so checks are answered from the subject's side. Every
 * answer (or error) is also asked of an engine that never takes that path, and must agree; {@link
 * Engine#subjectSideAnswers} tells whether the subject-side walk answered or handed over to the
 * full walk.
 *
 * <p>The model is the fragment plus a {@code user:*} and a condition, so that wildcards and
 * conditional tuples can sit on the path.
 */
class RbacCheckTest {
  private static final String MODEL =
      """
      model
        schema 1.1
      type user
      type service_account
      type group
        relations
          define member: [user, user:*, service_account, group#member]
      type role
        relations
          define assignee: [user, user:*, service_account, group#member, user with in_hours]
      type permission
        relations
          define granted: [role#assignee, role#assignee with in_hours]
      condition in_hours(hour: int) {
        hour >= 9 && hour < 17
      }
      """;

  /** Roles r0..r11 hold permission:deploy; r12..r19 exist but do not. */
  private static final int GRANTED_ROLES = 12;

  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");

  private final TupleIndex index = TupleIndex.create();
  private final Engine engine =
      Engine.create(ModelDsl.parse(MODEL), index, Clock.fixed(NOW, ZoneOffset.UTC));
  private final Engine fullWalk = engine.withSubjectSideThreshold(Integer.MAX_VALUE);

  RbacCheckTest() {
    List<Tuple> grants = new ArrayList<>();
    for (int r = 0; r < GRANTED_ROLES; r++) {
      grants.add(Tuple.of("permission:deploy", "granted", "role:r" + r + "#assignee"));
    }
    for (int r = 12; r < 20; r++) {
      grants.add(Tuple.of("permission:audit", "granted", "role:r" + r + "#assignee"));
    }
    write(grants);
  }

  private void write(List<Tuple> tuples) {
    tuples.forEach(engine::validateTuple);
    index.write(tuples);
  }

  private void write(String... triples) {
    List<Tuple> tuples = new ArrayList<>();
    for (String triple : triples) {
      String[] p = triple.split(" ");
      tuples.add(Tuple.of(p[0], p[1], p[2]));
    }
    write(tuples);
  }

  private static CheckRequest deploy(String user) {
    return CheckRequest.of("permission:deploy", "granted", user);
  }

  /** The decision, after checking that the full walk decides the same. */
  private boolean allowed(CheckRequest request) {
    boolean allowed = engine.check(request).allowed();
    assertThat(fullWalk.check(request).allowed()).as("full walk on %s", request).isEqualTo(allowed);
    return allowed;
  }

  private boolean answeredFromSubject(CheckRequest request) {
    return engine.subjectSideAnswers(request) > 0;
  }

  @Test
  void check_userInOneOfManyGrantedRoles_isAllowedFromTheSubjectSide() {
    write("role:r3 assignee user:alice", "role:r15 assignee user:alice");
    assertThat(allowed(deploy("user:alice"))).isTrue();
    assertThat(answeredFromSubject(deploy("user:alice"))).isTrue();
    assertThat(allowed(CheckRequest.of("permission:audit", "granted", "user:alice"))).isTrue();
  }

  @Test
  void check_serviceAccountInAGrantedRole_isAllowed() {
    write("role:r0 assignee service_account:key.AbC");
    assertThat(allowed(deploy("service_account:key.AbC"))).isTrue();
    assertThat(allowed(deploy("user:key.AbC"))).isFalse();
  }

  @Test
  void check_userInAGroupHoldingARole_isAllowed() {
    write("group:eng member user:bob", "role:r5 assignee group:eng#member");
    assertThat(allowed(deploy("user:bob"))).isTrue();
    assertThat(answeredFromSubject(deploy("user:bob"))).isTrue();
    // The group itself, as a userset subject, holds the permission too.
    assertThat(allowed(deploy("group:eng#member"))).isTrue();
    assertThat(allowed(CheckRequest.of("permission:audit", "granted", "user:bob"))).isFalse();
  }

  @Test
  void check_userInNestedGroups_isAllowed() {
    write(
        "group:sre member user:carol",
        "group:platform member group:sre#member",
        "group:engineering member group:platform#member",
        "role:r7 assignee group:engineering#member");
    assertThat(allowed(deploy("user:carol"))).isTrue();
    assertThat(answeredFromSubject(deploy("user:carol"))).isTrue();
    assertThat(allowed(deploy("group:sre#member"))).isTrue();
  }

  @Test
  void check_roleFromAContextualTuple_countsForThatRequestOnly() {
    CheckRequest withGrantedRole =
        deploy("user:dave")
            .withContextualTuples(List.of(Tuple.of("role:r2", "assignee", "user:dave")));
    CheckRequest withOtherRole =
        deploy("user:dave")
            .withContextualTuples(List.of(Tuple.of("role:r15", "assignee", "user:dave")));
    assertThat(allowed(withGrantedRole)).isTrue();
    assertThat(answeredFromSubject(withGrantedRole)).isTrue();
    assertThat(allowed(withOtherRole)).isFalse();
    assertThat(answeredFromSubject(withOtherRole)).isTrue();
    assertThat(allowed(deploy("user:dave"))).isFalse();
  }

  @Test
  void check_userWhoseRolesLackThePermission_isDeniedFromTheSubjectSide() {
    write(
        "role:r15 assignee user:erin",
        "group:finance member user:erin",
        "role:r16 assignee group:finance#member");
    assertThat(allowed(deploy("user:erin"))).isFalse();
    assertThat(answeredFromSubject(deploy("user:erin"))).isTrue();
    assertThat(allowed(deploy("user:stranger"))).isFalse();
    assertThat(answeredFromSubject(deploy("user:stranger"))).isTrue();
  }

  @Test
  void check_wildcardInARoleOrGroup_grantsEveryUserButNotOtherSubjectTypes() {
    write("role:r4 assignee user:*");
    assertThat(allowed(deploy("user:never-seen"))).isTrue();
    assertThat(answeredFromSubject(deploy("user:never-seen"))).isTrue();
    assertThat(allowed(deploy("user:*"))).isTrue();
    assertThat(allowed(deploy("service_account:robot"))).isFalse();

    write("group:everyone member user:*", "role:r14 assignee group:everyone#member");
    assertThat(allowed(CheckRequest.of("permission:audit", "granted", "user:anyone"))).isTrue();
    assertThat(allowed(CheckRequest.of("permission:audit", "granted", "service_account:x")))
        .isFalse();
  }

  @Test
  void check_conditionalMembershipOnThePath_isEvaluatedAsTheFullWalkDoes() {
    write(List.of(Tuple.conditional("role:r1", "assignee", "user:frank", "in_hours", Map.of())));
    assertThat(allowed(deploy("user:frank").withContext(Map.of("hour", 10)))).isTrue();
    assertThat(allowed(deploy("user:frank").withContext(Map.of("hour", 20)))).isFalse();
    assertThatThrownBy(() -> engine.check(deploy("user:frank")))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("hour")
        .extracting(e -> ((CastellanException) e).code())
        .isEqualTo(ErrorCode.VALIDATION_ERROR);
    assertThatThrownBy(() -> fullWalk.check(deploy("user:frank")))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("hour");
  }

  @Test
  void check_conditionalGrantOffThePath_deniesOrFailsAsTheFullWalkDoes() {
    // The full walk evaluates every grant's condition on its way to a denial, so a missing
    // parameter fails the check even for users that are nowhere near role r13.
    write(
        List.of(
            Tuple.conditional(
                "permission:deploy", "granted", "role:r13#assignee", "in_hours", Map.of()),
            Tuple.of("role:r3", "assignee", "user:alice"),
            Tuple.of("role:r15", "assignee", "user:hank")));
    assertThat(allowed(deploy("user:alice"))).isTrue();
    assertThat(answeredFromSubject(deploy("user:alice"))).isTrue();
    assertThatThrownBy(() -> engine.check(deploy("user:hank")))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("hour");
    assertThatThrownBy(() -> fullWalk.check(deploy("user:hank")))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("hour");
    assertThat(allowed(deploy("user:hank").withContext(Map.of("hour", 10)))).isFalse();
  }

  @Test
  void check_afterTheGraphBelowAPermissionChanges_seesTheChange() {
    write("role:r15 assignee user:hank");
    assertThat(allowed(deploy("user:hank"))).isFalse(); // remembers the graph below the key
    // Deeper down, not on the permission's own tuples: a chain past the depth limit.
    List<Tuple> chain = new ArrayList<>();
    chain.add(Tuple.of("role:r8", "assignee", "group:g0#member"));
    for (int i = 0; i < 30; i++) {
      chain.add(Tuple.of("group:g" + i, "member", "group:g" + (i + 1) + "#member"));
    }
    write(chain);
    for (Engine e : List.of(engine, fullWalk)) {
      assertThatThrownBy(() -> e.check(deploy("user:hank")))
          .extracting(x -> ((CastellanException) x).code())
          .isEqualTo(ErrorCode.AUTHORIZATION_MODEL_RESOLUTION_TOO_COMPLEX);
    }
    index.write(List.of(), List.of(chain.get(0).key()));
    assertThat(allowed(deploy("user:hank"))).isFalse();
    assertThat(answeredFromSubject(deploy("user:hank"))).isTrue();
    // On the permission's own tuples: a grant whose condition lacks its parameter.
    write(
        List.of(
            Tuple.conditional(
                "permission:deploy", "granted", "role:r13#assignee", "in_hours", Map.of())));
    assertThatThrownBy(() -> engine.check(deploy("user:hank")))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("hour");
  }

  @Test
  void check_membershipGainingThenLosingACondition_isReadWithItsCurrentCondition() {
    CheckRequest request = deploy("user:olga");
    write("role:r1 assignee user:olga");
    assertThat(allowed(request)).isTrue();
    write(List.of(Tuple.conditional("role:r1", "assignee", "user:olga", "in_hours", Map.of())));
    assertThat(allowed(request.withContext(Map.of("hour", 20)))).isFalse();
    assertThatThrownBy(() -> engine.check(request)).isInstanceOf(CastellanException.class);
    write("role:r1 assignee user:olga");
    assertThat(allowed(request)).isTrue();
    assertThat(answeredFromSubject(request)).isTrue();
    write(List.of(Tuple.conditional("role:r1", "assignee", "user:olga", "in_hours", Map.of())));
    index.write(List.of(), List.of(new TupleKey("role:r1", "assignee", "user:olga")));
    assertThat(allowed(request)).isFalse();
    assertThat(answeredFromSubject(request)).isTrue();
  }

  @Test
  void check_expiredMembershipOnThePath_nolongerGrants() {
    write(
        List.of(
            Tuple.of("role:r2", "assignee", "user:ivan").expiringAt(NOW.minusSeconds(1)),
            Tuple.of("role:r2", "assignee", "user:judy").expiringAt(NOW.plus(Duration.ofHours(1))),
            Tuple.of("group:contractors", "member", "user:kim"),
            Tuple.of("role:r6", "assignee", "group:contractors#member")
                .expiringAt(NOW.minus(Duration.ofDays(1)))));
    assertThat(allowed(deploy("user:ivan"))).isFalse();
    assertThat(answeredFromSubject(deploy("user:ivan"))).isTrue();
    assertThat(allowed(deploy("user:judy"))).isTrue();
    assertThat(answeredFromSubject(deploy("user:judy"))).isTrue();
    assertThat(allowed(deploy("user:kim"))).isFalse();
  }

  @Test
  void check_groupsInACycle_allowMembersAndDenyOthers() {
    write(
        "group:a member group:b#member",
        "group:b member group:a#member",
        "group:b member user:lee",
        "role:r0 assignee group:a#member");
    assertThat(allowed(deploy("user:lee"))).isTrue();
    assertThat(answeredFromSubject(deploy("user:lee"))).isTrue();
    assertThat(allowed(deploy("user:mia"))).isFalse();
  }

  @Test
  void check_membershipBeyondTheDepthLimit_failsAsTheFullWalkDoes() {
    List<Tuple> chain = new ArrayList<>();
    chain.add(Tuple.of("role:r8", "assignee", "group:g0#member"));
    for (int i = 0; i < 30; i++) {
      chain.add(Tuple.of("group:g" + i, "member", "group:g" + (i + 1) + "#member"));
    }
    chain.add(Tuple.of("group:g30", "member", "user:deep"));
    chain.add(Tuple.of("group:g10", "member", "user:shallow"));
    write(chain);
    for (Engine e : List.of(engine, fullWalk)) {
      assertThatThrownBy(() -> e.check(deploy("user:deep")))
          .isInstanceOf(CastellanException.class)
          .extracting(x -> ((CastellanException) x).code())
          .isEqualTo(ErrorCode.AUTHORIZATION_MODEL_RESOLUTION_TOO_COMPLEX);
    }
    assertThat(allowed(deploy("user:shallow"))).isTrue();
    assertThat(answeredFromSubject(deploy("user:shallow"))).isTrue();
  }

  @Test
  void compiledModel_findsPureDirectRelationsAndTheClosureBelowEach() {
    AuthorizationModel source =
        ModelDsl.parse(
            """
            model
              schema 1.1
            type user
            type group
              relations
                define member: [user, group#member]
            type role
              relations
                define assignee: [user, group#member]
            type permission
              relations
                define granted: [role#assignee]
            type doc
              relations
                define owner: [user]
                define viewer: [user, role#assignee] or owner
                define shared: [doc#viewer]
            """);
    Names names = new Names();
    CompiledModel model =
        new CompiledModel(source, names, ConditionEvaluator.compile(source.conditions()));
    assertThat(relation(model, "group", "member").pureDirect).isTrue();
    assertThat(relation(model, "role", "assignee").pureDirect).isTrue();
    assertThat(relation(model, "permission", "granted").pureDirect).isTrue();
    assertThat(relation(model, "permission", "granted").usersetClosure)
        .containsExactlyInAnyOrder(key(names, "role", "assignee"), key(names, "group", "member"));
    // Not pure direct itself (a computed part), but its usersets are: the direct part qualifies.
    assertThat(relation(model, "doc", "viewer").pureDirect).isFalse();
    assertThat(relation(model, "doc", "viewer").usersetClosure).isNotNull();
    // Admits a userset of a relation that is not pure direct: never answered from the subject.
    assertThat(relation(model, "doc", "shared").pureDirect).isFalse();
    assertThat(relation(model, "doc", "shared").usersetClosure).isNull();
    // No usersets at all: nothing to walk.
    assertThat(relation(model, "doc", "owner").pureDirect).isTrue();
    assertThat(relation(model, "doc", "owner").usersetClosure).isNull();
  }

  private static RelationInfo relation(CompiledModel model, String type, String relation) {
    return model.relation(model.names.find(type), model.names.find(relation));
  }

  private static long key(Names names, String type, String relation) {
    return Relationships.key(names.find(type), names.find(relation));
  }
}
