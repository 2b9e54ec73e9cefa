package dev.castellan.server.auth;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The local development mode ({@link AuthMode#NONE}): who its caller is, where it may listen, and
 * the warning every start prints. Without credentials anyone who reaches the port is a global
 * administrator, so the port must be reachable from this machine only: the server binds to
 * 127.0.0.0/8, {@code ::1} or {@code localhost}, never to a wildcard or an outside address.
 */
public final class LocalDevelopment {
  /** The principal id every request of the mode carries; no API key or token can have it. */
  public static final String CALLER_ID = "anonymous:local-dev";

  /**
   * The caller of every request under {@link AuthMode#NONE}: a global administrator (and auditor)
   * to {@link AccessControl} of a server in that mode, nobody to any other. Audit entries and logs
   * name it {@value #CALLER_ID}.
   */
  public static final Principal CALLER =
      new Principal(CALLER_ID, "local development, no authentication (--auth none)", Map.of());

  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private LocalDevelopment() {}

  /**
   * True for an address only this machine can reach: an IPv4 literal in 127.0.0.0/8 ({@code
   * 127.0.0.1}), the IPv6 loopback ({@code ::1}, brackets allowed), or {@code localhost} when every
   * address it resolves to is one of those. Wildcards ({@code 0.0.0.0}, {@code ::}), other names
   * and shortened literals ({@code 127.1}) are not: a name could resolve elsewhere tomorrow.
   */
  public static boolean isLoopback(String host) {
    String h = host.strip();
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    try {
      if (h.toLowerCase(Locale.ROOT).equals("localhost")) {
        InetAddress[] all = InetAddress.getAllByName(h);
        for (InetAddress address : all) {
          if (!address.isLoopbackAddress()) {
            return false;
          }
        }
        return all.length > 0;
      }
      // Literals only: getByName parses them without asking DNS.
      if (isLiteral(h)) {
        return InetAddress.getByName(h).isLoopbackAddress();
      }
    } catch (UnknownHostException e) {
      return false;
    }
    return false;
  }

  /**
   * Why a request must be refused though the server listens on loopback only: a web page the
   * developer visits can make the browser send requests to {@code 127.0.0.1} (cross-site requests
   * carry an {@code Origin}), or point its own name at {@code 127.0.0.1} (DNS rebinding: the {@code
   * Host} header is still that name). Requests from curl, SDKs and the CLI carry a loopback {@code
   * Host} and no foreign {@code Origin}, and pass. Either header may be null (absent). Empty: the
   * request may go on.
   */
  public static Optional<String> foreignRequest(@Nullable String host, @Nullable String origin) {
    String name = host == null ? "" : hostName(host);
    if (!isLoopbackLiteralOrLocalhost(name)) {
      return Optional.of(
          "auth none answers only requests addressed to this machine (Host 127.0.0.1, [::1] or"
              + " localhost), not Host '"
              + (host == null ? "" : host)
              + "'");
    }
    if (origin != null) {
      String originHost;
      try {
        originHost = java.net.URI.create(origin.strip()).getHost();
      } catch (IllegalArgumentException e) {
        originHost = null;
      }
      if (originHost == null || !isLoopbackLiteralOrLocalhost(originHost)) {
        return Optional.of(
            "auth none refuses requests a web page sent (Origin '"
                + origin
                + "'): a page from elsewhere would act as a Castellan administrator");
      }
    }
    return Optional.empty();
  }

  /** {@code 127.0.0.1:8080} is {@code 127.0.0.1}, {@code [::1]:8080} is {@code ::1}. */
  private static String hostName(String hostHeader) {
    String h = hostHeader.strip();
    if (h.startsWith("[")) {
      int end = h.indexOf(']');
      return end < 0 ? h : h.substring(1, end);
    }
    int colon = h.indexOf(':');
    return colon < 0 ? h : h.substring(0, colon);
  }

  /** Like {@link #isLoopback} without asking the resolver: {@code localhost} by its name alone. */
  private static boolean isLoopbackLiteralOrLocalhost(String host) {
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    return h.equalsIgnoreCase("localhost") || (isLiteral(h) && isLoopback(h));
  }

  private static boolean isLiteral(String h) {
    return IPV4.matcher(h).matches() || (h.contains(":") && h.matches("[0-9A-Fa-f:.]+"));
  }

  /** Why a server in the mode may not listen on {@code host}, and what to do instead. */
  public static String refusal(String host) {
    return "auth none lets anyone who reaches the port act as a Castellan administrator without"
        + " credentials, so it listens only on a loopback address (127.0.0.1, ::1 or localhost),"
        + " not on '"
        + host
        + "'; bind to 127.0.0.1, or require credentials (auth required, the default)";
  }

  /** The warning printed and logged on every start in the mode. */
  public static String banner(String address) {
    return """
        WARNING: authentication is OFF (--auth none): for local development only.
        Every request to %s acts as the Castellan administrator %s,
        whatever credentials it carries. Never use this mode where others can reach the port.\
        """
        .formatted(address, CALLER_ID);
  }
}
