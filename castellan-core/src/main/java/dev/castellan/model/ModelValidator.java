package dev.castellan.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * OpenFGA's semantic rules for a model, with its error kinds and messages: reserved and malformed
 * names, duplicates, undefined types, relations and conditions, tuple-to-userset rules, and
 * relations no user can ever have (no entry point, or only a loop).
 *
 * <p>Checks run in phases like OpenFGA's: entry points are only judged once every name resolves.
 */
public final class ModelValidator {

  /** Larger models are refused; OpenFGA's default limit is 100 types. */
  public static final int MAX_TYPES = 1_000;

  public static final int MAX_RELATIONS_PER_TYPE = 500;

  /**
   * Steps the search for why relations have no entry point may take for one model. Real models take
   * a few hundred; a hostile one took minutes before this bound.
   */
  static final int MAX_SEARCH_STEPS = 100_000;

  private static final Set<String> SCHEMA_VERSIONS = Set.of("1.1", "1.2");
  private static final Pattern TYPE_NAME = Pattern.compile("^[^:#@*\\s]{1,254}$");
  private static final Pattern RELATION_NAME = Pattern.compile("^[^:#@*\\s]{1,50}$");
  private static final Pattern CONDITION_NAME = Pattern.compile("^[^:#@*\\s]{1,50}$");

  // OpenFGA's messages quote the rules with an escaped star.
  private static final String TYPE_RULE = "^[^:#@\\*\\s]{1,254}$";
  private static final String RELATION_RULE = "^[^:#@\\*\\s]{1,50}$";

  private final AuthorizationModel model;
  private final DslParser.SourceMap sources;
  private final List<ModelError> errors = new ArrayList<>();
  private final Map<String, TypeDefinition> types = new LinkedHashMap<>();

  /** Relations already known to have an entry point; that answer does not depend on the path. */
  private final Set<String> reachable = new HashSet<>();

  /**
   * Steps of the path search left for the whole model. The search is exponential in the worst case
   * (relations that reach each other through several paths and never reach a user), so it runs only
   * for relations without an entry point, and only as far as this budget goes.
   */
  private int searchSteps = MAX_SEARCH_STEPS;

  private ModelValidator(AuthorizationModel model, DslParser.SourceMap sources) {
    this.model = model;
    this.sources = sources;
  }

  /** Every rule the model breaks; empty when it is valid. Errors have no source position. */
  public static List<ModelError> validate(AuthorizationModel model) {
    return new ModelValidator(model, new DslParser.SourceMap()).run();
  }

  /** Every rule broken, with the positions {@code sources} knows (a combined modular model). */
  static List<ModelError> validate(AuthorizationModel model, DslParser.SourceMap sources) {
    return new ModelValidator(model, sources).run();
  }

  /** Syntax errors, or else every semantic rule broken, with DSL positions. */
  public static List<ModelError> validateDsl(String dsl) {
    DslParser.Result parsed = DslParser.parse(dsl);
    if (!parsed.errors().isEmpty()) {
      return parsed.errors();
    }
    return new ModelValidator(parsed.parsedModel(), parsed.sourceMap()).run();
  }

  /**
   * Throws when the model breaks any rule.
   *
   * @throws InvalidModelException listing every problem
   */
  public static void requireValid(AuthorizationModel model) {
    List<ModelError> errors = validate(model);
    if (!errors.isEmpty()) {
      throw new InvalidModelException(errors);
    }
  }

  /** Parses and validates DSL in one step; the usual way to load a model file. */
  public static AuthorizationModel parseValid(String dsl) {
    DslParser.Result parsed = DslParser.parse(dsl);
    List<ModelError> errors =
        parsed.errors().isEmpty()
            ? new ModelValidator(parsed.parsedModel(), parsed.sourceMap()).run()
            : parsed.errors();
    if (!errors.isEmpty()) {
      throw new InvalidModelException(errors);
    }
    return parsed.parsedModel();
  }

