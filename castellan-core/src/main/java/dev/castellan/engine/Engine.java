package dev.castellan.engine;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.condition.ConditionEvaluator;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelValidator;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Answers check, expand, list-objects and list-users for one authorization model over one store's
 * {@link TupleIndex}. Thread-safe; create one per (store, model) and reuse it: creation validates
 * the model and compiles it and its conditions.
 *
 * <p>Every answer is computed over one consistent revision of the index. Deny is a result, never an
 * exception; exceptions carry an {@link ErrorCode} and mean the request itself was wrong or too
 * complex.
 */
public final class Engine {
  /** Most contextual tuples accepted in one request (OpenFGA's default). */
  public static final int MAX_CONTEXTUAL_TUPLES = 100;

  private final CompiledModel model;
  private final TupleIndex index;

  private final Clock clock;
  private final int subjectSideThreshold;

  private Engine(CompiledModel model, TupleIndex index, Clock clock, int subjectSideThreshold) {
    this.model = model;
    this.index = index;
    this.clock = clock;
    this.subjectSideThreshold = subjectSideThreshold;
  }

  /**
   * This engine, trying the subject-side check on keys with at least {@code threshold} usersets:
   * tests use 0 (always) and {@link Integer#MAX_VALUE} (never) to hold the two walks against each
   * other.
   */
  Engine withSubjectSideThreshold(int threshold) {
    return new Engine(model, index, clock, threshold);
  }

  /**
   * Validates and compiles {@code model} for {@code index}.
   *
   * @throws dev.castellan.model.InvalidModelException when the model breaks a rule
   */
  public static Engine create(AuthorizationModel model, TupleIndex index) {
    return create(model, index, Clock.systemUTC());
  }

  /**
   * As {@link #create(AuthorizationModel, TupleIndex)}, reading time (tuple expiry) from {@code
   * clock}.
   */
  public static Engine create(AuthorizationModel model, TupleIndex index, Clock clock) {
    ModelValidator.requireValid(model);
    ConditionEvaluator conditions = ConditionEvaluator.compile(model.conditions());
    return new Engine(
        new CompiledModel(model, index.names(), conditions),
        index,
        clock,
        Evaluation.SUBJECT_SIDE_THRESHOLD);
  }

  public AuthorizationModel model() {
    return model.source;
  }

  /** The clock the engine reads time from (tuple expiry). */
  public Clock clock() {
    return clock;
  }

  public TupleIndex index() {
    return index;
  }

  /**
   * An estimate of the heap this engine holds beyond its index: the model as read, compiled and
   * with its conditions. A walk of the model: callers that need it often keep the figure.
   */
  public long estimatedBytes() {
    return 32 + model.estimatedBytes();
  }

  /** Decides a check, without a budget. */
  public CheckResult check(CheckRequest request) {
    return check(request, Budget.unlimited());
  }

  /**
   * Decides a check within {@code budget}; an explanation is cut at the budget's explanation bytes,
   * with a marker saying how many steps it leaves out.
   *
   * @throws BudgetExceededException when the budget runs out first
   */
  public CheckResult check(CheckRequest request, Budget budget) {
    return decide(
        request,
        budget,
        (evaluation, object, type, relation, revision) -> {
          if (!request.explain()) {
            boolean allowed = evaluation.check(object, type, relation, 0, null) == Evaluation.TRUE;
            return CheckResult.of(allowed, revision, evaluation.validUntilMillis());
          }
          Trace root =
              new Trace(
                  "check " + request.object() + "#" + request.relation() + "@" + request.user(),
                  budget.maxExplanationBytes());
          try {
            int result = root.done(evaluation.check(object, type, relation, 0, root));
            return CheckResult.explained(
                result == Evaluation.TRUE,
                root.toExplanation(),
                root.omittedSteps(),
                revision,
                evaluation.validUntilMillis());
          } catch (CastellanException e) {
            root.failed();
            throw e;
          }
        });
  }

  /**
   * Runs a check (never explained) and returns how many direct parts of it the subject-side walk
   * answered; for tests that must know that walk was taken, not only that the answers agree.
   */
  int subjectSideAnswers(CheckRequest request) {
    return decide(
        request,
        Budget.unlimited(),
        (evaluation, object, type, relation, revision) -> {
          evaluation.check(object, type, relation, 0, null);
          return evaluation.subjectSideAnswers();
        });
  }

  @FunctionalInterface
  private interface Decision<T> {
    T decide(Evaluation evaluation, int object, int type, int relation, long revision);
  }

