package dev.castellan.server;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BiPredicate;
import java.util.function.Function;

/**
 * Values served from memory and refreshed off the request path: an entry younger than {@code fresh}
 * is served as it is; one older, but younger than {@code maxAge}, is served while one refresh of it
 * runs in the background; a missing entry, or one older than {@code maxAge}, is loaded on the
 * caller's thread. At most one load or refresh of a key runs at a time: concurrent callers of a
 * missing key wait for the one load. A failed refresh keeps the stale value (the next caller past
 * {@code fresh} tries again); a failed load on a caller's thread reaches that caller and those
 * waiting with it. A load that finds nothing removes the entry.
 *
 * <p>The time of an entry is the time its load started, so a value never looks fresher than the
 * read it came from. Public because its users live in two packages (the runtime's latest model ids
 * and the API keys' records); it is no API of the server.
 *
 * @param <K> the key
 * @param <V> the value
 */
public final class RefreshingCache<K, V> {
  private final Clock clock;
  private final long freshMillis;
  private final long maxAgeMillis;
  private final Executor background;
  private final Function<K, Optional<V>> loader;
  private final BiPredicate<V, V> replaces;
  private final Map<K, Entry<V>> entries = new ConcurrentHashMap<>();
  private final Map<K, CompletableFuture<Optional<V>>> loading = new ConcurrentHashMap<>();

  private record Entry<V>(V value, long at) {}

  /**
   * @param fresh how long a value is served without asking again
   * @param maxAge how old a value may be and still be served while it is refreshed
   * @param background runs the refreshes (a virtual thread per task in production)
   * @param loader reads a key's value; empty when there is none
   * @param replaces whether a loaded value (second) replaces the held one (first): false keeps the
   *     held value, as fresh as the newer of the two
   */
  public RefreshingCache(
      Clock clock,
      Duration fresh,
      Duration maxAge,
      Executor background,
      Function<K, Optional<V>> loader,
      BiPredicate<V, V> replaces) {
    if (fresh.isNegative() || maxAge.compareTo(fresh) < 0) {
      throw new IllegalArgumentException(
          "need 0 <= fresh <= maxAge, was fresh " + fresh + ", maxAge " + maxAge);
    }
    this.clock = clock;
    this.freshMillis = fresh.toMillis();
    this.maxAgeMillis = maxAge.toMillis();
    this.background = background;
    this.loader = loader;
    this.replaces = replaces;
  }

  /** A cache whose loaded values always replace the held ones. */
  public RefreshingCache(
      Clock clock,
      Duration fresh,
      Duration maxAge,
      Executor background,
      Function<K, Optional<V>> loader) {
    this(clock, fresh, maxAge, background, loader, (held, loaded) -> true);
  }

  /** A background executor starting one named virtual thread per refresh. */
  public static Executor virtualThreads(String name) {
    return task -> Thread.ofVirtual().name(name).start(task);
  }

  /**
   * The value of {@code key}: from memory when young enough (starting a background refresh when it
   * is past {@code fresh}), else loaded now.
   *
   * @throws RuntimeException what the loader threw, when the value was loaded for this call
   */
  public Optional<V> get(K key) {
    Entry<V> entry = entries.get(key);
    if (entry != null) {
      long age = clock.millis() - entry.at();
      if (age < freshMillis) {
        return Optional.of(entry.value());
      }
      if (age < maxAgeMillis) {
        refreshInBackground(key);
        return Optional.of(entry.value());
      }
    }
    CompletableFuture<Optional<V>> mine = new CompletableFuture<>();
    CompletableFuture<Optional<V>> running = loading.putIfAbsent(key, mine);
    if (running != null) {
      return await(running);
    }
    return load(key, mine);
  }

  /**
   * Holds {@code value} for {@code key} as of now (subject to {@code replaces}); the value held.
   */
  public V put(K key, V value) {
    return hold(key, value, clock.millis());
  }

  /** Forgets {@code key}; the next call loads it. */
  public void remove(K key) {
    entries.remove(key);
  }

  private void refreshInBackground(K key) {
    CompletableFuture<Optional<V>> mine = new CompletableFuture<>();
    if (loading.putIfAbsent(key, mine) != null) {
      return; // one refresh at a time
    }
    try {
      background.execute(
          () -> {
            try {
              load(key, mine);
            } catch (RuntimeException e) {
              // The held value stays in use; the next caller past fresh tries again, and one past
              // maxAge loads on its own thread and sees the error.
            }
          });
    } catch (RejectedExecutionException e) {
      loading.remove(key, mine);
      mine.completeExceptionally(e);
    }
  }

  private Optional<V> load(K key, CompletableFuture<Optional<V>> mine) {
    try {
      long asked = clock.millis();
      Optional<V> loaded = loader.apply(key);
      Optional<V> held;
      if (loaded.isPresent()) {
        held = Optional.of(hold(key, loaded.get(), asked));
      } else {
        entries.remove(key);
        held = Optional.empty();
      }
      mine.complete(held);
      return held;
    } catch (RuntimeException | Error e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      loading.remove(key, mine);
    }
  }

  private V hold(K key, V value, long at) {
    return entries
        .merge(
            key,
            new Entry<>(value, at),
            (held, loaded) ->
                replaces.test(held.value(), loaded.value())
                    ? loaded
                    : new Entry<>(held.value(), Math.max(held.at(), loaded.at())))
        .value();
  }

  private static <V> Optional<V> await(CompletableFuture<Optional<V>> running) {
    try {
      return running.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException cause) {
        throw cause;
      }
      if (e.getCause() instanceof Error error) {
        throw error;
      }
      throw e;
    }
  }
}
