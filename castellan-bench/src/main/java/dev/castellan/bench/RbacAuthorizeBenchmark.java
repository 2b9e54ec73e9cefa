package dev.castellan.bench;

import dev.castellan.engine.Tuple;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.auth.AccessControl;
import dev.castellan.server.rbac.Permission;
import dev.castellan.server.rbac.Rbac;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.TupleWrite;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.casbin.jcasbin.main.Enforcer;
import org.casbin.jcasbin.model.Model;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Issue 5's RBAC decision, in process, through Castellan's public RBAC layer ({@link
 * Rbac#authorize}: the system store, the engine, contextual role tuples) and the same decisions in
 * jCasbin, in one JMH run: 1,000 roles, 100,000 members (each user in 1 to 3 roles), the 53 catalog
 * permissions each granted to about half of the roles. Every benchmark cycles through 1,024
 * prepared questions whose answers both libraries were checked to agree on in the setup.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms2g", "-Xmx2g", "--sun-misc-unsafe-memory-access=allow"})
public class RbacAuthorizeBenchmark {
  static final int ROLES = 1_000;
  static final int USERS = 100_000;
  static final int QUESTIONS = 1_024;

  private static final String CASBIN_MODEL =
      """
      [request_definition]
      r = sub, obj, act
      [policy_definition]
      p = sub, obj, act
      [role_definition]
      g = _, _
      [policy_effect]
      e = some(where (p.eft == allow))
      [matchers]
      m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
      """;

  private MemoryStore store;
  private StoreRuntime runtime;
  private Rbac rbac;
  private Enforcer casbin;

  private String[] users;
  private Permission[] permissions;
  private String[][] tokenRoles;
  private boolean[] expected;
  private int next;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom random = new SplittableRandom(20261125L);
    store = new MemoryStore();
    runtime =
        new StoreRuntime(
            store, IndexFeed.Options.DEFAULT, Duration.ofSeconds(5), Clock.systemUTC());
    AccessControl access = AccessControl.open(store);
    String system = access.systemStoreId();
    rbac = Rbac.open(runtime, system);
    List<Permission> catalog = rbac.catalog().all();

    Model model = new Model();
    model.loadModelFromText(CASBIN_MODEL);
    casbin = new Enforcer(model);
    casbin.enableAutoBuildRoleLinks(false);

    List<Tuple> batch = new ArrayList<>();
    for (int r = 0; r < ROLES; r++) {
      String role = "r" + r;
      for (Permission p : catalog) {
        if (random.nextBoolean()) {
          batch.add(Tuple.of("permission:" + p.id(), "granted", "role:" + role + "#assignee"));
          casbin.addPolicy(role, p.resource(), p.operation());
        }
      }
      flush(system, batch, false);
    }
    int[][] membership = new int[USERS][];
    for (int u = 0; u < USERS; u++) {
      int count = 1 + random.nextInt(3);
      membership[u] = random.ints(0, ROLES).distinct().limit(count).toArray();
      for (int role : membership[u]) {
        batch.add(Tuple.of("role:r" + role, "assignee", "user:u" + u));
        casbin.addGroupingPolicy("u" + u, "r" + role);
      }
      flush(system, batch, false);
    }
    flush(system, batch, true);
    casbin.buildRoleLinks();
    runtime.afterWrite(system);

    users = new String[QUESTIONS];
    permissions = new Permission[QUESTIONS];
    tokenRoles = new String[QUESTIONS][];
    expected = new boolean[QUESTIONS];
    int allowed = 0;
    for (int q = 0; q < QUESTIONS; q++) {
      int u = random.nextInt(USERS);
      users[q] = "u" + u;
      permissions[q] = catalog.get(random.nextInt(catalog.size()));
      tokenRoles[q] = new String[] {"r" + random.nextInt(ROLES)};
      boolean stored = castellan(q).allowed();
      boolean peer =
          casbin.enforce(users[q], permissions[q].resource(), permissions[q].operation());
      if (stored != peer) {
        throw new IllegalStateException("Castellan and jCasbin disagree on question " + q);
      }
      expected[q] = stored;
      allowed += stored ? 1 : 0;
    }
    if (allowed < QUESTIONS / 4 || allowed > QUESTIONS * 3 / 4) {
      throw new IllegalStateException(
          "an unbalanced mix: " + allowed + " of " + QUESTIONS + " allowed");
    }
  }

  private void flush(String system, List<Tuple> batch, boolean force) {
    if (batch.size() >= 5_000 || (force && !batch.isEmpty())) {
      store.write(system, new TupleWrite(batch, List.of(), true, false));
      batch.clear();
    }
  }

  private dev.castellan.server.rbac.Decision castellan(int q) {
    return rbac.authorize("user:" + users[q], List.of(), List.of(), permissions[q], Map.of());
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    runtime.close();
  }

  private int question() {
    int q = next;
    next = (q + 1) & (QUESTIONS - 1);
    return q;
  }

  /** Roles held in the store: the user's memberships are tuples. */
  @Benchmark
  public boolean castellanStoredRoles() {
    int q = question();
    return castellan(q).allowed();
  }

  /** A role carried by the request (a JWT claim), as one contextual tuple. */
  @Benchmark
  public boolean castellanTokenRole() {
    int q = question();
    return rbac.authorize("user:t" + q, List.of(tokenRoles[q]), List.of(), permissions[q], Map.of())
        .allowed();
  }

  /** The same stored-role questions in jCasbin's RBAC model. */
  @Benchmark
  public boolean jcasbin() {
    int q = question();
    return casbin.enforce(users[q], permissions[q].resource(), permissions[q].operation());
  }
}
