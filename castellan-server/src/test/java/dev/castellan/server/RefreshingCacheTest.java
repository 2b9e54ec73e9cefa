package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.server.auth.MutableClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Serve from memory, refresh off the request path: driven by a fake clock, a hand-run background
 * executor and latches, never by sleeping.
 */
class RefreshingCacheTest {
  private static final Duration FRESH = Duration.ofSeconds(1);
  private static final Duration MAX_AGE = Duration.ofSeconds(60);

  private final MutableClock clock = MutableClock.atSystemTime();

  /** Background tasks, run when the test says. */
  private final List<Runnable> background = new CopyOnWriteArrayList<>();

  /** What the loader answers per key; a missing key loads nothing. */
  private final Map<String, String> stored = new ConcurrentHashMap<>();

  private final AtomicInteger loads = new AtomicInteger();
  private volatile boolean failing;

  private final RefreshingCache<String, String> cache =
      new RefreshingCache<>(
          clock,
          FRESH,
          MAX_AGE,
          background::add,
          key -> {
            loads.incrementAndGet();
            if (failing) {
              throw new IllegalStateException("database down");
            }
            return Optional.ofNullable(stored.get(key));
          });

  private void runBackground() {
    List<Runnable> tasks = new ArrayList<>(background);
    background.clear();
    tasks.forEach(Runnable::run);
  }

  @Test
  void aMissingEntry_isLoadedOnTheCallersThread_thenServedFromMemoryWhileFresh() {
    stored.put("k", "v1");
    assertThat(cache.get("k")).contains("v1");
    stored.put("k", "v2");
    clock.advance(FRESH.minusMillis(1));
    assertThat(cache.get("k")).contains("v1");
    assertThat(loads).hasValue(1);
    assertThat(background).isEmpty();
  }

  @Test
  void aStaleEntry_isServedWhileOneRefreshRunsInTheBackground() {
    stored.put("k", "v1");
    cache.get("k");
    stored.put("k", "v2");
    clock.advance(FRESH);

    assertThat(cache.get("k")).as("stale, not waited for").contains("v1");
    assertThat(cache.get("k")).contains("v1");
    assertThat(loads).as("nothing loaded on the callers' thread").hasValue(1);
    assertThat(background).as("one refresh at a time per key").hasSize(1);

    runBackground();
    assertThat(loads).hasValue(2);
    assertThat(cache.get("k")).contains("v2");
    assertThat(background).isEmpty();
  }

  @Test
  void refreshesOfTwoKeys_runSideBySide() {
    stored.put("a", "a1");
    stored.put("b", "b1");
    cache.get("a");
    cache.get("b");
    clock.advance(FRESH);
    cache.get("a");
    cache.get("b");
    cache.get("a");
    assertThat(background).hasSize(2);
  }

  @Test
  void aFailingRefresh_keepsTheStaleValue_andTheNextCallerTriesAgain() {
    stored.put("k", "v1");
    cache.get("k");
    clock.advance(FRESH);
    failing = true;
    cache.get("k");
    runBackground(); // throws nothing: the failure stays in the background
    assertThat(cache.get("k")).contains("v1");
    assertThat(background).as("a new refresh, the failed one being over").hasSize(1);

    failing = false;
    stored.put("k", "v2");
    runBackground();
    assertThat(cache.get("k")).contains("v2");
    assertThat(loads).hasValue(3);
  }

  @Test
  void anEntryPastItsMaximumAge_isLoadedOnTheCallersThread_andItsFailureReachesTheCaller() {
    stored.put("k", "v1");
    cache.get("k");
    clock.advance(MAX_AGE);
    failing = true;
    assertThatThrownBy(() -> cache.get("k")).hasMessage("database down");
    failing = false;
    stored.put("k", "v2");
    assertThat(cache.get("k")).contains("v2");
    assertThat(background).isEmpty();
  }

  @Test
  void aLoadThatFindsNothing_forgetsTheEntry() {
    stored.put("k", "v1");
    cache.get("k");
    stored.remove("k");
    clock.advance(FRESH);
    cache.get("k");
    runBackground();
    assertThat(cache.get("k")).isEmpty();
    assertThat(loads).as("a missing key is asked for on every call").hasValue(3);
  }

  @Test
  void aLoadedValueThatDoesNotReplace_keepsTheHeldOne_asFreshAsTheLoad() {
    RefreshingCache<String, String> newest =
        new RefreshingCache<>(
            clock,
            FRESH,
            MAX_AGE,
            background::add,
            key -> Optional.of("01OLD"),
            (held, loaded) -> loaded.compareTo(held) >= 0);
    assertThat(newest.put("k", "02NEW")).isEqualTo("02NEW");
    clock.advance(FRESH);
    assertThat(newest.get("k")).contains("02NEW");
    runBackground();
    assertThat(newest.get("k")).contains("02NEW");
    assertThat(background).as("the older answer still counts as a fresh read").isEmpty();
  }

  @Test
  void aMissingEntry_isLoadedOnce_underConcurrentCallers() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    RefreshingCache<String, String> slow =
        new RefreshingCache<>(
            clock,
            FRESH,
            MAX_AGE,
            background::add,
            key -> {
              calls.incrementAndGet();
              entered.countDown();
              try {
                assertThat(release.await(10, TimeUnit.SECONDS)).isTrue();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
              }
              return Optional.of("v");
            });
    int callers = 4;
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    List<Thread> threads = new CopyOnWriteArrayList<>();
    try {
      List<Future<Optional<String>>> answers = new ArrayList<>();
      answers.add(
          pool.submit(
              () -> {
                threads.add(Thread.currentThread());
                return slow.get("k");
              }));
      assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
      for (int i = 1; i < callers; i++) {
        answers.add(
            pool.submit(
                () -> {
                  threads.add(Thread.currentThread());
                  return slow.get("k");
                }));
      }
      // Every caller is parked: the first in the loader, the others waiting for its answer.
      Poll.until(
          "every caller to wait",
          Duration.ofSeconds(10),
          () ->
              threads.size() == callers
                  && threads.stream()
                      .allMatch(
                          t ->
                              t.getState() == Thread.State.WAITING
                                  || t.getState() == Thread.State.TIMED_WAITING));
      release.countDown();
      for (Future<Optional<String>> answer : answers) {
        assertThat(answer.get(10, TimeUnit.SECONDS)).contains("v");
      }
      assertThat(calls).hasValue(1);
    } finally {
      pool.shutdownNow();
    }
  }
}
