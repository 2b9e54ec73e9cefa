package dev.castellan.server.audit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers alerts to one URL as JSON POSTs, off the writer's thread. A delivery that fails (no
 * answer, or not 2xx) is tried again after a wait that doubles each time, up to a fixed number of
 * attempts; at most {@value #MAX_PENDING} alerts wait at once, and the rest are logged and dropped.
 */
final class Webhook implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Webhook.class);
  private static final int MAX_PENDING = 1_000;
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private final URI uri;
  private final int attempts;
  private final Duration firstRetry;
  private final HttpClient client;
  private final ScheduledExecutorService scheduler;
  private final AtomicInteger pending = new AtomicInteger();

  Webhook(String url, int attempts, Duration firstRetry) {
    this.uri = URI.create(url);
    this.attempts = attempts;
    this.firstRetry = firstRetry;
    this.client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("castellan-alert-webhook").daemon().factory());
  }

  void send(String rule, String body) {
    if (pending.incrementAndGet() > MAX_PENDING) {
      pending.decrementAndGet();
      LOG.error(
          "alert {} not sent: {} alerts are already waiting for the webhook", rule, MAX_PENDING);
      return;
    }
    scheduler.execute(() -> attempt(rule, body, 1));
  }

  private void attempt(String rule, String body, int attempt) {
    String failure;
    try {
      HttpResponse<Void> response =
          client.send(
              HttpRequest.newBuilder(uri)
                  .timeout(TIMEOUT)
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      if (response.statusCode() / 100 == 2) {
        pending.decrementAndGet();
        return;
      }
      failure = "HTTP " + response.statusCode();
    } catch (IOException e) {
      failure = e.toString();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      pending.decrementAndGet();
      return;
    }
    if (attempt >= attempts) {
      pending.decrementAndGet();
      LOG.error(
          "alert {} could not be delivered to its webhook after {} attempts: {}",
          rule,
          attempt,
          failure);
      return;
    }
    long wait = firstRetry.toMillis() << Math.min(attempt - 1, 20);
    LOG.warn(
        "alert {} webhook attempt {} failed ({}); retrying in {} ms", rule, attempt, failure, wait);
    try {
      scheduler.schedule(() -> attempt(rule, body, attempt + 1), wait, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      pending.decrementAndGet(); // shutting down
    }
  }

  /** Gives deliveries in flight a moment, then stops. */
  @Override
  public void close() {
    scheduler.shutdown();
    try {
      scheduler.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    scheduler.shutdownNow();
    client.close();
  }
}
