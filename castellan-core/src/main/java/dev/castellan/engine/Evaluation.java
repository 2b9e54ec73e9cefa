package dev.castellan.engine;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.condition.ConditionEvaluator;
import dev.castellan.condition.ConditionResult;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * One request's evaluation over a compiled model and a consistent view of the tuples (the index,
 * plus contextual tuples when given). Not thread-safe; create one per request.
 *
 * <p>Check results are three-valued as in OpenFGA: {@link #TRUE}, {@link #FALSE} and {@link #CYCLE}
 * (a path that led back to itself, which never grants and poisons intersections and exclusions).
 */
final class Evaluation {
  static final int FALSE = 0;
  static final int TRUE = 1;
  static final int CYCLE = 2;

  /** OpenFGA's resolution depth limit. */
  static final int MAX_DEPTH = 25;

  /** Usersets on one key from which a check answers from the subject's side; see below. */
  static final int SUBJECT_SIDE_THRESHOLD = 8;

  /** Returned by the subject-side check when only the full walk can answer exactly. */
  private static final int UNKNOWN = -1;

  private final CompiledModel model;
  private final Relationships[] sources;
  private final ObjectTable objects;
  private final Map<String, Object> context;
  private final long nowMillis;
  private final int subjectSideThreshold;

  private int subjectObject = -1;
  private String subjectName = "";
  private String unknownObject = "";
  private int subjectType = -1;
  private int subjectRelation = -1;
  private boolean subjectWildcard;

  private final long[] path = new long[MAX_DEPTH + 2];
  private int pathSize;

  private int subjectSideAnswers;

  private long validUntilMillis = Long.MAX_VALUE;

  /** What this evaluation may still spend; a listing resumed later runs under a new one. */
  private Budget budget;

  Evaluation(
      CompiledModel model, Relationships[] sources, Map<String, Object> context, long nowMillis) {
    this(model, sources, context, nowMillis, SUBJECT_SIDE_THRESHOLD, Budget.unlimited());
  }

  /**
   * @param subjectSideThreshold usersets on a key from which {@link #directFromSubject} is tried;
   *     tests set 0 (always) and {@link Integer#MAX_VALUE} (never) to compare the two walks
   */
  Evaluation(
      CompiledModel model,
      Relationships[] sources,
      Map<String, Object> context,
      long nowMillis,
      int subjectSideThreshold,
      Budget budget) {
    this.subjectSideThreshold = subjectSideThreshold;
    this.budget = budget;
    this.nowMillis = nowMillis;
    this.model = model;
    this.sources = sources;
    this.objects = sources[sources.length - 1].objects;
    this.context = context;
  }

  // ---------------------------------------------------------------- subject

  void subject(Refs.UserRef user) {
    subjectName = user.object();
    subjectType = model.names.find(user.type());
    subjectObject = objects.find(user.object());
    subjectRelation = user.isUserset() ? model.names.find(user.relation()) : -1;
    subjectWildcard = user.wildcard();
  }

  private void subject(int object, int relation) {
    subjectObject = object;
    subjectType = objects.type(object);
    subjectRelation = relation;
    subjectWildcard = relation < 0 && objects.isWildcard(object);
  }

  void budget(Budget value) {
    budget = value;
  }

  Budget budget() {
    return budget;
  }

  /** How many direct parts the subject-side walk has answered so far (for tests). */
  int subjectSideAnswers() {
    return subjectSideAnswers;
  }

  /** The object's id, or -1 when nothing was written about it (then remembered by name). */
  int objectId(String name) {
    int id = objects.find(name);
    if (id < 0) {
      unknownObject = name;
    }
    return id;
  }

  // ---------------------------------------------------------------- check

  /** Checks {@code object#relation} for the current subject; {@code object} may be unknown (-1). */
  int check(int object, int type, int relation, int depth, @Nullable Trace trace) {
    budget.step();
    RelationInfo info = model.relation(type, relation);
    if (info == null) {
      return FALSE;
    }
    Trace t = trace == null ? null : trace.child(name(object) + "#" + info.name);
    if (object < 0) {
      // An object nothing was ever written about grants nothing, but for OpenFGA's self-defining
      // rule (group:eng#member is a member of group:eng), which needs no tuple: the subject is
      // then unknown too, and named like the object.
      int result =
          subjectObject < 0
                  && subjectRelation >= 0
                  && subjectType == type
                  && subjectName.equals(unknownObject)
              ? onItsOwnObject(info, depth)
              : FALSE;
      return t == null ? result : t.done(result);
    }
    if (subjectRelation == relation && subjectObject == object) {
      // A userset always contains itself: group:eng#member is a member of group:eng.
      return t == null ? TRUE : t.done(TRUE);
    }
    long key = Relationships.key(object, relation);
    for (int i = 0; i < pathSize; i++) {
      if (path[i] == key) {
        return t == null ? CYCLE : t.done(CYCLE);
      }
    }
    if (depth >= MAX_DEPTH) {
      if (t != null) {
        t.failed();
      }
      throw tooComplex();
    }
    path[pathSize++] = key;
    try {
      int result = eval(info.rewrite, info, object, depth, t);
      return t == null ? result : t.done(result);
    } catch (CastellanException e) {
      if (t != null) {
        t.failed();
      }
      throw e;
    } finally {
      pathSize--;
    }
  }

  /**
   * Check on an object nothing was written about, for a subject that is a userset of that same
   * object: its own relation holds (self-defining), and whatever the rewrite computes from it;
   * nothing that needs a tuple does.
   */
  private int onItsOwnObject(RelationInfo info, int depth) {
    if (info.relation == subjectRelation) {
      return TRUE;
    }
    if (depth >= MAX_DEPTH) {
      throw tooComplex();
    }
    return onItsOwnObject(info.rewrite, info, depth);
  }

  private int onItsOwnObject(Node node, RelationInfo info, int depth) {
    return switch (node) {
      case Node.Direct d -> FALSE;
      case Node.TupleToUserset t -> FALSE;
      case Node.Computed c -> {
        RelationInfo computed = model.relation(info.type, c.relation());
        yield computed == null ? FALSE : onItsOwnObject(computed, depth + 1);
      }
      case Node.Union u -> {
        int result = FALSE;
        for (Node child : u.children()) {
          if (onItsOwnObject(child, info, depth) == TRUE) {
            result = TRUE;
          }
        }
        yield result;
      }
      case Node.Intersection i -> {
        int result = TRUE;
        for (Node child : i.children()) {
          if (onItsOwnObject(child, info, depth) != TRUE) {
            result = FALSE;
          }
        }
        yield result;
      }
      case Node.Difference diff ->
          onItsOwnObject(diff.base(), info, depth) == TRUE
                  && onItsOwnObject(diff.subtract(), info, depth) != TRUE
              ? TRUE
              : FALSE;
    };
  }

  private int eval(Node node, RelationInfo info, int object, int depth, @Nullable Trace trace) {
    return switch (node) {
      case Node.Direct d -> direct(info, object, depth, trace);
      case Node.Computed c -> check(object, info.type, c.relation(), depth + 1, trace);
      case Node.TupleToUserset t -> tupleToUserset(info, object, t, depth, trace);
      case Node.Union u -> union(u.children(), info, object, depth, trace);
      case Node.Intersection i -> intersection(i.children(), info, object, depth, trace);
      case Node.Difference d -> difference(d, info, object, depth, trace);
    };
  }

  private int union(
      Node[] children, RelationInfo info, int object, int depth, @Nullable Trace trace) {
    Trace t = trace == null ? null : trace.child("union");
    boolean cycle = false;
    CastellanException error = null;
    for (Node child : children) {
      try {
        int r = eval(child, info, object, depth, t);
        if (r == TRUE) {
          return t == null ? TRUE : t.done(TRUE);
        }
        cycle |= r == CYCLE;
      } catch (CastellanException e) {
        error = e; // a later branch may still grant
      }
    }
    if (error != null) {
      throw error;
    }
    int result = cycle ? CYCLE : FALSE;
    return t == null ? result : t.done(result);
  }

  private int intersection(
      Node[] children, RelationInfo info, int object, int depth, @Nullable Trace trace) {
    Trace t = trace == null ? null : trace.child("intersection");
    CastellanException error = null;
    for (Node child : children) {
      try {
        int r = eval(child, info, object, depth, t);
        if (r != TRUE) {
          return t == null ? r : t.done(r);
        }
      } catch (CastellanException e) {
        error = e; // a later branch may still deny
      }
    }
    if (error != null) {
      throw error;
    }
    return t == null ? TRUE : t.done(TRUE);
  }

  private int difference(
      Node.Difference node, RelationInfo info, int object, int depth, @Nullable Trace trace) {
    Trace t = trace == null ? null : trace.child("but not");
    CastellanException error = null;
    try {
      int base = eval(node.base(), info, object, depth, t);
      if (base != TRUE) {
        return t == null ? base : t.done(base);
      }
    } catch (CastellanException e) {
      error = e;
    }
    try {
      int subtract = eval(node.subtract(), info, object, depth, t);
      if (subtract == TRUE || subtract == CYCLE) {
        int result = subtract == TRUE ? FALSE : CYCLE;
        return t == null ? result : t.done(result);
      }
    } catch (CastellanException e) {
      if (error == null) {
        error = e;
      }
    }
    if (error != null) {
      throw error;
    }
    return t == null ? TRUE : t.done(TRUE);
  }

  private int direct(RelationInfo info, int object, int depth, @Nullable Trace trace) {
    if (trace == null
        && info.usersetClosure != null
        && usersetCount(info, object) >= subjectSideThreshold) {
      int result = directFromSubject(info, object, depth);
      if (result != UNKNOWN) {
        subjectSideAnswers++;
        return result;
      }
    }
    Trace t = trace == null ? null : trace.child("direct");
    boolean cycle = false;
    CastellanException error = null;
    for (Relationships source : sources) {
      Postings p = source.postings(object, info.relation);
      if (p.isEmpty()) {
        continue;
      }
      try {
        if (directMatch(info, object, p, t)) {
          return t == null ? TRUE : t.done(TRUE);
        }
      } catch (CastellanException e) {
        error = e;
      }
      long[] usersets = p.usersets;
      for (int i = 0; i < usersets.length; i++) {
        budget.step();
        int userObject = Postings.usersetObject(usersets[i]);
        int userRelation = Postings.usersetRelation(usersets[i]);
        int userType = objects.type(userObject);
        TupleMeta meta = p.usersetMeta(i);
        if (info.admit(userType, userRelation, false, conditionOf(meta)) == null) {
          continue; // written under an older model; the current one ignores it
        }
        Trace edge =
            t == null
                ? null
                : t.child(
                    "tuple "
                        + name(object)
                        + "#"
                        + info.name
                        + "@"
                        + name(userObject)
                        + "#"
                        + model.names.name(userRelation));
        try {
          if (!conditionHolds(meta, object, info.relation, userObject, userRelation)) {
            continue;
          }
          int r = check(userObject, userType, userRelation, depth + 1, edge);
          if (edge != null) {
            edge.done(r);
          }
          if (r == TRUE) {
            return t == null ? TRUE : t.done(TRUE);
          }
          cycle |= r == CYCLE;
        } catch (CastellanException e) {
          if (edge != null) {
            edge.failed();
          }
          error = e;
        }
      }
    }
    if (error != null) {
      throw error;
    }
    int result = cycle ? CYCLE : FALSE;
    return t == null ? result : t.done(result);
  }

  /** The subject itself (or its type's wildcard) is assigned directly. */
  private boolean directMatch(RelationInfo info, int object, Postings p, @Nullable Trace t) {
    if (subjectRelation >= 0) {
      if (subjectObject < 0) {
        return false;
      }
      int i = Arrays.binarySearch(p.usersets, Postings.userset(subjectObject, subjectRelation));
      return i >= 0
          && grants(info, object, subjectRelation, false, p.usersetMeta(i), t, subjectObject);
    }
    if (!subjectWildcard && subjectObject >= 0) {
      int i = Arrays.binarySearch(p.plain, subjectObject);
      if (i >= 0 && grants(info, object, -1, false, p.plainMeta(i), t, subjectObject)) {
        return true;
      }
    }
    int wildcard = objects.wildcard(subjectType);
    if (wildcard >= 0) {
      int i = Arrays.binarySearch(p.plain, wildcard);
      return i >= 0 && grants(info, object, -1, true, p.plainMeta(i), t, wildcard);
    }
    return false;
  }

  private boolean grants(
      RelationInfo info,
      int object,
      int relation,
      boolean wildcard,
      @Nullable TupleMeta meta,
      @Nullable Trace t,
      int user) {
    if (info.admit(subjectType, relation, wildcard, conditionOf(meta)) == null) {
      return false;
    }
    boolean holds = conditionHolds(meta, object, info.relation, user, relation);
    if (t != null) {
      String who = relation >= 0 ? name(user) + "#" + model.names.name(relation) : name(user);
      String suffix = meta == null ? "" : " with " + meta.condition();
      t.child("tuple " + name(object) + "#" + info.name + "@" + who + suffix)
          .done(holds ? TRUE : FALSE);
    }
    return holds;
  }

  // ---------------------------------------------------------------- subject-side direct

  private int usersetCount(RelationInfo info, int object) {
    int count = 0;
    for (Relationships source : sources) {
      count += source.postings(object, info.relation).usersets.length;
    }
    return count;
  }

  /**
   * The direct part of {@code object#info} answered from the subject's side. Instead of a sub-check
   * for each userset on the key (a permission granted to hundreds of roles has hundreds), walk up
   * from the subject through the reverse index, breadth first: the usersets it is directly in, then
   * the usersets those are in, and so on, until one of them is on the key. Its cost is the
   * subject's memberships, whatever the key holds. Only for keys whose admitted usersets are all of
   * pure-direct relations ({@link RelationInfo#usersetClosure}), where membership is nothing but
   * chains of tuples; the answer is then exactly the full walk's:
   *
   * <ul>
   *   <li>The full walk grants when some chain of admitted, unexpired, condition-met tuples leads
   *       from the key to the subject without revisiting a key on the current path and within the
   *       depth limit. Breadth first finds the shortest such chain, so it grants in exactly the
   *       same cases.
   *   <li>When nothing grants, the full walk may still return a cycle or fail (too deep, or a
   *       condition missing parameters), from anywhere below the key. So this denies only when the
   *       graph below the key has no cycle, no conditional tuple and no chain that reaches the
   *       depth limit ({@link UsersetChains}), and the contextual tuples hold no userset.
   * </ul>
   *
   * Anything else, including any conditional tuple met on the way up, returns {@link #UNKNOWN} and
   * the full walk decides.
   */
  private int directFromSubject(RelationInfo info, int object, int depth) {
    for (Relationships source : sources) {
      Postings p = source.postings(object, info.relation);
      if (p.isEmpty()) {
        continue;
      }
      try {
        if (directMatch(info, object, p, null)) {
          return TRUE;
        }
      } catch (CastellanException e) {
        return UNKNOWN; // the full walk records the error and still looks for a grant
      }
    }
    // A userset reached k hops above the subject sits at depth + 1 + k below the key, and must be
    // below the limit to have its own tuples read.
    int maxHops = MAX_DEPTH - 2 - depth;
    if (maxHops < 0) {
      return UNKNOWN;
    }
    int result = new Upward(info, object).walk(maxHops);
    if (result != FALSE) {
      return result;
    }
    for (int s = 1; s < sources.length; s++) {
      if (sources[s].hasUsersets()) {
        return UNKNOWN; // contextual usersets change the graph below the key
      }
    }
    int longest = UsersetChains.longest(model, sources[0], object, info);
    return longest == UsersetChains.UNKNOWN || depth + longest >= MAX_DEPTH ? UNKNOWN : FALSE;
  }

  /**
   * One breadth-first walk up from the subject towards one key. A reached userset is found on the
   * key while its own reverse entries are read (the key is among them exactly when it holds the
   * userset), so the key's postings are never searched.
   */
  private final class Upward {
    private final RelationInfo info;
    private final long target;
    private final long[] closure;
    private final Postings[] onKey;
    private final LongSet seen = new LongSet(16);
    private long[] queue = new long[16];
    private int tail;

    Upward(RelationInfo info, int object) {
      this.info = info;
      this.target = Relationships.key(object, info.relation);
      // Taken only for relations that have one (see check's direct step).
      this.closure = Objects.requireNonNull(info.usersetClosure);
      this.onKey = new Postings[sources.length];
      for (int s = 0; s < sources.length; s++) {
        onKey[s] = sources[s].postings(object, info.relation);
      }
    }

    /**
     * TRUE when the key holds a userset the subject reaches in at most {@code maxHops} hops above
     * the usersets naming it, UNKNOWN, or FALSE.
     */
    int walk(int maxHops) {
      int result = seeds();
      int head = 0;
      for (int hops = 0; result == FALSE && head < tail; hops++) {
        int levelEnd = tail;
        boolean grow = hops < maxHops;
        for (; result == FALSE && head < levelEnd; head++) {
          long node = queue[head];
          int nodeObject = Postings.usersetObject(node);
          int nodeRelation = Postings.usersetRelation(node);
          result = edgesTo(nodeObject, nodeRelation, objects.type(nodeObject), false, grow);
        }
      }
      return result;
    }

    /** Usersets holding the subject itself, or its type's wildcard: what directMatch reads. */
    private int seeds() {
      if (subjectRelation >= 0) {
        return subjectObject < 0
            ? FALSE
            : edgesTo(subjectObject, subjectRelation, subjectType, false, true);
      }
      if (!subjectWildcard && subjectObject >= 0) {
        int result = edgesTo(subjectObject, Relationships.NO_RELATION, subjectType, false, true);
        if (result != FALSE) {
          return result;
        }
      }
      int wildcard = objects.wildcard(subjectType);
      return wildcard < 0
          ? FALSE
          : edgesTo(wildcard, Relationships.NO_RELATION, subjectType, true, true);
    }

    /**
     * Follows every tuple naming {@code user} (a userset when {@code userRelation >= 0}): the key
     * itself decides; other usersets that can be below the key are queued when {@code grow}.
     */
    private int edgesTo(int user, int userRelation, int userType, boolean wildcard, boolean grow) {
      for (int s = 0; s < sources.length; s++) {
        Relationships source = sources[s];
        for (long key : source.reverse(user, userRelation)) {
          budget.step();
          int nodeRelation = Postings.usersetRelation(key);
          if (key == target) {
            // A plain subject or wildcard on the key was directMatch's to judge; a userset (a
            // reached one, or a userset subject, which directMatch already found not granting)
            // is judged here.
            int result = userRelation < 0 ? FALSE : onKey(s, user, userRelation, userType);
            if (result != FALSE) {
              return result;
            }
            continue;
          }
          if (!grow || !closureHas(nodeRelation)) {
            continue;
          }
          int nodeObject = Postings.usersetObject(key);
          int nodeType = objects.type(nodeObject);
          if (!inClosure(nodeType, nodeRelation) || onPath(key) || seen.contains(key)) {
            continue; // cannot be below the key, or would be a cycle, or is reached already
          }
          TupleMeta meta =
              userRelation >= 0
                  ? usersetMeta(source, nodeObject, nodeRelation, user, userRelation)
                  : plainMeta(source, nodeObject, nodeRelation, user);
          RelationInfo node = model.relation(nodeType, nodeRelation);
          if (node == null
              || node.admit(userType, userRelation, wildcard, conditionOf(meta)) == null) {
            continue;
          }
          if (meta != null) {
            if (expired(meta)) {
              continue;
            }
            if (!meta.condition().isEmpty()) {
              return UNKNOWN;
            }
          }
          seen.add(key);
          if (tail == queue.length) {
            queue = Arrays.copyOf(queue, tail * 2);
          }
          queue[tail++] = key;
        }
      }
      return FALSE;
    }

    /**
     * The key's tuple naming a reached userset, in source {@code s}, read as the full walk would.
     */
    private int onKey(int s, int userObject, int userRelation, int userType) {
      Postings p = onKey[s];
      TupleMeta meta = null;
      if (p.usersetMeta != null) {
        int i = Arrays.binarySearch(p.usersets, Postings.userset(userObject, userRelation));
        meta = i >= 0 ? p.usersetMeta(i) : null;
      }
      if (info.admit(userType, userRelation, false, conditionOf(meta)) == null) {
        return FALSE;
      }
      if (meta != null) {
        if (expired(meta)) {
          return FALSE;
        }
        if (!meta.condition().isEmpty()) {
          return UNKNOWN;
        }
      }
      return TRUE;
    }

    /** A cheap first filter that needs no type lookup. */
    private boolean closureHas(int relation) {
      for (long k : closure) {
        if ((int) k == relation) {
          return true;
        }
      }
      return false;
    }

    private boolean inClosure(int type, int relation) {
      long key = Relationships.key(type, relation);
      for (long k : closure) {
        if (k == key) {
          return true;
        }
      }
      return false;
    }
  }

  private boolean onPath(long key) {
    for (int i = 0; i < pathSize; i++) {
      if (path[i] == key) {
        return true;
      }
    }
    return false;
  }

  private int tupleToUserset(
      RelationInfo info, int object, Node.TupleToUserset node, int depth, @Nullable Trace trace) {
    Trace t =
        trace == null
            ? null
            : trace.child(
                model.names.name(node.computed()) + " from " + model.names.name(node.tupleset()));
    RelationInfo tupleset = model.relation(info.type, node.tupleset());
    if (tupleset == null) {
      return t == null ? FALSE : t.done(FALSE);
    }
    boolean cycle = false;
    CastellanException error = null;
    for (Relationships source : sources) {
      Postings p = source.postings(object, node.tupleset());
      int[] parents = p.plain;
      for (int i = 0; i < parents.length; i++) {
        budget.step();
        int parent = parents[i];
        int parentType = objects.type(parent);
        TupleMeta meta = p.plainMeta(i);
        if (tupleset.admit(parentType, -1, false, conditionOf(meta)) == null) {
          continue;
        }
        try {
          if (!conditionHolds(meta, object, node.tupleset(), parent, -1)) {
            continue;
          }
          int r = check(parent, parentType, node.computed(), depth + 1, t);
          if (r == TRUE) {
            return t == null ? TRUE : t.done(TRUE);
          }
          cycle |= r == CYCLE;
        } catch (CastellanException e) {
          error = e;
        }
      }
    }
    if (error != null) {
      throw error;
    }
    int result = cycle ? CYCLE : FALSE;
    return t == null ? result : t.done(result);
  }

  // ---------------------------------------------------------------- conditions

  private static String conditionOf(@Nullable TupleMeta meta) {
    return meta == null ? "" : meta.condition();
  }

  /**
   * An expired tuple is as if it were not there; it is purged from the store later. Every tuple the
   * evaluation reads with an expiry passes here, so the earliest expiry still ahead is the time
   * until which the answer holds at its revision ({@link #validUntilMillis}).
   */
  private boolean expired(@Nullable TupleMeta meta) {
    if (meta == null) {
      return false;
    }
    if (meta.isExpiredAt(nowMillis)) {
      return true;
    }
    if (meta.expiresAtMillis() < validUntilMillis) {
      validUntilMillis = meta.expiresAtMillis();
    }
    return false;
  }

  /**
   * Epoch millis until which what this evaluation has decided so far holds at its index revision:
   * the earliest expiry, still ahead, of the tuples it read; {@link Long#MAX_VALUE} when none of
   * them expires.
   */
  long validUntilMillis() {
    return validUntilMillis;
  }

  /**
   * True when the tuple {@code object#relation@user[#userRelation]} is unconditional or its
   * condition is met; throws OpenFGA's error 2000 when its condition lacks parameters or fails.
   */
  private boolean conditionHolds(
      @Nullable TupleMeta meta, int object, int relation, int user, int userRelation) {
    if (meta == null) {
      return true;
    }
    if (expired(meta)) {
      return false;
    }
    if (meta.condition().isEmpty()) {
      return true;
    }
    ConditionResult result = model.conditions.evaluate(meta.condition(), meta.context(), context);
    if (!result.missingParameters().isEmpty()) {
      String tuple =
          name(object)
              + "#"
              + model.names.name(relation)
              + "@"
              + name(user)
              + (userRelation >= 0 ? "#" + model.names.name(userRelation) : "");
      throw ConditionEvaluator.missingParameters(
          meta.condition(), tuple, result.missingParameters());
    }
    return result.met();
  }

  /**
   * For lists: a tuple whose condition fails does not count, and the first such failure is kept for
   * the walk, which reports it once complete (OpenFGA's reverse expansion and list-users go on past
   * a failing tuple and then answer with its error).
   */
  private boolean conditionHoldsListing(
      @Nullable TupleMeta meta, int object, int relation, int user, int userRelation) {
    try {
      return conditionHolds(meta, object, relation, user, userRelation);
    } catch (CastellanException e) {
      if (conditionError == null) {
        conditionError = e;
      }
      return false;
    }
  }

  /** The first condition failure a list walk met; see {@link #conditionHoldsListing}. */
  private @Nullable CastellanException conditionError;

  // ---------------------------------------------------------------- list objects

  /**
   * A resumable walk of a list, run in slices: {@link #run} goes on until the walk is complete
   * (true) or the budget runs out ({@link Budget.Stop}), and can be called again, under a new
   * budget, to go on from where it stopped. What it found is in {@link #found}, which the caller
   * drains. {@link #progress} grows with each unit of work finished (a fact processed, a candidate
   * confirmed), so that a slice that finished nothing can be told apart.
   */
  abstract class Walk {
    final List<String> found = new ArrayList<>();
    long progress;

    /** Stop (not complete) once this many results are found: for callers that want a few. */
    int limit = Integer.MAX_VALUE;

    Evaluation evaluation() {
      return Evaluation.this;
    }

    abstract boolean run();

    /**
     * Throws the first condition failure the walk met, once it is complete: OpenFGA answers such a
     * list with error 2000 instead of leaving the tuple out.
     */
    boolean completed() {
      if (conditionError != null) {
        throw conditionError;
      }
      return true;
    }

    /** A result of this walk: counted as result bytes (its UTF-8 size, bounded). */
    void found(String name) {
      found.add(name);
      budget.resultBytes(3L * name.length() + 8);
    }
  }

  /**
   * Objects of {@code type} on which the subject has {@code relation}: a breadth-first walk from
   * the subject through the reverse index, guided by the model. Steps under an intersection or a
   * difference only propose candidates, which a full check then confirms.
   *
   * <p>Stopped by its budget, the walk keeps its facts and queue; the fact being processed when it
   * stopped is processed again on the next run, which only re-derives what is known (derivations
   * are idempotent) and retries the confirmation that was cut.
   */
  final class ObjectWalk extends Walk {
    private final int type;
    private final int relation;
    private final LongSet facts = new LongSet();
    private final LongSet checked = new LongSet();
    private final ArrayDeque<long[]> queue = new ArrayDeque<>();
    private final int originalObject = subjectObject;
    private final int originalRelation = subjectRelation;
    private boolean seeded;
    private long @Nullable [] current;

    ObjectWalk(int type, int relation) {
      this.type = type;
      this.relation = relation;
    }

    @Override
    boolean run() {
      try {
        if (!seeded) {
          seedAll();
          seeded = true;
          progress++;
        }
        while (found.size() < limit) {
          if (current == null) {
            current = queue.poll();
            if (current == null) {
              return completed();
            }
          }
          process((int) current[0], (int) current[1]);
          current = null;
          progress++;
        }
        return false;
      } finally {
        subjectObject = originalObject;
        subjectRelation = originalRelation;
      }
    }

    private void derive(int object, int rel, boolean needsCheck) {
      long key = Relationships.key(object, rel);
      if (facts.contains(key)) {
        return;
      }
      if (needsCheck) {
        if (checked.contains(key)) {
          return;
        }
        boolean holds = confirm(object, rel);
        // Marked only once confirmed: a confirmation cut by the budget is retried next run.
        checked.add(key);
        progress++;
        if (!holds) {
          return;
        }
      }
      if (facts.add(key)) {
        queue.add(new long[] {object, rel});
        if (rel == relation && objects.type(object) == type) {
          found(objects.name(object));
        }
      }
    }

    /**
     * Whether {@code relation} is the subject's relation or computed from it without a check (e.g.
     * {@code define viewer: member}), on an object no tuple names.
     */
    private boolean followsWithoutTuples(int from) {
      LongSet seen = new LongSet(8);
      ArrayDeque<Integer> todo = new ArrayDeque<>(List.of(from));
      while (!todo.isEmpty()) {
        int rel = todo.poll();
        if (rel == relation) {
          return true;
        }
        if (seen.add(rel)) {
          for (CompiledModel.ComputedDependency dep : model.computedDependencies(type, rel)) {
            if (!dep.needsCheck()) {
              todo.add(dep.relation());
            }
          }
        }
      }
      return false;
    }

    /**
     * Seeds: tuples naming the subject itself, or its type's wildcard; and a userset subject
     * itself, which always has its own relation on its own object (OpenFGA's self-defining rule:
     * listing group#member for group:eng#member includes group:eng).
     */
    private void seedAll() {
      if (originalRelation >= 0) {
        if (originalObject >= 0) {
          derive(originalObject, originalRelation, false);
        } else if (subjectType == type && followsWithoutTuples(originalRelation)) {
          found(subjectName); // nothing was written about it: only computed relations follow
        }
      }
      if (originalObject >= 0) {
        seed(
            originalObject,
            originalRelation,
            originalRelation >= 0 ? originalRelation : -1,
            subjectWildcard);
      }
      if (originalRelation < 0 && !subjectWildcard) {
        int wildcard = objects.wildcard(subjectType);
        if (wildcard >= 0) {
          seed(wildcard, -1, -1, true);
        }
      }
    }

    private void seed(int user, int userRelation, int relationForAdmit, boolean wildcard) {
      int userType = objects.type(user);
      for (Relationships source : sources) {
        long[] keys = source.reverse(user, userRelation);
        for (long key : keys) {
          budget.step();
          int object = Postings.usersetObject(key);
          int relation = Postings.usersetRelation(key);
          RelationInfo info = model.relation(objects.type(object), relation);
          if (info == null) {
            continue;
          }
          TupleMeta meta =
              userRelation >= 0
                  ? usersetMeta(source, object, relation, user, userRelation)
                  : plainMeta(source, object, relation, user);
          if (info.admit(userType, relationForAdmit, wildcard, conditionOf(meta)) == null
              || !conditionHoldsListing(meta, object, relation, user, userRelation)) {
            continue;
          }
          derive(object, relation, info.directNeedsCheck);
        }
      }
    }

    private void process(int object, int rel) {
      budget.step();
      int objectType = objects.type(object);
      // 1. Usersets: tuples whose user is object#rel.
      for (Relationships source : sources) {
        for (long key : source.reverse(object, rel)) {
          budget.step();
          int target = Postings.usersetObject(key);
          int targetRelation = Postings.usersetRelation(key);
          RelationInfo info = model.relation(objects.type(target), targetRelation);
          if (info == null) {
            continue;
          }
          TupleMeta meta = usersetMeta(source, target, targetRelation, object, rel);
          if (info.admit(objectType, rel, false, conditionOf(meta)) == null
              || !conditionHoldsListing(meta, target, targetRelation, object, rel)) {
            continue;
          }
          derive(target, targetRelation, info.directNeedsCheck);
        }
      }
      // 2. Relations on the same object computed from this one.
      for (CompiledModel.ComputedDependency dep : model.computedDependencies(objectType, rel)) {
        budget.step();
        derive(object, dep.relation(), dep.needsCheck());
      }
      // 3. Children that name this object as their parent.
      for (CompiledModel.TupleToUsersetDependency dep :
          model.tupleToUsersetDependencies(objectType, rel)) {
        RelationInfo tupleset = model.relation(dep.childType(), dep.tupleset());
        if (tupleset == null) {
          continue;
        }
        for (Relationships source : sources) {
          for (long key : source.reverse(object, Relationships.NO_RELATION)) {
            budget.step();
            int child = Postings.usersetObject(key);
            if (Postings.usersetRelation(key) != dep.tupleset()
                || objects.type(child) != dep.childType()) {
              continue;
            }
            TupleMeta meta = plainMeta(source, child, dep.tupleset(), object);
            if (tupleset.admit(objectType, -1, false, conditionOf(meta)) == null
                || !conditionHoldsListing(meta, child, dep.tupleset(), object, -1)) {
              continue;
            }
            derive(child, dep.relation(), dep.needsCheck());
          }
        }
      }
    }
  }

  private static @Nullable TupleMeta plainMeta(
      Relationships source, int object, int relation, int user) {
    if (!source.hasMeta(relation)) {
      return null; // the common case, without a postings lookup
    }
    Postings p = source.postings(object, relation);
    if (p.plainMeta == null) {
      return null;
    }
    int i = Arrays.binarySearch(p.plain, user);
    return i >= 0 ? p.plainMeta(i) : null;
  }

  private static @Nullable TupleMeta usersetMeta(
      Relationships source, int object, int relation, int user, int userRelation) {
    if (!source.hasMeta(relation)) {
      return null;
    }
    Postings p = source.postings(object, relation);
    if (p.usersetMeta == null) {
      return null;
    }
    int i = Arrays.binarySearch(p.usersets, Postings.userset(user, userRelation));
    return i >= 0 ? p.usersetMeta(i) : null;
  }

  /**
   * A full check of a candidate: one too deep is excluded; a condition failure excludes it and is
   * kept for the walk to report, as OpenFGA's list-objects reports a failed check of a candidate.
   */
  private boolean confirm(int object, int relation) {
    pathSize = 0;
    try {
      return check(object, objects.type(object), relation, 0, null) == TRUE;
    } catch (TooDeep e) {
      return false;
    } catch (CastellanException e) {
      if (conditionError == null) {
        conditionError = e;
      }
      return false;
    }
  }

  // ---------------------------------------------------------------- list users

  /** A user filter resolved to ids: {@code relation} is -1 for plain objects and wildcards. */
  record UserFilter(int type, int relation) {}

  /**
   * Users of {@code object#relation} matching the filters: candidates come from a forward walk of
   * the rewrite (never the subtracted side), and each candidate is confirmed by a check.
   *
   * <p>Stopped by its budget while collecting candidates, the walk collects them again on the next
   * run; stopped while confirming one, it confirms that one again first.
   */
  final class UserWalk extends Walk {
    private final int object;
    private final int relation;
    private final List<UserFilter> filters;
    private final Set<Long> done = new HashSet<>();
    private @Nullable ArrayDeque<Long>
        unanswered; // null until the first slice collects the candidates

    UserWalk(int object, int relation, List<UserFilter> filters) {
      this.object = object;
      this.relation = relation;
      this.filters = List.copyOf(filters);
    }

    @Override
    boolean run() {
      int type = objects.type(object);
      ArrayDeque<Long> pending = unanswered;
      if (pending == null) {
        Set<Long> candidates = new LinkedHashSet<>();
        collectUsers(object, relation, filters, candidates, new HashSet<>(), 0);
        pending = new ArrayDeque<>(candidates);
        unanswered = pending;
        progress++;
      }
      ArrayDeque<Long> queue = pending;
      while (!queue.isEmpty()) {
        if (found.size() >= limit) {
          return false;
        }
        long candidate = queue.peek();
        if (done.contains(candidate)) {
          queue.poll();
          continue;
        }
        int user = Postings.usersetObject(candidate);
        int userRelation = Postings.usersetRelation(candidate);
        subject(user, userRelation);
        pathSize = 0;
        boolean holds = check(object, type, relation, 0, null) == TRUE;
        // Taken off the queue only once answered: a check cut by the budget is asked again.
        queue.poll();
        done.add(candidate);
        progress++;
        if (holds) {
          found(
              userRelation < 0
                  ? objects.name(user)
                  : objects.name(user) + "#" + model.names.name(userRelation));
        } else if (userRelation < 0 && objects.isWildcard(user)) {
          // type:* is reachable but excluded as a whole (e.g. "[user:*] but not blocked"): the
          // users it stands for may still have access one by one, so try every known user.
          objects.forEachOfType(objects.type(user), u -> queue.add(Postings.userset(u, -1)));
        }
      }
      return completed();
    }
  }

  private void collectUsers(
      int object,
      int relation,
      List<UserFilter> filters,
      Set<Long> candidates,
      Set<Long> visited,
      int depth) {
    budget.step();
    RelationInfo info = model.relation(objects.type(object), relation);
    if (info == null || !visited.add(Relationships.key(object, relation))) {
      return;
    }
    if (depth >= MAX_DEPTH) {
      throw tooComplex();
    }
    for (UserFilter filter : filters) {
      if (filter.relation() == relation && filter.type() == info.type) {
        candidates.add(Postings.userset(object, relation));
      }
    }
    collectUsers(info.rewrite, info, object, filters, candidates, visited, depth);
  }

  private void collectUsers(
      Node node,
      RelationInfo info,
      int object,
      List<UserFilter> filters,
      Set<Long> candidates,
      Set<Long> visited,
      int depth) {
    switch (node) {
      case Node.Direct d -> {
        for (Relationships source : sources) {
          Postings p = source.postings(object, info.relation);
          for (int i = 0; i < p.plain.length; i++) {
            budget.step();
            int user = p.plain[i];
            int userType = objects.type(user);
            TupleMeta meta = p.plainMeta(i);
            if (meta != null
                && (info.admit(userType, -1, objects.isWildcard(user), meta.condition()) == null
                    || !conditionHoldsListing(meta, object, info.relation, user, -1))) {
              continue; // OpenFGA's list-users evaluates every tuple it expands
            }
            for (UserFilter filter : filters) {
              if (filter.relation() < 0 && filter.type() == userType) {
                candidates.add(Postings.userset(user, -1));
              }
            }
          }
          for (int i = 0; i < p.usersets.length; i++) {
            budget.step();
            long packed = p.usersets[i];
            int user = Postings.usersetObject(packed);
            int userRelation = Postings.usersetRelation(packed);
            int userType = objects.type(user);
            TupleMeta meta = p.usersetMeta(i);
            if (info.admit(userType, userRelation, false, conditionOf(meta)) == null
                || !conditionHoldsListing(meta, object, info.relation, user, userRelation)) {
              continue;
            }
            for (UserFilter filter : filters) {
              if (filter.relation() == userRelation && filter.type() == userType) {
                candidates.add(packed);
              }
            }
            collectUsers(user, userRelation, filters, candidates, visited, depth + 1);
          }
        }
      }
      case Node.Computed c ->
          collectUsers(object, c.relation(), filters, candidates, visited, depth + 1);
      case Node.TupleToUserset t -> {
        RelationInfo tupleset = model.relation(info.type, t.tupleset());
        for (Relationships source : sources) {
          Postings p = source.postings(object, t.tupleset());
          for (int i = 0; i < p.plain.length && tupleset != null; i++) {
            int parent = p.plain[i];
            TupleMeta meta = p.plainMeta(i);
            if (meta != null
                && (tupleset.admit(objects.type(parent), -1, false, meta.condition()) == null
                    || !conditionHoldsListing(meta, object, t.tupleset(), parent, -1))) {
              continue;
            }
            collectUsers(parent, t.computed(), filters, candidates, visited, depth + 1);
          }
        }
      }
      case Node.Union u -> {
        for (Node child : u.children()) {
          collectUsers(child, info, object, filters, candidates, visited, depth);
        }
      }
      case Node.Intersection i -> {
        for (Node child : i.children()) {
          collectUsers(child, info, object, filters, candidates, visited, depth);
        }
      }
      case Node.Difference diff ->
          collectUsers(diff.base(), info, object, filters, candidates, visited, depth);
    }
  }

  // ---------------------------------------------------------------- expand

  ExpandNode expand(int object, RelationInfo info) {
    return expand(info.rewrite, info, object);
  }

  private ExpandNode expand(Node node, RelationInfo info, int object) {
    budget.step();
    String name = name(object) + "#" + info.name;
    return switch (node) {
      case Node.Direct d -> {
        List<String> users = new ArrayList<>();
        for (Relationships source : sources) {
          Postings p = source.postings(object, info.relation);
          for (int i = 0; i < p.plain.length; i++) {
            int user = p.plain[i];
            if (info.admit(
                        objects.type(user),
                        -1,
                        objects.isWildcard(user),
                        conditionOf(p.plainMeta(i)))
                    != null
                && !expired(p.plainMeta(i))) {
              users.add(expanded(objects.name(user)));
            }
          }
          for (int i = 0; i < p.usersets.length; i++) {
            int user = Postings.usersetObject(p.usersets[i]);
            int userRelation = Postings.usersetRelation(p.usersets[i]);
            if (info.admit(objects.type(user), userRelation, false, conditionOf(p.usersetMeta(i)))
                    != null
                && !expired(p.usersetMeta(i))) {
              users.add(expanded(objects.name(user) + "#" + model.names.name(userRelation)));
            }
          }
        }
        yield new ExpandNode.Users(name, users);
      }
      case Node.Computed c ->
          new ExpandNode.Computed(name, name(object) + "#" + model.names.name(c.relation()));
      case Node.TupleToUserset t -> {
        List<String> computed = new ArrayList<>();
        RelationInfo tupleset = model.relation(info.type, t.tupleset());
        for (Relationships source : sources) {
          Postings p = source.postings(object, t.tupleset());
          for (int i = 0; i < p.plain.length; i++) {
            int parent = p.plain[i];
            int parentType = objects.type(parent);
            if (tupleset != null
                && tupleset.admit(parentType, -1, false, conditionOf(p.plainMeta(i))) != null
                && !expired(p.plainMeta(i))
                && model.relation(parentType, t.computed()) != null) {
              computed.add(expanded(objects.name(parent) + "#" + model.names.name(t.computed())));
            }
          }
        }
        yield new ExpandNode.TupleToUserset(
            name, name(object) + "#" + model.names.name(t.tupleset()), computed);
      }
      case Node.Union u -> new ExpandNode.Union(name, expandAll(u.children(), info, object));
      case Node.Intersection i ->
          new ExpandNode.Intersection(name, expandAll(i.children(), info, object));
      case Node.Difference d ->
          new ExpandNode.Difference(
              name, expand(d.base(), info, object), expand(d.subtract(), info, object));
    };
  }

  /** A name in an expand answer: a step, and result bytes. */
  private String expanded(String name) {
    budget.step();
    budget.resultBytes(3L * name.length() + 8);
    return name;
  }

  private List<ExpandNode> expandAll(Node[] children, RelationInfo info, int object) {
    List<ExpandNode> out = new ArrayList<>(children.length);
    for (Node child : children) {
      out.add(expand(child, info, object));
    }
    return out;
  }

  // ---------------------------------------------------------------- helpers

  private String name(int object) {
    return object < 0 ? "?" : objects.name(object);
  }

  static CastellanException tooComplex() {
    return new TooDeep();
  }

  /**
   * The depth limit, without a stack trace: a graph deeper than the limit meets it once per path,
   * and capturing a deep stack each time made such checks cost microseconds per step.
   */
  private static final class TooDeep extends CastellanException {
    private static final long serialVersionUID = 1L;

    TooDeep() {
      super(
          ErrorCode.AUTHORIZATION_MODEL_RESOLUTION_TOO_COMPLEX,
          "authorization model resolution required more than "
              + MAX_DEPTH
              + " hops; the model or its tuples are too deep or contain a long chain");
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this;
    }
  }
}
