package dev.castellan.server.tls;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * HTTPS instead of plain HTTP: a PEM certificate chain and its private key, read with the JDK
 * alone.
 *
 * @param certificate the certificate chain, server certificate first ({@code --tls-cert})
 * @param privateKey its private key: PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1 ({@code BEGIN RSA
 *     PRIVATE KEY}) or SEC1 ({@code BEGIN EC PRIVATE KEY}), unencrypted ({@code --tls-key})
 * @param reloadInterval how often both files are read again; a change that loads is served to new
 *     connections, one that does not is logged and the previous certificate stays. Zero: never.
 */
public record TlsSettings(Path certificate, Path privateKey, Duration reloadInterval) {
  /** Certificates are renewed days ahead of expiry: a few seconds of delay cost nothing. */
  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(10);

  public TlsSettings {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(privateKey, "privateKey");
    reloadInterval = reloadInterval == null ? DEFAULT_RELOAD_INTERVAL : reloadInterval;
    if (reloadInterval.isNegative()) {
      throw new IllegalArgumentException(
          "the TLS reload interval must not be negative, was " + reloadInterval);
    }
  }

  /** The files, reloaded every {@link #DEFAULT_RELOAD_INTERVAL}. */
  public static TlsSettings of(Path certificate, Path privateKey) {
    return new TlsSettings(certificate, privateKey, DEFAULT_RELOAD_INTERVAL);
  }

  public TlsSettings withReloadInterval(Duration value) {
    return new TlsSettings(certificate, privateKey, value);
  }
}
