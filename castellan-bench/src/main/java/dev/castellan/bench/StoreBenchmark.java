package dev.castellan.bench;

import dev.castellan.engine.Tuple;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.Store;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.WriteResult;
import dev.castellan.store.jdbc.JdbcStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Durable-store figures for {@code docs/benchmarks.md}: write throughput in batches of 100, bulk
 * import of the 1,000,000-tuple {@link Dataset}, the time and heap for a node to load it, and
 * replication lag between two nodes (two stores with their own connections and feeds).
 *
 * <p>Run: {@code java -Xmx4g -cp castellan-benchmarks.jar dev.castellan.bench.StoreBenchmark [h2 |
 * ADMIN_PG_URL]}; a PostgreSQL URL names a server where a throwaway database is created.
 */
public final class StoreBenchmark {
  private StoreBenchmark() {}

  public static void main(String[] args) throws Exception {
    String target = args.length > 0 ? args[0] : "h2";
    boolean postgres = !target.equals("h2");
    String database = "castellan_bench_" + System.currentTimeMillis();
    String url = postgres ? create(target, database) : null;
    Path dir = postgres ? null : Files.createTempDirectory("castellan-bench");
    try {
      try (Store store = open(postgres, url, dir)) {
        writeThroughput(store, postgres);
        String storeId = importDataset(store);
        loadNode(store, storeId);
        if (postgres) {
          replicationLag(store, url, storeId);
        }
      }
    } finally {
      if (postgres) {
        drop(target, database);
      }
    }
  }

  private static Store open(boolean postgres, String url, Path dir) {
    return postgres ? JdbcStore.postgres(url) : JdbcStore.embedded(dir);
  }

  private static void writeThroughput(Store store, boolean postgres) throws Exception {
    String storeId = store.createStore("writes").id();
    for (int threads : new int[] {1, 4}) {
      int batches = postgres ? 500 : 300;
      AtomicLong next = new AtomicLong();
      long start = System.nanoTime();
      List<Thread> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        workers.add(
            Thread.ofPlatform()
                .start(
                    () -> {
                      long b;
                      while ((b = next.getAndIncrement()) < batches) {
                        List<Tuple> batch = new ArrayList<>(100);
                        for (int i = 0; i < 100; i++) {
                          batch.add(
                              Tuple.of(
                                  "document:w" + threads + "-" + b + "-" + i,
                                  "viewer",
                                  "user:u" + i));
                        }
                        store.write(storeId, TupleWrite.of(batch, List.of()));
                      }
                    }));
      }
      for (Thread worker : workers) {
        worker.join();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf(
          "write throughput, batches of 100, %d thread(s): %,d tuples in %.2f s = %,.0f tuples/s, %.1f ms/batch%n",
          threads,
          batches * 100L,
          seconds,
          batches * 100 / seconds,
          seconds * 1000 * threads / batches);
    }
  }

  private static String importDataset(Store store) {
    String storeId = store.createStore("dataset").id();
    List<Tuple> tuples = Dataset.tuples();
    long start = System.nanoTime();
    WriteResult result = store.importTuples(storeId, tuples.iterator(), 5_000, n -> {});
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        "bulk import: %,d tuples in %.2f s = %,.0f tuples/s (%d revisions)%n",
        result.written(), seconds, result.written() / seconds, result.revision());
    return storeId;
  }

  private static void loadNode(Store store, String storeId) throws InterruptedException {
    long before = liveHeap();
    long start = System.nanoTime();
    IndexFeed feed =
        IndexFeed.start(store, storeId, IndexFeed.Options.DEFAULT, Clock.systemUTC(), 1_000_000);
    double seconds = (System.nanoTime() - start) / 1e9;
    long after = liveHeap();
    System.out.printf(
        "node load: %,d tuples in %.2f s; index heap %,d bytes = %.1f bytes/tuple%n",
        feed.index().size(),
        seconds,
        after - before,
        (after - before) / (double) feed.index().size());
    feed.close();
  }

  /** Node A writes; node B (its own store connection, feed and LISTEN) sees it: how late? */
  private static void replicationLag(Store nodeA, String url, String storeId) throws Exception {
    try (JdbcStore nodeB = JdbcStore.postgres(url)) {
      IndexFeed feedB = IndexFeed.start(nodeB, storeId);
      AutoCloseable listening =
          nodeB.listen(
              id -> {
                if (id.equals(storeId)) {
                  feedB.wake();
                }
              });
      try (listening) {
        Thread.sleep(500);
        int samples = 50;
        long[] lags = new long[samples];
        for (int i = 0; i < samples; i++) {
          long revision =
              nodeA
                  .write(
                      storeId,
                      TupleWrite.writes(Tuple.of("document:lag" + i, "viewer", "user:lag")))
                  .revision();
          long start = System.nanoTime();
          feedB.awaitRevision(revision, Duration.ofSeconds(5));
          lags[i] = System.nanoTime() - start;
          Thread.sleep(20);
        }
        Arrays.sort(lags);
        System.out.printf(
            "replication lag A -> B without a token (NOTIFY + poll 200 ms): p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
            lags[samples / 2] / 1e6, lags[samples * 99 / 100] / 1e6, lags[samples - 1] / 1e6);
      } finally {
        feedB.close();
      }
    }
  }

  private static String create(String adminUrl, String database) throws Exception {
    try (Connection connection = DriverManager.getConnection(adminUrl);
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE DATABASE " + database);
    }
    String prefix = adminUrl.substring(0, adminUrl.indexOf('/', adminUrl.indexOf("//") + 2) + 1);
    int query = adminUrl.indexOf('?');
    return prefix + database + (query < 0 ? "" : adminUrl.substring(query));
  }

  private static void drop(String adminUrl, String database) {
    try (Connection connection = DriverManager.getConnection(adminUrl);
        Statement statement = connection.createStatement()) {
      statement.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
    } catch (Exception e) {
      System.err.println("could not drop " + database + ": " + e.getMessage());
    }
  }

  private static long liveHeap() throws InterruptedException {
    Runtime runtime = Runtime.getRuntime();
    for (int i = 0; i < 4; i++) {
      System.gc();
      Thread.sleep(200);
    }
    return runtime.totalMemory() - runtime.freeMemory();
  }
}
