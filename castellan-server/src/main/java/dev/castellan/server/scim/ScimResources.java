package dev.castellan.server.scim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryQuery.Attribute;
import dev.castellan.store.UserDraft;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The resource layer of the service: what a User or Group may contain (attribute names and types,
 * checked before anything is stored), PATCH operations applied to a resource's JSON, filters
 * translated into {@link DirectoryQuery}, and {@code attributes} / {@code excludedAttributes}
 * applied to an answer. Everything here works on copies: a request it refuses changes nothing.
 */
final class ScimResources {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** The User attributes of RFC 7643 section 4.1, by lower-cased name, in their canonical case. */
  private static final Map<String, String> USER_ATTRIBUTES =
      canonical(
          "userName",
          "name",
          "displayName",
          "nickName",
          "profileUrl",
          "title",
          "userType",
          "preferredLanguage",
          "locale",
          "timezone",
          "active",
          "emails",
          "phoneNumbers",
          "ims",
          "photos",
          "addresses",
          "entitlements",
          "roles",
          "x509Certificates",
          "externalId",
          ScimProtocol.ENTERPRISE_USER_SCHEMA);

  /** Attributes a client may send but the service never keeps (its own, or secrets). */
  private static final Set<String> IGNORED = Set.of("id", "meta", "schemas", "groups", "password");

  private ScimResources() {}

  private static Map<String, String> canonical(String... names) {
    Map<String, String> out = new java.util.HashMap<>();
    for (String name : names) {
      out.put(name.toLowerCase(Locale.ROOT), name);
    }
    return Map.copyOf(out);
  }

  static ScimException invalidValue(String detail) {
    return ScimException.badRequest(ScimType.INVALID_VALUE, detail);
  }

  static ScimException invalidPath(String detail) {
    return ScimException.badRequest(ScimType.INVALID_PATH, detail);
  }

  // ------------------------------------------------------------------ users

  /**
   * The User a client sent, checked and with attribute names in their canonical case: without the
   * attributes the service assigns ({@code id}, {@code meta}, {@code groups}) and without {@code
   * password}, which is never stored.
   */
  static ObjectNode user(JsonNode body) {
    if (!body.isObject()) {
      throw invalidValue("a User is a JSON object");
    }
    ObjectNode out = NODES.objectNode();
    for (Map.Entry<String, JsonNode> field : body.properties()) {
      String lower = field.getKey().toLowerCase(Locale.ROOT);
      if (IGNORED.contains(lower) || field.getValue().isNull()) {
        continue;
      }
      String name = USER_ATTRIBUTES.get(lower);
      if (name == null) {
        throw invalidValue(
            "a User has no attribute '" + FilterParser.abbreviate(field.getKey()) + "'");
      }
      out.set(name, field.getValue());
    }
    checkUser(out);
    return out;
  }

  private static void checkUser(ObjectNode user) {
    JsonNode userName = user.get("userName");
    if (userName == null || !userName.isTextual() || userName.asText().isBlank()) {
      throw invalidValue("userName is required, a non-empty string");
    }
    for (String text : List.of("externalId", "displayName", "nickName", "title", "userType")) {
      JsonNode value = user.get(text);
      if (value != null && !value.isTextual()) {
        throw invalidValue(text + " is a string");
      }
    }
    JsonNode active = user.get("active");
    if (active != null) {
      user.put(
          "active",
          PatchRequest.booleanValue(active, new PatchPath(AttributePath.of("active"), null)));
    }
    for (String complex : List.of("name", ScimProtocol.ENTERPRISE_USER_SCHEMA)) {
      JsonNode value = user.get(complex);
      if (value != null && !value.isObject()) {
        throw invalidValue(complex + " is an object");
      }
    }
    JsonNode emails = user.get("emails");
    if (emails != null) {
      if (!emails.isArray()) {
        throw invalidValue("emails is an array of {\"value\": ...} objects");
      }
      for (JsonNode email : emails) {
        if (!email.isObject() || !email.path("value").isTextual()) {
          throw invalidValue("each of emails is an object with a string value");
        }
      }
    }
  }