  private <T> T decide(CheckRequest request, Budget budget, Decision<T> decision) {
    String[] object = Refs.splitObject(request.object());
    if (object == null) {
      throw invalid("invalid object '" + Refs.shorten(request.object()) + "'");
    }
    int type = requireType(object[0], ErrorCode.VALIDATION_ERROR);
    int relation = requireRelation(type, object[0], request.relation(), ErrorCode.VALIDATION_ERROR);
    Refs.UserRef user = requireUser(request.user());
    long stamp = index.readLock();
    try {
      Evaluation evaluation =
          evaluation(request.contextualTuples(), request.context(), budget, true);
      evaluation.subject(user);
      // Read under the read lock: no batch is applied until the decision is made.
      return decision.decide(
          evaluation, evaluation.objectId(request.object()), type, relation, index.revision());
    } catch (Budget.Stop stop) {
      throw budget.exception();
    } finally {
      budget.leave();
      index.unlockRead(stamp);
    }
  }

  /**
   * The list-objects walk of {@code request}, to run in slices under budgets; see {@link Listing}.
   */
  public Listing objectListing(ListObjectsRequest request) {
    int type = requireType(request.type(), ErrorCode.TYPE_NOT_FOUND);
    int relation =
        requireRelation(type, request.type(), request.relation(), ErrorCode.RELATION_NOT_FOUND);
    Refs.UserRef user = requireUser(request.user());
    long stamp = index.readLock();
    try {
      Evaluation evaluation =
          evaluation(request.contextualTuples(), request.context(), Budget.unlimited(), false);
      evaluation.subject(user);
      return new Listing(index, evaluation.new ObjectWalk(type, relation));
    } finally {
      index.unlockRead(stamp);
    }
  }

  /** Every object of the request's type the user has the relation on, at most {@code limit}. */
  public List<String> listObjects(ListObjectsRequest request, int limit) {
    return objectListing(request).all(limit);
  }

  /** Every object the user has the relation on, without a limit. */
  public List<String> listObjects(ListObjectsRequest request) {
    return listObjects(request, Integer.MAX_VALUE);
  }

  /**
   * The list-users walk of {@code request}, to run in slices under budgets; see {@link Listing}.
   */
  public Listing userListing(ListUsersRequest request) {
    String[] object = Refs.splitObject(request.object());
    if (object == null) {
      throw invalid("invalid object '" + Refs.shorten(request.object()) + "'");
    }
    int type = requireType(object[0], ErrorCode.TYPE_NOT_FOUND);
    int relation =
        requireRelation(type, object[0], request.relation(), ErrorCode.RELATION_NOT_FOUND);
    if (request.userFilters().isEmpty()) {
      throw invalid("list-users needs at least one user filter, e.g. 'user' or 'group#member'");
    }
    List<Evaluation.UserFilter> filters = new ArrayList<>();
    for (String filter : request.userFilters()) {
      int hash = filter.indexOf('#');
      String filterType = hash < 0 ? filter : filter.substring(0, hash);
      int filterTypeId = requireType(filterType, ErrorCode.TYPE_NOT_FOUND);
      int filterRelation = -1;
      if (hash >= 0) {
        filterRelation =
            requireRelation(
                filterTypeId, filterType, filter.substring(hash + 1), ErrorCode.RELATION_NOT_FOUND);
      }
      filters.add(new Evaluation.UserFilter(filterTypeId, filterRelation));
    }
    long stamp = index.readLock();
    try {
      Evaluation evaluation =
          evaluation(request.contextualTuples(), request.context(), Budget.unlimited(), false);
      int objectId = evaluation.objectId(request.object());
      if (objectId < 0) {
        // Nothing was written about the object; a filter naming its own relation still finds the
        // object's userset itself (OpenFGA's self-defining rule).
        for (Evaluation.UserFilter filter : filters) {
          if (filter.type() == type && filter.relation() == relation) {
            return Listing.of(index, List.of(request.object() + "#" + request.relation()));
          }
        }
        return Listing.empty(index);
      }
      return new Listing(index, evaluation.new UserWalk(objectId, relation, filters));
    } finally {
      index.unlockRead(stamp);
    }
  }

  /** Users of the object's relation that match the filters, at most {@code limit}. */
  public List<String> listUsers(ListUsersRequest request, int limit) {
    return userListing(request).all(limit);
  }

  public List<String> listUsers(ListUsersRequest request) {
    return listUsers(request, Integer.MAX_VALUE);
  }

  /** One level of the userset tree of {@code object#relation}. */
  public ExpandNode expand(String object, String relation) {
    return expand(object, relation, List.of());
  }

