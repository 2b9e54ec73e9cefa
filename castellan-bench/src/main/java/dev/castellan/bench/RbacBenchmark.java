package dev.castellan.bench;

import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.Engine;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleIndex;
import dev.castellan.model.ModelDsl;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * RBAC decisions (ADR 0007) in process: {@code permission:<id>#granted@user:<id>} over 1,000 roles
 * and 100,000 users, each permission granted to about 500 roles. Each benchmark cycles through
 * 1,024 precomputed requests whose answers the setup checks against the generator's own ground
 * truth, so a broken engine cannot report a fast wrong result.
 *
 * <p>Data (seed 7): users are in 1-3 memberships, each a direct role (80%) or a group (20%); 5,000
 * groups each hold one role, and one group in five is nested in another group; 60 permissions are
 * each granted to a random half of the roles.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class RbacBenchmark {
  public static final String MODEL =
      """
      model
        schema 1.1
      type user
      type service_account
      type group
        relations
          define member: [user, service_account, group#member]
      type role
        relations
          define assignee: [user, service_account, group#member]
      type permission
        relations
          define granted: [role#assignee]
      """;

  static final int ROLES = 1_000;
  static final int USERS = 100_000;
  static final int GROUPS = 5_000;
  static final int PERMISSIONS = 60;
  static final int SAMPLES = 1_024;

  private Engine engine;
  private CheckRequest[] allowed;
  private CheckRequest[] denied;
  private CheckRequest[] allowedByContext;
  private CheckRequest[] deniedWithContext;
  private int next;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom random = new SplittableRandom(7);
    List<Tuple> tuples = new ArrayList<>();
    BitSet[] grants = new BitSet[PERMISSIONS]; // permission -> roles
    for (int p = 0; p < PERMISSIONS; p++) {
      grants[p] = new BitSet(ROLES);
      for (int r = 0; r < ROLES; r++) {
        if (random.nextBoolean()) {
          grants[p].set(r);
          tuples.add(Tuple.of("permission:" + p, "granted", "role:r" + r + "#assignee"));
        }
      }
    }
    // Groups: each holds one role; one in five is also nested in a lower-numbered group, so
    // membership can take two group hops before reaching a role.
    int[] groupRole = new int[GROUPS];
    int[] groupParent = new int[GROUPS];
    for (int g = 0; g < GROUPS; g++) {
      groupRole[g] = random.nextInt(ROLES);
      tuples.add(Tuple.of("role:r" + groupRole[g], "assignee", "group:g" + g + "#member"));
      groupParent[g] = g > 0 && random.nextInt(5) == 0 ? random.nextInt(g) : -1;
      if (groupParent[g] >= 0) {
        tuples.add(Tuple.of("group:g" + groupParent[g], "member", "group:g" + g + "#member"));
      }
    }
    BitSet[] roles = new BitSet[USERS]; // user -> effective roles (ground truth)
    for (int u = 0; u < USERS; u++) {
      roles[u] = new BitSet(ROLES);
      int memberships = 1 + random.nextInt(3);
      for (int m = 0; m < memberships; m++) {
        if (random.nextInt(5) != 0) {
          int r = random.nextInt(ROLES);
          if (!roles[u].get(r)) {
            tuples.add(Tuple.of("role:r" + r, "assignee", "user:u" + u));
          }
          roles[u].set(r);
        } else {
          int g = random.nextInt(GROUPS);
          tuples.add(Tuple.of("group:g" + g, "member", "user:u" + u));
          for (int at = g; at >= 0; at = groupParent[at]) {
            roles[u].set(groupRole[at]);
          }
        }
      }
    }
    TupleIndex index = TupleIndex.create(tuples.size());
    for (int i = 0; i < tuples.size(); i += 10_000) {
      index.write(tuples.subList(i, Math.min(tuples.size(), i + 10_000)));
    }
    engine = Engine.create(ModelDsl.parse(MODEL), index);

    allowed = new CheckRequest[SAMPLES];
    denied = new CheckRequest[SAMPLES];
    allowedByContext = new CheckRequest[SAMPLES];
    deniedWithContext = new CheckRequest[SAMPLES];
    int a = 0;
    int d = 0;
    int ca = 0;
    int cd = 0;
    while (a < SAMPLES || d < SAMPLES || ca < SAMPLES || cd < SAMPLES) {
      int u = random.nextInt(USERS);
      int p = random.nextInt(PERMISSIONS);
      CheckRequest request = CheckRequest.of("permission:" + p, "granted", "user:u" + u);
      if (roles[u].intersects(grants[p])) {
        if (a < SAMPLES) {
          allowed[a++] = request;
        }
        continue;
      }
      if (d < SAMPLES) {
        denied[d++] = request;
      }
      // A role carried by the caller's token, as ADR 0007's JWT roles become.
      int r = random.nextInt(ROLES);
      List<Tuple> context = List.of(Tuple.of("role:r" + r, "assignee", "user:u" + u));
      if (grants[p].get(r)) {
        if (ca < SAMPLES) {
          allowedByContext[ca++] = request.withContextualTuples(context);
        }
      } else if (cd < SAMPLES) {
        deniedWithContext[cd++] = request.withContextualTuples(context);
      }
    }
    for (int i = 0; i < SAMPLES; i++) {
      require(engine.check(allowed[i]).allowed(), allowed[i]);
      require(!engine.check(denied[i]).allowed(), denied[i]);
      require(engine.check(allowedByContext[i]).allowed(), allowedByContext[i]);
      require(!engine.check(deniedWithContext[i]).allowed(), deniedWithContext[i]);
    }
  }

  private static void require(boolean condition, CheckRequest request) {
    if (!condition) {
      throw new IllegalStateException("wrong answer for " + request);
    }
  }

  private int next() {
    next = (next + 1) & (SAMPLES - 1);
    return next;
  }

  /** A user holding the permission through one of its roles (directly or via groups). */
  @Benchmark
  public boolean checkAllowed() {
    return engine.check(allowed[next()]).allowed();
  }

  /** A user none of whose roles holds the permission. */
  @Benchmark
  public boolean checkDenied() {
    return engine.check(denied[next()]).allowed();
  }

  /** A user denied by stored roles, allowed by a role from its token (a contextual tuple). */
  @Benchmark
  public boolean checkAllowedByContextualRole() {
    return engine.check(allowedByContext[next()]).allowed();
  }

  /** A user denied by stored roles and by the role from its token. */
  @Benchmark
  public boolean checkDeniedWithContextualRole() {
    return engine.check(deniedWithContext[next()]).allowed();
  }
}
