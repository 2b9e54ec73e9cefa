package dev.castellan.server.rbac;

import dev.castellan.CastellanException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the policy file at start and applies every later edit without a restart. It polls the
 * file's content (not change events: editors save by rename, Kubernetes swaps symlinks), so an edit
 * is in force within one interval. A file that does not parse or does not resolve changes nothing:
 * the error is logged and shown in {@link #status()}, and the last good policy stays.
 */
public final class PolicyWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PolicyWatcher.class);
  public static final Duration DEFAULT_INTERVAL = Duration.ofMillis(500);

  /**
   * What the watcher last saw.
   *
   * @param file the policy file
   * @param loaded whether a policy from the file is in force
   * @param sha256 the content hash of the policy in force (empty before one loads)
   * @param loadedAt when it came into force; null before a policy loads
   * @param error why the latest content was rejected; empty when the latest content is in force
   * @param errorAt when it was rejected; null when the latest content is in force
   */
  public record Status(
      String file,
      boolean loaded,
      String sha256,
      @Nullable Instant loadedAt,
      String error,
      @Nullable Instant errorAt) {}

  private final Path file;
  private final Rbac rbac;
  private final Clock clock;
  private final Consumer<Status> listener;
  private final ScheduledExecutorService timer;
  private volatile Status status;
  private String lastSeen = "";

  private PolicyWatcher(Path file, Rbac rbac, Clock clock, Consumer<Status> listener) {
    this.file = file;
    this.rbac = rbac;
    this.clock = clock;
    this.listener = listener;
    this.status = new Status(file.toString(), false, "", null, "", null);
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "castellan-policy-watcher");
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Loads {@code file} now and then watches it.
   *
   * @param listener hears every load and every rejection (for the audit trail and alerts)
   * @throws CastellanException when the file cannot be loaded at start: a server must not start
   *     without the policy it was told to enforce
   */
  public static PolicyWatcher start(
      Path file, Rbac rbac, Duration interval, Clock clock, Consumer<Status> listener) {
    PolicyWatcher watcher = new PolicyWatcher(file, rbac, clock, listener);
    watcher.poll();
    if (!watcher.status.loaded()) {
      throw new CastellanException(
          dev.castellan.ErrorCode.VALIDATION_ERROR,
          "the policy file " + file + " cannot be loaded: " + watcher.status.error());
    }
    long millis = Math.max(50, interval.toMillis());
    watcher.timer.scheduleWithFixedDelay(
        watcher::pollQuietly, millis, millis, TimeUnit.MILLISECONDS);
    return watcher;
  }

  public Status status() {
    return status;
  }

  private void pollQuietly() {
    try {
      poll();
    } catch (RuntimeException e) {
      LOG.error("policy file {}: reload failed", file, e);
    }
  }

  /** Reads the file and applies it when its content changed. */
  synchronized void poll() {
    String text;
    try {
      byte[] bytes = Files.readAllBytes(file);
      if (bytes.length > RbacPolicy.MAX_BYTES) {
        reject(sha256(bytes), "the file is larger than " + RbacPolicy.MAX_BYTES + " bytes");
        return;
      }
      text = new String(bytes, StandardCharsets.UTF_8);
    } catch (IOException e) {
      reject("unreadable", "the file cannot be read: " + e.getClass().getSimpleName());
      return;
    }
    String hash = sha256(text.getBytes(StandardCharsets.UTF_8));
    if (hash.equals(lastSeen)) {
      return;
    }
    try {
      rbac.apply(RbacPolicy.parse(text));
    } catch (CastellanException e) {
      reject(hash, Objects.requireNonNullElse(e.getMessage(), "the policy is invalid"));
      return;
    }
    lastSeen = hash;
    status = new Status(file.toString(), true, hash, clock.instant(), "", null);
    LOG.info(
        "policy file {} loaded ({} roles, {} routes)",
        file,
        rbac.policy().roles().size(),
        rbac.policy().routes().size());
    listener.accept(status);
  }

  private void reject(String hash, String error) {
    if (hash.equals(lastSeen)) {
      return; // already reported
    }
    lastSeen = hash;
    Status previous = status;
    status =
        new Status(
            file.toString(),
            previous.loaded(),
            previous.sha256(),
            previous.loadedAt(),
            error,
            clock.instant());
    LOG.error("policy file {} rejected, the previous policy stays in force: {}", file, error);
    listener.accept(status);
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
