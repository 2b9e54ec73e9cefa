package dev.castellan.server.auth;

import java.util.Locale;

/**
 * How the server learns who calls: {@link #REQUIRED} credentials (API keys, and JWTs when
 * configured), or {@link #NONE} for local development, where every request acts as {@link
 * LocalDevelopment#CALLER} and the server binds only to a loopback address.
 */
public enum AuthMode {
  /** Every route but health (and public metrics) needs {@code Authorization: Bearer ...}. */
  REQUIRED,
  /**
   * No authentication (OpenFGA's default, {@code --authn-method none}): the {@code Authorization}
   * header is not read, and every request acts as a global administrator. Refused at start unless
   * the server binds to a loopback address.
   */
  NONE;

  /** The spelling of flags and config files: {@code required} or {@code none}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * {@code required} or {@code none}, without regard to case.
   *
   * @throws IllegalArgumentException naming {@code source} and the accepted values
   */
  public static AuthMode parse(String value, String source) {
    for (AuthMode mode : values()) {
      if (mode.wireName().equalsIgnoreCase(value.strip())) {
        return mode;
      }
    }
    throw new IllegalArgumentException(
        source
            + " must be required or none (local development on a loopback address), not '"
            + value
            + "'");
  }
}
