package dev.castellan.server.scim;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.server.scim.PatchOperation.Op;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A parsed SCIM PATCH request (RFC 7644 section 3.5.2). {@link #parse} checks the message schema,
 * the operations and their paths, and normalizes what Okta and Microsoft Entra ID send: {@code op}
 * in any case, and a value object without a path (split into one operation per attribute, with keys
 * such as {@code "active"}, {@code "name.givenName"}, a fully qualified {@code
 * "urn:...:enterprise:2.0:User:employeeNumber"}, or an extension schema URN holding an object of
 * that schema's attributes). It does not know the resource schemas: unknown attributes, read-only
 * ones (Okta sends {@code id} when it renames a group) and value types are the resource layer's to
 * check, string booleans with {@link #booleanValue}.
 */
record PatchRequest(List<PatchOperation> operations) {
  /** The most operations one request may hold, counted after splitting path-less values. */
  static final int MAX_OPERATIONS = 1000;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Schema URNs whose key in a path-less value holds an object of that schema's attributes. */
  private static final Set<String> CONTAINER_SCHEMAS =
      Set.of(
          ScimProtocol.ENTERPRISE_USER_SCHEMA.toLowerCase(Locale.ROOT),
          ScimProtocol.USER_SCHEMA.toLowerCase(Locale.ROOT),
          ScimProtocol.GROUP_SCHEMA.toLowerCase(Locale.ROOT));

  PatchRequest {
    operations = List.copyOf(operations);
  }

  /** Parses a PATCH body given as JSON text. */
  static PatchRequest parse(String body) {
    JsonNode tree;
    try {
      tree = JSON.readTree(body);
    } catch (JacksonException e) {
      throw syntax("the body is not valid JSON: " + e.getOriginalMessage());
    }
    if (tree == null) {
      throw syntax("the body is empty");
    }
    return parse(tree);
  }

  /**
   * Parses a PATCH body.
   *
   * @throws ScimException {@code invalidSyntax} for a malformed message, {@code invalidPath} for a
   *     malformed path, {@code noTarget} for a {@code remove} without a path, {@code invalidValue}
   *     for a missing or misshapen value, {@code tooMany} past {@link #MAX_OPERATIONS}
   */
  static PatchRequest parse(JsonNode body) {
    if (!body.isObject()) {
      throw syntax("the body must be a JSON object with 'schemas' and 'Operations'");
    }
    checkSchemas(member(body, "schemas"));
    JsonNode operations = member(body, "Operations");
    if (operations == null || !operations.isArray() || operations.isEmpty()) {
      throw syntax("'Operations' must be a non-empty array of operations");
    }
    if (operations.size() > MAX_OPERATIONS) {
      throw tooMany(operations.size());
    }
    List<PatchOperation> parsed = new ArrayList<>();
    for (int i = 0; i < operations.size(); i++) {
      operation(operations.get(i), i, parsed);
    }
    return new PatchRequest(parsed);
  }

  /**
   * A boolean attribute's value: JSON {@code true}/{@code false}, or the strings {@code "True"} and
   * {@code "False"} in any case, which Entra ID sends for {@code active}.
   *
   * @throws ScimException {@code invalidValue} for anything else
   */
  static boolean booleanValue(JsonNode value, PatchPath path) {
    if (value.isBoolean()) {
      return value.booleanValue();
    }
    if (value.isTextual()) {
      String text = value.textValue();
      if (text.equalsIgnoreCase("true")) {
        return true;
      }
      if (text.equalsIgnoreCase("false")) {
        return false;
      }
    }
    throw ScimException.badRequest(
        ScimType.INVALID_VALUE,
        "'"
            + path.attribute()
            + "' takes true or false, got "
            + FilterParser.abbreviate(value.toString()));
  }

  private static void checkSchemas(@Nullable JsonNode schemas) {
    if (schemas != null && schemas.isArray()) {
      for (JsonNode schema : schemas) {
        if (schema.isTextual()
            && schema.textValue().equalsIgnoreCase(ScimProtocol.PATCH_OP_SCHEMA)) {
          return;
        }
      }
    }
    throw syntax("'schemas' must be [\"" + ScimProtocol.PATCH_OP_SCHEMA + "\"]");
  }

  private static void operation(JsonNode node, int index, List<PatchOperation> into) {
    String where = "Operations[" + index + "]";
    if (!node.isObject()) {
      throw syntax(where + " must be an object with 'op', 'path' and 'value'");
    }
    JsonNode opNode = member(node, "op");
    Op op = opNode != null && opNode.isTextual() ? op(opNode.textValue()) : null;
    if (op == null) {
      throw syntax(
          where
              + ".op must be \"add\", \"remove\" or \"replace\", got "
              + (opNode == null ? "nothing" : FilterParser.abbreviate(opNode.toString())));
    }
    JsonNode pathNode = member(node, "path");
    JsonNode value = member(node, "value");
    if (value != null && value.isNull()) {
      value = null;
    }
    if (pathNode != null
        && pathNode.isTextual()
        && op != Op.REMOVE
        && value != null
        && value.isObject()
        && CONTAINER_SCHEMAS.contains(pathNode.textValue().toLowerCase(Locale.ROOT))) {
      // The path names a whole schema (an extension): its value holds that schema's attributes.
      expandContainer(op, pathNode.textValue(), value, where, into);
      return;
    }
    if (pathNode != null && !pathNode.isNull()) {
      if (!pathNode.isTextual()) {
        throw ScimException.badRequest(
            ScimType.INVALID_PATH, where + ".path must be a string, got " + pathNode.getNodeType());
      }
      PatchPath path;
      try {
        path = FilterParser.parsePath(pathNode.textValue());
      } catch (ScimException e) {
        throw ScimException.badRequest(
            ScimType.INVALID_PATH, where + ".path: " + e.error().detail());
      }
      if (op != Op.REMOVE && value == null) {
        throw ScimException.badRequest(
            ScimType.INVALID_VALUE, where + ": '" + op.wireName() + "' needs a 'value'");
      }
      add(into, new PatchOperation(op, path, value));
      return;
    }
    if (op == Op.REMOVE) {
      throw ScimException.badRequest(
          ScimType.NO_TARGET, where + ": 'remove' needs a 'path' naming what to remove");
    }
    if (value == null || !value.isObject() || value.isEmpty()) {
      throw ScimException.badRequest(
          ScimType.INVALID_VALUE,
          where
              + ": '"
              + op.wireName()
              + "' without a 'path' needs a 'value' object of attributes, got "
              + (value == null ? "nothing" : FilterParser.abbreviate(value.toString())));
    }
    for (Map.Entry<String, JsonNode> attribute : value.properties()) {
      String key = attribute.getKey();
      JsonNode attributeValue = attribute.getValue();
      if (CONTAINER_SCHEMAS.contains(key.toLowerCase(Locale.ROOT)) && attributeValue.isObject()) {
        expandContainer(op, key, attributeValue, where, into);
      } else {
        add(into, new PatchOperation(op, keyPath(key, where), attributeValue));
      }
    }
  }

  private static void expandContainer(
      Op op, String schema, JsonNode attributes, String where, List<PatchOperation> into) {
    for (Map.Entry<String, JsonNode> inner : attributes.properties()) {
      add(
          into,
          new PatchOperation(op, keyPath(schema + ":" + inner.getKey(), where), inner.getValue()));
    }
  }

  /** Adds one operation, refusing the request as soon as it holds too many. */
  private static void add(List<PatchOperation> into, PatchOperation operation) {
    if (into.size() == MAX_OPERATIONS) {
      throw tooMany(MAX_OPERATIONS + 1);
    }
    into.add(operation);
  }

  private static PatchPath keyPath(String key, String where) {
    PatchPath path;
    try {
      path = FilterParser.parsePath(key);
    } catch (ScimException e) {
      throw ScimException.badRequest(
          ScimType.INVALID_PATH,
          where
              + ": the value's key '"
              + FilterParser.abbreviate(key)
              + "' is not an attribute path: "
              + e.error().detail());
    }
    if (path.valueFilter() != null) {
      throw ScimException.badRequest(
          ScimType.INVALID_PATH,
          where
              + ": the value's key '"
              + FilterParser.abbreviate(key)
              + "' must be an attribute, not a filter");
    }
    return path;
  }

  private static @Nullable Op op(String text) {
    for (Op op : Op.values()) {
      if (op.wireName().equalsIgnoreCase(text)) {
        return op;
      }
    }
    return null;
  }

  /** A member by name, ignoring case: SCIM attribute names are case-insensitive (RFC 7643 2.1). */
  private static @Nullable JsonNode member(JsonNode object, String name) {
    JsonNode exact = object.get(name);
    if (exact != null) {
      return exact;
    }
    for (Map.Entry<String, JsonNode> field : object.properties()) {
      if (field.getKey().equalsIgnoreCase(name)) {
        return field.getValue();
      }
    }
    return null;
  }

  private static ScimException syntax(String detail) {
    return ScimException.badRequest(ScimType.INVALID_SYNTAX, "invalid PATCH request: " + detail);
  }

  private static ScimException tooMany(int count) {
    return ScimException.badRequest(
        ScimType.TOO_MANY,
        "the PATCH request holds "
            + (count > MAX_OPERATIONS ? "more than " + MAX_OPERATIONS : count)
            + " operations; at most "
            + MAX_OPERATIONS
            + " are accepted, send the rest in another request");
  }
}
