package dev.castellan.engine;

/**
 * The shape of the userset graph below one key of the index: how long its longest chain of userset
 * tuples is, or that it has a cycle or a conditional tuple. The subject-side check (see {@code
 * Evaluation.directFromSubject}) needs this to deny exactly as the full walk would: that walk
 * returns a cycle result, or fails with "too complex" or a missing condition parameter, from
 * anywhere below the key, not only from the subject's neighbourhood.
 *
 * <p>The summary is cached on the key's {@link Postings} and recomputed after any change to a
 * userset tuple in the index; plain tuples (most writes) leave it valid.
 */
final class UsersetChains {
  /** The graph below the key has a cycle, a conditional tuple, or is deeper than any check goes. */
  static final int UNKNOWN = -1;

  private static final Integer IN_PROGRESS = -2;

  /**
   * @param longest the most userset tuples in a row below the key, or {@link #UNKNOWN}
   */
  record Summary(CompiledModel model, long version, int longest) {}

  private final CompiledModel model;
  private final Relationships source;
  private final LongMap<Integer> longestFrom = new LongMap<>();

  private UsersetChains(CompiledModel model, Relationships source) {
    this.model = model;
    this.source = source;
  }

  /**
   * The longest chain of admitted userset tuples in {@code source} starting at {@code object#info},
   * counted in tuples; {@link #UNKNOWN} when the chains reach a cycle, a conditional tuple, or more
   * than {@link Evaluation#MAX_DEPTH} tuples. Expiring tuples count as present (an expired one only
   * shortens a chain). {@code info} must have a {@link RelationInfo#usersetClosure}, so every
   * relation below it is pure direct.
   */
  static int longest(CompiledModel model, Relationships source, int object, RelationInfo info) {
    Postings p = source.postings(object, info.relation);
    if (p.usersets.length == 0) {
      return 0;
    }
    Summary cached = p.chains;
    long version = source.usersetVersion();
    if (cached != null && cached.model() == model && cached.version() == version) {
      return cached.longest();
    }
    UsersetChains walk = new UsersetChains(model, source);
    long key = Relationships.key(object, info.relation);
    walk.longestFrom.put(key, IN_PROGRESS);
    int longest = walk.below(p, info, 0);
    p.chains = new Summary(model, version, longest);
    return longest;
  }

  /** Depth-first with memo: each key is expanded once; a key met while in progress is a cycle. */
  private int below(Postings p, RelationInfo info, int depth) {
    if (depth >= Evaluation.MAX_DEPTH) {
      return UNKNOWN;
    }
    int best = 0;
    for (int i = 0; i < p.usersets.length; i++) {
      long userset = p.usersets[i];
      int object = Postings.usersetObject(userset);
      int relation = Postings.usersetRelation(userset);
      int type = source.objects.type(object);
      TupleMeta meta = p.usersetMeta(i);
      if (info.admit(type, relation, false, meta == null ? "" : meta.condition()) == null) {
        continue; // ignored by the evaluator too
      }
      if (meta != null && !meta.condition().isEmpty()) {
        return UNKNOWN;
      }
      RelationInfo child = model.relation(type, relation);
      if (child == null) {
        continue;
      }
      Integer known = longestFrom.get(userset);
      int length;
      if (known == null) {
        longestFrom.put(userset, IN_PROGRESS);
        length = below(source.postings(object, relation), child, depth + 1);
        if (length == UNKNOWN) {
          return UNKNOWN;
        }
        longestFrom.put(userset, length);
      } else if (known.equals(IN_PROGRESS)) {
        return UNKNOWN;
      } else {
        length = known;
      }
      best = Math.max(best, length + 1);
    }
    return best > Evaluation.MAX_DEPTH ? UNKNOWN : best;
  }
}
