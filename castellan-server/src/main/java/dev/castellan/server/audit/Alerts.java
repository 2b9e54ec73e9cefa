package dev.castellan.server.audit;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The alert rules over the stream of stored audit events. Counting rules keep, per subject or
 * address, the times of recent events within their window; once one fires, its count starts over,
 * so a steady attack raises one alert per {@code count + 1} events rather than one per event.
 *
 * <p>Failed authentications are counted as they happen ({@link #authFailure}), not as stored: the
 * trail keeps one entry per address and minute for most of them, and an alert that waited for that
 * entry would come a minute late. The trail reports dropped entries through {@link #dropped}.
 */
class Alerts implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Alerts.class);
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** The audit action of a deprovisioned directory user (the SCIM service's). */
  static final String DEPROVISIONED = "directory.user.deprovisioned";

  /** Keys tracked per counting rule; beyond it the oldest idle ones are forgotten. */
  private static final int MAX_KEYS = 100_000;

  private static final Alerts NONE =
      new Alerts(AlertRules.NONE, null) {
        @Override
        void observe(AuditEvent event) {}
      };

  private final AlertRules rules;
  private final @Nullable Webhook webhook;
  private final Map<String, ArrayDeque<Instant>> denials = new HashMap<>();
  private final Map<String, ArrayDeque<Instant>> authFailures = new HashMap<>();

  private Alerts(AlertRules rules, @Nullable Webhook webhook) {
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

  /** One failed authentication, as it happens (stored or summed up later). */
  synchronized void authFailure(AuditEvent event) {
    if (rules.authFailures().enabled()) {
      count(authFailures, event.clientAddress(), event, rules.authFailures(), "auth-failures");
    }
  }

  /**
   * Audit entries were dropped: {@code since} since the last report ({@code total} since start),
   * {@code allows} of them allowed decisions refused by a full queue, the rest entries the database
   * did not take.
   */
  synchronized void dropped(long since, long total, long allows) {
    if (!rules.auditDropped()) {
      return;
    }
    ObjectNode details = NODES.objectNode();
    details.put("dropped", since);
    details.put("dropped_allows", allows);
    details.put("dropped_total", total);
    fire(
        "audit-dropped",
        since + " audit entries dropped since the last report (" + total + " since start)",
        "",
        details);
  }

  synchronized void observe(AuditEvent event) {
    if (event.api().equals("auth-failure")) {
      return; // counted by authFailure when it happened
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
          event);
    }
    if (rules.deprovisioning()
        && event.kind() == AuditEvent.Kind.CHANGE
        && event.action().equals(DEPROVISIONED)) {
      fire(
          "deprovisioning",
          event.outcome() == AuditEvent.Outcome.OK
              ? event.subject()
                  + " deprovisioned by "
                  + orUnknown(event.caller())
                  + ": "
                  + event.reason()
              : "deprovisioning of " + event.subject() + " is unfinished: " + event.reason(),
          event);
    }
    if (rules.rejectedPolicyReloads()
        && event.api().equals("policy-reload")
        && event.outcome() == AuditEvent.Outcome.ERROR) {
      fire("policy-reload-rejected", "policy reload rejected: " + event.reason(), event);
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
      details.set("event", AuditJson.event(event));
      fire(
          rule,
          seen + " " + what + key + " within " + describe(threshold),
          event.requestId(),
          details);
    }
  }

  private static String describe(AlertRules.Threshold threshold) {
    long seconds = threshold.window().toSeconds();
    return seconds % 60 == 0 ? (seconds / 60) + " min" : seconds + " s";
  }

  private static String orUnknown(String caller) {
    return caller.isEmpty() ? "(startup)" : caller;
  }

  private void fire(String rule, String message, AuditEvent event) {
    ObjectNode details = NODES.objectNode();
    details.set("event", AuditJson.event(event));
    fire(rule, message, event.requestId(), details);
  }

  /** A log line, and a POST of the message with {@code details} (the event, counts). */
  private void fire(String rule, String message, String requestId, ObjectNode details) {
    if (requestId.isEmpty()) {
      LOG.warn("ALERT {}: {}", rule, message);
    } else {
      LOG.warn("ALERT {}: {} (request {})", rule, message, requestId);
    }
    if (webhook == null) {
      return;
    }
    ObjectNode body = NODES.objectNode();
    body.put("alert", rule);
    body.put("message", message);
    body.put("time", Instant.now().toString());
    body.setAll(details);
    webhook.send(rule, body.toString());
  }

  @Override
  public void close() {
    if (webhook != null) {
      webhook.close();
    }
  }
}
