package dev.castellan.server.audit;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.audit.AuditEntry;
import dev.castellan.audit.AuditRecord;

/** The JSON form of audit entries: the query API, the export and the file sink share it. */
final class AuditJson {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private AuditJson() {}

  static AuditEntry entry(AuditEvent event) {
    return new AuditEntry(
        event.time(),
        event.kind() == AuditEvent.Kind.DECISION ? "decision" : "change",
        event.api(),
        event.caller(),
        event.subject(),
        event.roles(),
        event.action(),
        event.resource(),
        switch (event.outcome()) {
          case ALLOW -> "allow";
          case DENY -> "deny";
          case OK -> "ok";
          case ERROR -> "error";
        },
        event.reason(),
        event.storeId(),
        event.revision(),
        event.requestId(),
        event.clientAddress(),
        event.count());
  }

  static ObjectNode record(AuditRecord record) {
    ObjectNode node = NODES.objectNode();
    node.put("seq", record.seq());
    fields(node, record.entry());
    node.put("previous_hash", record.previousHash());
    node.put("hash", record.hash());
    return node;
  }

  /** An event as alerts carry it. */
  static ObjectNode event(AuditEvent event) {
    ObjectNode node = NODES.objectNode();
    fields(node, entry(event));
    return node;
  }

  private static void fields(ObjectNode node, AuditEntry entry) {
    node.put("time", entry.time().toString());
    node.put("kind", entry.kind());
    node.put("api", entry.api());
    node.put("caller", entry.caller());
    node.put("subject", entry.subject());
    ArrayNode roles = node.putArray("roles");
    entry.roles().forEach(roles::add);
    node.put("action", entry.action());
    node.put("resource", entry.resource());
    node.put("outcome", entry.outcome());
    node.put("reason", entry.reason());
    node.put("store_id", entry.storeId());
    node.put("revision", entry.revision());
    node.put("request_id", entry.requestId());
    node.put("client_address", entry.clientAddress());
    if (entry.count() != 1) {
      node.put("count", entry.count()); // as in the stored line: only summaries carry it
    }
  }
}
