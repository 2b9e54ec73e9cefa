package dev.castellan.server.rbac;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RouteTableTest {
  private final RouteTable table =
      new RouteTable(
          List.of(
              new RbacPolicy.Route("POST", "/workflows/{id}/run", "run"),
              new RbacPolicy.Route("GET", "/workflows", "read"),
              new RbacPolicy.Route("*", "/files/**", "read"),
              new RbacPolicy.Route("GET", "/", "read")));

  @Test
  void templates_matchOneSegmentPerVariable_andMethodsExactly() {
    assertThat(table.match("POST", "/workflows/42/run"))
        .map(RbacPolicy.Route::permission)
        .contains("run");
    assertThat(table.match("post", "/workflows/42/run")).isEmpty(); // methods are case-sensitive
    assertThat(table.match("GET", "/workflows/42/run")).isEmpty();
    assertThat(table.match("POST", "/workflows/42/43/run")).isEmpty();
    assertThat(table.match("POST", "/workflows//run")).isEmpty();
    assertThat(table.match("HEAD", "/workflows")).isPresent();
    assertThat(table.match("GET", "/workflows/")).isPresent();
    assertThat(table.match("GET", "/")).isPresent();
    assertThat(table.match("GET", "/Workflows")).isEmpty();
  }

  @Test
  void doubleStar_matchesAnyRestButNotNothing() {
    assertThat(table.match("DELETE", "/files/a/b/c")).isPresent();
    assertThat(table.match("GET", "/files")).isEmpty();
  }

  @Test
  void pathTricks_areRefused() {
    for (String path :
        List.of(
            "/files/../workflows",
            "/files/./x",
            "/files/a%2Fb",
            "/files/a%5cb",
            "/files/%2e%2e/x",
            "/files/a%252fb",
            "/files/x.",
            "/files/a;b",
            "/files/a\\b",
            "/files/a b",
            "/files/a%00",
            "files/a",
            "")) {
      assertThat(RouteTable.unsafe(path)).as(path).isPresent();
      assertThat(table.match("GET", path)).as(path).isEmpty();
    }
    assertThat(RouteTable.unsafe("/files/report.v2.pdf")).isEmpty();
  }

  @Test
  void normalize_decodesOncePerSegment_andKeepsTheQueryApart() {
    RequestTarget read = RouteTable.normalize("/files/a%20b%E2%82%AC/?x=%2F/../y?z");
    assertThat(read)
        .isEqualTo(
            new RequestTarget.Accepted(
                "/files/a%20b%E2%82%AC/",
                "x=%2F/../y?z", "/files/a b\u20ac/", List.of("files", "a b\u20ac")));
    assertThat(RouteTable.normalize("/"))
        .isEqualTo(new RequestTarget.Accepted("/", "", "/", List.of()));
    // Variables take decoded values; literal segments can only match unencoded text.
    assertThat(table.match("POST", "/workflows/%7Bx%7D/run")).isPresent();
    assertThat(table.match("DELETE", "/files/%E4%B8%AD")).isPresent();
  }

  /** Regression: issue 12, "Forward-auth accepts '#'". */
  @Test
  void normalize_refusesAFragment_soWorkflowsHashRunIsNotRun() {
    assertThat(RouteTable.normalize("/workflows/#/run"))
        .isInstanceOfSatisfying(
            RequestTarget.Refused.class, r -> assertThat(r.reason()).contains("fragment"));
    assertThat(table.match("POST", "/workflows/#/run")).isEmpty();
    assertThat(table.match("GET", "/workflows?x#y")).isEmpty();
  }

  @Test
  void normalize_refusesEachTrick_withAReasonNamingIt() {
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put("/workflows/1/run#", "fragment");
    cases.put("#/workflows", "fragment");
    cases.put("http://evil.example/workflows", "absolute form");
    cases.put("HTTP://evil.example/workflows", "absolute form");
    cases.put("*", "must start with '/'");
    cases.put("workflows", "must start with '/'");
    cases.put("//evil.example/workflows", "starts with '//'");
    cases.put("/workflows//1", "empty segment");
    cases.put("/workflows/1/run;jsessionid=x", "';'");
    cases.put("/workflows\\1", "backslash");
    cases.put("/workflows/1 /run", "space or a control character");
    cases.put("/workflows/1\t/run", "space or a control character");
    cases.put("/workflows/\u00e9", "non-ASCII character U+00E9 unencoded");
    cases.put("/workflows/a|b", "'|', which must be percent-encoded");
    cases.put("/workflows/%", "invalid percent-encoding");
    cases.put("/workflows/%4", "invalid percent-encoding");
    cases.put("/workflows/%zz", "invalid percent-encoding");
    cases.put("/workflows/%u002e", "invalid percent-encoding");
    cases.put("/workflows/%\u0663\u0663", "non-ASCII"); // Arabic-Indic digits are not hex
    cases.put("/workflows/%00", "NUL");
    cases.put("/workflows/%0a", "control character");
    cases.put("/workflows/%7F", "control character");
    cases.put("/workflows%2f1/run", "encoded '/'");
    cases.put("/workflows%5c1/run", "encoded '\\'");
    cases.put("/workflows/%3Bx/run", "encoded ';'");
    cases.put("/workflows/1%3F/run", "encoded '?'");
    cases.put("/workflows/1%23/run", "encoded '#'");
    cases.put("/workflows/%252e%252e/run", "double encoding");
    cases.put("/workflows/%2e%2e/run", "encoded '.'");
    cases.put("/workflows/1/ru%6E", "encoded 'n' (%6E) that never needs encoding");
    cases.put("/workflows/1/run%21", "encoded '!'");
    cases.put("/workflows/%C0%AF", "not valid UTF-8"); // overlong '/'
    cases.put("/workflows/%E0%80%AE", "not valid UTF-8"); // overlong '.'
    cases.put("/workflows/%ED%A0%80", "not valid UTF-8"); // an encoded surrogate
    cases.put("/workflows/%E2%82", "not valid UTF-8"); // truncated
    cases.put("/workflows/%F4%90%80%80", "not valid UTF-8"); // past U+10FFFF
    cases.put("/workflows/%FF", "not valid UTF-8");
    cases.put("/workflows/%EF%BC%8F", "NFKC"); // fullwidth solidus
    cases.put("/workflows/%EF%BC%8E%EF%BC%8E", "NFKC"); // fullwidth dots
    cases.put("/workflows/e%CC%81", "NFKC"); // a combining accent
    cases.put("/workflows/%E2%80%8B", "U+200B"); // zero-width space
    cases.put("/workflows/%E2%80%AE", "U+202E"); // right-to-left override
    cases.put("/workflows/%C2%A0", "U+00A0"); // no-break space
    cases.put("/workflows/%EE%80%80", "U+E000"); // private use
    cases.put("/workflows/..", "dot segment");
    cases.put("/workflows/./1", "dot segment");
    cases.put("/workflows/1.", "ends with '.'");
    cases.put("/workflows/1%20", "ends with '.' or a space");
    cases.put("/" + "a".repeat(4096), "longer than 4096");
    cases.put("/a?" + "q".repeat(8192), "longer than 8192");
    cases.forEach(
        (target, reason) ->
            assertThat(RouteTable.normalize(target))
                .as(target)
                .isInstanceOfSatisfying(
                    RequestTarget.Refused.class, r -> assertThat(r.reason()).contains(reason)));
  }

  @Test
  void refusedMethod_acceptsOnlyKnownUpperCaseMethods() {
    assertThat(RouteTable.refusedMethod("POST")).isEmpty();
    assertThat(RouteTable.refusedMethod("OPTIONS")).isEmpty();
    assertThat(RouteTable.refusedMethod("")).contains("the method is empty");
    assertThat(RouteTable.refusedMethod("post")).get().asString().contains("not upper-case");
    assertThat(RouteTable.refusedMethod("PROPFIND")).get().asString().contains("not one");
    assertThat(RouteTable.refusedMethod("TRACE")).isPresent();
    assertThat(RouteTable.refusedMethod("CONNECT")).isPresent();
    assertThat(RouteTable.refusedMethod("GET\r\nX: y"))
        .get()
        .asString()
        .contains("GET%0D%0AX:%20y");
  }
}
