package dev.castellan.server.rbac;

/**
 * A role as the roles API shows it.
 *
 * @param id the role's slug, stable across renames ({@code data-scientist})
 * @param name display name ({@code Data Scientist})
 * @param description what the role is for
 * @param system a built-in role: it cannot be deleted, but its permissions can be edited
 * @param source who manages it: {@code system}, {@code api} or {@code file} (the policy file)
 * @param permissionCount how many permissions it holds
 */
public record Role(
    String id,
    String name,
    String description,
    boolean system,
    String source,
    int permissionCount) {}
