package dev.castellan.server.rbac;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import org.junit.jupiter.api.Test;

class RbacPolicyTest {
  @Test
  void seed000sFile_isReadAsTheSeedWritesIt() {
    RbacPolicy policy =
        RbacPolicy.parse(
            """
            roles:
              admin: [create, read, run, delete, share]
              developer: [create, read, run]
              analyst: [read, run]
              viewer: [read]
            """);
    assertThat(policy.roles()).containsOnlyKeys("admin", "developer", "analyst", "viewer");
    assertThat(policy.roles().get("analyst")).containsExactly("read", "run");
    assertThat(policy.defaultResource()).isEqualTo("Workflows");
    assertThat(policy.routes()).isEmpty();
  }

  @Test
  void routesPermissionsAndResource_roundTripThroughYaml() {
    RbacPolicy policy =
        RbacPolicy.parse(
            """
            resource: Datasets
            permissions:
              - {id: 1001, resource: Datasets, operation: Read}
            roles:
              reader: [read, Logs.View]
            routes:
              - {method: get, path: "/datasets/{id}", permission: read}
            """);
    assertThat(policy.routes().get(0).method()).isEqualTo("GET");
    assertThat(RbacPolicy.parse(policy.toYaml())).isEqualTo(policy);
  }

  @Test
  void mistakes_areReportedWithWhere() {
    assertThatThrownBy(() -> RbacPolicy.parse("roles: [a"))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("line");
    assertThatThrownBy(() -> RbacPolicy.parse("rolez:\n  a: [read]\n"))
        .hasMessageContaining("unknown key 'rolez'");
    assertThatThrownBy(() -> RbacPolicy.parse("roles:\n  a: read\n"))
        .hasMessageContaining("roles.a")
        .hasMessageContaining("list");
    assertThatThrownBy(
            () ->
                RbacPolicy.parse(
                    "roles: {}\nroutes:\n  - {method: FETCH, path: /x, permission: read}\n"))
        .hasMessageContaining("routes[0].method");
    assertThatThrownBy(
            () ->
                RbacPolicy.parse(
                    "roles: {}\nroutes:\n  - {method: GET, path: x, permission: read}\n"))
        .hasMessageContaining("routes[0].path");
    assertThatThrownBy(() -> RbacPolicy.parse("")).hasMessageContaining("empty");
    assertThatThrownBy(() -> RbacPolicy.parse("roles:\n  '!!!': [read]\n"))
        .hasMessageContaining("letter or digit");
  }
}
