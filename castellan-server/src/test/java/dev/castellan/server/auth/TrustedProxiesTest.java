package dev.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Who the client is, from the TCP peer and X-Forwarded-For, as trusted_proxies allows. */
class TrustedProxiesTest {
  private static final TrustedProxies GATEWAYS = TrustedProxies.parse("10.0.0.0/8, 192.168.1.5");

  @Test
  void withoutTrustedProxies_theClientIsThePeer_whateverXForwardedForSays() {
    assertThat(TrustedProxies.NONE.client("10.1.2.3", List.of("203.0.113.7")))
        .isEqualTo("10.1.2.3");
  }

  @Test
  void anUntrustedPeer_cannotChooseItsAddress() {
    assertThat(GATEWAYS.client("198.51.100.9", List.of("10.0.0.1", "203.0.113.7")))
        .isEqualTo("198.51.100.9");
  }

  @Test
  void behindTrustedProxies_theClientIsTheRightMostUntrustedEntry() {
    assertThat(GATEWAYS.client("10.0.0.2", List.of("203.0.113.7"))).isEqualTo("203.0.113.7");
    // What the client wrote itself, on the left, is ignored.
    assertThat(GATEWAYS.client("10.0.0.2", List.of("198.51.100.1, 203.0.113.7")))
        .isEqualTo("203.0.113.7");
    // A chain of trusted proxies is walked through, across several headers.
    assertThat(
            GATEWAYS.client("10.0.0.2", List.of("1.2.3.4, 203.0.113.7", "192.168.1.5, 10.9.9.9")))
        .isEqualTo("203.0.113.7");
  }

  @Test
  void whenEveryEntryIsTrusted_theLeftMostIsTheClient_andWithoutTheHeaderThePeer() {
    assertThat(GATEWAYS.client("10.0.0.2", List.of("10.3.3.3, 10.4.4.4"))).isEqualTo("10.3.3.3");
    assertThat(GATEWAYS.client("10.0.0.2", List.of())).isEqualTo("10.0.0.2");
  }

  @Test
  void aMalformedEntry_makesTheHopThatPassedItOnTheClient() {
    assertThat(GATEWAYS.client("10.0.0.2", List.of("203.0.113.7, unknown"))).isEqualTo("10.0.0.2");
    assertThat(GATEWAYS.client("10.0.0.2", List.of("evil.example.com, 10.0.0.7")))
        .isEqualTo("10.0.0.7");
  }

  @Test
  void addressesAreNormalized_withPortsAndBracketsTakenOff() {
    TrustedProxies v6 = TrustedProxies.parse("fd00::/8, 127.0.0.1");
    assertThat(v6.client("127.0.0.1", List.of("[2001:DB8::1]:443")))
        .isEqualTo("2001:db8:0:0:0:0:0:1");
    assertThat(v6.client("127.0.0.1", List.of("203.0.113.7:5555"))).isEqualTo("203.0.113.7");
    assertThat(v6.client("[fd00::1]", List.of("2001:db8::2"))).isEqualTo("2001:db8:0:0:0:0:0:2");
    assertThat(v6.trusts("fd12::3")).isTrue();
    assertThat(v6.trusts("fe00::3")).isFalse();
  }

  @Test
  void rangesMatchTheirPrefixBits() {
    TrustedProxies ranges = TrustedProxies.parse("172.16.0.0/12,0.0.0.0/0");
    assertThat(ranges.trusts("172.31.255.255")).isTrue();
    assertThat(TrustedProxies.parse("172.16.0.0/12").trusts("172.32.0.0")).isFalse();
    assertThat(ranges.trusts("8.8.8.8")).isTrue();
    assertThat(TrustedProxies.parse("192.168.1.5").trusts("192.168.1.6")).isFalse();
  }

  @Test
  void namesAndBadRanges_stopStartup_namingTheSetting() {
    for (String bad : List.of("proxy.internal", "10.0.0.0/33", "10.0.0", "::1/129", "10.0.0.0/x")) {
      assertThatThrownBy(() -> TrustedProxies.parse(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("trusted_proxies")
          .hasMessageContaining(bad);
    }
    assertThat(TrustedProxies.parse(" , ").isEmpty()).isTrue();
  }
}
