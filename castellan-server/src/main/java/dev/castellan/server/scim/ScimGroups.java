package dev.castellan.server.scim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.store.DirectoryGroup;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Groups as SCIM sends them: a full Group (POST, PUT) and PATCH operations on {@code displayName},
 * {@code externalId} and {@code members}, including {@code members[value eq "..."]} and the member
 * lists Okta and Entra ID send with a {@code remove}.
 */
final class ScimGroups {
  /** What a request says a group is; checked by the store's own draft when stored. */
  record Draft(String displayName, String externalId, List<String> members) {}

  private static final Set<String> IGNORED = Set.of("id", "meta", "schemas");

  private ScimGroups() {}

  static Draft group(JsonNode body) {
    String displayName = "";
    String externalId = "";
    List<String> members = List.of();
    for (Map.Entry<String, JsonNode> field : body.properties()) {
      String key = field.getKey().toLowerCase(Locale.ROOT);
      JsonNode value = field.getValue();
      if (IGNORED.contains(key) || value.isNull()) {
        continue;
      }
      switch (key) {
        case "displayname" -> displayName = text("displayName", value);
        case "externalid" -> externalId = text("externalId", value);
        case "members" -> members = memberIds(value);
        default ->
            throw ScimResources.invalidValue(
                "a Group has no attribute '" + FilterParser.abbreviate(field.getKey()) + "'");
      }
    }
    if (displayName.isBlank()) {
      throw ScimResources.invalidValue("displayName is required, a non-empty string");
    }
    return new Draft(displayName, externalId, members);
  }

  /** {@code current} after {@code patch}; nothing is stored here. */
  static Draft patch(DirectoryGroup current, PatchRequest patch) {
    String displayName = current.displayName();
    String externalId = current.externalId();
    Set<String> members = new LinkedHashSet<>(current.members());
    for (PatchOperation op : patch.operations()) {
      AttributePath path = op.path().attribute();
      JsonNode value = op.value();
      if (path.is("displayName") || path.is("externalId")) {
        if (op.path().valueFilter() != null) {
          throw ScimResources.invalidPath(path + " takes no value filter");
        }
        String text =
            op.op() == PatchOperation.Op.REMOVE || value == null ? "" : text(path.name(), value);
        if (path.is("displayName")) {
          displayName = text;
        } else {
          externalId = text;
        }
      } else if (path.is("members") || path.is("members.value")) {
        if (op.path().valueFilter() != null) {
          if (op.op() != PatchOperation.Op.REMOVE) {
            throw ScimResources.invalidPath(
                "a members[...] path is for remove; add members with a value list");
          }
          List<String> chosen = new ArrayList<>();
          for (String member : members) {
            if (ScimResources.matches(
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance
                    .objectNode()
                    .put("value", member),
                op.path().valueFilter())) {
              chosen.add(member);
            }
          }
          chosen.forEach(members::remove);
          continue;
        }
        switch (op.op()) {
          case ADD -> members.addAll(memberIds(value));
          case REPLACE -> {
            members.clear();
            members.addAll(memberIds(value));
          }
          case REMOVE -> {
            if (value == null) {
              members.clear();
            } else {
              memberIds(value).forEach(members::remove);
            }
          }
        }
      } else {
        throw ScimResources.invalidPath(
            "a Group has no attribute '" + FilterParser.abbreviate(path.toString()) + "' to patch");
      }
    }
    if (displayName.isBlank()) {
      throw ScimResources.invalidValue("displayName cannot be removed");
    }
    return new Draft(displayName, externalId, List.copyOf(members));
  }

  private static String text(String name, JsonNode value) {
    if (!value.isTextual()) {
      throw ScimResources.invalidValue(name + " is a string");
    }
    return value.asText();
  }

  /** The ids in {@code [{"value": id}, ...]} (or one such object). */
  private static List<String> memberIds(@Nullable JsonNode value) {
    if (value == null) {
      throw ScimResources.invalidValue("members needs a value");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode member : value.isArray() ? value : List.of(value)) {
      if (!member.isObject() || !member.path("value").isTextual()) {
        throw ScimResources.invalidValue("each member is an object with a string value");
      }
      out.add(member.get("value").asText());
    }
    return out;
  }
}
