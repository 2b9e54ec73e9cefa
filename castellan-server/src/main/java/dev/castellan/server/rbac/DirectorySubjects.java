package dev.castellan.server.rbac;

import dev.castellan.server.auth.DirectoryUserNames;
import dev.castellan.server.auth.SubjectIds;
import dev.castellan.store.DirectoryUser;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The one place that says which RBAC subjects a directory user is (ADR 0019). A user SCIM
 * provisioned is {@code user:dir/<directory id>}, in the {@code dir} namespace ADR 0010 reserves
 * for users no issuer named first, and, until tokens resolve to directory users (issue 16 point 6),
 * also {@code user:<userName>} (escaped as every subject id), the subject a token whose {@code sub}
 * is that userName has today. Point 6 changes only this class.
 */
public final class DirectorySubjects {
  /** The namespace of directory ids that no issuer named first. */
  public static final String NAMESPACE = DirectoryUserNames.DIRECTORY_NAMESPACE;

  // ULIDs as the directory issues them: 26 characters of Crockford's base32, upper case.
  private static final Pattern DIRECTORY_ID = Pattern.compile("dir/[0-9A-HJKMNP-TV-Z]{26}");

  private DirectorySubjects() {}

  /** The subjects of {@code user}, the directory one first; what group membership reaches. */
  public static List<String> of(DirectoryUser user) {
    List<String> out = new ArrayList<>(2);
    out.add(ofId(user.id()));
    SubjectIds.escape(user.userName())
        .filter(id -> id.length() <= SubjectIds.MAX_LENGTH)
        .map(id -> "user:" + id)
        .filter(subject -> !subject.equals(out.get(0)))
        .ifPresent(out::add);
    return List.copyOf(out);
  }

  /** {@code user:dir/<id>} for the directory user {@code id}. */
  public static String ofId(String directoryId) {
    return "user:" + NAMESPACE + directoryId;
  }

  /** The tuple object of directory group {@code id}: {@code group:<id>}, the id SCIM assigned. */
  public static String group(String groupId) {
    return "group:" + groupId;
  }

  /**
   * True for a subject id ({@code dir/01J...}, without {@code user:}) that names a directory user:
   * valid in grants and {@code /api/authorize} beside the canonical ids of {@link SubjectIds}.
   */
  public static boolean isDirectoryId(String id) {
    return DIRECTORY_ID.matcher(id).matches();
  }
}
