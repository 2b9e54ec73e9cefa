package dev.castellan.engine;

import dev.castellan.condition.ConditionEvaluator;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.RelationDefinition;
import dev.castellan.model.Rewrite;
import dev.castellan.model.TypeDefinition;
import dev.castellan.model.TypeRestriction;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A validated model with names interned against one index: relation lookups are two array reads.
 * Also holds the reverse dependency tables that list-objects walks.
 */
final class CompiledModel {
  /** {@code relation} on the same object is implied by the fact's relation. */
  record ComputedDependency(int relation, boolean needsCheck) {}

  /** A fact on a parent implies {@code relation} on children linked by {@code tupleset}. */
  record TupleToUsersetDependency(int childType, int tupleset, int relation, boolean needsCheck) {}

  private static final RelationInfo[] NO_RELATIONS = new RelationInfo[0];

  final AuthorizationModel source;
  final Names names;
  final ConditionEvaluator conditions;
  private final RelationInfo[][] relations;
  private final boolean[] definedTypes;
  private final Map<Long, List<ComputedDependency>> computedDependencies = new HashMap<>();
  private final Map<Long, List<TupleToUsersetDependency>> tupleToUsersetDependencies =
      new HashMap<>();

  CompiledModel(AuthorizationModel source, Names names, ConditionEvaluator conditions) {
    this.source = source;
    this.names = names;
    this.conditions = conditions;
    for (TypeDefinition type : source.typeDefinitions()) {
      names.intern(type.name());
      for (String relation : type.relations().keySet()) {
        names.intern(relation);
      }
    }
    int size = names.size();
    relations = new RelationInfo[size][];
    definedTypes = new boolean[size];
    for (TypeDefinition type : source.typeDefinitions()) {
      int typeId = names.find(type.name());
      definedTypes[typeId] = true;
      RelationInfo[] byRelation = new RelationInfo[size];
      for (RelationDefinition definition : type.relations().values()) {
        int relationId = names.find(definition.name());
        byRelation[relationId] =
            new RelationInfo(
                typeId,
                relationId,
                type.name(),
                definition.name(),
                compile(definition.rewrite()),
                restrictions(definition.directlyRelatedTypes()),
                directNeedsCheck(definition.rewrite(), true));
      }
      relations[typeId] = byRelation;
    }
    for (int t = 0; t < size; t++) {
      for (RelationInfo info : relations(t)) {
        if (info != null) {
          collectDependencies(info, info.rewrite, true);
        }
      }
    }
    markPureDirect();
  }

  /**
   * Finds the pure-direct relations (the greatest set of direct-only relations whose admitted
   * usersets are all in the set, so cycles among them are fine), then, for every relation whose
   * admitted usersets are all pure direct, the relations reachable below it.
   */
  private void markPureDirect() {
    List<RelationInfo> all = new ArrayList<>();
    for (RelationInfo[] byRelation : relations) {
      if (byRelation != null) {
        for (RelationInfo info : byRelation) {
          if (info != null) {
            all.add(info);
            info.pureDirect = info.rewrite instanceof Node.Direct;
          }
        }
      }
    }
    boolean changed = true;
    while (changed) {
      changed = false;
      for (RelationInfo info : all) {
        if (info.pureDirect && !usersetsPureDirect(info)) {
          info.pureDirect = false;
          changed = true;
        }
      }
    }
    for (RelationInfo info : all) {
      if (!usersetsPureDirect(info)) {
        continue;
      }
      java.util.TreeSet<Long> reachable = new java.util.TreeSet<>();
      java.util.ArrayDeque<RelationInfo> queue = new java.util.ArrayDeque<>(List.of(info));
      while (!queue.isEmpty()) {
        for (Restriction r : queue.poll().restrictions) {
          if (r.relation() >= 0 && reachable.add(Relationships.key(r.type(), r.relation()))) {
            // A restriction names only relations the model defines (the validator saw to it).
            queue.add(Objects.requireNonNull(relation(r.type(), r.relation())));
          }
        }
      }
      if (!reachable.isEmpty()) {
        info.usersetClosure = reachable.stream().mapToLong(Long::longValue).toArray();
      }
    }
  }

