package dev.castellan.bench;

import dev.castellan.engine.Engine;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleIndex;
import dev.castellan.model.ModelDsl;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The benchmark dataset of issue 2, generated deterministically: 10,000 users, 1,000 groups nested
 * up to 4 levels, 10,000 folders in 500 trees nested 5 levels, 100,000 documents, about 1,000,000
 * tuples in all. Named subjects give each benchmark a known answer:
 *
 * <ul>
 *   <li>{@code user:direct} is a direct viewer of {@code document:0}.
 *   <li>{@code user:deep} is a member of a leaf group 4 levels below {@code group:top}, which views
 *       folder tree 0; {@code document:deep} sits in that tree's deepest folder.
 *   <li>{@code user:lead} views the roots of 50 trees: 10,000 documents.
 * </ul>
 */
public final class Dataset {
  public static final String MODEL =
      """
      model
        schema 1.1
      type user
      type group
        relations
          define member: [user, group#member]
      type folder
        relations
          define parent: [folder]
          define owner: [user]
          define viewer: [user, group#member] or owner or viewer from parent
      type document
        relations
          define parent: [folder]
          define owner: [user]
          define editor: [user, group#member] or owner
          define viewer: [user, user:*, group#member] or editor or viewer from parent
      """;

  public static final int USERS = 10_000;
  public static final int GROUPS = 1_000;
  public static final int TREES = 500;
  public static final int FOLDERS_PER_TREE = 20;
  public static final int FOLDERS = TREES * FOLDERS_PER_TREE;
  public static final int DOCUMENTS = 100_000;
  public static final int TARGET_TUPLES = 1_000_000;
  public static final int LEAD_TREES = 50;

  private Dataset() {}

  /** Folder {@code i} of tree {@code tree}: 0 is the root; folders form a 5-level tree. */
  static String folder(int tree, int i) {
    return "folder:t" + tree + "-" + i;
  }

  /** Parent index inside a tree: 0 <- 1..3 <- 4..9 <- 10..15 <- 16..19 (depth 5). */
  static int parentInTree(int i) {
    if (i <= 3) {
      return 0;
    }
    if (i <= 9) {
      return 1 + (i - 4) % 3;
    }
    if (i <= 15) {
      return 4 + (i - 10);
    }
    return 10 + (i - 16);
  }

  /** The deepest folder of each tree (level 5): 16..19. */
  static final int DEEPEST = 19;

  public static List<Tuple> tuples() {
    SplittableRandom random = new SplittableRandom(42);
    List<Tuple> out = new ArrayList<>(TARGET_TUPLES + 16);
    // Groups: 4 levels of 250; each group below the top level is a member of one group above it.
    int perLevel = GROUPS / 4;
    for (int level = 1; level < 4; level++) {
      for (int g = 0; g < perLevel; g++) {
        int child = level * perLevel + g;
        int parent = (level - 1) * perLevel + random.nextInt(perLevel);
        out.add(Tuple.of("group:g" + parent, "member", "group:g" + child + "#member"));
      }
    }
    // Memberships: each user in 5 distinct groups.
    for (int u = 0; u < USERS; u++) {
      java.util.Set<Integer> groups = new java.util.HashSet<>();
      while (groups.size() < 5) {
        groups.add(random.nextInt(GROUPS));
      }
      for (int g : groups) {
        out.add(Tuple.of("group:g" + g, "member", "user:u" + u));
      }
    }
    // Folder trees.
    for (int t = 0; t < TREES; t++) {
      for (int i = 1; i < FOLDERS_PER_TREE; i++) {
        out.add(Tuple.of(folder(t, i), "parent", folder(t, parentInTree(i))));
      }
      for (int i = 0; i < FOLDERS_PER_TREE; i++) {
        out.add(Tuple.of(folder(t, i), "owner", "user:u" + random.nextInt(USERS)));
        out.add(Tuple.of(folder(t, i), "viewer", "group:g" + random.nextInt(GROUPS) + "#member"));
      }
    }
    // Documents: 10 per folder, each with parent, owner, an editor and viewers.
    for (int d = 0; d < DOCUMENTS; d++) {
      int f = d / (DOCUMENTS / FOLDERS);
      String document = "document:" + d;
      out.add(Tuple.of(document, "parent", folder(f / FOLDERS_PER_TREE, f % FOLDERS_PER_TREE)));
      out.add(Tuple.of(document, "owner", "user:u" + random.nextInt(USERS)));
      out.add(Tuple.of(document, "editor", "user:u" + random.nextInt(USERS)));
    }
    // Named subjects with known answers.
    out.add(Tuple.of("document:0", "viewer", "user:direct"));
    out.add(Tuple.of("group:top", "member", "group:l1#member"));
    out.add(Tuple.of("group:l1", "member", "group:l2#member"));
    out.add(Tuple.of("group:l2", "member", "group:l3#member"));
    out.add(Tuple.of("group:l3", "member", "user:deep"));
    out.add(Tuple.of(folder(0, 0), "viewer", "group:top#member"));
    out.add(Tuple.of("document:deep", "parent", folder(0, DEEPEST)));
    for (int t = 0; t < LEAD_TREES; t++) {
      out.add(Tuple.of(folder(TREES - 1 - t, 0), "viewer", "user:lead"));
    }
    // Fill up to the target with direct viewers (users mostly, some groups), no duplicates.
    java.util.HashSet<String> seen = new java.util.HashSet<>();
    while (out.size() < TARGET_TUPLES) {
      String document = "document:" + random.nextInt(DOCUMENTS);
      String user =
          random.nextInt(10) == 0
              ? "group:g" + random.nextInt(GROUPS) + "#member"
              : "user:u" + random.nextInt(USERS);
      if (seen.add(document + "@" + user)) {
        out.add(Tuple.of(document, "viewer", user));
      }
    }
    return out;
  }

  /** Builds the index in batches of 10,000, as a loader would. */
  public static TupleIndex index(List<Tuple> tuples) {
    TupleIndex index = TupleIndex.create(tuples.size());
    for (int i = 0; i < tuples.size(); i += 10_000) {
      index.write(tuples.subList(i, Math.min(tuples.size(), i + 10_000)));
    }
    return index;
  }

  public static Engine engine(TupleIndex index) {
    return Engine.create(ModelDsl.parse(MODEL), index);
  }
}
