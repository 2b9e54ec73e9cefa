/**
 * Role-based access control over the engine (ADR 0007): the permission catalog, roles and their
 * decisions ({@link dev.castellan.server.rbac.Rbac}), the policy file and its watcher, the claims
 * that carry roles, the directory's subjects and the route table that maps a request to the
 * permission it needs.
 */
@NullMarked
package dev.castellan.server.rbac;

import org.jspecify.annotations.NullMarked;
