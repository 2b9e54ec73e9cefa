package dev.castellan.server.audit;

import java.time.Duration;
import java.util.Objects;

/**
 * Which audit events raise an alert. Every alert is a log line and, when {@code webhook} is set, a
 * JSON POST to it, retried with exponential backoff.
 *
 * @param webhook the URL alerts are posted to; empty: log lines only
 * @param denials more than this many denials for one subject within the window
 * @param authFailures more than this many authentication failures from one address within the
 *     window
 * @param adminGrants any grant of an admin role (a global or store admin right, or a member added
 *     to the RBAC role {@code admin})
 * @param rejectedPolicyReloads any policy reload that was rejected
 * @param attempts how many times a webhook delivery is tried in all
 * @param firstRetry the wait before the first retry; each next wait doubles
 * @param auditDropped any audit entries dropped (allowed decisions when the queue was full, entries
 *     the database did not take in time): at most one alert a minute, with the count since the last
 * @param deprovisioning any directory user deprovisioned (SCIM {@code active: false} or DELETE:
 *     audit action {@code directory.user.deprovisioned}), and any deprovisioning left unfinished
 */
public record AlertRules(
    String webhook,
    Threshold denials,
    Threshold authFailures,
    boolean adminGrants,
    boolean rejectedPolicyReloads,
    int attempts,
    Duration firstRetry,
    boolean auditDropped,
    boolean deprovisioning) {

  /**
   * More than {@code count} events within {@code window}.
   *
   * @param count 0 turns the rule off
   */
  public record Threshold(int count, Duration window) {
    public static final Threshold OFF = new Threshold(0, Duration.ZERO);

    public Threshold {
      Objects.requireNonNull(window, "window");
      if (count < 0 || (count > 0 && !window.isPositive())) {
        throw new IllegalArgumentException(
            "an alert threshold needs a positive count and window, not " + count + " in " + window);
      }
    }

    public boolean enabled() {
      return count > 0;
    }
  }

  /** No alerts. */
  public static final AlertRules NONE =
      new AlertRules(
          "", Threshold.OFF, Threshold.OFF, false, false, 5, Duration.ofSeconds(1), false, false);

  public AlertRules {
    webhook = Objects.requireNonNullElse(webhook, "");
    Objects.requireNonNull(denials, "denials");
    Objects.requireNonNull(authFailures, "authFailures");
    Objects.requireNonNull(firstRetry, "firstRetry");
    if (!webhook.isEmpty() && !webhook.startsWith("http://") && !webhook.startsWith("https://")) {
      throw new IllegalArgumentException(
          "alerts webhook must be an http:// or https:// URL, not '" + webhook + "'");
    }
    if (attempts < 1 || attempts > 20) {
      throw new IllegalArgumentException("alert webhook attempts must be 1 to 20, not " + attempts);
    }
  }

  /** Whether any rule is on. */
  public boolean any() {
    return denials.enabled()
        || authFailures.enabled()
        || adminGrants
        || rejectedPolicyReloads
        || auditDropped
        || deprovisioning;
  }

  public AlertRules withWebhook(String url) {
    return new AlertRules(
        url,
        denials,
        authFailures,
        adminGrants,
        rejectedPolicyReloads,
        attempts,
        firstRetry,
        auditDropped,
        deprovisioning);
  }

  public AlertRules withDenials(Threshold value) {
    return new AlertRules(
        webhook,
        value,
        authFailures,
        adminGrants,
        rejectedPolicyReloads,
        attempts,
        firstRetry,
        auditDropped,
        deprovisioning);
  }

  public AlertRules withAuthFailures(Threshold value) {
    return new AlertRules(
        webhook,
        denials,
        value,
        adminGrants,
        rejectedPolicyReloads,
        attempts,
        firstRetry,
        auditDropped,
        deprovisioning);
  }

  public AlertRules withAdminGrants(boolean value) {
    return new AlertRules(
        webhook,
        denials,
        authFailures,
        value,
        rejectedPolicyReloads,
        attempts,
        firstRetry,
        auditDropped,
        deprovisioning);
  }

  public AlertRules withRejectedPolicyReloads(boolean value) {
    return new AlertRules(
        webhook,
        denials,
        authFailures,
        adminGrants,
        value,
        attempts,
        firstRetry,
        auditDropped,
        deprovisioning);
  }

  public AlertRules withRetries(int totalAttempts, Duration first) {
    return new AlertRules(
        webhook,
        denials,
        authFailures,
        adminGrants,
        rejectedPolicyReloads,
        totalAttempts,
        first,
        auditDropped,
        deprovisioning);
  }

  public AlertRules withAuditDropped(boolean value) {
    return new AlertRules(
        webhook,
        denials,
        authFailures,
        adminGrants,
        rejectedPolicyReloads,
        attempts,
        firstRetry,
        value,
        deprovisioning);
  }

  public AlertRules withDeprovisioning(boolean value) {
    return new AlertRules(
        webhook,
        denials,
        authFailures,
        adminGrants,
        rejectedPolicyReloads,
        attempts,
        firstRetry,
        auditDropped,
        value);
  }
}