  /** One level of the userset tree, counting {@code contextualTuples} for this request only. */
  public ExpandNode expand(String object, String relation, List<Tuple> contextualTuples) {
    return expand(object, relation, contextualTuples, Budget.unlimited());
  }

  /**
   * One level of the userset tree within {@code budget}: its steps, time and result bytes.
   *
   * @throws BudgetExceededException when the budget runs out first
   */
  public ExpandNode expand(
      String object, String relation, List<Tuple> contextualTuples, Budget budget) {
    String[] parts = Refs.splitObject(object);
    if (parts == null) {
      throw invalid("invalid object '" + Refs.shorten(object) + "'");
    }
    int type = requireType(parts[0], ErrorCode.VALIDATION_ERROR);
    int relationId = requireRelation(type, parts[0], relation, ErrorCode.VALIDATION_ERROR);
    // requireRelation has refused a relation the type does not define.
    RelationInfo info = Objects.requireNonNull(model.relation(type, relationId));
    long stamp = index.readLock();
    try {
      Evaluation evaluation = evaluation(contextualTuples, Map.of(), budget, false);
      int objectId = evaluation.objectId(object);
      if (objectId < 0) {
        return emptyExpand(object, info);
      }
      return evaluation.expand(objectId, info);
    } catch (Budget.Stop stop) {
      throw budget.exception();
    } finally {
      budget.leave();
      index.unlockRead(stamp);
    }
  }

  /**
   * Checks that {@code tuple} may be written under this model: known type and relation, a user
   * type, wildcard, userset and condition the relation admits directly.
   *
   * @throws CastellanException with {@link ErrorCode#INVALID_TUPLE} naming what is wrong
   */
  public void validateTuple(Tuple tuple) {
    TupleKey key = tuple.key();
    String[] object = Refs.splitObject(key.object());
    if (object == null) {
      throw invalidTuple(key, "the object must be 'type:id'");
    }
    int type = model.names.find(object[0]);
    if (!model.isType(type)) {
      throw invalidTuple(key, "type '" + object[0] + "' is not defined in the model");
    }
    RelationInfo info = model.relation(type, model.names.find(key.relation()));
    if (info == null) {
      throw invalidTuple(key, "relation '" + object[0] + "#" + key.relation() + "' is not defined");
    }
    Refs.UserRef user = Refs.parseUser(key.user());
    if (user == null) {
      throw invalidTuple(key, "the user must be 'type:id', 'type:*' or 'type:id#relation'");
    }
    int userType = model.names.find(user.type());
    if (!model.isType(userType)) {
      throw invalidTuple(key, "user type '" + user.type() + "' is not defined in the model");
    }
    int userRelation = -1;
    if (user.isUserset()) {
      userRelation = model.names.find(user.relation());
      if (model.relation(userType, userRelation) == null) {
        throw invalidTuple(
            key, "relation '" + user.type() + "#" + user.relation() + "' is not defined");
      }
    }
    if (info.admit(userType, userRelation, user.wildcard(), tuple.condition()) != null) {
      if (tuple.isConditional()) {
        model
            .conditions
            .contextProblem(tuple.condition(), tuple.conditionContext())
            .ifPresent(reason -> invalidConditionalTuple(tuple, reason));
      }
      return;
    }
    boolean admittedOtherwise = false;
    boolean conditionFitsType = false;
    for (Restriction r : info.restrictions) {
      admittedOtherwise |=
          r.type() == userType && r.relation() == userRelation && r.wildcard() == user.wildcard();
      conditionFitsType |= r.type() == userType && r.condition().equals(tuple.condition());
    }
    if (!admittedOtherwise) {
      // OpenFGA's validateTypeRestrictions (internal/validation), which ignores conditions: its
      // write and assertions answer 2000 with this message, its checks and lists 2027.
      String objectRelation = info.toString();
      throw new CastellanException(
          ErrorCode.INVALID_TUPLE,
          "Invalid tuple '"
              + key.object()
              + "#"
              + key.relation()
              + "@"
              + key.user()
              + "'. Reason: "
              + (user.isUserset()
                  ? "'" + user.type() + "#" + user.relation() + "'"
                  : user.wildcard()
                      ? "the typed wildcard '" + key.user() + "'"
                      : "type '" + user.type() + "'")
              + " is not an allowed type restriction for '"
              + objectRelation
              + "'");
    }
    // The subject is admitted, with other conditions: OpenFGA's condition errors (code 2000).
    if (!tuple.isConditional()) {
      invalidConditionalTuple(tuple, "condition is missing");
    }
    if (!model.source.conditions().containsKey(tuple.condition())) {
      invalidConditionalTuple(tuple, "undefined condition");
    }
    invalidConditionalTuple(
        tuple,
        conditionFitsType
            ? "condition '"
                + tuple.condition()
                + "' is not allowed for '"
                + user.type()
                + (user.wildcard() ? ":*" : user.isUserset() ? "#" + user.relation() : "")
                + "' on '"
                + info
                + "'"
            : "invalid condition for type restriction");
  }

