/**
 * The store SPI of {@code dev.castellan.store} over JDBC: PostgreSQL (with an optional read replica
 * and change notifications) and H2, one class per kind of data behind {@link
 * dev.castellan.store.jdbc.JdbcStore}, with the schema's migrations.
 */
@NullMarked
package dev.castellan.store.jdbc;

import org.jspecify.annotations.NullMarked;
