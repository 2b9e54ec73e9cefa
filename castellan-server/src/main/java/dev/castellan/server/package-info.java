/**
 * The server itself: {@link dev.castellan.server.CastellanServer} wires the HTTP API, the store
 * runtime ({@link dev.castellan.server.StoreRuntime}, {@link dev.castellan.server.StoreCache}, the
 * per-store engines and indexes), the audit trail, RBAC and TLS; the limits a request is held to;
 * the demo data.
 */
@NullMarked
package dev.castellan.server;

import org.jspecify.annotations.NullMarked;
