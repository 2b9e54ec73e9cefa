package dev.castellan.store.jdbc;

import java.time.Duration;
import java.util.Objects;

/**
 * A PostgreSQL streaming replica (a hot standby) that takes a node's snapshot loads and reads
 * ({@code --pg-read-url}, ADR 0018), given to {@link JdbcStore#postgres(String, ReadReplica)}.
 *
 * @param jdbcUrl the standby, {@code jdbc:postgresql://host:port/database} (user and password, if
 *     any, in the URL); the same database as the primary, replicated
 * @param maxWait how long a read with a consistency token waits for the standby to replay the
 *     token's revision before it reads the primary instead; keep it below the server's consistency
 *     timeout
 */
public record ReadReplica(String jdbcUrl, Duration maxWait) {
  /** The default {@link #maxWait}. */
  public static final Duration DEFAULT_MAX_WAIT = Duration.ofSeconds(1);

  public ReadReplica {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    Objects.requireNonNull(maxWait, "maxWait");
    if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException(
          "the read replica must be a jdbc:postgresql:// URL, got '" + withoutQuery(jdbcUrl) + "'");
    }
    if (maxWait.isNegative() || maxWait.compareTo(Duration.ofMinutes(1)) > 0) {
      throw new IllegalArgumentException(
          "the read replica's max wait must be from 0 to 1m, got " + maxWait);
    }
  }

  /** A replica at {@code jdbcUrl} with the default max wait. */
  public static ReadReplica of(String jdbcUrl) {
    return new ReadReplica(jdbcUrl, DEFAULT_MAX_WAIT);
  }

  /** The URL without its query, which may carry credentials: for messages and logs. */
  public String describe() {
    return withoutQuery(jdbcUrl);
  }

  @Override
  public String toString() {
    return "ReadReplica[" + describe() + ", maxWait=" + maxWait + "]";
  }

  private static String withoutQuery(String url) {
    int query = url.indexOf('?');
    return query < 0 ? url : url.substring(0, query);
  }
}
