package dev.castellan.server.metrics;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A call to the database that must not hold up its caller: a readiness probe or a scrape answers
 * within {@code limit} even when the database hangs (the pool waits 10 s for a connection). One
 * call at a time: while one is still running, later callers wait for that one instead of piling up
 * threads on a dead database.
 */
final class Probe<T> {
  private final Supplier<T> work;
  private final Duration limit;
  private final AtomicReference<CompletableFuture<T>> running = new AtomicReference<>();

  Probe(Supplier<T> work, Duration limit) {
    this.work = work;
    this.limit = limit;
  }

  /** The call's result, or empty when it failed or took longer than the limit. */
  Optional<T> get() {
    CompletableFuture<T> future = running.get();
    if (future == null || future.isDone()) {
      CompletableFuture<T> fresh = new CompletableFuture<>();
      if (running.compareAndSet(future, fresh)) {
        Thread.ofVirtual()
            .name("castellan-probe")
            .start(
                () -> {
                  try {
                    fresh.complete(work.get());
                  } catch (RuntimeException e) {
                    fresh.completeExceptionally(e);
                  }
                });
        future = fresh;
      } else {
        future = running.get();
      }
    }
    try {
      return Optional.ofNullable(future.get(limit.toMillis(), TimeUnit.MILLISECONDS));
    } catch (TimeoutException | ExecutionException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }
}
