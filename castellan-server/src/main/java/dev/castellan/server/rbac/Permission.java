package dev.castellan.server.rbac;

import java.util.Objects;

/**
 * One entry of the permission catalog: an operation on a kind of resource.
 *
 * @param id stable numeric id, the key clients store ({@code permission_ids})
 * @param name {@code Resource.Operation}, e.g. {@code Logs.View} or {@code Workflows.Run}
 * @param resource the resource kind, e.g. {@code Logs}
 * @param operation the operation, e.g. {@code View}
 */
public record Permission(int id, String name, String resource, String operation) {
  public Permission {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(resource, "resource");
    Objects.requireNonNull(operation, "operation");
    if (id <= 0) {
      throw new IllegalArgumentException("a permission id must be positive, got " + id);
    }
  }

  static Permission of(int id, String resource, String operation) {
    return new Permission(id, resource + "." + operation, resource, operation);
  }

  /** The engine object that holds this permission's grants. */
  String object() {
    return "permission:" + id;
  }
}
