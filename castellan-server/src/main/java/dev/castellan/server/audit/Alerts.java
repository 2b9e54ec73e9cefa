package dev.castellan.server.audit;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The alert rules over the stream of stored audit events. Counting rules keep, per subject or
 * address, the times of recent events within their window; once one fires, its count starts over,
 * so a steady attack raises one alert per {@code count + 1} events rather than one per event.
 */
class Alerts implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Alerts.class);
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Keys tracked per counting rule; beyond it the oldest idle ones are forgotten. */
  private static final int MAX_KEYS = 100_000;

  private static final Alerts NONE =
      new Alerts(AlertRules.NONE, null) {
        @Override
        void observe(AuditEvent event) {}
      };

  private final AlertRules rules;
  private final Webhook webhook;
  private final Map<String, ArrayDeque<Instant>> denials = new HashMap<>();
  private final Map<String, ArrayDeque<Instant>> authFailures = new HashMap<>();

  private Alerts(AlertRules rules, Webhook webhook) {
    this.rules = rules;
    this.webhook = webhook;
  }

  static Alerts create(AlertRules rules) {
    if (!rules.any()) {
      return NONE;
    }
    return new Alerts(
        rules,
        rules.webhook().isEmpty()
            ? null
            : new Webhook(rules.webhook(), rules.attempts(), rules.firstRetry()));
  }

  synchronized void observe(AuditEvent event) {
    if (event.api().equals("auth-failure")) {
      if (rules.authFailures().enabled()) {
        count(authFailures, event.clientAddress(), event, rules.authFailures(), "auth-failures");
      }
    } else if (event.isDenial() && rules.denials().enabled() && !event.subject().isEmpty()) {
      count(denials, event.subject(), event, rules.denials(), "denials");
    }
    if (rules.adminGrants() && isAdminGrant(event)) {
      fire(
          "admin-grant",
          "admin role granted to "
              + event.subject()
              + " on "
              + event.resource()
              + " by "
              + orUnknown(event.caller()),
          event,
          NODES.objectNode());
    }
    if (rules.rejectedPolicyReloads()
        && event.api().equals("policy-reload")
        && event.outcome() == AuditEvent.Outcome.ERROR) {
      fire(
          "policy-reload-rejected",
          "policy reload rejected: " + event.reason(),
          event,
          NODES.objectNode());
    }
  }

  private static boolean isAdminGrant(AuditEvent event) {
    if (event.kind() != AuditEvent.Kind.CHANGE || event.outcome() != AuditEvent.Outcome.OK) {
      return false;
    }
    return (event.api().equals("access-grant") && event.action().equals("admin"))
        || (event.api().equals("role-member-add") && event.resource().equals("role:admin"));
  }

  private void count(
      Map<String, ArrayDeque<Instant>> counts,
      String key,
      AuditEvent event,
      AlertRules.Threshold threshold,
      String rule) {
    if (counts.size() >= MAX_KEYS && !counts.containsKey(key)) {
      Instant horizon = event.time().minus(threshold.window());
      counts.values().removeIf(times -> times.isEmpty() || times.getLast().isBefore(horizon));
      if (counts.size() >= MAX_KEYS) {
        counts.clear();
      }
    }
    ArrayDeque<Instant> times = counts.computeIfAbsent(key, k -> new ArrayDeque<>());
    times.addLast(event.time());
    Instant horizon = event.time().minus(threshold.window());
    while (!times.isEmpty() && times.getFirst().isBefore(horizon)) {
      times.removeFirst();
    }
    if (times.size() > threshold.count()) {
      int seen = times.size();
      times.clear();
      boolean byAddress = rule.equals("auth-failures");
      String what = byAddress ? "authentication failures from " : "denials for ";
      ObjectNode details = NODES.objectNode();
      details.put("count", seen);
      details.put("window_seconds", threshold.window().toSeconds());
      details.put(byAddress ? "client_address" : "subject", key);
      fire(rule, seen + " " + what + key + " within " + describe(threshold), event, details);
    }
  }

  private static String describe(AlertRules.Threshold threshold) {
    long seconds = threshold.window().toSeconds();
    return seconds % 60 == 0 ? (seconds / 60) + " min" : seconds + " s";
  }

  private static String orUnknown(String caller) {
    return caller.isEmpty() ? "(startup)" : caller;
  }

  private void fire(String rule, String message, AuditEvent event, ObjectNode details) {
    LOG.warn("ALERT {}: {} (request {})", rule, message, event.requestId());
    if (webhook == null) {
      return;
    }
    ObjectNode body = NODES.objectNode();
    body.put("alert", rule);
    body.put("message", message);
    body.put("time", Instant.now().toString());
    body.setAll(details);
    body.set("event", AuditJson.event(event));
    webhook.send(rule, body.toString());
  }

  @Override
  public void close() {
    if (webhook != null) {
      webhook.close();
    }
  }
}