  /** What the directory keeps of a checked User. */
  static UserDraft userDraft(ObjectNode user) {
    List<String> emails = new ArrayList<>();
    for (JsonNode email : user.path("emails")) {
      emails.add(email.get("value").asText());
    }
    try {
      return new UserDraft(
          user.get("userName").asText(),
          user.path("externalId").asText(""),
          user.path("displayName").asText(""),
          !user.has("active") || user.get("active").asBoolean(),
          emails,
          user.toString());
    } catch (dev.castellan.CastellanException e) {
      throw invalidValue(String.valueOf(e.getMessage()));
    }
  }

  // ------------------------------------------------------------------ PATCH on a resource's JSON

  /**
   * Applies {@code op} to {@code resource} (a copy the caller owns), for a complex or simple
   * attribute; multi-valued attributes are arrays of objects, chosen by the path's value filter.
   */
  static void apply(ObjectNode resource, PatchOperation op, Map<String, String> attributes) {
    AttributePath path = op.path().attribute();
    String name = attributes.get(path.name().toLowerCase(Locale.ROOT));
    if (path.schema() != null
        && path.schema().equalsIgnoreCase(ScimProtocol.ENTERPRISE_USER_SCHEMA)
        && attributes == USER_ATTRIBUTES) {
      ObjectNode extension = resource.withObjectProperty(ScimProtocol.ENTERPRISE_USER_SCHEMA);
      applyTo(extension, path.name(), path.subAttribute(), op, null);
      return;
    }
    if (name == null) {
      throw invalidPath("no attribute '" + FilterParser.abbreviate(path.toString()) + "'");
    }
    applyTo(resource, name, path.subAttribute(), op, op.path().valueFilter());
  }

  /** {@link #apply} for Users. */
  static void applyToUser(ObjectNode user, PatchOperation op) {
    apply(user, op, USER_ATTRIBUTES);
  }

  private static void applyTo(
      ObjectNode target,
      String name,
      @Nullable String sub,
      PatchOperation op,
      @Nullable Filter valueFilter) {
    JsonNode value = op.value();
    if (valueFilter != null) {
      JsonNode current = target.get(name);
      if (current == null || !current.isArray()) {
        if (op.op() == PatchOperation.Op.REMOVE) {
          return;
        }
        throw ScimException.badRequest(ScimType.NO_TARGET, "no value of " + name + " matches");
      }
      ArrayNode values = (ArrayNode) current;
      boolean matched = false;
      for (int i = values.size() - 1; i >= 0; i--) {
        JsonNode element = values.get(i);
        if (!matches(element, valueFilter)) {
          continue;
        }
        matched = true;
        if (sub == null) {
          if (op.op() == PatchOperation.Op.REMOVE) {
            values.remove(i);
          } else if (value != null && value.isObject()) {
            ((ObjectNode) element).setAll((ObjectNode) value);
          } else {
            throw invalidValue("the value for " + name + "[...] is an object");
          }
        } else if (element.isObject()) {
          if (op.op() == PatchOperation.Op.REMOVE) {
            ((ObjectNode) element).remove(sub);
          } else {
            ((ObjectNode) element).set(sub, value);
          }
        }
      }
      if (!matched && op.op() != PatchOperation.Op.REMOVE) {
        throw ScimException.badRequest(ScimType.NO_TARGET, "no value of " + name + " matches");
      }
      return;
    }
    if (sub != null) {
      JsonNode parent = target.get(name);
      if (op.op() == PatchOperation.Op.REMOVE) {
        if (parent != null && parent.isObject()) {
          ((ObjectNode) parent).remove(sub);
        }
        return;
      }
      if (parent != null && !parent.isObject()) {
        throw invalidPath(name + " has no sub-attribute " + FilterParser.abbreviate(sub));
      }
      target.withObjectProperty(name).set(sub, value);
      return;
    }
    switch (op.op()) {
      case REMOVE -> target.remove(name);
      case ADD -> {
        JsonNode current = target.get(name);
        if (current != null && current.isArray() && value != null && value.isArray()) {
          ((ArrayNode) current).addAll((ArrayNode) value);
        } else if (current != null && current.isObject() && value != null && value.isObject()) {
          ((ObjectNode) current).setAll((ObjectNode) value);
        } else {
          target.set(name, value);
        }
      }
      case REPLACE -> target.set(name, value);
    }
  }

