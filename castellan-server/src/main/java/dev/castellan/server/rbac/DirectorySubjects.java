package dev.castellan.server.rbac;

import dev.castellan.server.auth.Subjects;

/**
 * The engine subjects of the directory (ADR 0019, 0023): a user is {@code user:<directory id>}, the
 * one subject of the person in RBAC and store rights alike, and a group {@code group:<id>} with the
 * id SCIM assigned.
 */
public final class DirectorySubjects {
  private DirectorySubjects() {}

  /** {@code user:<id>} for the directory user {@code id}. */
  public static String ofId(String directoryId) {
    return "user:" + directoryId;
  }

  /** The tuple object of directory group {@code id}: {@code group:<id>}, the id SCIM assigned. */
  public static String group(String groupId) {
    return "group:" + groupId;
  }

  /** True for an id the directory issued (a ULID). */
  public static boolean isDirectoryId(String id) {
    return Subjects.isDirectoryId(id);
  }
}
