package dev.castellan.store.jdbc;

import dev.castellan.engine.Tuple;
import dev.castellan.store.WriteResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.stream.LongStream;

/**
 * Measures {@link JdbcStore#importTuples}: {@code ImportBenchmark <pg-url | h2> [tuples]}. Prints
 * the rate; asserts nothing. Not part of the test suite.
 */
public final class ImportBenchmark {
  private ImportBenchmark() {}

  public static void main(String[] args) throws Exception {
    String target = args.length > 0 ? args[0] : "h2";
    long count = args.length > 1 ? Long.parseLong(args[1]) : 1_000_000;
    Path dir = null;
    JdbcStore store;
    if (target.equals("h2")) {
      dir = Files.createTempDirectory("castellan-import");
      store = JdbcStore.embedded(dir);
    } else {
      String name = "castellan_bench_" + System.nanoTime();
      try (var connection = java.sql.DriverManager.getConnection(target);
          var statement = connection.createStatement()) {
        statement.execute("CREATE DATABASE " + name);
      }
      store = JdbcStore.postgres(PostgresTestDatabase.withDatabase(target, name));
      final String admin = target;
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    try (var connection = java.sql.DriverManager.getConnection(admin);
                        var statement = connection.createStatement()) {
                      statement.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
                    } catch (Exception e) {
                      System.err.println("could not drop " + name + ": " + e);
                    }
                  }));
    }
    try (store) {
      String storeId = store.createStore("bench").id();
      Iterator<Tuple> tuples =
          LongStream.range(0, count)
              .mapToObj(
                  i ->
                      Tuple.of("doc:" + i, i % 3 == 0 ? "owner" : "viewer", "user:" + (i % 10_007)))
              .iterator();
      long start = System.nanoTime();
      long[] inserted = new long[1];
      WriteResult result =
          store.importTuples(
              storeId,
              tuples,
              5_000,
              n -> {
                if (n == count) {
                  inserted[0] = System.nanoTime();
                }
              });
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf(
          "%s: imported %,d tuples in %.2f s = %,.0f tuples/s (revision %d)%n",
          target.equals("h2") ? "H2" : "PostgreSQL",
          result.written(),
          seconds,
          result.written() / seconds,
          result.revision());
      System.out.printf(
          "  tuple inserts %.2f s, changelog and commit %.2f s%n",
          (inserted[0] - start) / 1e9, (System.nanoTime() - inserted[0]) / 1e9);
      long snapStart = System.nanoTime();
      long[] seen = new long[1];
      store.snapshot(storeId, t -> seen[0]++);
      System.out.printf(
          "snapshot of %,d tuples in %.2f s%n", seen[0], (System.nanoTime() - snapStart) / 1e9);
    } finally {
      if (dir != null) {
        try (var files = Files.walk(dir)) {
          long bytes = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
          System.out.printf("H2 files after close: %,d MiB%n", bytes >> 20);
        }
        try (var files = Files.walk(dir)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }
  }
}
