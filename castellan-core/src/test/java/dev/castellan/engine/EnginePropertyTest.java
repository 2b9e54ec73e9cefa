package dev.castellan.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.InvalidModelException;
import dev.castellan.model.ModelDsl;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Random models and tuple sets, checked for properties that must hold whatever the model:
 * list-objects is exactly the set of objects that pass check; list-users agrees with check; expand,
 * evaluated recursively, agrees with check; contextual tuples answer as written ones do; and the
 * subject-side walk, tried on every key it applies to, answers as the full walk does. Tuple sets
 * are acyclic (parents and nested groups point to lower indexes), where all of these are exact.
 */
class EnginePropertyTest {
  private static final int TRIALS = 300;
  private static final int USERS = 4;
  private static final int GROUPS = 3;
  private static final int FOLDERS = 4;
  private static final int DOCS = 4;

  @Test
  void randomModels_satisfyTheEngineInvariants() {
    int validModels = 0;
    java.util.Map<String, Integer> rejected = new java.util.TreeMap<>();
    for (int trial = 0; trial < TRIALS; trial++) {
      Random random = new Random(trial);
      String dsl = randomModel(random);
      AuthorizationModel model;
      try {
        model = ModelDsl.parse(dsl);
        dev.castellan.model.ModelValidator.requireValid(model);
      } catch (InvalidModelException e) {
        e.errors().forEach(error -> rejected.merge(error.kind(), 1, Integer::sum));
        continue; // the generator may write models OpenFGA rejects; those are not under test here
      }
      validModels++;
      TupleIndex index = TupleIndex.create();
      Engine engine = Engine.create(model, index);
      List<Tuple> tuples = randomTuples(random, model, engine);
      index.write(tuples);
      String where = "seed " + trial + "\n" + dsl + "\ntuples " + tuples;
      verify(engine, model, tuples, random, where);
    }
    assertThat(validModels)
        .as("valid random models generated; rejections %s", rejected)
        .isGreaterThan(TRIALS / 3);
  }

  private static void verify(
      Engine engine, AuthorizationModel model, List<Tuple> tuples, Random random, String where) {
    // Contextual-tuple twin: part of the tuples written, the rest sent with each request.
    TupleIndex partial = TupleIndex.create();
    Engine twin = Engine.create(model, partial);
    List<Tuple> written = new ArrayList<>();
    List<Tuple> contextual = new ArrayList<>();
    for (Tuple tuple : tuples) {
      (random.nextBoolean() && contextual.size() < Engine.MAX_CONTEXTUAL_TUPLES
              ? contextual
              : written)
          .add(tuple);
    }
    partial.write(written);
    Engine subjectSide = engine.withSubjectSideThreshold(0);
    Engine twinSubjectSide = twin.withSubjectSideThreshold(0);

    List<String> users = new ArrayList<>();
    for (int u = 0; u < USERS; u++) {
      users.add("user:u" + u);
    }
    users.add("user:*");
    for (String type : List.of("folder", "doc")) {
      int count = type.equals("folder") ? FOLDERS : DOCS;
      for (String relation : model.type(type).orElseThrow().relations().keySet()) {
        if (relation.equals("parent")) {
          continue;
        }
        for (String user : users) {
          Set<String> allowed = new HashSet<>();
          for (int i = 0; i < count; i++) {
            String object = type + ":" + type.charAt(0) + i;
            boolean checked = engine.check(CheckRequest.of(object, relation, user)).allowed();
            if (checked) {
              allowed.add(object);
            }
            boolean viaContext =
                twin.check(CheckRequest.of(object, relation, user).withContextualTuples(contextual))
                    .allowed();
            assertThat(viaContext)
                .as("contextual == written: %s#%s@%s\n%s", object, relation, user, where)
                .isEqualTo(checked);
            assertThat(subjectSide.check(CheckRequest.of(object, relation, user)).allowed())
                .as("subject side == full walk: %s#%s@%s\n%s", object, relation, user, where)
                .isEqualTo(checked);
            assertThat(
                    twinSubjectSide
                        .check(
                            CheckRequest.of(object, relation, user)
                                .withContextualTuples(contextual))
                        .allowed())
                .as("subject side, contextual: %s#%s@%s\n%s", object, relation, user, where)
                .isEqualTo(checked);
            if (!user.endsWith("*")) {
              boolean expanded = expandContains(engine, object, relation, user, new HashSet<>());
              assertThat(expanded)
                  .as("expand == check: %s#%s@%s\n%s", object, relation, user, where)
                  .isEqualTo(checked);
            }
          }
          List<String> listed = engine.listObjects(ListObjectsRequest.of(type, relation, user));
          assertThat(new HashSet<>(listed))
              .as("list-objects == check: %s#%s@%s\n%s", type, relation, user, where)
              .isEqualTo(allowed);
          assertThat(listed).doesNotHaveDuplicates();
        }
        for (int i = 0; i < count; i++) {
          String object = type + ":" + type.charAt(0) + i;
          List<String> listedUsers =
              engine.listUsers(ListUsersRequest.of(object, relation, "user"));
          for (String user : listedUsers) {
            assertThat(engine.check(CheckRequest.of(object, relation, user)).allowed())
                .as("listed user passes check: %s#%s@%s\n%s", object, relation, user, where)
                .isTrue();
          }
          for (int u = 0; u < USERS; u++) {
            String user = "user:u" + u;
            if (engine.check(CheckRequest.of(object, relation, user)).allowed()) {
              assertThat(listedUsers.contains(user) || listedUsers.contains("user:*"))
                  .as(
                      "list-users complete: %s#%s@%s got %s\n%s",
                      object, relation, user, listedUsers, where)
                  .isTrue();
            }
          }
        }
      }
    }
  }

