package dev.castellan.cli;

import dev.castellan.CastellanException;
import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.Engine;
import dev.castellan.engine.ListObjectsRequest;
import dev.castellan.engine.ListUsersRequest;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleIndex;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Runs the tests of a {@link StoreFile} the way {@code fga model test} does. */
final class StoreTestRunner {

  /** One assertion's outcome; {@code detail} says what was expected and what came back. */
  record Outcome(String test, String assertion, boolean passed, String detail) {}

  private StoreTestRunner() {}

  static List<Outcome> run(StoreFile file) {
    List<Outcome> outcomes = new ArrayList<>();
    for (StoreFile.TestCase test : file.tests()) {
      TupleIndex index = TupleIndex.create();
      Engine engine = Engine.create(file.model(), index);
      List<Tuple> tuples = new ArrayList<>(file.tuples());
      tuples.addAll(test.tuples());
      for (Tuple tuple : tuples) {
        engine.validateTuple(tuple);
      }
      index.write(tuples);
      runChecks(engine, test, outcomes);
      runListObjects(engine, test, outcomes);
      runListUsers(engine, test, outcomes);
    }
    return outcomes;
  }

  private static void runChecks(Engine engine, StoreFile.TestCase test, List<Outcome> out) {
    for (StoreFile.CheckCase check : test.checks()) {
      for (String user : check.users()) {
        for (String object : check.objects()) {
          check
              .assertions()
              .forEach(
                  (relation, expected) -> {
                    String what = "check " + object + "#" + relation + "@" + user;
                    try {
                      boolean allowed =
                          engine
                              .check(
                                  CheckRequest.of(object, relation, user)
                                      .withContext(check.context())
                                      .withContextualTuples(check.contextualTuples()))
                              .allowed();
                      out.add(
                          new Outcome(
                              test.name(),
                              what,
                              allowed == expected,
                              "expected " + expected + ", got " + allowed));
                    } catch (CastellanException e) {
                      out.add(new Outcome(test.name(), what, false, "error: " + e.getMessage()));
                    }
                  });
        }
      }
    }
  }

  private static void runListObjects(Engine engine, StoreFile.TestCase test, List<Outcome> out) {
    for (StoreFile.ListObjectsCase list : test.listObjects()) {
      list.assertions()
          .forEach(
              (relation, expected) -> {
                String what = "list-objects " + list.type() + "#" + relation + "@" + list.user();
                try {
                  List<String> actual =
                      engine.listObjects(
                          ListObjectsRequest.of(list.type(), relation, list.user())
                              .withContext(list.context())
                              .withContextualTuples(list.contextualTuples()));
                  out.add(compare(test.name(), what, expected, actual));
                } catch (CastellanException e) {
                  out.add(new Outcome(test.name(), what, false, "error: " + e.getMessage()));
                }
              });
    }
  }

  private static void runListUsers(Engine engine, StoreFile.TestCase test, List<Outcome> out) {
    for (StoreFile.ListUsersCase list : test.listUsers()) {
      list.assertions()
          .forEach(
              (relation, expected) -> {
                String what =
                    "list-users " + list.object() + "#" + relation + " " + list.userFilters();
                try {
                  List<String> actual =
                      engine.listUsers(
                          new ListUsersRequest(
                              list.object(),
                              relation,
                              list.userFilters(),
                              list.contextualTuples(),
                              list.context()));
                  out.add(compare(test.name(), what, expected, actual));
                } catch (CastellanException e) {
                  out.add(new Outcome(test.name(), what, false, "error: " + e.getMessage()));
                }
              });
    }
  }

  private static Outcome compare(
      String test, String what, List<String> expected, List<String> actual) {
    Set<String> want = new HashSet<>(expected);
    Set<String> got = new HashSet<>(actual);
    return new Outcome(test, what, want.equals(got), "expected " + want + ", got " + got);
  }
}
