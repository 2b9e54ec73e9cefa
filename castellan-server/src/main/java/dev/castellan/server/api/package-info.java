/**
 * The HTTP API: the OpenFGA-compatible routes, the admin, RBAC, directory and import routes, their
 * request bodies, error shapes and the per-route authorization.
 */
@NullMarked
package dev.castellan.server.api;

import org.jspecify.annotations.NullMarked;