  /** Evaluates the expand tree recursively as set algebra: an independent path to the answer. */
  private static boolean expandContains(
      Engine engine, String object, String relation, String user, Set<String> visiting) {
    String key = object + "#" + relation;
    if (!visiting.add(key)) {
      return false;
    }
    try {
      return contains(engine, engine.expand(object, relation), user, visiting);
    } finally {
      visiting.remove(key);
    }
  }

  private static boolean contains(
      Engine engine, ExpandNode node, String user, Set<String> visiting) {
    return switch (node) {
      case ExpandNode.Users u -> {
        for (String member : u.users()) {
          if (member.equals(user) || member.equals(user.substring(0, user.indexOf(':')) + ":*")) {
            yield true;
          }
          int hash = member.indexOf('#');
          if (hash > 0
              && expandContains(
                  engine, member.substring(0, hash), member.substring(hash + 1), user, visiting)) {
            yield true;
          }
        }
        yield false;
      }
      case ExpandNode.Computed c -> {
        int hash = c.userset().indexOf('#');
        yield expandContains(
            engine,
            c.userset().substring(0, hash),
            c.userset().substring(hash + 1),
            user,
            visiting);
      }
      case ExpandNode.TupleToUserset t -> {
        for (String userset : t.computed()) {
          int hash = userset.indexOf('#');
          if (expandContains(
              engine, userset.substring(0, hash), userset.substring(hash + 1), user, visiting)) {
            yield true;
          }
        }
        yield false;
      }
      case ExpandNode.Union u ->
          u.nodes().stream().anyMatch(n -> contains(engine, n, user, visiting));
      case ExpandNode.Intersection i ->
          i.nodes().stream().allMatch(n -> contains(engine, n, user, visiting));
      case ExpandNode.Difference d ->
          contains(engine, d.base(), user, visiting)
              && !contains(engine, d.subtract(), user, visiting);
    };
  }

  // ------------------------------------------------------------------ generators

  private static String randomModel(Random random) {
    StringBuilder dsl =
        new StringBuilder(
            """
            model
              schema 1.1
            type user
            type group
              relations
                define member: [user, user:*, group#member]
            type folder
              relations
                define parent: [folder]
            """);
    List<String> folderRelations = new ArrayList<>();
    for (int r = 0; r < 3; r++) {
      String name = "f" + r;
      dsl.append("    define ")
          .append(name)
          .append(": ")
          .append(relation(random, folderRelations, folderRelations, r == 0))
          .append('\n');
      folderRelations.add(name);
    }
    dsl.append("type doc\n  relations\n    define parent: [folder]\n");
    List<String> docRelations = new ArrayList<>();
    for (int r = 0; r < 3; r++) {
      String name = "d" + r;
      dsl.append("    define ")
          .append(name)
          .append(": ")
          .append(relation(random, docRelations, folderRelations, r == 0))
          .append('\n');
      docRelations.add(name);
    }
    return dsl.toString();
  }