  private List<ModelError> run() {
    if (model.schemaVersion().isEmpty()) {
      error("schema-version-required", "schema version required", "", sources.schemaSpan);
      return errors;
    }
    if (!SCHEMA_VERSIONS.contains(model.schemaVersion())) {
      error(
          "invalid-schema",
          "invalid schema " + model.schemaVersion(),
          model.schemaVersion(),
          sources.schemaSpan);
      return errors;
    }
    if (model.typeDefinitions().size() > MAX_TYPES) {
      error(
          "exceeded-entity-limit",
          "the model has " + model.typeDefinitions().size() + " types; at most " + MAX_TYPES,
          "",
          SourceSpan.NONE);
      return errors;
    }
    checkNames();
    for (TypeDefinition type : types.values()) {
      for (RelationDefinition relation : type.relations().values()) {
        checkDirectTypes(type, relation);
        checkRewrite(type, relation, relation.rewrite());
        checkDuplicatePartials(relation, relation.rewrite());
      }
    }
    checkConditions();
    if (errors.isEmpty()) {
      checkEntryPoints();
    }
    return errors;
  }

  // ------------------------------------------------------------------ phase 1: names

  private void checkNames() {
    errors.addAll(ModularModel.filesWithSeveralModules(model));
    for (TypeDefinition type : model.typeDefinitions()) {
      SourceSpan span = sources.of(type);
      String name = type.name();
      if (name.equals("self") || name.equals("this")) {
        error("reserved-type-keywords", "a type cannot be named 'self' or 'this'.", name, span);
      } else if (!TYPE_NAME.matcher(name).matches()) {
        error(
            "invalid-name",
            "type '" + name + "' does not match naming rule: '" + TYPE_RULE + "'.",
            name,
            span);
      }
      if (types.containsKey(name)) {
        // OpenFGA points at the first definition of the name.
        error(
            "duplicated-error",
            "the type `" + name + "` is a duplicate.",
            name,
            sources.of(types.get(name)));
      } else {
        types.put(name, type);
      }
      if (type.relations().size() > MAX_RELATIONS_PER_TYPE) {
        error(
            "exceeded-entity-limit",
            "type '" + name + "' has more than " + MAX_RELATIONS_PER_TYPE + " relations",
            name,
            span);
      }
      for (RelationDefinition relation : type.relations().values()) {
        String relationName = relation.name();
        SourceSpan relationSpan = sources.of(relation);
        if (relationName.equals("self") || relationName.equals("this")) {
          error(
              "reserved-relation-keywords",
              "a relation cannot be named 'self' or 'this'.",
              relationName,
              relationSpan);
        } else if (!RELATION_NAME.matcher(relationName).matches()) {
          error(
              "invalid-name",
              "relation '"
                  + relationName
                  + "' of type '"
                  + name
                  + "' does not match naming rule: '"
                  + RELATION_RULE
                  + "'.",
              relationName,
              relationSpan);
        }
      }
    }
  }

  // ------------------------------------------------------------------ phase 2: references

  private void checkDirectTypes(TypeDefinition type, RelationDefinition relation) {
    boolean usesThis = containsThis(relation.rewrite());
    if (usesThis && relation.directlyRelatedTypes().isEmpty()) {
      error(
          "assignable-relation-must-have-type",
          "the relation `"
              + relation.name()
              + "` of type `"
              + type.name()
              + "` is directly assignable but names no directly related types.",
          relation.name(),
          sources.of(relation));
    } else if (!usesThis && !relation.directlyRelatedTypes().isEmpty()) {
      error(
          "invalid-relation-type",
          "the relation `"
              + relation.name()
              + "` of type `"
              + type.name()
              + "` lists directly related types but is not directly assignable.",
          relation.name(),
          sources.of(relation));
    }
    Map<String, TypeRestriction> seen = new HashMap<>();
    for (TypeRestriction restriction : relation.directlyRelatedTypes()) {
      SourceSpan span = sources.of(restriction);
      TypeDefinition target = types.get(restriction.type());
      if (target == null) {
        error(
            "invalid-type",
            "`" + restriction.type() + "` is not a valid type.",
            restriction.type(),
            span);
      } else if (restriction.isUserset()
          && !target.relations().containsKey(restriction.relation())) {
        error(
            "invalid-relation-type",
            "`" + restriction.relation() + "` is not a valid relation for `" + target.name() + "`.",
            restriction.relation(),
            span);
      }
      if (restriction.isConditional() && !model.conditions().containsKey(restriction.condition())) {
        error(
            "condition-not-defined",
            "`" + restriction.condition() + "` is not a defined condition in the model.",
            restriction.condition(),
            sources.conditionReferenceSpans.getOrDefault(restriction, SourceSpan.NONE));
      }
      String key = restriction.toString();
      TypeRestriction first = seen.putIfAbsent(key, restriction);
      if (first != null) {
        error(
            "duplicated-error",
            "the type restriction `"
                + key
                + "` is a duplicate in the relation `"
                + relation.name()
                + "`.",
            key,
            sources.of(first));
      }
    }
  }

