package dev.castellan.engine;

import java.util.Objects;

/**
 * The identity of a relationship tuple: {@code object#relation@user}. Users are {@code type:id},
 * {@code type:*} or {@code type:id#relation}.
 */
public record TupleKey(String object, String relation, String user) {

  public TupleKey {
    Objects.requireNonNull(object, "object");
    Objects.requireNonNull(relation, "relation");
    Objects.requireNonNull(user, "user");
  }

  @Override
  public String toString() {
    return object + "#" + relation + "@" + user;
  }
}
