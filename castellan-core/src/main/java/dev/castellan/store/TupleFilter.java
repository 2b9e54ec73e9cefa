package dev.castellan.store;

import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;

/**
 * Which tuples to read or delete, as OpenFGA's read request spells it: {@code object} is {@code
 * type:id}, or {@code type:} for every object of a type; {@code relation} and {@code user} narrow
 * it further. Empty strings match anything.
 */
public record TupleFilter(String object, String relation, String user) {

  public TupleFilter {
    object = object == null ? "" : object;
    relation = relation == null ? "" : relation;
    user = user == null ? "" : user;
  }

  public static final TupleFilter ALL = new TupleFilter("", "", "");

  public static TupleFilter object(String object) {
    return new TupleFilter(object, "", "");
  }

  public static TupleFilter user(String user) {
    return new TupleFilter("", "", user);
  }

  public boolean isEmpty() {
    return object.isEmpty() && relation.isEmpty() && user.isEmpty();
  }

  /** The object type the filter names, or "". */
  public String objectType() {
    int colon = object.indexOf(':');
    return colon < 0 ? object : object.substring(0, colon);
  }

  /** The object id, or "" when the filter names a whole type. */
  public String objectId() {
    int colon = object.indexOf(':');
    return colon < 0 ? "" : object.substring(colon + 1);
  }

  public boolean matches(Tuple tuple) {
    return matches(tuple.key());
  }

  public boolean matches(TupleKey key) {
    if (!object.isEmpty()) {
      String id = objectId();
      if (id.isEmpty()
          ? !key.object().startsWith(objectType() + ":")
          : !key.object().equals(object)) {
        return false;
      }
    }
    return (relation.isEmpty() || key.relation().equals(relation))
        && (user.isEmpty() || key.user().equals(user));
  }
}