  private void checkRewrite(TypeDefinition type, RelationDefinition relation, Rewrite rewrite) {
    switch (rewrite) {
      case Rewrite.This t -> {}
      case Rewrite.ComputedUserset c -> {
        if (!type.relations().containsKey(c.relation())) {
          error(
              "missing-definition",
              "the relation `" + c.relation() + "` does not exist.",
              c.relation(),
              sources.of(c));
        }
      }
      case Rewrite.TupleToUserset t -> checkTupleToUserset(type, t);
      case Rewrite.Union u -> u.children().forEach(c -> checkRewrite(type, relation, c));
      case Rewrite.Intersection i -> i.children().forEach(c -> checkRewrite(type, relation, c));
      case Rewrite.Difference d -> {
        checkRewrite(type, relation, d.base());
        checkRewrite(type, relation, d.subtract());
      }
    }
  }

  private void checkTupleToUserset(TypeDefinition type, Rewrite.TupleToUserset ttu) {
    SourceSpan span = sources.of(ttu);
    RelationDefinition tupleset = type.relations().get(ttu.tupleset());
    if (tupleset == null) {
      error(
          "invalid-relation-type",
          "`" + ttu.tupleset() + "` is not a valid relation for `" + type.name() + "`.",
          ttu.tupleset(),
          span);
      return;
    }
    boolean direct =
        tupleset.rewrite() instanceof Rewrite.This
            && tupleset.directlyRelatedTypes().stream()
                .noneMatch(r -> r.isUserset() || r.wildcard());
    if (!direct) {
      error(
          "tupleuserset-not-direct",
          "`" + ttu.tupleset() + "` relation used inside from allows only direct relation.",
          ttu.tupleset(),
          sources.tuplesetSpans.getOrDefault(ttu, span));
      return;
    }
    boolean found = false;
    for (TypeRestriction restriction : tupleset.directlyRelatedTypes()) {
      TypeDefinition target = types.get(restriction.type());
      if (target != null && target.relations().containsKey(ttu.computedRelation())) {
        found = true;
      }
    }
    if (found) {
      return;
    }
    String symbol = ttu.computedRelation() + " from " + ttu.tupleset();
    for (TypeRestriction restriction : tupleset.directlyRelatedTypes()) {
      error(
          "invalid-relation-on-tupleset",
          "the `"
              + ttu.computedRelation()
              + "` relation definition on type `"
              + type.name()
              + "` is not valid: `"
              + ttu.computedRelation()
              + "` does not exist on `"
              + ttu.tupleset()
              + "`, which is of type `"
              + restriction.type()
              + "`.",
          symbol,
          span);
    }
  }

  /** Only the top level, as OpenFGA: {@code a or a}, not {@code (a or a) and b}. */
  private void checkDuplicatePartials(RelationDefinition relation, Rewrite rewrite) {
    List<Rewrite> children =
        switch (rewrite) {
          case Rewrite.Union u -> u.children();
          case Rewrite.Intersection i -> i.children();
          case Rewrite.Difference d -> List.of(d.base(), d.subtract());
          default -> List.of();
        };
    Map<String, Rewrite> seen = new HashMap<>();
    for (Rewrite child : children) {
      String key =
          switch (child) {
            case Rewrite.ComputedUserset c -> c.relation();
            case Rewrite.TupleToUserset t -> t.computedRelation() + " from " + t.tupleset();
            default -> null;
          };
      if (key != null) {
        Rewrite first = seen.putIfAbsent(key, child);
        if (first != null) {
          error(
              "duplicated-error",
              "the partial relation definition `"
                  + key
                  + "` is a duplicate in the relation `"
                  + relation.name()
                  + "`.",
              key,
              sources.of(first));
        }
      }
    }
  }

