package dev.castellan.server.scim;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * One PATCH operation after {@link PatchRequest} has parsed and normalized it: it always has a path
 * (an {@code add} or {@code replace} without one is split into one operation per attribute of its
 * value object), and it has a value unless it is a {@code remove}. A {@code remove} may carry a
 * value too: Entra ID removes group members with {@code path: "members"} and the members to remove
 * as the value, where the RFC would remove them all.
 */
record PatchOperation(Op op, PatchPath path, @Nullable JsonNode value) {
  PatchOperation {
    if (op != Op.REMOVE && value == null) {
      throw new IllegalArgumentException("an " + op.wireName() + " operation needs a value");
    }
  }

  /** The {@code op} values of RFC 7644 section 3.5.2, matched case-insensitively. */
  enum Op {
    ADD,
    REMOVE,
    REPLACE;

    String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }
}
