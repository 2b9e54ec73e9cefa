package dev.castellan.server.scim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.server.scim.Filter.Comparison;
import dev.castellan.server.scim.Filter.Literal;
import dev.castellan.server.scim.Filter.Operator;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ListRequestTest {

  private static ListRequest read(String... pairs) {
    Map<String, String> query = new HashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      query.put(pairs[i], pairs[i + 1]);
    }
    return ListRequest.fromQuery(query::get, 100, 500);
  }

  private static ScimError errorOf(String... pairs) {
    try {
      ListRequest request = read(pairs);
      throw new AssertionError("expected an error, read " + request);
    } catch (ScimException e) {
      return e.error();
    }
  }

  @Test
  void noParameters_listEverythingFromTheFirstWithTheDefaultPage() {
    ListRequest request = read();
    assertThat(request.filter()).isNull();
    assertThat(request.startIndex()).isEqualTo(1);
    assertThat(request.count()).isEqualTo(100);
    assertThat(request.attributes()).isEmpty();
    assertThat(request.excludedAttributes()).isEmpty();
  }

  @Test
  void oktaUserLookup() {
    ListRequest request =
        read("filter", "userName eq \"test.user@okta.local\"", "startIndex", "1", "count", "100");
    assertThat(request.filter())
        .isEqualTo(
            new Comparison(
                AttributePath.of("userName"),
                Operator.EQ,
                new Literal.Text("test.user@okta.local")));
  }

  @Test
  void entraGroupProbe_excludesMembers() {
    ListRequest request =
        read(
            "filter",
            "id eq \"e9e30dba\" and members[value eq \"9a3d3d26\"]",
            "excludedAttributes",
            "members");
    assertThat(request.filter()).isInstanceOf(Filter.And.class);
    assertThat(request.excludedAttributes()).containsExactly(AttributePath.of("members"));
  }

  @Test
  void rfcPaging_startIndexBelowOneIsOne_negativeCountIsZero_countIsCappedAtTheMaximum() {
    assertThat(read("startIndex", "0").startIndex()).isEqualTo(1);
    assertThat(read("startIndex", "-5").startIndex()).isEqualTo(1);
    assertThat(read("startIndex", "26").startIndex()).isEqualTo(26);
    assertThat(read("count", "-1").count()).isEqualTo(0);
    assertThat(read("count", "0").count()).isEqualTo(0);
    assertThat(read("count", "10").count()).isEqualTo(10);
    assertThat(read("count", "100000").count()).isEqualTo(500);
    assertThat(read("count", "99999999999999999999999").count()).isEqualTo(500);
    assertThat(read("startIndex", "99999999999999999999999").startIndex())
        .isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void attributes_commaSeparatedPaths() {
    ListRequest request =
        read(
            "attributes",
            "userName, name.familyName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager");
    assertThat(request.attributes())
        .containsExactly(
            AttributePath.of("userName"),
            AttributePath.of("name", "familyName"),
            new AttributePath(ScimProtocol.ENTERPRISE_USER_SCHEMA, "manager", null));
  }

  @Test
  void errors() {
    assertThat(errorOf("filter", "userName eq").scimType()).isEqualTo(ScimType.INVALID_FILTER);
    assertThat(errorOf("count", "ten").scimType()).isEqualTo(ScimType.INVALID_VALUE);
    assertThat(errorOf("count", "ten").detail()).isEqualTo("'count' must be an integer, got 'ten'");
    assertThat(errorOf("startIndex", "1.5").scimType()).isEqualTo(ScimType.INVALID_VALUE);
    assertThat(errorOf("attributes", "userName,,emails").scimType())
        .isEqualTo(ScimType.INVALID_VALUE);
    assertThat(errorOf("attributes", "emails[type eq \"work\"]").detail()).contains("not filters");
    assertThat(errorOf("attributes", "a,".repeat(ListRequest.MAX_ATTRIBUTES) + "b").detail())
        .contains("at most " + ListRequest.MAX_ATTRIBUTES);
  }
}
