package dev.castellan.server.auth;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * The peers allowed to say who the client is: the reverse proxies and gateways in front of
 * Castellan, as CIDR ranges ({@code 10.0.0.0/8}, {@code 192.168.1.5}, {@code fd00::/8}).
 *
 * <p>A request's client is its TCP peer, unless that peer is trusted: then it is the right-most
 * {@code X-Forwarded-For} entry that is not itself a trusted proxy. Everything to the left of that
 * entry was written by the client and is ignored, so a client cannot choose the address it is
 * counted, limited and audited under. A peer outside the ranges cannot set the address at all.
 */
public final class TrustedProxies {
  /** No proxy is trusted: the client is always the TCP peer. */
  public static final TrustedProxies NONE = new TrustedProxies(List.of(), List.of());

  /** Entries of {@code X-Forwarded-For} looked at, from the right; a longer chain is cut. */
  static final int MAX_HOPS = 32;

  private final List<Range> ranges;
  private final List<String> spelled;

  private TrustedProxies(List<Range> ranges, List<String> spelled) {
    this.ranges = ranges;
    this.spelled = spelled;
  }

  /**
   * Parses a comma-separated list of addresses and CIDR ranges; empty for none. Throws {@link
   * IllegalArgumentException} naming the entry that is not one (startup stops on it).
   */
  public static TrustedProxies parse(String commaSeparated) {
    List<Range> ranges = new ArrayList<>();
    List<String> spelled = new ArrayList<>();
    for (String part : commaSeparated.split(",")) {
      String entry = part.strip();
      if (entry.isEmpty()) {
        continue;
      }
      ranges.add(Range.parse(entry));
      spelled.add(entry);
    }
    return ranges.isEmpty()
        ? NONE
        : new TrustedProxies(List.copyOf(ranges), Collections.unmodifiableList(spelled));
  }

  /** Whether no proxy is trusted. */
  public boolean isEmpty() {
    return ranges.isEmpty();
  }

  /** Whether {@code address} (an IP literal) lies in a trusted range. */
  public boolean trusts(String address) {
    byte[] bytes = parseAddress(address);
    return bytes != null && trusts(bytes);
  }

  private boolean trusts(byte[] address) {
    for (Range range : ranges) {
      if (range.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The client of a request from {@code peer} that carried {@code forwardedFor} (the values of its
   * {@code X-Forwarded-For} headers, in order), as a normalized IP literal.
   *
   * <p>Walking the entries from the right, each trusted one is a proxy that passed the request on;
   * the first untrusted one is the client. An entry that is not an IP literal was handed over by
   * the hop to its right, which is then taken as the client (a trusted proxy writes literals:
   * garbage there is a misconfiguration, never a way for a client to pick its address). When every
   * entry is trusted, the left-most is the client.
   */
  public String client(String peer, List<String> forwardedFor) {
    byte[] peerBytes = parseAddress(peer);
    String hop = peerBytes == null ? peer : format(peerBytes);
    if (ranges.isEmpty() || peerBytes == null || !trusts(peerBytes) || forwardedFor.isEmpty()) {
      return hop;
    }
    List<String> entries = new ArrayList<>();
    for (String header : forwardedFor) {
      for (String entry : header.split(",")) {
        entries.add(entry);
      }
    }
    int stop = Math.max(0, entries.size() - MAX_HOPS);
    for (int i = entries.size() - 1; i >= stop; i--) {
      byte[] address = parseAddress(entries.get(i).strip());
      if (address == null) {
        return hop;
      }
      hop = format(address);
      if (!trusts(address)) {
        return hop;
      }
    }
    return hop;
  }

  @Override
  public String toString() {
    return String.join(",", spelled);
  }

  /**
   * The bytes of an IP literal (IPv4 dotted quad, IPv6, either in brackets or with a port), or null
   * when {@code text} is not one. Never asks DNS: a host name is not an address here.
   */
  static byte @Nullable [] parseAddress(@Nullable String text) {
    if (text == null || text.isEmpty() || text.length() > 64) {
      return null;
    }
    String literal = text;
    if (literal.startsWith("[")) {
      int close = literal.indexOf(']');
      if (close < 0) {
        return null;
      }
      literal = literal.substring(1, close); // [v6] or [v6]:port
    } else if (literal.indexOf(':') > 0 && literal.indexOf(':') == literal.lastIndexOf(':')) {
      literal = literal.substring(0, literal.indexOf(':')); // v4:port
    }
    if (literal.indexOf(':') < 0) {
      return parseIpv4(literal);
    }
    for (int i = 0; i < literal.length(); i++) {
      char c = literal.charAt(i);
      boolean allowed =
          (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':';
      if (!allowed && c != '.') {
        return null; // no zone ids, no names: nothing that could reach a resolver
      }
    }
    try {
      // Only hex digits, colons and dots: the JDK parses it as a literal, without a lookup.
      return InetAddress.getByName(literal).getAddress();
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static byte @Nullable [] parseIpv4(String text) {
    String[] parts = text.split("\\.", -1);
    if (parts.length != 4) {
      return null;
    }
    byte[] out = new byte[4];
    for (int i = 0; i < 4; i++) {
      String part = parts[i];
      if (part.isEmpty() || part.length() > 3) {
        return null;
      }
      int value = 0;
      for (int j = 0; j < part.length(); j++) {
        char c = part.charAt(j);
        if (c < '0' || c > '9') {
          return null;
        }
        value = value * 10 + (c - '0');
      }
      if (value > 255) {
        return null;
      }
      out[i] = (byte) value;
    }
    return out;
  }

  /** The normalized form of an address: dotted quad, or IPv6 as the JDK writes it. */
  static String format(byte[] address) {
    try {
      return InetAddress.getByAddress(address).getHostAddress().toLowerCase(Locale.ROOT);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("4 or 16 bytes are an address", e);
    }
  }

  /** One trusted range: an address and how many leading bits of it must match. */
  private record Range(byte[] network, int prefix) {
    static Range parse(String entry) {
      int slash = entry.indexOf('/');
      String address = slash < 0 ? entry : entry.substring(0, slash);
      byte[] network = parseAddress(address);
      if (network == null || address.startsWith("[") || address.contains("]")) {
        throw invalid(entry);
      }
      int bits = network.length * 8;
      int prefix = bits;
      if (slash >= 0) {
        String length = entry.substring(slash + 1);
        if (!length.matches("\\d{1,3}")) {
          throw invalid(entry);
        }
        prefix = Integer.parseInt(length);
        if (prefix > bits) {
          throw invalid(entry);
        }
      }
      return new Range(network, prefix);
    }

    private static IllegalArgumentException invalid(String entry) {
      return new IllegalArgumentException(
          "trusted_proxies: '"
              + entry
              + "' is not an IP address or CIDR range (e.g. 10.0.0.0/8, 192.168.1.5,"
              + " fd00::/8)");
    }

    boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xFF << (8 - rest)) & 0xFF;
      return (address[full] & mask) == (network[full] & mask);
    }
  }
}
