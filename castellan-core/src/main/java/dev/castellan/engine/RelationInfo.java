package dev.castellan.engine;

/** One relation of one type in a compiled model. */
final class RelationInfo {
  final int type;
  final int relation;
  final String typeName;
  final String name;
  final Node rewrite;
  final Restriction[] restrictions;

  /** True when a directly assigned tuple grants the relation only after a full check. */
  final boolean directNeedsCheck;

  RelationInfo(
      int type,
      int relation,
      String typeName,
      String name,
      Node rewrite,
      Restriction[] restrictions,
      boolean directNeedsCheck) {
    this.type = type;
    this.relation = relation;
    this.typeName = typeName;
    this.name = name;
    this.rewrite = rewrite;
    this.restrictions = restrictions;
    this.directNeedsCheck = directNeedsCheck;
  }

  /**
   * The restriction that admits a tuple whose subject is of {@code subjectType} (a userset of
   * {@code subjectRelation} when >= 0, a wildcard when {@code wildcard}) with condition {@code
   * condition} ("" for none); null when the model does not admit such a tuple.
   */
  Restriction admit(int subjectType, int subjectRelation, boolean wildcard, String condition) {
    for (Restriction r : restrictions) {
      if (r.type() == subjectType
          && r.relation() == subjectRelation
          && r.wildcard() == wildcard
          && r.condition().equals(condition)) {
        return r;
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return typeName + "#" + name;
  }
}
