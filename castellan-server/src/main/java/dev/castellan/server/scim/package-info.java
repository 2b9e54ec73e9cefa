/**
 * The SCIM 2.0 service provider (RFC 7643, RFC 7644). Its protocol core is the filter parser, the
 * PATCH request parser, the list query parameters ({@link dev.castellan.server.scim.ListRequest})
 * and the error body ({@link dev.castellan.server.scim.ScimError}, thrown as {@link
 * dev.castellan.server.scim.ScimException}), with no HTTP and no storage in them. {@link
 * dev.castellan.server.scim.ScimApi} serves it at {@code /scim/v2} over the directory store, to
 * provisioning keys only ({@code Right.SCIM}); {@code ScimResources} and {@code ScimGroups} check
 * resources, apply PATCH operations to copies and translate filters into {@code DirectoryQuery}, so
 * a refused request has changed nothing.
 *
 * <p>Design notes:
 *
 * <ul>
 *   <li>{@link dev.castellan.server.scim.FilterParser} is a hand-written recursive-descent parser
 *       over the RFC 7644 section 3.4.2.2 grammar; {@code and} binds tighter than {@code or}.
 *       Attribute names keep the client's spelling in the AST ({@link
 *       dev.castellan.server.scim.AttributePath#is} compares them case-insensitively), operators
 *       and literals are case-insensitive. Errors are {@code 400 invalidFilter} (or {@code
 *       invalidPath} for a PATCH path) naming the 1-based position where the input went wrong.
 *   <li>Every input is bounded before any work is done on it: filter length, PATCH path length,
 *       nesting depth of parentheses and brackets (the only source of recursion, so the stack is
 *       bounded too), comparisons per filter and operations per PATCH request. A pathological
 *       filter is refused in time linear in its (bounded) length.
 *   <li>{@link dev.castellan.server.scim.PatchRequest} accepts what the RFC allows plus the shapes
 *       Okta and Microsoft Entra ID send: {@code op} in any case ({@code "Replace"}), a value
 *       object without a path ({@code {"active": false}}), string booleans ({@code "False"}, read
 *       with {@link dev.castellan.server.scim.PatchRequest#booleanValue}), and a {@code remove} of
 *       {@code members} carrying the members to remove as a value array. It does not know the
 *       resource schemas: whether an attribute exists, is mutable or has the right type is the
 *       resource layer's check.
 *   <li>{@link dev.castellan.server.scim.Deprovisioning} runs around every user write that leaves a
 *       user inactive and around DELETE: tokens refused, groups left, the subjects' system-store
 *       tuples deleted, one audit action, under a journal that a retry or the next start finishes
 *       (ADR 0021).
 *   <li>Errors that the RFC names are raised here with its {@code scimType}: {@code invalidFilter}
 *       (filters, also inside a list request), {@code invalidPath} (PATCH paths, including a filter
 *       inside one), {@code noTarget} (a {@code remove} without a path), {@code invalidValue},
 *       {@code invalidSyntax} (a PATCH body that is not a PatchOp message) and {@code tooMany}
 *       (past the operation limit). Details name the operation ({@code Operations[2].path}) and the
 *       position, and never echo more than 80 characters of input.
 * </ul>
 */
@NullMarked
package dev.castellan.server.scim;

import org.jspecify.annotations.NullMarked;
