package dev.castellan.engine;

import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.Condition;
import dev.castellan.model.ModuleSource;
import dev.castellan.model.RelationDefinition;
import dev.castellan.model.Rewrite;
import dev.castellan.model.TypeDefinition;
import dev.castellan.model.TypeRestriction;
import java.util.List;
import java.util.Map;

/**
 * The estimated heap of an authorization model as an engine holds it: the model as read (each
 * engine reads its own copy from the store) and its compiled conditions. The compiled relation
 * tables are {@link CompiledModel}'s own estimate.
 */
final class ModelFootprint {
  /**
   * A compiled condition beyond its source: the checked CEL tree and program on the shared runtime,
   * its parameters. Measured with {@code StoreFootprint} (castellan-bench) on a one-line condition;
   * longer expressions add {@link #CONDITION_BYTES_PER_CHAR} per character.
   */
  static final long CONDITION_BYTES = 600;

  static final long CONDITION_BYTES_PER_CHAR = 20;

  private ModelFootprint() {}

  /** The model as read, with its compiled conditions. */
  static long of(AuthorizationModel model) {
    long bytes = 24 + string(model.schemaVersion()) + list(model.typeDefinitions().size());
    for (TypeDefinition type : model.typeDefinitions()) {
      bytes += 24 + string(type.name()) + map(type.relations().size()) + source(type.source());
      for (RelationDefinition relation : type.relations().values()) {
        bytes += 32 + string(relation.name()) + rewrite(relation.rewrite());
        bytes += list(relation.directlyRelatedTypes().size()) + source(relation.source());
        for (TypeRestriction restriction : relation.directlyRelatedTypes()) {
          bytes += 32 + string(restriction.type()) + string(restriction.relation());
          bytes += string(restriction.condition());
        }
      }
    }
    bytes += map(model.conditions().size());
    for (Condition condition : model.conditions().values()) {
      bytes += 32 + string(condition.name()) + string(condition.expression());
      bytes += map(condition.parameters().size()) + source(condition.source());
      for (String parameter : condition.parameters().keySet()) {
        bytes += string(parameter);
      }
      bytes += CONDITION_BYTES + CONDITION_BYTES_PER_CHAR * condition.expression().length();
    }
    return bytes;
  }

  private static long rewrite(Rewrite rewrite) {
    return switch (rewrite) {
      case Rewrite.This t -> 16;
      case Rewrite.ComputedUserset c -> 16 + string(c.relation());
      case Rewrite.TupleToUserset t -> 24 + string(t.tupleset()) + string(t.computedRelation());
      case Rewrite.Union u -> 16 + rewrites(u.children());
      case Rewrite.Intersection i -> 16 + rewrites(i.children());
      case Rewrite.Difference d -> 24 + rewrite(d.base()) + rewrite(d.subtract());
    };
  }

  private static long rewrites(List<Rewrite> children) {
    long bytes = list(children.size());
    for (Rewrite child : children) {
      bytes += rewrite(child);
    }
    return bytes;
  }

  /** An immutable list of {@code size} references. */
  private static long list(int size) {
    return size <= 2 ? 24 : 16 + HeapSizes.array(4, size);
  }

  /**
   * An unmodifiable view over a linked hash map of {@code size} entries, with the key and value
   * views that iterating it leaves behind.
   */
  private static long map(int size) {
    return 32 + 56 + HeapSizes.hashTable(size) + 40L * size + 64;
  }

  private static long source(ModuleSource source) {
    return source == ModuleSource.NONE ? 0 : 24 + string(source.module()) + string(source.file());
  }

  /** A string the model holds; the empty string is the shared literal. */
  private static long string(String s) {
    return s.isEmpty() ? 0 : HeapSizes.string(s);
  }

  /** Sizes of the compiled relation tables, for {@link CompiledModel#estimatedBytes}. */
  static long relationInfo(RelationInfo info) {
    long bytes = 48 + HeapSizes.array(4, info.restrictions.length) + node(info.rewrite);
    bytes += 32L * info.restrictions.length;
    long[] closure = info.usersetClosure;
    return closure == null ? bytes : bytes + HeapSizes.array(8, closure.length);
  }

  private static long node(Node node) {
    return switch (node) {
      case Node.Direct d -> 16;
      case Node.Computed c -> 16;
      case Node.TupleToUserset t -> 24;
      case Node.Union u -> 16 + nodes(u.children());
      case Node.Intersection i -> 16 + nodes(i.children());
      case Node.Difference d -> 24 + node(d.base()) + node(d.subtract());
    };
  }

  private static long nodes(Node[] children) {
    long bytes = HeapSizes.array(4, children.length);
    for (Node child : children) {
      bytes += node(child);
    }
    return bytes;
  }

  /** A map from a boxed long key to a list of {@code entries} small records. */
  static long dependencies(Map<Long, ? extends List<?>> map) {
    long bytes = 48 + HeapSizes.hashTable(map.size());
    for (List<?> list : map.values()) {
      // Node, boxed key, ArrayList with its default array of ten, the records.
      bytes += HeapSizes.MAP_NODE + 24 + 24 + HeapSizes.array(4, Math.max(10, list.size()));
      bytes += 24L * list.size();
    }
    return bytes;
  }
}