  /** Whether a multi-valued attribute's value matches a PATCH path's filter. */
  static boolean matches(JsonNode element, Filter filter) {
    return switch (filter) {
      case Filter.And and -> matches(element, and.left()) && matches(element, and.right());
      case Filter.Or or -> matches(element, or.left()) || matches(element, or.right());
      case Filter.Not not -> !matches(element, not.filter());
      case Filter.Present present -> {
        JsonNode v = element.get(present.path().name());
        yield v != null && !v.isNull() && !v.asText().isEmpty();
      }
      case Filter.Comparison c -> {
        JsonNode v = field(element, c.path().name());
        String literal =
            switch (c.value()) {
              case Filter.Literal.Text t -> t.value();
              case Filter.Literal.Bool b -> Boolean.toString(b.value());
              case Filter.Literal.Number n -> n.value().toPlainString();
              case Filter.Literal.Null n -> "";
            };
        String actual = v == null ? "" : v.asText();
        yield switch (c.operator()) {
          case EQ -> actual.equalsIgnoreCase(literal);
          case NE -> !actual.equalsIgnoreCase(literal);
          case CO -> actual.toLowerCase(Locale.ROOT).contains(literal.toLowerCase(Locale.ROOT));
          case SW -> actual.toLowerCase(Locale.ROOT).startsWith(literal.toLowerCase(Locale.ROOT));
          case EW -> actual.toLowerCase(Locale.ROOT).endsWith(literal.toLowerCase(Locale.ROOT));
          case GT, GE, LT, LE ->
              throw invalidPath("ordering comparisons are not supported in a PATCH path");
        };
      }
      case Filter.ValuePath vp -> throw invalidPath("a value filter cannot nest");
    };
  }

