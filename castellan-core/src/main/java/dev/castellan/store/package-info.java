/**
 * The storage SPI: stores, authorization models, tuples with revisions and a changelog, and
 * assertions. Implementations: {@link dev.castellan.store.MemoryStore} here, PostgreSQL and H2 in
 * {@code castellan-store-jdbc}. {@link dev.castellan.store.IndexFeed} keeps an engine index in step
 * with a store.
 */
package dev.castellan.store;
