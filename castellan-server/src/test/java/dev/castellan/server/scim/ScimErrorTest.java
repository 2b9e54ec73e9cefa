package dev.castellan.server.scim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class ScimErrorTest {

  @Test
  void toJson_hasTheErrorSchemaTheStatusAsAStringTheTypeAndTheDetail() throws Exception {
    String json = ScimError.badRequest(ScimType.INVALID_FILTER, "bad \"filter\"").toJson();
    JsonNode body = new ObjectMapper().readTree(json);
    assertThat(body.get("schemas").size()).isEqualTo(1);
    assertThat(body.get("schemas").get(0).textValue())
        .isEqualTo("urn:ietf:params:scim:api:messages:2.0:Error");
    assertThat(body.get("status").isTextual()).isTrue();
    assertThat(body.get("status").textValue()).isEqualTo("400");
    assertThat(body.get("scimType").textValue()).isEqualTo("invalidFilter");
    assertThat(body.get("detail").textValue()).isEqualTo("bad \"filter\"");
  }

  @Test
  void toJson_withoutAScimType_leavesTheMemberOut() {
    assertThat(new ScimError(404, null, "Resource 2819c223 not found").toJson())
        .isEqualTo(
            "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],"
                + "\"status\":\"404\",\"detail\":\"Resource 2819c223 not found\"}");
  }

  @Test
  void everyScimTypeHasTheRfcsWireName() {
    assertThat(ScimType.values())
        .extracting(ScimType::wireName)
        .containsExactly(
            "invalidFilter",
            "tooMany",
            "uniqueness",
            "mutability",
            "invalidSyntax",
            "invalidPath",
            "noTarget",
            "invalidValue",
            "invalidVers",
            "sensitive");
  }

  @Test
  void statusMustBeAnErrorAndDetailNonBlank() {
    assertThatThrownBy(() -> new ScimError(200, null, "ok"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("200");
    assertThatThrownBy(() -> new ScimError(400, ScimType.INVALID_VALUE, " "))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void exceptionCarriesTheBody() {
    ScimException e = ScimException.badRequest(ScimType.NO_TARGET, "no path");
    assertThat(e.error()).isEqualTo(new ScimError(400, ScimType.NO_TARGET, "no path"));
    assertThat(e.getMessage()).isEqualTo("no path");
    assertThat(e.code()).isEqualTo(dev.castellan.ErrorCode.VALIDATION_ERROR);
    assertThat(new ScimException(new ScimError(404, null, "Resource 1 not found")).code())
        .isEqualTo(dev.castellan.ErrorCode.NOT_FOUND);
    assertThat(new ScimException(new ScimError(409, ScimType.UNIQUENESS, "taken")).code())
        .isEqualTo(dev.castellan.ErrorCode.ALREADY_EXISTS);
  }

  @Test
  void mediaType() {
    assertThat(ScimProtocol.MEDIA_TYPE).isEqualTo("application/scim+json");
    assertThat(ScimProtocol.CONTENT_TYPE).startsWith("application/scim+json");
  }
}