  /**
   * OpenFGA's {@code InvalidConditionalTupleError}: a validation error (2000) on writes, assertions
   * and list and expand requests; check reports it as an invalid tuple (2027).
   */
  private static void invalidConditionalTuple(Tuple tuple, String reason) {
    TupleKey key = tuple.key();
    throw new CastellanException(
        ErrorCode.VALIDATION_ERROR,
        "Invalid tuple '"
            + key.object()
            + "#"
            + key.relation()
            + "@"
            + key.user()
            + (tuple.isConditional() ? " (condition " + tuple.condition() + ")" : "")
            + "'. Reason: "
            + reason);
  }

  private Evaluation evaluation(
      List<Tuple> contextualTuples, Map<String, Object> context, Budget budget, boolean forCheck) {
    Relationships main = index.relationships();
    if (contextualTuples.isEmpty()) {
      return new Evaluation(
          model, new Relationships[] {main}, context, clock.millis(), subjectSideThreshold, budget);
    }
    if (contextualTuples.size() > MAX_CONTEXTUAL_TUPLES) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "at most "
              + MAX_CONTEXTUAL_TUPLES
              + " contextual tuples are allowed, got "
              + contextualTuples.size());
    }
    for (Tuple tuple : contextualTuples) {
      try {
        validateTuple(tuple);
      } catch (CastellanException e) {
        if (forCheck && e.code() == ErrorCode.VALIDATION_ERROR) {
          // OpenFGA's check wraps every contextual-tuple error as an invalid tuple.
          throw new CastellanException(
              ErrorCode.INVALID_TUPLE, Objects.requireNonNullElse(e.getMessage(), "invalid tuple"));
        }
        throw e;
      }
    }
    Relationships overlay =
        new Relationships(main.names, main.objects.child(), contextualTuples.size());
    for (Tuple tuple : contextualTuples) {
      overlay.add(tuple);
    }
    return new Evaluation(
        model,
        new Relationships[] {main, overlay},
        context,
        clock.millis(),
        subjectSideThreshold,
        budget);
  }

  private int requireType(String type, ErrorCode code) {
    int id = model.names.find(type);
    if (!model.isType(id)) {
      throw new CastellanException(
          code, "type '" + Refs.shorten(type) + "' not found in the model");
    }
    return id;
  }

  private int requireRelation(int type, String typeName, String relation, ErrorCode code) {
    int id = model.names.find(relation);
    if (model.relation(type, id) == null) {
      throw new CastellanException(
          code,
          "relation '" + typeName + "#" + Refs.shorten(relation) + "' not found in the model");
    }
    return id;
  }

  private Refs.UserRef requireUser(String user) {
    Refs.UserRef ref = Refs.parseUser(user);
    if (ref == null) {
      throw invalid(
          "invalid user '"
              + Refs.shorten(user)
              + "': expected 'type:id', 'type:*' or 'type:id#relation'");
    }
    int type = model.names.find(ref.type());
    if (!model.isType(type)) {
      throw invalid("user type '" + Refs.shorten(ref.type()) + "' not found in the model");
    }
    if (ref.isUserset() && model.relation(type, model.names.find(ref.relation())) == null) {
      throw invalid(
          "relation '"
              + ref.type()
              + "#"
              + Refs.shorten(ref.relation())
              + "' not found in the model");
    }
    return ref;
  }

  private ExpandNode emptyExpand(String object, RelationInfo info) {
    // Same shape as a populated expand, with no users: reuse the evaluator on an empty overlay.
    Relationships empty = new Relationships(model.names, new ObjectTable(), 1);
    ObjectTable objects = empty.objects;
    int id = objects.intern(object, info.type, false);
    return new Evaluation(model, new Relationships[] {empty}, Map.of(), clock.millis())
        .expand(id, info);
  }

  private static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }

  private static CastellanException invalidTuple(TupleKey key, String why) {
    return new CastellanException(ErrorCode.INVALID_TUPLE, "invalid tuple '" + key + "': " + why);
  }
}
