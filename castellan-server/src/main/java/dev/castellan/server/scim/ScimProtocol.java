package dev.castellan.server.scim;

/** Wire constants of SCIM 2.0 (RFC 7643, RFC 7644): the media type and the message schema URNs. */
final class ScimProtocol {
  /** The SCIM media type (RFC 7644 section 3.1); requests may also use {@code application/json}. */
  static final String MEDIA_TYPE = "application/scim+json";

  /** The value of a response's {@code Content-Type} header. */
  static final String CONTENT_TYPE = MEDIA_TYPE + "; charset=utf-8";

  static final String ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
  static final String PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
  static final String LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
  static final String SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
  static final String USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
  static final String GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
  static final String ENTERPRISE_USER_SCHEMA =
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

  private ScimProtocol() {}
}
