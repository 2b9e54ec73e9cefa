package dev.castellan.server.tls;

import dev.castellan.CastellanException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.DetectorConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTPS side of the server: Jetty's TLS context over a {@link PemIdentity} (an in-memory key
 * store, no BouncyCastle), TLS 1.2 and 1.3 only, plain HTTP on the port answered with a fixed 400
 * ({@link PlainHttpRefusal}), and a watcher that serves renewed files to new connections without a
 * restart. Open it before anything else starts, so that bad files stop startup with a message that
 * names the flag and the fix.
 */
public final class TlsListener implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TlsListener.class);

  /** TLS 1.0 and 1.1 are deprecated (RFC 8996). */
  static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private static final String ALIAS = "castellan";

  /**
   * What is being served.
   *
   * @param subject the server certificate's subject
   * @param notAfter when it expires
   * @param sha256 a hash of the two files that loaded
   * @param loadedAt when they came into force
   * @param error why the files' latest content was not loaded; empty when it is in force
   */
  public record Status(
      String subject, Instant notAfter, String sha256, Instant loadedAt, String error) {}

  private final TlsSettings settings;
  private final Clock clock;
  private final SslContextFactory.Server factory;
  // Only protects the in-memory key store, which never leaves this process.
  private final String password = HexFormat.of().formatHex(randomBytes(24));
  private volatile Status status;
  private String lastSeen;
  private @Nullable ScheduledExecutorService timer; // null until watch() starts one
  private Consumer<Status> listener = status -> {};

  private TlsListener(TlsSettings settings, Clock clock, PemIdentity identity) {
    this.settings = settings;
    this.clock = clock;
    this.factory = new SslContextFactory.Server();
    factory.setIncludeProtocols(PROTOCOLS);
    factory.setRenegotiationAllowed(false);
    factory.setKeyStorePassword(password);
    factory.setKeyManagerPassword(password);
    factory.setKeyStore(keyStore(identity));
    factory.setCertAlias(ALIAS);
    this.lastSeen = identity.sha256();
    this.status = loaded(identity);
  }

  /**
   * Reads and checks the files now.
   *
   * @throws CastellanException when they are unreadable, not PEM, not a matching certificate and
   *     key, or encrypted; expired certificates are logged as warnings
   */
  public static TlsListener open(TlsSettings settings, Clock clock) {
    PemIdentity identity =
        PemIdentity.read(settings.certificate(), settings.privateKey(), clock.instant());
    identity.warnings().forEach(LOG::warn);
    return new TlsListener(settings, clock, identity);
  }

  /**
   * An HTTPS connector on {@code host:port} for Jetty, with {@code http}'s settings plus what TLS
   * needs (the request's scheme is https).
   */
  public ServerConnector connector(Server server, HttpConfiguration http, String host, int port) {
    HttpConfiguration https = new HttpConfiguration(http);
    // One certificate for every name: the SNI host check would only refuse clients that reach
    // this server by an address the certificate does not list (Kubernetes probes use the pod IP).
    https.addCustomizer(new SecureRequestCustomizer(false));
    // TLS when the first bytes are a handshake; anything else gets PlainHttpRefusal's 400.
    ServerConnector connector =
        new ServerConnector(
            server,
            new DetectorConnectionFactory(
                new SslConnectionFactory(factory, HttpVersion.HTTP_1_1.asString())),
            new PlainHttpRefusal(),
            new HttpConnectionFactory(https));
    connector.setHost(host);
    connector.setPort(port);
    return connector;
  }

  /**
   * Reads the files again every {@link TlsSettings#reloadInterval()} and serves a changed pair that
   * loads to new connections; {@code listener} hears every reload and every rejected change.
   */
  public synchronized void watch(Consumer<Status> listener) {
    this.listener = listener;
    long millis = settings.reloadInterval().toMillis();
    if (millis == 0 || timer != null) {
      return;
    }
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "castellan-tls-watcher");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleWithFixedDelay(this::pollQuietly, millis, millis, TimeUnit.MILLISECONDS);
  }

  public Status status() {
    return status;
  }

  /** The protocols the running context offers (known once a connector has started). */
  String[] selectedProtocols() {
    return factory.getSelectedProtocols();
  }

  /** The protocols Castellan allows, whatever the JVM's security settings would allow. */
  String[] includedProtocols() {
    return factory.getIncludeProtocols();
  }

  private void pollQuietly() {
    try {
      poll();
    } catch (RuntimeException e) {
      LOG.error(
          "TLS files {}, {}: reload failed", settings.certificate(), settings.privateKey(), e);
    }
  }

  /**
   * Loads the files when their content changed. A pair that does not load (say the certificate is
   * already renewed but the key not yet written) changes nothing and is tried again when it
   * changes.
   */
  synchronized void poll() {
    PemIdentity identity;
    try {
      identity = PemIdentity.read(settings.certificate(), settings.privateKey(), clock.instant());
    } catch (CastellanException e) {
      String error = Objects.requireNonNullElse(e.getMessage(), "the TLS files cannot be loaded");
      String seen = "error:" + error;
      if (!seen.equals(lastSeen)) {
        lastSeen = seen;
        Status previous = status;
        status =
            new Status(
                previous.subject(),
                previous.notAfter(),
                previous.sha256(),
                previous.loadedAt(),
                error);
        LOG.warn("TLS files not reloaded, the previous certificate stays: {}", error);
        listener.accept(status);
      }
      return;
    }
    if (identity.sha256().equals(lastSeen)) {
      return;
    }
    try {
      KeyStore store = keyStore(identity);
      factory.reload(f -> f.setKeyStore(store));
    } catch (Exception e) {
      // Checked above, so this is Jetty's own failure; the old context may be gone with it.
      throw new IllegalStateException("the TLS context could not be reloaded", e);
    }
    lastSeen = identity.sha256();
    status = loaded(identity);
    identity.warnings().forEach(LOG::warn);
    LOG.info("TLS certificate reloaded: {}, valid until {}", identity.subject(), status.notAfter());
    listener.accept(status);
  }

  private Status loaded(PemIdentity identity) {
    return new Status(
        identity.subject(),
        identity.chain().getFirst().getNotAfter().toInstant(),
        identity.sha256(),
        clock.instant(),
        "");
  }

  private KeyStore keyStore(PemIdentity identity) {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry(
          ALIAS,
          identity.key(),
          password.toCharArray(),
          identity.chain().toArray(Certificate[]::new));
      return store;
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("an in-memory key store could not be made", e);
    }
  }

  private static byte[] randomBytes(int count) {
    byte[] bytes = new byte[count];
    new SecureRandom().nextBytes(bytes);
    return bytes;
  }

  @Override
  public synchronized void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
