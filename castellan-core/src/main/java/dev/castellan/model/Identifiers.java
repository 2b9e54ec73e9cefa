package dev.castellan.model;

import java.util.regex.Pattern;

/**
 * OpenFGA's naming rules for the parts of a relationship, as its language tooling checks them. The
 * engine itself only refuses what would make a tuple ambiguous ({@code #}, {@code :}, blanks);
 * these stricter rules are for clients and importers that want OpenFGA's portable subset.
 */
final class Identifiers {

  private static final Pattern OBJECT_ID =
      Pattern.compile("^[a-zA-Z0-9_|@.+/\\-][a-zA-Z0-9_|*@.+/\\-]*$");

  private static final Pattern TYPE = Pattern.compile("^[^:#@*\\s]{1,254}$");

  private static final Pattern RELATION = Pattern.compile("^[^:#@*\\s]{1,50}$");

  private Identifiers() {}

  /** Letters, digits and {@code _ | * @ . + / -}, not starting with {@code *}; at most 256. */
  public static boolean isValidObjectId(String id) {
    return id.length() <= 256 && OBJECT_ID.matcher(id).matches();
  }

  public static boolean isValidTypeName(String name) {
    return TYPE.matcher(name).matches();
  }

  public static boolean isValidRelationName(String name) {
    return RELATION.matcher(name).matches();
  }
}