  private static final List<String> DIRECT =
      List.of(
          "[user]",
          "[user, user:*]",
          "[user, group#member]",
          "[group#member]",
          "[user:*, group#member]");

  private static String relation(
      Random random, List<String> same, List<String> parentRelations, boolean first) {
    String direct = DIRECT.get(random.nextInt(DIRECT.size()));
    if (first || same.isEmpty() && parentRelations.isEmpty()) {
      return random.nextBoolean()
          ? direct
          : direct + " or " + parentLeaf(random, parentRelations, direct);
    }
    String rest = expression(random, same, parentRelations, 2);
    return switch (random.nextInt(5)) {
      case 0 -> direct + " or " + rest;
      case 1 -> direct + " and " + rest;
      case 2 -> direct + " but not " + rest;
      case 3 -> "(" + direct + " or " + rest + ") but not " + leaf(random, same, parentRelations);
      default -> rest;
    };
  }

  private static String parentLeaf(Random random, List<String> parentRelations, String fallback) {
    return parentRelations.isEmpty()
        ? "f0 from parent"
        : parentRelations.get(random.nextInt(parentRelations.size())) + " from parent";
  }

  private static String leaf(Random random, List<String> same, List<String> parentRelations) {
    if (!same.isEmpty() && (parentRelations.isEmpty() || random.nextBoolean())) {
      return same.get(random.nextInt(same.size()));
    }
    if (parentRelations.isEmpty()) {
      return same.get(0);
    }
    return parentRelations.get(random.nextInt(parentRelations.size())) + " from parent";
  }

  private static String expression(
      Random random, List<String> same, List<String> parentRelations, int depth) {
    if (depth == 0 || random.nextInt(3) == 0) {
      return leaf(random, same, parentRelations);
    }
    String a = expression(random, same, parentRelations, depth - 1);
    String b = expression(random, same, parentRelations, depth - 1);
    if (a.equals(b)) {
      return a; // OpenFGA refuses "x or x" as a duplicate
    }
    String op = List.of("or", "and", "but not").get(random.nextInt(3));
    return "(" + a + " " + op + " " + b + ")";
  }

  private static List<Tuple> randomTuples(Random random, AuthorizationModel model, Engine engine) {
    Set<Tuple> out = new LinkedHashSet<>();
    for (int g = 1; g < GROUPS; g++) {
      if (random.nextBoolean()) {
        out.add(Tuple.of("group:g" + random.nextInt(g), "member", "group:g" + g + "#member"));
      }
    }
    for (int i = 0; i < 6; i++) {
      String user = random.nextInt(8) == 0 ? "user:*" : "user:u" + random.nextInt(USERS);
      out.add(Tuple.of("group:g" + random.nextInt(GROUPS), "member", user));
    }
    for (int f = 1; f < FOLDERS; f++) {
      if (random.nextInt(4) != 0) {
        out.add(Tuple.of("folder:f" + f, "parent", "folder:f" + random.nextInt(f)));
      }
    }
    for (int d = 0; d < DOCS; d++) {
      if (random.nextInt(4) != 0) {
        out.add(Tuple.of("doc:d" + d, "parent", "folder:f" + random.nextInt(FOLDERS)));
      }
    }
    String[] candidates = new String[USERS + GROUPS + 1];
    for (int u = 0; u < USERS; u++) {
      candidates[u] = "user:u" + u;
    }
    for (int g = 0; g < GROUPS; g++) {
      candidates[USERS + g] = "group:g" + g + "#member";
    }
    candidates[USERS + GROUPS] = "user:*";
    for (String type : List.of("folder", "doc")) {
      int count = type.equals("folder") ? FOLDERS : DOCS;
      for (String relation : model.type(type).orElseThrow().relations().keySet()) {
        if (relation.equals("parent")) {
          continue;
        }
        for (int k = 0; k < 5; k++) {
          Tuple tuple =
              Tuple.of(
                  type + ":" + type.charAt(0) + random.nextInt(count),
                  relation,
                  candidates[random.nextInt(candidates.length)]);
          try {
            engine.validateTuple(tuple);
            out.add(tuple);
          } catch (dev.castellan.CastellanException e) {
            // not admitted by this relation's type restrictions: skip
          }
        }
      }
    }
    return new ArrayList<>(out);
  }
}
