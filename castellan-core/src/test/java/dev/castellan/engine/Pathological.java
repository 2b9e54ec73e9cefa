package dev.castellan.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Legal models and tuples that make evaluation exponential: the cases of issue 12 ("no work budget
 * or deadline on a check", "explain is unbounded"). Shared with the server's tests (core's test
 * jar).
 */
public final class Pathological {
  private Pathological() {}

  /**
   * A model whose relation {@code r<i>} is {@code [user] or r<i-1> or ... or r0}: a check of {@code
   * r<levels-1>} that finds nothing walks 2^(levels-1) paths.
   */
  public static String unionLadder(int levels) {
    StringBuilder dsl =
        new StringBuilder("model\n  schema 1.1\ntype user\ntype doc\n  relations\n");
    for (int i = 0; i < levels; i++) {
      dsl.append("    define r").append(i).append(": [user]");
      for (int j = i - 1; j >= 0; j--) {
        dsl.append(" or r").append(j);
      }
      dsl.append('\n');
    }
    return dsl.toString();
  }

  /** Folders inheriting {@code viewer} from any of their parents. */
  public static final String FOLDERS =
      """
      model
        schema 1.1
      type user
      type folder
        relations
          define parent: [folder]
          define viewer: [user] or viewer from parent
      """;

  /**
   * About {@code tuples} parent tuples (a multiple of 4) forming a ladder two folders wide: each
   * folder of layer {@code l} has both folders of layer {@code l-1} as parents, so a check on the
   * top layer has 2^layers paths to walk. The top folder is {@link #top}{@code (tuples)}.
   */
  public static List<Tuple> parentLadder(int tuples) {
    List<Tuple> out = new ArrayList<>();
    int layers = tuples / 4;
    for (int l = 1; l <= layers; l++) {
      for (int x = 0; x < 2; x++) {
        for (int y = 0; y < 2; y++) {
          out.add(Tuple.of("folder:" + l + "_" + x, "parent", "folder:" + (l - 1) + "_" + y));
        }
      }
    }
    return out;
  }

  /** The folder at the top of {@link #parentLadder}{@code (tuples)}. */
  public static String top(int tuples) {
    return "folder:" + tuples / 4 + "_0";
  }
}