  private void checkConditions() {
    Set<String> used = new HashSet<>();
    for (TypeDefinition type : model.typeDefinitions()) {
      for (RelationDefinition relation : type.relations().values()) {
        for (TypeRestriction restriction : relation.directlyRelatedTypes()) {
          used.add(restriction.condition());
        }
      }
    }
    for (Condition condition : model.conditions().values()) {
      SourceSpan span = sources.of(condition);
      if (!CONDITION_NAME.matcher(condition.name()).matches()) {
        error(
            "invalid-name",
            "condition '"
                + condition.name()
                + "' does not match naming rule: '"
                + RELATION_RULE
                + "'.",
            condition.name(),
            span);
      }
      if (!used.contains(condition.name())) {
        error(
            "condition-not-used",
            "`" + condition.name() + "` condition is not used in the model.",
            condition.name(),
            span);
      }
    }
  }

  // ------------------------------------------------------------------ phase 3: entry points

  private void checkEntryPoints() {
    Set<String> derivable = derivable();
    for (TypeDefinition type : model.typeDefinitions()) {
      Set<String> cyclic = computedCycles(type);
      for (RelationDefinition relation : type.relations().values()) {
        EntryPoint result;
        if (cyclic.contains(relation.name())) {
          result = EntryPoint.LOOP;
        } else if (derivable.contains(type.name() + "#" + relation.name())) {
          // The path search finds an entry point exactly when one is derivable (a shortest
          // derivation never revisits a relation on its path), so it need not run.
          result = EntryPoint.FOUND;
        } else {
          result = whyNoEntryPoint(type, relation, derivable);
        }
        if (!result.found()) {
          String reason = result.loop() ? "potential loop" : "no entrypoint";
          error(
              "relation-no-entry-point",
              "`"
                  + relation.name()
                  + "` is an impossible relation for `"
                  + type.name()
                  + "` ("
                  + reason
                  + ").",
              relation.name(),
              sources.of(relation));
        }
      }
    }
  }

  /**
   * For a relation without an entry point: whether OpenFGA's path search ends in a loop or finds
   * nothing, which its message tells apart. When the search budget is spent, "no entrypoint".
   */
  private EntryPoint whyNoEntryPoint(
      TypeDefinition type, RelationDefinition relation, Set<String> derivable) {
    if (searchSteps <= 0) {
      return EntryPoint.NONE;
    }
    try {
      return entryPoint(
          type.name(), relation.name(), relation.rewrite(), new HashSet<>(), derivable);
    } catch (SearchBudgetSpent e) {
      return EntryPoint.NONE;
    }
  }

