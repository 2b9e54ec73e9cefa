package dev.castellan.server.audit;

/**
 * Where the API layer reports decisions and changes. Implementations must not block the request
 * path for long and must never lose a denial or a change.
 */
public interface AuditLog {
  /** Records nothing: for embedded uses and tests that do not look at the trail. */
  AuditLog NONE = event -> {};

  void record(AuditEvent event);
}
