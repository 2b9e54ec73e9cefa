/**
 * The storage SPI, one interface per kind of data: {@link dev.castellan.store.StoreCatalog} (the
 * stores), {@link dev.castellan.store.TupleStore} (tuples, revisions and the changelog), {@link
 * dev.castellan.store.ModelStore} (models and assertions), {@link
 * dev.castellan.store.CredentialStore} (API keys) and {@link dev.castellan.store.DocumentStore}
 * (small documents), {@link dev.castellan.store.DirectoryStore} (the user directory), {@link
 * dev.castellan.store.PendingStore} (tuples held for people the directory does not know yet), with
 * {@link dev.castellan.store.Store} as the facade that wires them (and the audit chain of {@code
 * dev.castellan.audit}). The write rules every implementation applies are {@link
 * dev.castellan.store.WritePlanner}'s. Implementations: {@link dev.castellan.store.MemoryStore}
 * here, PostgreSQL and H2 in {@code castellan-store-jdbc}. {@link dev.castellan.store.IndexFeed}
 * keeps an engine index in step with a tuple store.
 */
@NullMarked
package dev.castellan.store;

import org.jspecify.annotations.NullMarked;