  /** Thrown when {@link #searchSteps} runs out; cheap (no stack trace). */
  private static final class SearchBudgetSpent extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SearchBudgetSpent() {
      super("entry point search budget spent", null, false, false);
    }
  }

  /**
   * Every {@code type#relation} some concrete user can have: the least fixpoint of the rules the
   * path search follows (direct types, usersets and tuple-to-usersets into relations that have one;
   * unions need one child, intersections and exclusions all). Each round adds at least one
   * relation, so this takes at most as many rounds as there are relations.
   */
  private Set<String> derivable() {
    Set<String> found = new HashSet<>();
    boolean changed = true;
    while (changed) {
      changed = false;
      for (TypeDefinition type : types.values()) {
        for (RelationDefinition relation : type.relations().values()) {
          String key = type.name() + "#" + relation.name();
          if (!found.contains(key) && derivable(type, relation, relation.rewrite(), found)) {
            found.add(key);
            changed = true;
          }
        }
      }
    }
    return found;
  }

  private boolean derivable(
      TypeDefinition type, RelationDefinition relation, Rewrite rewrite, Set<String> found) {
    return switch (rewrite) {
      case Rewrite.This t ->
          relation.directlyRelatedTypes().stream()
              .anyMatch(r -> !r.isUserset() || found.contains(r.type() + "#" + r.relation()));
      case Rewrite.ComputedUserset c -> found.contains(type.name() + "#" + c.relation());
      case Rewrite.TupleToUserset t -> {
        RelationDefinition tupleset = type.relations().get(t.tupleset());
        yield tupleset != null
            && tupleset.directlyRelatedTypes().stream()
                .anyMatch(r -> found.contains(r.type() + "#" + t.computedRelation()));
      }
      case Rewrite.Union u ->
          u.children().stream().anyMatch(c -> derivable(type, relation, c, found));
      case Rewrite.Intersection i ->
          i.children().stream().allMatch(c -> derivable(type, relation, c, found));
      case Rewrite.Difference d ->
          derivable(type, relation, d.base(), found)
              && derivable(type, relation, d.subtract(), found);
    };
  }

  /**
   * Directly assignable relations of {@code type} that reach themselves through computed relations
   * alone ({@code define a: [user] or b}, {@code define b: [user] or a}). OpenFGA's language
   * refuses these as a potential loop even though the direct types give them an entry point; a
   * cycle among relations without direct types is accepted.
   */
  private static Set<String> computedCycles(TypeDefinition type) {
    Map<String, Set<String>> edges = new HashMap<>();
    for (RelationDefinition relation : type.relations().values()) {
      Set<String> targets = new HashSet<>();
      collectComputed(relation.rewrite(), targets);
      edges.put(relation.name(), targets);
    }
    Set<String> cyclic = new HashSet<>();
    for (String start : edges.keySet()) {
      Set<String> seen = new HashSet<>();
      List<String> stack = new ArrayList<>(edges.get(start));
      while (!stack.isEmpty()) {
        String next = stack.remove(stack.size() - 1);
        if (next.equals(start)) {
          if (containsThis(Objects.requireNonNull(type.relations().get(start)).rewrite())) {
            cyclic.add(start);
          }
          break;
        }
        if (seen.add(next) && edges.containsKey(next)) {
          stack.addAll(edges.get(next));
        }
      }
    }
    return cyclic;
  }

  private static void collectComputed(Rewrite rewrite, Set<String> targets) {
    switch (rewrite) {
      case Rewrite.ComputedUserset c -> targets.add(c.relation());
      case Rewrite.Union u -> u.children().forEach(c -> collectComputed(c, targets));
      case Rewrite.Intersection i -> i.children().forEach(c -> collectComputed(c, targets));
      case Rewrite.Difference d -> {
        collectComputed(d.base(), targets);
        collectComputed(d.subtract(), targets);
      }
      default -> {}
    }
  }

  private record EntryPoint(boolean found, boolean loop) {
    static final EntryPoint FOUND = new EntryPoint(true, false);
    static final EntryPoint NONE = new EntryPoint(false, false);
    static final EntryPoint LOOP = new EntryPoint(false, true);
  }

  /**
   * Whether some concrete user can reach {@code type#relation} through {@code rewrite}, following
   * OpenFGA's algorithm: direct types are entry points, usersets and tuple-to-usersets recurse into
   * the target relation, and revisiting a relation on the current path is a loop.
   */
  private EntryPoint entryPoint(
      String type,
      String relationName,
      Rewrite rewrite,
      Set<String> visited,
      Set<String> derivable) {
    boolean whole = isWholeRelation(type, relationName, rewrite);
    if (whole && reachable.contains(type + "#" + relationName)) {
      return EntryPoint.FOUND;
    }
    if (--searchSteps < 0) {
      throw new SearchBudgetSpent();
    }
    // The relations on the current path; marked on the way down, unmarked on the way back.
    boolean marked = visited.add(type + "#" + relationName);
    EntryPoint result;
    try {
      result = entryPointUncached(type, relationName, rewrite, visited, derivable);
    } finally {
      if (marked) {
        visited.remove(type + "#" + relationName);
      }
    }
    if (whole && result.found()) {
      reachable.add(type + "#" + relationName);
    }
    return result;
  }

  private boolean isWholeRelation(String type, String relationName, Rewrite rewrite) {
    RelationDefinition relation =
        Objects.requireNonNull(types.get(type)).relations().get(relationName);
    return relation != null && relation.rewrite() == rewrite;
  }

  private EntryPoint entryPointUncached(
      String type,
      String relationName,
      Rewrite rewrite,
      Set<String> visited,
      Set<String> derivable) {
    TypeDefinition definition = Objects.requireNonNull(types.get(type));
    switch (rewrite) {
      case Rewrite.This t -> {
        RelationDefinition relation =
            Objects.requireNonNull(definition.relations().get(relationName));
        for (TypeRestriction restriction : relation.directlyRelatedTypes()) {
          if (!restriction.isUserset()) {
            return EntryPoint.FOUND;
          }
          RelationDefinition target =
              Objects.requireNonNull(types.get(restriction.type()))
                  .relations()
                  .get(restriction.relation());
          if (target == null) {
            return EntryPoint.NONE;
          }
          // Only whether the search finds an entry point counts here, and it cannot find one
          // that is not derivable: skipping those changes no answer.
          if (isVisited(visited, restriction.type(), restriction.relation())
              || !derivable.contains(restriction.type() + "#" + restriction.relation())) {
            continue;
          }
          if (entryPoint(
                  restriction.type(), restriction.relation(), target.rewrite(), visited, derivable)
              .found()) {
            return EntryPoint.FOUND;
          }
        }
        return EntryPoint.NONE;
      }
      case Rewrite.ComputedUserset c -> {
        RelationDefinition target = definition.relations().get(c.relation());
        if (target == null) {
          return EntryPoint.NONE;
        }
        if (isVisited(visited, type, c.relation())) {
          return EntryPoint.LOOP;
        }
        return entryPoint(type, c.relation(), target.rewrite(), visited, derivable);
      }
      case Rewrite.TupleToUserset t -> {
        RelationDefinition tupleset = definition.relations().get(t.tupleset());
        if (tupleset == null) {
          return EntryPoint.NONE;
        }
        for (TypeRestriction restriction : tupleset.directlyRelatedTypes()) {
          TypeDefinition targetType = types.get(restriction.type());
          RelationDefinition target =
              targetType == null ? null : targetType.relations().get(t.computedRelation());
          if (target == null
              || isVisited(visited, restriction.type(), t.computedRelation())
              || !derivable.contains(restriction.type() + "#" + t.computedRelation())) {
            continue;
          }
          if (entryPoint(
                  restriction.type(), t.computedRelation(), target.rewrite(), visited, derivable)
              .found()) {
            return EntryPoint.FOUND;
          }
        }
        return EntryPoint.NONE;
      }
      case Rewrite.Union u -> {
        RelationDefinition relation =
            Objects.requireNonNull(definition.relations().get(relationName));
        boolean loop = false;
        for (Rewrite child : u.children()) {
          // Once a child loops, only a child that finds an entry point changes the answer, and
          // one that is not derivable cannot.
          if (loop && !derivable(definition, relation, child, derivable)) {
            continue;
          }
          EntryPoint result = entryPoint(type, relationName, child, visited, derivable);
          if (result.found()) {
            return EntryPoint.FOUND;
          }
          loop |= result.loop();
        }
        return loop ? EntryPoint.LOOP : EntryPoint.NONE;
      }
      case Rewrite.Intersection i -> {
        for (Rewrite child : i.children()) {
          EntryPoint result = entryPoint(type, relationName, child, visited, derivable);
          if (!result.found()) {
            return result;
          }
        }
        return EntryPoint.FOUND;
      }
      case Rewrite.Difference d -> {
        EntryPoint base = entryPoint(type, relationName, d.base(), visited, derivable);
        if (!base.found()) {
          return base;
        }
        EntryPoint subtract = entryPoint(type, relationName, d.subtract(), visited, derivable);
        return subtract.found() ? EntryPoint.FOUND : subtract;
      }
    }
  }

  private static boolean isVisited(Set<String> visited, String type, String relation) {
    return visited.contains(type + "#" + relation);
  }

  // ------------------------------------------------------------------ helpers

  private static boolean containsThis(Rewrite rewrite) {
    return switch (rewrite) {
      case Rewrite.This t -> true;
      case Rewrite.ComputedUserset c -> false;
      case Rewrite.TupleToUserset t -> false;
      case Rewrite.Union u -> u.children().stream().anyMatch(ModelValidator::containsThis);
      case Rewrite.Intersection i -> i.children().stream().anyMatch(ModelValidator::containsThis);
      case Rewrite.Difference d -> containsThis(d.base()) || containsThis(d.subtract());
    };
  }

  private void error(String kind, String message, String symbol, SourceSpan span) {
    errors.add(new ModelError(kind, message, symbol, span));
  }
}
