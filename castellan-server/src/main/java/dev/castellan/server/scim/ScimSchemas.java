package dev.castellan.server.scim;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The discovery documents of the service (RFC 7643 sections 5 to 7): what it supports and the
 * attributes of the resources it keeps, built fresh for each answer (each carries its own {@code
 * meta.location}).
 */
final class ScimSchemas {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  static final String SERVICE_PROVIDER_CONFIG_SCHEMA =
      "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
  static final String RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
  static final String SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema";

  /** The resource schemas the service describes at {@code /Schemas}. */
  static final List<String> URNS =
      List.of(
          ScimProtocol.USER_SCHEMA, ScimProtocol.GROUP_SCHEMA, ScimProtocol.ENTERPRISE_USER_SCHEMA);

  /**
   * Largest page a list answers (the {@code maxCount} the list routes give {@link ListRequest}).
   */
  static final int MAX_RESULTS = 1000;

  private ScimSchemas() {}

  static ObjectNode serviceProviderConfig(String location) {
    ObjectNode out = NODES.objectNode();
    out.putArray("schemas").add(SERVICE_PROVIDER_CONFIG_SCHEMA);
    out.put(
        "documentationUri", "https://github.com/castellan-dev/castellan#provisioning-with-scim");
    out.putObject("patch").put("supported", true);
    out.putObject("bulk").put("supported", false).put("maxOperations", 0).put("maxPayloadSize", 0);
    out.putObject("filter").put("supported", true).put("maxResults", MAX_RESULTS);
    out.putObject("changePassword").put("supported", false);
    out.putObject("sort").put("supported", false);
    out.putObject("etag").put("supported", true);
    ArrayNode schemes = out.putArray("authenticationSchemes");
    schemes
        .addObject()
        .put("type", "oauthbearertoken")
        .put("name", "Castellan provisioning key")
        .put(
            "description",
            "A key made with castellan keys create --scim, sent as Authorization: Bearer <key>")
        .put("primary", true);
    meta(out, "ServiceProviderConfig", location);
    return out;
  }

  static ObjectNode resourceType(String name, String location) {
    ObjectNode out = NODES.objectNode();
    out.putArray("schemas").add(RESOURCE_TYPE_SCHEMA);
    out.put("id", name);
    out.put("name", name);
    out.put("endpoint", "/" + name + "s");
    out.put("description", name.equals("User") ? "User Account" : "Group");
    out.put("schema", name.equals("User") ? ScimProtocol.USER_SCHEMA : ScimProtocol.GROUP_SCHEMA);
    if (name.equals("User")) {
      out.putArray("schemaExtensions")
          .addObject()
          .put("schema", ScimProtocol.ENTERPRISE_USER_SCHEMA)
          .put("required", false);
    }
    meta(out, "ResourceType", location);
    return out;
  }

  static ObjectNode schema(String urn, String location) {
    ObjectNode out = NODES.objectNode();
    out.putArray("schemas").add(SCHEMA_SCHEMA);
    out.put("id", urn);
    ArrayNode attributes;
    switch (urn) {
      case ScimProtocol.USER_SCHEMA -> {
        out.put("name", "User");
        out.put("description", "User Account");
        attributes = out.putArray("attributes");
        attributes.add(attribute("userName", "string", true, "server", "readWrite"));
        attributes.add(attribute("externalId", "string", false, "none", "readWrite"));
        attributes.add(attribute("displayName", "string", false, "none", "readWrite"));
        attributes.add(attribute("active", "boolean", false, "none", "readWrite"));
        ObjectNode name = attribute("name", "complex", false, "none", "readWrite");
        ArrayNode parts = name.putArray("subAttributes");
        for (String part : List.of("formatted", "familyName", "givenName")) {
          parts.add(attribute(part, "string", false, "none", "readWrite"));
        }
        attributes.add(name);
        ObjectNode emails = attribute("emails", "complex", false, "none", "readWrite");
        emails.put("multiValued", true);
        ArrayNode sub = emails.putArray("subAttributes");
        sub.add(attribute("value", "string", false, "none", "readWrite"));
        sub.add(attribute("type", "string", false, "none", "readWrite"));
        sub.add(attribute("primary", "boolean", false, "none", "readWrite"));
        attributes.add(emails);
        ObjectNode groups = attribute("groups", "complex", false, "none", "readOnly");
        groups.put("multiValued", true);
        ArrayNode groupSub = groups.putArray("subAttributes");
        groupSub.add(attribute("value", "string", false, "none", "readOnly"));
        groupSub.add(attribute("display", "string", false, "none", "readOnly"));
        attributes.add(groups);
      }
      case ScimProtocol.GROUP_SCHEMA -> {
        out.put("name", "Group");
        out.put("description", "Group");
        attributes = out.putArray("attributes");
        attributes.add(attribute("displayName", "string", true, "none", "readWrite"));
        attributes.add(attribute("externalId", "string", false, "none", "readWrite"));
        ObjectNode members = attribute("members", "complex", false, "none", "readWrite");
        members.put("multiValued", true);
        ArrayNode sub = members.putArray("subAttributes");
        sub.add(attribute("value", "string", false, "none", "immutable"));
        sub.add(attribute("display", "string", false, "none", "readOnly"));
        sub.add(attribute("type", "string", false, "none", "immutable"));
        attributes.add(members);
      }
      default -> {
        out.put("name", "EnterpriseUser");
        out.put("description", "Enterprise User");
        attributes = out.putArray("attributes");
        for (String name :
            List.of("employeeNumber", "costCenter", "organization", "division", "department")) {
          attributes.add(attribute(name, "string", false, "none", "readWrite"));
        }
      }
    }
    meta(out, "Schema", location);
    return out;
  }

  private static ObjectNode attribute(
      String name, String type, boolean required, String uniqueness, String mutability) {
    ObjectNode out = NODES.objectNode();
    out.put("name", name);
    out.put("type", type);
    out.put("multiValued", false);
    out.put("required", required);
    out.put("caseExact", false);
    out.put("mutability", mutability);
    out.put("returned", "default");
    out.put("uniqueness", uniqueness);
    return out;
  }

  private static void meta(ObjectNode out, String resourceType, String location) {
    out.putObject("meta").put("resourceType", resourceType).put("location", location);
  }
}
