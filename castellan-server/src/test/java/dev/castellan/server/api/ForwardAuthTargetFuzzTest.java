package dev.castellan.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.castellan.server.rbac.RbacPolicy;
import dev.castellan.server.rbac.RequestTarget;
import dev.castellan.server.rbac.RouteTable;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Fuzz target for what forward-auth reads from a gateway: the method ({@code X-Forwarded-Method})
 * and the target ({@code X-Forwarded-Uri}, or Envoy's path) as {@link RouteTable#normalize}, {@link
 * RouteTable#refusedMethod} and {@link GatewayRequest#jettyDisagreement} read them, and the route
 * they match. An input is {@code method\ntarget} (without a newline, all of it is the target of a
 * GET).
 *
 * <p>Nothing throws, and every input is handled within {@link #TIME_LIMIT} of CPU time. A target
 * the normalizer accepts has one reading: it is its path and query, its decoded segments are free
 * of delimiters, dot segments and control characters, encoding them again gives back the raw path
 * (up to the case of hex digits: no character had two spellings), Jetty's URI parser reads it the
 * same way, and the re-encoded target matches the same route. A method is accepted exactly when it
 * is one of {@link RouteTable#METHODS}. What the audit trail shows of a refused request is visible
 * ASCII and bounded.
 *
 * <p>The build fuzzes this in its own JVM ({@code fuzz-forward-auth-target} in this module's POM);
 * without {@code JAZZER_FUZZ} it replays the inputs under {@code
 * ForwardAuthTargetFuzzTestInputs/normalize}.
 */
class ForwardAuthTargetFuzzTest {

  /** CPU time one input may take; only a superlinear blow-up reaches it. */
  static final Duration TIME_LIMIT = Duration.ofSeconds(1);

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private static final RouteTable TABLE =
      new RouteTable(
          List.of(
              new RbacPolicy.Route("POST", "/workflows/{id}/run", "run"),
              new RbacPolicy.Route("GET", "/workflows", "read"),
              new RbacPolicy.Route("POST", "/workflows", "create"),
              new RbacPolicy.Route("GET", "/workflows/{id}", "read"),
              new RbacPolicy.Route("DELETE", "/workflows/{id}", "delete"),
              new RbacPolicy.Route("*", "/files/**", "files"),
              new RbacPolicy.Route("GET", "/a:b/{x}/c@d", "odd"),
              new RbacPolicy.Route("GET", "/caf\u00e9/{x}", "unicode"),
              new RbacPolicy.Route("GET", "/", "root")));

  @FuzzTest(maxDuration = "30s")
  @DictionaryEntries({
    "GET",
    "POST",
    "/workflows/",
    "/run",
    "/files/",
    "%2F",
    "%2e",
    "%25",
    "%C3%A9",
    "%E2%82%AC",
    "%F0%9F%98%80",
    "%EF%BC%8F",
    "%C0%AF",
    "%ED%A0%80",
    "%20",
    "%7B",
    "/../",
    "/./",
    "//",
    ";",
    "\\",
    "#",
    "?",
    "http://",
    "caf\u00e9"
  })
  void normalize(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    int newline = text.indexOf('\n');
    String method = newline < 0 ? "GET" : text.substring(0, newline);
    String target = newline < 0 ? text : text.substring(newline + 1);

    long start = THREADS.getCurrentThreadCpuTime();
    Optional<String> refusedMethod = RouteTable.refusedMethod(method);
    RequestTarget read = RouteTable.normalize(target);
    assertThat(refusedMethod.isEmpty()).isEqualTo(RouteTable.METHODS.contains(method));
    assertPrintable(RequestTarget.printable(method, 16), 16);
    assertPrintable(RequestTarget.printable(target, 200), 200);

    switch (read) {
      case RequestTarget.Refused refused -> assertThat(refused.reason()).isNotBlank();
      case RequestTarget.Accepted accepted -> {
        assertOneReading(target, accepted);
        assertThat(GatewayRequest.jettyDisagreement(target, accepted))
            .as("Jetty reads %s differently", target)
            .isEmpty();
        String again = encode(accepted) + (target.indexOf('?') >= 0 ? "?" + accepted.query() : "");
        assertThat(TABLE.match(method, target))
            .as("%s and %s", target, again)
            .isEqualTo(TABLE.match(method, again));
      }
    }
    assertThat(Duration.ofNanos(THREADS.getCurrentThreadCpuTime() - start)).isLessThan(TIME_LIMIT);
  }

  private static void assertOneReading(String target, RequestTarget.Accepted accepted) {
    int q = target.indexOf('?');
    assertThat(accepted.path()).isEqualTo(q < 0 ? target : target.substring(0, q));
    assertThat(accepted.query()).isEqualTo(q < 0 ? "" : target.substring(q + 1));
    boolean trailingSlash = accepted.path().length() > 1 && accepted.path().endsWith("/");
    assertThat(accepted.decodedPath())
        .isEqualTo("/" + String.join("/", accepted.segments()) + (trailingSlash ? "/" : ""));
    for (String segment : accepted.segments()) {
      assertThat(segment).as(target).isNotEmpty().isNotIn(".", "..").doesNotEndWith(".");
      assertThat(segment.chars())
          .as("%s: segment %s", target, segment)
          .noneMatch(c -> c < 0x20 || c == 0x7f || "/\\;?#%".indexOf(c) >= 0);
    }
    RequestTarget again = RouteTable.normalize(encode(accepted));
    assertThat(again).as(target).isInstanceOf(RequestTarget.Accepted.class);
    assertThat(((RequestTarget.Accepted) again).segments()).isEqualTo(accepted.segments());
    assertThat(encode(accepted))
        .as("no character of %s has two spellings", target)
        .isEqualTo(upperHex(accepted.path()));
  }

  /** The path of {@code accepted} encoded again: only what must be, as UTF-8 in upper-case hex. */
  private static String encode(RequestTarget.Accepted accepted) {
    StringBuilder out = new StringBuilder();
    for (String segment : accepted.segments()) {
      out.append('/');
      for (byte b : segment.getBytes(StandardCharsets.UTF_8)) {
        char c = (char) (b & 0xff);
        if ((c >= 'a' && c <= 'z')
            || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || "-._~!$&'()*+,=:@".indexOf(c) >= 0) {
          out.append(c);
        } else {
          out.append(String.format(Locale.ROOT, "%%%02X", b & 0xff));
        }
      }
    }
    boolean trailingSlash = accepted.path().length() > 1 && accepted.path().endsWith("/");
    return out.isEmpty() ? "/" : out + (trailingSlash ? "/" : "");
  }

  /** {@code path} with the hex digits of its percent-encodings in upper case. */
  private static String upperHex(String path) {
    StringBuilder out = new StringBuilder(path);
    for (int i = 0; i < out.length(); i++) {
      if (out.charAt(i) == '%') {
        for (int j = i + 1; j <= i + 2 && j < out.length(); j++) {
          out.setCharAt(j, Character.toUpperCase(out.charAt(j)));
        }
      }
    }
    return out.toString();
  }

  private static void assertPrintable(String shown, int max) {
    assertThat(shown.chars()).allMatch(c -> c > 0x20 && c < 0x7f);
    // Each character cut to at most four UTF-8 bytes of three characters each, and "...".
    assertThat(shown.length()).isLessThanOrEqualTo(max * 12 + 3);
  }
}
