package dev.castellan;

/**
 * Stable, transport-neutral error codes. The numeric values are OpenFGA's, so that clients written
 * for OpenFGA see the codes they expect; the HTTP layer alone maps them to statuses.
 */
public enum ErrorCode {
  VALIDATION_ERROR(2000, "validation_error"),
  AUTHORIZATION_MODEL_NOT_FOUND(2001, "authorization_model_not_found"),
  AUTHORIZATION_MODEL_RESOLUTION_TOO_COMPLEX(2002, "authorization_model_resolution_too_complex"),
  INVALID_WRITE_INPUT(2003, "invalid_write_input"),
  CANNOT_ALLOW_DUPLICATE_TUPLES_IN_ONE_REQUEST(
      2004, "cannot_allow_duplicate_tuples_in_one_request"),
  INVALID_CONTINUATION_TOKEN(2007, "invalid_continuation_token"),
  INVALID_OBJECT_FORMAT(2012, "invalid_object_format"),
  /** Writing a tuple that exists, or deleting one that does not, without asking to ignore it. */
  WRITE_FAILED_DUE_TO_INVALID_INPUT(2017, "write_failed_due_to_invalid_input"),
  LATEST_AUTHORIZATION_MODEL_NOT_FOUND(2020, "latest_authorization_model_not_found"),
  TYPE_NOT_FOUND(2021, "type_not_found"),
  RELATION_NOT_FOUND(2022, "relation_not_found"),
  INVALID_USER(2025, "invalid_user"),
  INVALID_TUPLE(2027, "invalid_tuple"),
  INVALID_AUTHORIZATION_MODEL(2036, "invalid_authorization_model"),
  EXCEEDED_ENTITY_LIMIT(2053, "exceeded_entity_limit"),
  /** Castellan: a consistency token that is malformed or belongs to another store. */
  INVALID_CONSISTENCY_TOKEN(2100, "invalid_consistency_token"),
  STORE_ID_NOT_FOUND(5002, "store_id_not_found"),
  /** Castellan: this node did not reach the revision a consistency token asks for in time. */
  CONSISTENCY_TIMEOUT(4100, "consistency_timeout"),
  /** The store (database) could not be reached or failed; the message carries no internals. */
  STORE_UNAVAILABLE(4101, "store_unavailable"),
  /** A condition could not be evaluated (bad context value, runtime CEL error). */
  CONDITION_EVALUATION_ERROR(2000, "validation_error"),
  /** No, malformed, expired or badly signed credentials (HTTP 401). */
  UNAUTHENTICATED(1500, "unauthenticated"),
  /**
   * Castellan: the right secret of an API key that has expired, or the secret a rotation replaced
   * after its grace ended (HTTP 401). Said only to a caller that presented the secret.
   */
  CREDENTIAL_EXPIRED(1502, "credential_expired"),
  /** The caller is known but not allowed (HTTP 403). */
  FORBIDDEN(1600, "forbidden"),
  /**
   * Castellan: a valid token whose issuer accepts only users provisioned through SCIM names no
   * directory user (HTTP 403).
   */
  IDENTITY_NOT_PROVISIONED(1601, "identity_not_provisioned"),
  /** A Castellan resource (a role, a member) that does not exist: HTTP 404. */
  NOT_FOUND(5004, "not_found"),
  /** A Castellan resource that exists already (a role name): HTTP 409. */
  ALREADY_EXISTS(2060, "already_exists"),
  /** Castellan: a value that must be unique is taken (a directory userName, an identity): 409. */
  UNIQUENESS_CONFLICT(2061, "uniqueness_conflict"),
  /** Castellan: an update names a version that is no longer the stored one (HTTP 412). */
  VERSION_MISMATCH(2062, "version_mismatch"),
  UNDEFINED_ENDPOINT(5000, "undefined_endpoint"),
  INTERNAL_ERROR(4000, "internal_error"),
  /**
   * Castellan: a request body over its limit (HTTP 413). It shares OpenFGA's wire code {@code
   * validation_error} on purpose: the 413 of the general request size limit has always used it.
   */
  REQUEST_TOO_LARGE(2000, "validation_error"),
  /**
   * Castellan: too many failed authentications from this client address; the answer (HTTP 429)
   * carries {@code Retry-After}.
   */
  TOO_MANY_AUTHENTICATION_FAILURES(1501, "too_many_authentication_failures"),
  /**
   * Castellan: the token names a directory user that SCIM deactivated or deleted; the token stops
   * authorizing at once (HTTP 401), whatever its expiry says.
   */
  USER_DEACTIVATED(1510, "user_deactivated"),
  /**
   * The caller went away before the answer (OpenFGA's InternalErrorCode {@code cancelled}, 4003;
   * {@code pkg/server/errors/errors.go} ErrRequestCancelled).
   */
  CANCELLED(4003, "cancelled"),
  /**
   * The request ran out of time (OpenFGA's InternalErrorCode {@code deadline_exceeded}, 4004;
   * {@code pkg/server/errors/errors.go} ErrRequestDeadlineExceeded, and per item in batch-check,
   * {@code pkg/server/batch_check.go}). OpenFGA's HTTP gateway serves codes 4000-4999 as 500
   * ({@code pkg/server/errors/encoded_errors.go} NewEncodedError), and so does Castellan.
   */
  DEADLINE_EXCEEDED(4004, "deadline_exceeded");

  private final int number;
  private final String wireName;

  ErrorCode(int number, String wireName) {
    this.number = number;
    this.wireName = wireName;
  }

  /** OpenFGA's numeric code. */
  public int number() {
    return number;
  }

  /** OpenFGA's snake_case code name, as sent in {@code {"code": ...}} bodies. */
  public String wireName() {
    return wireName;
  }
}
