package dev.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.server.ServerHttp;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.MemoryStore;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A token's directory user is remembered (ADR 0023): repeated requests read the directory not at
 * all, until the entry is {@link TokenPrincipals#USER_CACHE_MILLIS} old or its user is refused. The
 * directory is a real one (in memory), counted by a pass-through decorator.
 */
class TokenUserCacheTest {
  private static final String SECRET = "token-user-cache-test-secret-0123456789";

  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  private final MutableClock clock = MutableClock.atSystemTime();

  private DirectoryStore counted(DirectoryStore real) {
    return (DirectoryStore)
        Proxy.newProxyInstance(
            DirectoryStore.class.getClassLoader(),
            new Class<?>[] {DirectoryStore.class},
            (proxy, method, args) -> {
              calls.computeIfAbsent(method.getName(), n -> new AtomicInteger()).incrementAndGet();
              try {
                return method.invoke(real, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  private int total() {
    return calls.values().stream().mapToInt(AtomicInteger::get).sum();
  }

  @Test
  void repeatedTokens_readTheDirectoryOnce_untilTheEntryAgesOrItsUserIsRefused() throws Exception {
    JwtAuthenticator auth =
        new JwtAuthenticator(
            JwtSettings.hs256(SECRET),
            List.of(),
            counted(new MemoryStore(clock).directoryStore()),
            clock);
    String token = ServerHttp.hs256(SECRET, "alice", Map.of(), Duration.ofHours(1));
    String id = auth.authenticate(token).id(); // created just in time
    assertThat(calls.get("createUser")).hasValue(1);
    int afterFirst = total();

    for (int i = 0; i < 1_000; i++) {
      assertThat(auth.authenticate(token).id()).isEqualTo(id);
    }
    assertThat(total()).as("directory calls for 1,000 more requests").isEqualTo(afterFirst);

    clock.advance(Duration.ofMillis(TokenPrincipals.USER_CACHE_MILLIS));
    assertThat(auth.authenticate(token).id()).isEqualTo(id);
    assertThat(total()).as("one lookup once the entry aged").isGreaterThan(afterFirst);
    assertThat(calls.get("createUser")).hasValue(1);

    // A refused (deactivated or deleted) user is looked up on every request.
    int before = total();
    auth.recheck(user -> ("user:" + user).equals(id), (namespace, value) -> false);
    auth.authenticate(token);
    auth.authenticate(token);
    assertThat(total() - before).isGreaterThanOrEqualTo(2);
  }
}
