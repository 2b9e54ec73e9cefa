/**
 * The store SPI of {@code dev.castellan.store} over JDBC: PostgreSQL (with an optional read replica
 * and change notifications) and H2, one class per kind of data behind {@link
 * dev.castellan.store.jdbc.JdbcStore}, with the schema's migrations.
 *
 * <p>Not yet {@code @NullMarked}: NullAway finds nothing else once the bounds of {@code
 * JdbcAuditRecords.Segment} (unset before its first entry) are {@code @Nullable}.
 */
package dev.castellan.store.jdbc;
