package dev.castellan.store.jdbc;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Instants as the databases keep them: {@code TIMESTAMP WITH TIME ZONE} at microsecond precision,
 * in UTC; null for "none".
 */
final class Timestamps {
  private Timestamps() {}

  /** Now, at the precision the database keeps. */
  static Instant now() {
    return Instant.now().truncatedTo(ChronoUnit.MICROS);
  }

  static OffsetDateTime timestamp(Instant instant) {
    return instant.truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
  }

  static void setTimestamp(PreparedStatement statement, int index, @Nullable Instant instant)
      throws SQLException {
    if (instant == null) {
      statement.setNull(index, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      statement.setObject(index, timestamp(instant));
    }
  }

  /** The instant in a {@code NOT NULL} column. */
  static Instant getRequiredInstant(ResultSet rs, int index) throws SQLException {
    return Objects.requireNonNull(getInstant(rs, index), "a NOT NULL timestamp column read null");
  }

  /** The instant in a nullable column, or null. */
  static @Nullable Instant getInstant(ResultSet rs, int index) throws SQLException {
    OffsetDateTime value = rs.getObject(index, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }
}