  private static @Nullable JsonNode field(JsonNode element, String name) {
    for (Iterator<Map.Entry<String, JsonNode>> it = element.properties().iterator();
        it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      if (entry.getKey().equalsIgnoreCase(name)) {
        return entry.getValue();
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ filters

  /**
   * {@code filter} as a directory query, for users or groups: comparisons {@code eq}, {@code ne},
   * {@code co}, {@code sw} on a string, {@code pr}, joined by {@code and} / {@code or}, on the
   * attributes the directory indexes. Anything else is {@code 400 invalidFilter}.
   */
  static DirectoryQuery query(@Nullable Filter filter, boolean users) {
    return filter == null ? DirectoryQuery.ALL : query(filter, users, null);
  }

  private static DirectoryQuery query(Filter filter, boolean users, @Nullable String within) {
    return switch (filter) {
      case Filter.And and ->
          query(and.left(), users, within).and(query(and.right(), users, within));
      case Filter.Or or -> query(or.left(), users, within).or(query(or.right(), users, within));
      case Filter.Present present ->
          DirectoryQuery.present(attribute(present.path(), users, within));
      case Filter.Comparison c -> {
        Attribute attribute = attribute(c.path(), users, within);
        DirectoryQuery.Operator operator =
            switch (c.operator()) {
              case EQ -> DirectoryQuery.Operator.EQ;
              case NE -> DirectoryQuery.Operator.NE;
              case CO -> DirectoryQuery.Operator.CO;
              case SW -> DirectoryQuery.Operator.SW;
              case EW, GT, GE, LT, LE ->
                  throw invalidFilter(
                      "the operator " + c.operator().wireName() + " is not supported");
            };
        if (!(c.value() instanceof Filter.Literal.Text text)) {
          throw invalidFilter("compare " + c.path() + " with a string");
        }
        try {
          yield new DirectoryQuery.Compare(attribute, operator, text.value());
        } catch (dev.castellan.CastellanException e) {
          throw invalidFilter(String.valueOf(e.getMessage()));
        }
      }
      case Filter.ValuePath vp -> {
        if (within != null || vp.path().subAttribute() != null) {
          throw invalidFilter("a value filter cannot nest");
        }
        yield query(vp.filter(), users, vp.path().name());
      }
      case Filter.Not not -> throw invalidFilter("'not' is not supported");
    };
  }

  private static Attribute attribute(AttributePath path, boolean users, @Nullable String within) {
    String key =
        within == null ? path.key() : (within + "." + path.name()).toLowerCase(Locale.ROOT);
    Attribute attribute =
        switch (key) {
          case "username" -> Attribute.USER_NAME;
          case "externalid" -> Attribute.EXTERNAL_ID;
          case "displayname" -> Attribute.DISPLAY_NAME;
          case "emails", "emails.value" -> Attribute.EMAIL;
          case "members", "members.value" -> Attribute.MEMBER;
          default -> null;
        };
    if (attribute == null || (users ? !attribute.appliesToUsers() : !attribute.appliesToGroups())) {
      throw invalidFilter(
          "cannot filter "
              + (users ? "Users" : "Groups")
              + " on "
              + FilterParser.abbreviate(path.toString())
              + "; filter on "
              + (users
                  ? "userName, externalId, displayName or emails.value"
                  : "displayName, externalId or members.value"));
    }
    return attribute;
  }

  private static ScimException invalidFilter(String detail) {
    return ScimException.badRequest(ScimType.INVALID_FILTER, detail);
  }

  // ------------------------------------------------------------------ projections

  /**
   * Applies {@code attributes} (only these, plus {@code id} and {@code schemas}) or else {@code
   * excludedAttributes} (all but these) to an answer, by top-level name or {@code name.sub}.
   */
  static ObjectNode project(
      ObjectNode resource, List<AttributePath> attributes, List<AttributePath> excluded) {
    if (attributes.isEmpty() && excluded.isEmpty()) {
      return resource;
    }
    ObjectNode out = resource.deepCopy();
    if (!attributes.isEmpty()) {
      Set<String> keep = new LinkedHashSet<>(List.of("id", "schemas", "meta"));
      for (AttributePath path : attributes) {
        keep.add(path.name().toLowerCase(Locale.ROOT));
      }
      retain(out, name -> !keep.contains(name.toLowerCase(Locale.ROOT)));
      for (AttributePath path : attributes) {
        if (path.subAttribute() != null) {
          JsonNode parent = field(out, path.name());
          String sub = path.subAttribute();
          forEachObject(parent, o -> retain(o, n -> !n.equalsIgnoreCase(sub)));
        }
      }
      return out;
    }
    for (AttributePath path : excluded) {
      if (path.is("id") || path.is("schemas")) {
        continue;
      }
      if (path.subAttribute() == null) {
        retain(out, name -> name.equalsIgnoreCase(path.name()));
      } else {
        String sub = path.subAttribute();
        forEachObject(field(out, path.name()), o -> retain(o, n -> n.equalsIgnoreCase(sub)));
      }
    }
    return out;
  }

  private static void forEachObject(@Nullable JsonNode node, Consumer<ObjectNode> action) {
    if (node == null) {
      return;
    }
    if (node.isObject()) {
      action.accept((ObjectNode) node);
    } else if (node.isArray()) {
      for (JsonNode element : node) {
        if (element.isObject()) {
          action.accept((ObjectNode) element);
        }
      }
    }
  }

  /** Removes the fields whose name {@code drop} accepts. */
  private static void retain(ObjectNode node, java.util.function.Predicate<String> drop) {
    node.properties().removeIf(entry -> drop.test(entry.getKey()));
  }
}
