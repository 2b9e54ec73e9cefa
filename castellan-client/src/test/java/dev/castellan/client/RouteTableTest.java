package dev.castellan.client;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Path templates: what matches, what a resource template becomes, and what never matches. */
class RouteTableTest {
  private final RouteTable table =
      RouteTable.parse(
          "POST /workflows create; GET /workflows read; POST /workflows/{id}/run run workflow:{id}");

  @Test
  void aTemplate_bindsItsPlaceholder_intoTheResource() {
    assertThat(table.match("POST", "/workflows/42/run"))
        .hasValue(new RouteTable.Requirement("run", "workflow:42"));
    assertThat(table.match("post", "/workflows"))
        .hasValue(new RouteTable.Requirement("create", ""));
  }

  @Test
  void oneTrailingSlash_isTheSameRoute() {
    assertThat(table.match("GET", "/workflows/")).hasValue(new RouteTable.Requirement("read", ""));
  }

  @Test
  void dotAndEmptySegments_neverMatch_evenWhereAPlaceholderWould() {
    for (String path :
        new String[] {
          "/workflows/../run", "/workflows/./run", "/workflows//run", "//workflows", "workflows"
        }) {
      assertThat(table.match("POST", path)).as(path).isEmpty();
    }
  }

  @Test
  void otherMethodsAndLongerOrShorterPaths_haveNoPermission() {
    assertThat(table.match("PUT", "/workflows")).isEmpty();
    assertThat(table.match("POST", "/workflows/42")).isEmpty();
    assertThat(table.match("POST", "/workflows/42/run/again")).isEmpty();
    assertThat(table.match("POST", "/Workflows")).isEmpty();
  }

  @Test
  void head_fallsBackToGet_onlyWhenNoHeadRouteExists() {
    assertThat(table.match("HEAD", "/workflows")).hasValue(new RouteTable.Requirement("read", ""));
    RouteTable withHead = RouteTable.parse("GET /x read; HEAD /x peek");
    assertThat(withHead.match("HEAD", "/x")).hasValue(new RouteTable.Requirement("peek", ""));
  }
}
