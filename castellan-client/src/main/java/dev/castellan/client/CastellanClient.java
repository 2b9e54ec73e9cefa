package dev.castellan.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Asks a Castellan server whether the holder of a bearer token may do something ({@code POST
 * /api/authorize}). The end user's own token is passed through, so the application needs no
 * Castellan credentials of its own.
 *
 * <pre>{@code
 * CastellanClient castellan = CastellanClient.builder()
 *     .baseUrl("http://localhost:8080")
 *     .cache(Duration.ofSeconds(5))
 *     .build();
 * Decision d = castellan.authorize(token, "run", "workflow:42");
 * }</pre>
 *
 * <p>Thread-safe; build one and share it.
 */
public interface CastellanClient {
  /**
   * Whether the token's holder has {@code permission} (a catalog name such as {@code Workflows.Run}
   * or a bare operation such as {@code run}), optionally on {@code resource} ({@code ""}: none).
   *
   * @throws CastellanClientException.Unauthenticated when Castellan does not accept the token
   * @throws CastellanClientException.Unavailable when Castellan cannot give an answer
   * @throws CastellanClientException.Rejected when Castellan refuses the question (e.g. an unknown
   *     permission)
   */
  Decision authorize(String bearerToken, String permission, String resource);

  /** {@link #authorize(String, String, String)} without a resource. */
  default Decision authorize(String bearerToken, String permission) {
    return authorize(bearerToken, permission, "");
  }

  static Builder builder() {
    return new Builder();
  }

  /** Settings of a {@link CastellanClient}; only {@link #baseUrl} is required. */
  final class Builder {
    static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(2);
    static final int DEFAULT_CACHE_ENTRIES = 10_000;

    @Nullable URI baseUrl; // required: build() refuses null
    Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
    Duration cacheTtl = Duration.ZERO;
    int cacheEntries = DEFAULT_CACHE_ENTRIES;
    Clock clock = Clock.systemUTC();

    private Builder() {}

    /** Castellan's address, e.g. {@code http://localhost:8080} (a path prefix is kept). */
    public Builder baseUrl(String baseUrl) {
      Objects.requireNonNull(baseUrl, "baseUrl");
      return baseUrl(URI.create(baseUrl.strip()));
    }

    /** Castellan's address, e.g. {@code http://localhost:8080} (a path prefix is kept). */
    public Builder baseUrl(URI baseUrl) {
      Objects.requireNonNull(baseUrl, "baseUrl");
      String scheme = baseUrl.getScheme();
      if (!"http".equalsIgnoreCase(scheme) && !"https".equalsIgnoreCase(scheme)) {
        throw new IllegalArgumentException(
            "the Castellan base URL must be an http(s) URL, got '" + baseUrl + "'");
      }
      if (baseUrl.getHost() == null
          || baseUrl.getRawQuery() != null
          || baseUrl.getRawFragment() != null) {
        throw new IllegalArgumentException(
            "the Castellan base URL needs a host and no query or fragment, got '" + baseUrl + "'");
      }
      this.baseUrl = baseUrl;
      return this;
    }

    /** How long to wait for a connection (default 2 s). */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = positive(timeout, "connectTimeout");
      return this;
    }

    /** How long to wait for a whole answer (default 2 s); past it the request fails closed. */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = positive(timeout, "requestTimeout");
      return this;
    }

    /**
     * Keeps each decision for up to {@code ttl} (never past the token's own {@code exp}), keyed by
     * the token's SHA-256, the permission and the resource. Off by default. A policy change reaches
     * cached callers only after {@code ttl}, so keep it short (seconds).
     */
    public Builder cache(Duration ttl) {
      return cache(ttl, DEFAULT_CACHE_ENTRIES);
    }

    /** {@link #cache(Duration)} holding at most {@code maxEntries} decisions. */
    public Builder cache(Duration ttl, int maxEntries) {
      Objects.requireNonNull(ttl, "ttl");
      if (ttl.isNegative()) {
        throw new IllegalArgumentException("the cache TTL must not be negative, got " + ttl);
      }
      if (maxEntries <= 0) {
        throw new IllegalArgumentException(
            "the cache must hold at least one entry, got " + maxEntries);
      }
      this.cacheTtl = ttl;
      this.cacheEntries = maxEntries;
      return this;
    }

    /** The clock the cache measures time with (tests move it by hand). */
    Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    public CastellanClient build() {
      if (baseUrl == null) {
        throw new IllegalStateException(
            "the Castellan base URL is required: CastellanClient.builder().baseUrl(\"http://localhost:8080\")");
      }
      HttpClient http =
          HttpClient.newBuilder()
              .connectTimeout(connectTimeout)
              .followRedirects(HttpClient.Redirect.NEVER)
              .build();
      DecisionCache cache =
          cacheTtl.isZero() ? null : new DecisionCache(cacheTtl, cacheEntries, clock);
      return new HttpCastellanClient(baseUrl, http, requestTimeout, cache);
    }

    private static Duration positive(Duration value, String name) {
      Objects.requireNonNull(value, name);
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, got " + value);
      }
      return value;
    }
  }
}
