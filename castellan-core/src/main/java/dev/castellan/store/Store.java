package dev.castellan.store;

import dev.castellan.audit.AuditRecords;

/**
 * Everything one database holds, as one object for wiring: the {@link StoreCatalog}, the {@link
 * TupleStore}, the {@link ModelStore}, the {@link CredentialStore}, the {@link DocumentStore} and
 * the audit chain ({@link AuditRecords}). Code that uses the data takes the narrow interface it
 * needs, not this one; new kinds of data get an interface of their own rather than growing one of
 * these.
 *
 * <p>Methods that name a store throw {@code STORE_ID_NOT_FOUND} when it does not exist (or was
 * deleted). Failures of the database surface as {@code STORE_UNAVAILABLE}, never as raw SQL errors.
 */
public interface Store
    extends StoreCatalog, TupleStore, ModelStore, CredentialStore, DocumentStore, AutoCloseable {

  /** The audit trail's hash chain in this store's database. */
  AuditRecords auditRecords();

  /** Closes the database connections (and listeners) behind every part. */
  @Override
  void close();
}
