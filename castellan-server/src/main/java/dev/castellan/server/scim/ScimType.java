package dev.castellan.server.scim;

/** The {@code scimType} error keywords of RFC 7644 section 3.12, table 9, with their wire names. */
enum ScimType {
  INVALID_FILTER("invalidFilter"),
  TOO_MANY("tooMany"),
  UNIQUENESS("uniqueness"),
  MUTABILITY("mutability"),
  INVALID_SYNTAX("invalidSyntax"),
  INVALID_PATH("invalidPath"),
  NO_TARGET("noTarget"),
  INVALID_VALUE("invalidValue"),
  INVALID_VERS("invalidVers"),
  SENSITIVE("sensitive");

  private final String wireName;

  ScimType(String wireName) {
    this.wireName = wireName;
  }

  /** The keyword as it appears in the {@code scimType} member of an error body. */
  String wireName() {
    return wireName;
  }
}
