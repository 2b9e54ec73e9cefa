package dev.castellan.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.server.rbac.RequestTarget;
import dev.castellan.server.rbac.RouteTable;
import java.util.List;
import org.junit.jupiter.api.Test;

class GatewayRequestTest {

  @Test
  void jettyDisagreement_isEmpty_forTargetsCastellanAccepts() {
    for (String target :
        List.of(
            "/",
            "/workflows/",
            "/workflows/42/run?x=1&y=/../z",
            "/workflows/a%20b/run",
            "/files/%E2%82%AC.pdf",
            "/files/%F0%9F%98%80",
            "/a:b/c@d/it's/(1)/a+b/k=v/~u",
            "/workflows/%7B7%7D/%5B%5D%5E%60%7C%22%3C%3E")) {
      RequestTarget.Accepted accepted = (RequestTarget.Accepted) RouteTable.normalize(target);
      assertThat(GatewayRequest.jettyDisagreement(target, accepted)).as(target).isEmpty();
    }
  }

  /** The cross-check catches a reading the normalizer got wrong, whatever the normalizer says. */
  @Test
  void jettyDisagreement_namesHowJettyReadsTheTargetDifferently() {
    assertThat(GatewayRequest.jettyDisagreement("/a;x/b", accepted("/a;x/b", "")))
        .contains("Jetty's URI parser decodes the path differently");
    assertThat(GatewayRequest.jettyDisagreement("/a#b", accepted("/a#b", "")))
        .get()
        .asString()
        .contains("flags the target: [fragment]");
    assertThat(GatewayRequest.jettyDisagreement("/a/%2e/b", accepted("/a/%2e/b", "")))
        .get()
        .asString()
        .contains("ambiguous_path_segment");
    assertThat(GatewayRequest.jettyDisagreement("/a?b", accepted("/a?b", "")))
        .contains("Jetty's URI parser splits the target differently");
    assertThat(GatewayRequest.jettyDisagreement("/a%zz", accepted("/a%zz", "")))
        .contains("Jetty's URI parser rejects the target");
  }

  @Test
  void refused_showsMethodAndTargetPrintably_andCut() {
    GatewayRequest.Refused refused =
        new GatewayRequest.Refused("GET\r\nX", "/a\u0000b\u00e9" + "c".repeat(300), "why");
    assertThat(refused.resource()).startsWith("GET%0D%0AX /a%00b%C3%A9ccc").endsWith("c...");
    assertThat(refused.resource()).hasSizeLessThan(240);
  }

  /** An Accepted record as a broken normalizer could make it: the raw path taken as decoded. */
  private static RequestTarget.Accepted accepted(String path, String query) {
    return new RequestTarget.Accepted(path, query, path, List.of(path.substring(1).split("/", -1)));
  }
}
