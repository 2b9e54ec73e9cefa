package dev.castellan.engine;

import org.jspecify.annotations.Nullable;

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

  /**
   * True when the rewrite is only the direct type restriction and every userset it admits is of a
   * pure-direct relation too: membership is then nothing but chains of tuples. Set once by {@link
   * CompiledModel} before the model is published.
   */
  boolean pureDirect;

  /**
   * When every userset this relation admits is of a pure-direct relation: the packed {@code (type,
   * relation)} of every relation reachable through admitted usersets, transitively (so every
   * relation a userset below this one can have). Null otherwise, or when no userset is admitted.
   * Lets a check answer from the subject's side; see {@code Evaluation.directFromSubject}.
   */
  long @Nullable [] usersetClosure;

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
  @Nullable Restriction admit(
      int subjectType, int subjectRelation, boolean wildcard, String condition) {
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
