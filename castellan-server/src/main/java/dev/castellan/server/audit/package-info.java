/**
 * The server's audit trail: events taken on the request path ({@link
 * dev.castellan.server.audit.RequestAudit}, {@link dev.castellan.server.audit.AuditEvent}), stored
 * off it by {@link dev.castellan.server.audit.AuditTrail} into the hash chain and the optional
 * JSON-lines file, read back through {@link dev.castellan.server.audit.AuditApi}, and the alert
 * rules with their webhook.
 */
@NullMarked
package dev.castellan.server.audit;

import org.jspecify.annotations.NullMarked;
