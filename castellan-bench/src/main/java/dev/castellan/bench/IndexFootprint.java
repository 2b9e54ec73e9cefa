package dev.castellan.bench;

import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleIndex;
import java.util.List;

/**
 * Measures the heap the index holds for the {@link Dataset}: live heap after a full GC, with the
 * index, minus the same without it. Run: {@code java -cp castellan-benchmarks.jar
 * dev.castellan.bench.IndexFootprint}.
 */
public final class IndexFootprint {
  private IndexFootprint() {}

  public static void main(String[] args) throws Exception {
    List<Tuple> tuples = Dataset.tuples();
    long before = liveHeap();
    long start = System.nanoTime();
    TupleIndex index = Dataset.index(tuples);
    long loadMillis = (System.nanoTime() - start) / 1_000_000;
    long after = liveHeap();
    long bytes = after - before;
    System.out.printf(
        "tuples=%d load_ms=%d heap_bytes=%d bytes_per_tuple=%.1f estimated_bytes_per_tuple=%.1f%n",
        index.size(),
        loadMillis,
        bytes,
        bytes / (double) index.size(),
        index.estimatedBytes() / (double) index.size());
    if (index.size() != tuples.size()) {
      throw new IllegalStateException(
          "index lost tuples: " + index.size() + " of " + tuples.size());
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
