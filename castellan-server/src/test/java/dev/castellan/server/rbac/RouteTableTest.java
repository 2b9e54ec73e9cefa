package dev.castellan.server.rbac;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
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
    assertThat(table.match("post", "/workflows/42/run")).isPresent();
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
}