  private boolean usersetsPureDirect(RelationInfo info) {
    for (Restriction r : info.restrictions) {
      if (r.relation() >= 0) {
        RelationInfo target = relation(r.type(), r.relation());
        if (target == null || !target.pureDirect) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * The estimated heap of this compiled model: its relation tables and dependency maps, plus the
   * model as read and its compiled conditions ({@link ModelFootprint}).
   */
  long estimatedBytes() {
    long bytes =
        40 + HeapSizes.array(4, relations.length) + HeapSizes.array(1, definedTypes.length);
    for (RelationInfo[] byRelation : relations) {
      if (byRelation != null) {
        bytes += HeapSizes.array(4, byRelation.length);
        for (RelationInfo info : byRelation) {
          if (info != null) {
            bytes += ModelFootprint.relationInfo(info);
          }
        }
      }
    }
    bytes += ModelFootprint.dependencies(computedDependencies);
    bytes += ModelFootprint.dependencies(tupleToUsersetDependencies);
    return bytes + ModelFootprint.of(source);
  }

  boolean isType(int type) {
    return type >= 0 && type < definedTypes.length && definedTypes[type];
  }

  /** The relation, or null when the type does not define it (or either id is unknown). */
  @Nullable RelationInfo relation(int type, int relation) {
    if (type < 0 || type >= relations.length || relation < 0) {
      return null;
    }
    RelationInfo[] byRelation = relations[type];
    if (byRelation == null || relation >= byRelation.length) {
      return null;
    }
    return byRelation[relation];
  }

  RelationInfo[] relations(int type) {
    RelationInfo[] byRelation = type < relations.length ? relations[type] : null;
    return byRelation == null ? NO_RELATIONS : byRelation;
  }

  List<ComputedDependency> computedDependencies(int type, int relation) {
    return computedDependencies.getOrDefault(Relationships.key(type, relation), List.of());
  }

  List<TupleToUsersetDependency> tupleToUsersetDependencies(int parentType, int relation) {
    return tupleToUsersetDependencies.getOrDefault(
        Relationships.key(parentType, relation), List.of());
  }

  private Node compile(Rewrite rewrite) {
    return switch (rewrite) {
      case Rewrite.This t -> new Node.Direct();
      case Rewrite.ComputedUserset c -> new Node.Computed(names.intern(c.relation()));
      case Rewrite.TupleToUserset t ->
          new Node.TupleToUserset(names.intern(t.tupleset()), names.intern(t.computedRelation()));
      case Rewrite.Union u -> new Node.Union(compileAll(u.children()));
      case Rewrite.Intersection i -> new Node.Intersection(compileAll(i.children()));
      case Rewrite.Difference d -> new Node.Difference(compile(d.base()), compile(d.subtract()));
    };
  }

  private Node[] compileAll(List<Rewrite> children) {
    Node[] nodes = new Node[children.size()];
    for (int i = 0; i < nodes.length; i++) {
      nodes[i] = compile(children.get(i));
    }
    return nodes;
  }

  private Restriction[] restrictions(List<TypeRestriction> types) {
    Restriction[] out = new Restriction[types.size()];
    for (int i = 0; i < out.length; i++) {
      TypeRestriction t = types.get(i);
      out[i] =
          new Restriction(
              names.intern(t.type()),
              t.isUserset() ? names.intern(t.relation()) : -1,
              t.wildcard(),
              t.condition());
    }
    return out;
  }

  /** Whether the direct part sits under an intersection or a difference (so needs a check). */
  private static boolean directNeedsCheck(Rewrite rewrite, boolean monotonic) {
    return switch (rewrite) {
      case Rewrite.This t -> !monotonic;
      case Rewrite.ComputedUserset c -> false;
      case Rewrite.TupleToUserset t -> false;
      case Rewrite.Union u ->
          u.children().stream().anyMatch(child -> directNeedsCheck(child, monotonic));
      case Rewrite.Intersection i ->
          i.children().stream().anyMatch(child -> directNeedsCheck(child, false));
      case Rewrite.Difference d -> directNeedsCheck(d.base(), false);
    };
  }

  /**
   * Records, for each relation a rewrite reads, which relations it can imply. Only the positions
   * that can grant are followed: a difference's subtracted side never adds an object.
   */
  private void collectDependencies(RelationInfo owner, Node node, boolean monotonic) {
    switch (node) {
      case Node.Direct d -> {}
      case Node.Computed c ->
          computedDependencies
              .computeIfAbsent(Relationships.key(owner.type, c.relation()), k -> new ArrayList<>())
              .add(new ComputedDependency(owner.relation, !monotonic));
      case Node.TupleToUserset t -> {
        RelationInfo tupleset = relation(owner.type, t.tupleset());
        if (tupleset != null) {
          for (Restriction parent : tupleset.restrictions) {
            if (parent.relation() < 0 && !parent.wildcard()) {
              List<TupleToUsersetDependency> deps =
                  tupleToUsersetDependencies.computeIfAbsent(
                      Relationships.key(parent.type(), t.computed()), k -> new ArrayList<>());
              TupleToUsersetDependency dep =
                  new TupleToUsersetDependency(
                      owner.type, t.tupleset(), owner.relation, !monotonic);
              if (!deps.contains(dep)) {
                deps.add(dep);
              }
            }
          }
        }
      }
      case Node.Union u -> {
        for (Node child : u.children()) {
          collectDependencies(owner, child, monotonic);
        }
      }
      case Node.Intersection i -> {
        for (Node child : i.children()) {
          collectDependencies(owner, child, false);
        }
      }
      case Node.Difference d -> collectDependencies(owner, d.base(), false);
    }
  }
}
