package dev.castellan.server.scim;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jspecify.annotations.Nullable;

/**
 * A SCIM error response body (RFC 7644 section 3.12): the HTTP status (written as a string, as the
 * RFC's examples and Okta's and Entra ID's clients expect), an optional {@code scimType} and a
 * human-readable {@code detail}.
 */
record ScimError(int status, @Nullable ScimType scimType, String detail) {
  private static final ObjectMapper JSON = new ObjectMapper();

  ScimError {
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("a SCIM error status is 4xx or 5xx, got " + status);
    }
    if (detail.isBlank()) {
      throw new IllegalArgumentException("a SCIM error needs a detail message");
    }
  }

  /** A 400 error with the given keyword. */
  static ScimError badRequest(ScimType scimType, String detail) {
    return new ScimError(400, scimType, detail);
  }

  /** The body as a JSON object. */
  ObjectNode toJsonNode() {
    ObjectNode body = JSON.createObjectNode();
    body.putArray("schemas").add(ScimProtocol.ERROR_SCHEMA);
    body.put("status", Integer.toString(status));
    if (scimType != null) {
      body.put("scimType", scimType.wireName());
    }
    body.put("detail", detail);
    return body;
  }

  /** The body as JSON text, ready to send with {@link ScimProtocol#CONTENT_TYPE}. */
  String toJson() {
    return toJsonNode().toString();
  }
}
