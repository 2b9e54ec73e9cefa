/**
 * The audit trail's data: {@link dev.castellan.audit.AuditEntry entries} chained by hash into
 * {@link dev.castellan.audit.AuditRecord records}, their storage ({@link
 * dev.castellan.audit.AuditRecords}, in memory here, on H2 and PostgreSQL in {@code
 * castellan-store-jdbc}), the JSON-lines form they are hashed and kept in, and the chain's
 * verification. Kept apart from the tuple store: append-only, retention by age, one chain per
 * database.
 */
@NullMarked
package dev.castellan.audit;

import org.jspecify.annotations.NullMarked;
