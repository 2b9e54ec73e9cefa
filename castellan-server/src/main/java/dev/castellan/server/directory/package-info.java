/**
 * What the user directory means for decisions (ADR 0019): the RBAC subjects of a directory user
 * ({@link dev.castellan.server.rbac.DirectorySubjects}), and the {@code group:<id>#member} tuples
 * that carry directory membership into the system store, written with every membership change and
 * rebuilt from the directory on start ({@link DirectoryRoles}). No HTTP here: {@code /scim/v2} and
 * {@code /api/users} call in.
 */
@NullMarked
package dev.castellan.server.directory;

import org.jspecify.annotations.NullMarked;
