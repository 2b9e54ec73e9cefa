package dev.castellan.bench;

import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.Engine;
import dev.castellan.engine.ListObjectsRequest;
import java.util.List;
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
 * Single-threaded decision latency on the 1,000,000-tuple {@link Dataset}. Sample mode reports
 * p50/p99. Each benchmark's setup asserts the expected answer, so a broken engine cannot report a
 * fast wrong result.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms4g", "-Xmx4g"})
public class CheckBenchmark {
  private Engine engine;
  private CheckRequest direct;
  private CheckRequest deep;
  private CheckRequest deniedDeep;
  private ListObjectsRequest lead;

  @Setup(Level.Trial)
  public void setUp() {
    engine = Dataset.engine(Dataset.index(Dataset.tuples()));
    direct = CheckRequest.of("document:0", "viewer", "user:direct");
    deep = CheckRequest.of("document:deep", "viewer", "user:deep");
    deniedDeep = CheckRequest.of("document:deep", "viewer", "user:nobody");
    lead = ListObjectsRequest.of("document", "viewer", "user:lead");
    require(engine.check(direct).allowed(), "direct check must be allowed");
    require(engine.check(deep).allowed(), "deep check must be allowed");
    require(!engine.check(deniedDeep).allowed(), "denied check must be denied");
    int listed = engine.listObjects(lead).size();
    require(listed >= 10_000, "list-objects must return at least 10,000 documents, got " + listed);
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalStateException(message);
    }
  }

  /** A tuple that grants directly. */
  @Benchmark
  public boolean checkDirect() {
    return engine.check(direct).allowed();
  }

  /** Through nested groups (4 levels) and 5 levels of folder inheritance. */
  @Benchmark
  public boolean checkDeepInheritance() {
    return engine.check(deep).allowed();
  }

  /** The same path for a user with no access: every branch is explored. */
  @Benchmark
  public boolean checkDeepDenied() {
    return engine.check(deniedDeep).allowed();
  }

  /** Every document {@code user:lead} can view: 10,000 and more. */
  @Benchmark
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  public List<String> listObjects10k() {
    return engine.listObjects(lead);
  }
}
