package dev.castellan.server.scim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.server.scim.Filter.And;
import dev.castellan.server.scim.Filter.Comparison;
import dev.castellan.server.scim.Filter.Literal;
import dev.castellan.server.scim.Filter.Operator;
import dev.castellan.server.scim.PatchOperation.Op;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PatchRequestTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SCHEMAS =
      "\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"]";

  /** A PATCH body from its operations, written with single quotes for readability. */
  private static PatchRequest patch(String operations) {
    return PatchRequest.parse(
        "{" + SCHEMAS + ",\"Operations\":" + operations.replace('\'', '"') + "}");
  }

  private static ScimError errorOf(String body) {
    try {
      PatchRequest parsed = PatchRequest.parse(body);
      throw new AssertionError("expected " + body + " to fail, parsed " + parsed);
    } catch (ScimException e) {
      return e.error();
    }
  }

  private static ScimError errorOfOperations(String operations) {
    return errorOf("{" + SCHEMAS + ",\"Operations\":" + operations.replace('\'', '"') + "}");
  }

  private static String json(String singleQuoted) {
    return singleQuoted.replace('\'', '"');
  }

  private static Comparison valueEq(String value) {
    return new Comparison(AttributePath.of("value"), Operator.EQ, new Literal.Text(value));
  }

  // --- RFC 7644 section 3.5.2 examples ---

  @Test
  void rfc_addMemberToGroup() throws Exception {
    PatchRequest request =
        patch(
            "[{'op':'add','path':'members','value':[{'display':'Babs Jensen',"
                + "'$ref':'https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646',"
                + "'value':'2819c223-7f76-453a-919d-413861904646'}]}]");
    assertThat(request.operations()).hasSize(1);
    PatchOperation op = request.operations().get(0);
    assertThat(op.op()).isEqualTo(Op.ADD);
    assertThat(op.path()).isEqualTo(new PatchPath(AttributePath.of("members"), null));
    assertThat(op.value())
        .isEqualTo(
            JSON.readTree(
                json(
                    "[{'display':'Babs Jensen','$ref':'https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646','value':'2819c223-7f76-453a-919d-413861904646'}]")));
  }

  @Test
  void rfc_addWithoutPath_isSplitIntoOneOperationPerAttribute() throws Exception {
    PatchRequest request =
        patch(
            "[{'op':'add','value':{'emails':[{'value':'babs@jensen.org','type':'home'}],"
                + "'nickname':'Babs'}}]");
    assertThat(request.operations())
        .containsExactly(
            new PatchOperation(
                Op.ADD,
                new PatchPath(AttributePath.of("emails"), null),
                JSON.readTree(json("[{'value':'babs@jensen.org','type':'home'}]"))),
            new PatchOperation(
                Op.ADD,
                new PatchPath(AttributePath.of("nickname"), null),
                JSON.readTree("\"Babs\"")));
  }

  @Test
  void rfc_removeOneMemberByValueFilter() {
    PatchRequest request =
        patch(
            "[{'op':'remove','path':'members[value eq \\'2819c223-7f76-453a-919d-413861904646\\']'}]");
    assertThat(request.operations())
        .containsExactly(
            new PatchOperation(
                Op.REMOVE,
                new PatchPath(
                    AttributePath.of("members"), valueEq("2819c223-7f76-453a-919d-413861904646")),
                null));
  }

  @Test
  void rfc_removeAllMembers_thenAddNewOnes() {
    PatchRequest request =
        patch(
            "[{'op':'remove','path':'members'},"
                + "{'op':'add','path':'members','value':[{'display':'Babs Jensen','value':'2819c223'},"
                + "{'display':'James Smith','value':'08e1d05d'}]}]");
    assertThat(request.operations())
        .extracting(PatchOperation::op)
        .containsExactly(Op.REMOVE, Op.ADD);
    assertThat(request.operations().get(0).value()).isNull();
    assertThat(request.operations().get(1).value()).hasSize(2);
  }

  @Test
  void rfc_removeWithACompoundValueFilter() {
    PatchPath path =
        patch(
                "[{'op':'remove','path':'emails[type eq \\'work\\' and value ew \\'example.com\\']'}]")
            .operations()
            .get(0)
            .path();
    assertThat(path.attribute()).isEqualTo(AttributePath.of("emails"));
    assertThat(path.valueFilter())
        .isEqualTo(
            new And(
                new Comparison(AttributePath.of("type"), Operator.EQ, new Literal.Text("work")),
                new Comparison(
                    AttributePath.of("value"), Operator.EW, new Literal.Text("example.com"))));
  }

  @Test
  void rfc_replaceASubAttributeOfSelectedValues() {
    PatchOperation op =
        patch(
                "[{'op':'replace','path':'addresses[type eq \\'work\\'].streetAddress',"
                    + "'value':'1010 Broadway Ave'}]")
            .operations()
            .get(0);
    assertThat(op.op()).isEqualTo(Op.REPLACE);
    assertThat(op.path().attribute()).isEqualTo(AttributePath.of("addresses", "streetAddress"));
    assertThat(op.path().valueFilter())
        .isEqualTo(new Comparison(AttributePath.of("type"), Operator.EQ, new Literal.Text("work")));
    assertThat(op.value().textValue()).isEqualTo("1010 Broadway Ave");
  }

  @Test
  void rfc_replaceAComplexValueOfSelectedValues() {
    PatchOperation op =
        patch(
                "[{'op':'replace','path':'addresses[type eq \\'work\\']','value':{'type':'work',"
                    + "'streetAddress':'911 Universal City Plaza','primary':true}}]")
            .operations()
            .get(0);
    assertThat(op.path().attribute()).isEqualTo(AttributePath.of("addresses"));
    assertThat(op.value().get("primary").booleanValue()).isTrue();
  }

  @Test
  void rfc_removeAnExtensionAttributeByItsFullyQualifiedPath() {
    PatchOperation op =
        patch(
                "[{'op':'remove','path':'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber'}]")
            .operations()
            .get(0);
    assertThat(op.path().attribute())
        .isEqualTo(new AttributePath(ScimProtocol.ENTERPRISE_USER_SCHEMA, "employeeNumber", null));
  }

  // --- Okta (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20) ---

  @Test
  void okta_deactivateUser_valueObjectWithoutPath() {
    PatchRequest request = patch("[{'op':'replace','value':{'active':false}}]");
    PatchOperation op = request.operations().get(0);
    assertThat(op.op()).isEqualTo(Op.REPLACE);
    assertThat(op.path().attribute().is("active")).isTrue();
    assertThat(PatchRequest.booleanValue(op.value(), op.path())).isFalse();
  }

  @Test
  void okta_renameGroup_sendsTheReadOnlyIdAlong() {
    PatchRequest request =
        patch(
            "[{'op':'replace','value':{'id':'abf4dd94-a4c0-4f67-89c9-76b03340cb9b',"
                + "'displayName':'Test SCIMv2'}}]");
    assertThat(request.operations())
        .extracting(o -> o.path().attribute().name())
        .containsExactly("id", "displayName");
  }

  @Test
  void okta_addAndRemoveGroupMembers() {
    PatchRequest request =
        patch(
            "[{'op':'remove','path':'members[value eq \\'23a35c27-23d3-4c03-b4c5-6443c09e7173\\']'},"
                + "{'op':'add','path':'members','value':[{'value':'17e1a7ee-6e7f-4d2b-96a2-6b2d77f7f4b1',"
                + "'display':'test.user@okta.local'}]}]");
    assertThat(request.operations().get(0).path().valueFilter())
        .isEqualTo(valueEq("23a35c27-23d3-4c03-b4c5-6443c09e7173"));
    assertThat(request.operations().get(1).value().get(0).get("value").textValue())
        .isEqualTo("17e1a7ee-6e7f-4d2b-96a2-6b2d77f7f4b1");
  }

  // --- Microsoft Entra ID (learn.microsoft.com, "Tutorial: Develop a sample SCIM endpoint") ---

  @Test
  void entra_disableUser_capitalizedOpAndStringBoolean() {
    PatchOperation op =
        patch("[{'op':'Replace','path':'active','value':'False'}]").operations().get(0);
    assertThat(op.op()).isEqualTo(Op.REPLACE);
    assertThat(PatchRequest.booleanValue(op.value(), op.path())).isFalse();
    PatchOperation enable =
        patch("[{'op':'Replace','path':'active','value':'True'}]").operations().get(0);
    assertThat(PatchRequest.booleanValue(enable.value(), enable.path())).isTrue();
  }

  @Test
  void entra_updateUserAttributes() {
    PatchRequest request =
        patch(
            "[{'op':'Replace','path':'emails[type eq \\'work\\'].value','value':'updatedEmail@microsoft.com'},"
                + "{'op':'Replace','path':'name.familyName','value':'updatedFamilyName'},"
                + "{'op':'Add','path':'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager',"
                + "'value':'2819c223-7f76-453a-919d-413861904646'}]");
    assertThat(request.operations())
        .extracting(o -> o.path().attribute())
        .containsExactly(
            AttributePath.of("emails", "value"),
            AttributePath.of("name", "familyName"),
            new AttributePath(ScimProtocol.ENTERPRISE_USER_SCHEMA, "manager", null));
    assertThat(request.operations().get(0).path().valueFilter()).isNotNull();
  }

  @Test
  void entra_addAndRemoveMembers_removeCarriesTheMembersAsItsValue() {
    PatchRequest request =
        patch(
            "[{'op':'Add','path':'members','value':[{'$ref':null,'value':'f648f8d5ea4e4cd38e9c'}]},"
                + "{'op':'Remove','path':'members','value':[{'$ref':null,'value':'a0b1c2d3'}]}]");
    PatchOperation remove = request.operations().get(1);
    assertThat(remove.op()).isEqualTo(Op.REMOVE);
    assertThat(remove.path()).isEqualTo(new PatchPath(AttributePath.of("members"), null));
    assertThat(remove.value().get(0).get("value").textValue()).isEqualTo("a0b1c2d3");
  }

  @Test
  void entra_renameGroup() {
    PatchOperation op =
        patch("[{'op':'Replace','path':'displayName','value':'1879db59updatedDisplayName'}]")
            .operations()
            .get(0);
    assertThat(op.path().attribute().is("displayname")).isTrue();
  }

  // --- path-less values: keys that are paths, and extension containers ---

  @Test
  void pathlessValue_dottedAndQualifiedKeys_andAnExtensionObject() {
    PatchRequest request =
        patch(
            "[{'op':'replace','value':{'name.givenName':'Barbara',"
                + "'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department':'Tour',"
                + "'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User':{'employeeNumber':'701984','costCenter':'4130'}}}]");
    assertThat(request.operations())
        .extracting(o -> o.path().attribute())
        .containsExactly(
            AttributePath.of("name", "givenName"),
            new AttributePath(ScimProtocol.ENTERPRISE_USER_SCHEMA, "department", null),
            new AttributePath(ScimProtocol.ENTERPRISE_USER_SCHEMA, "employeeNumber", null),
            new AttributePath(ScimProtocol.ENTERPRISE_USER_SCHEMA, "costCenter", null));
  }

  @Test
  void aPathNamingAWholeExtensionSchema_isSplitIntoItsAttributes() {
    PatchRequest request =
        patch(
            "[{'op':'add','path':'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',"
                + "'value':{'employeeNumber':'701984','manager':{'value':'26118915'}}}]");
    assertThat(request.operations())
        .extracting(PatchOperation::op, o -> o.path().attribute())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                Op.ADD,
                new AttributePath(ScimProtocol.ENTERPRISE_USER_SCHEMA, "employeeNumber", null)),
            org.assertj.core.groups.Tuple.tuple(
                Op.ADD, new AttributePath(ScimProtocol.ENTERPRISE_USER_SCHEMA, "manager", null)));
  }

  @Test
  void memberNamesAreCaseInsensitive() {
    PatchRequest request =
        PatchRequest.parse(
            json(
                "{'SCHEMAS':['URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP'],"
                    + "'operations':[{'OP':'ADD','Path':'nickName','Value':'Babs'}]}"));
    assertThat(request.operations().get(0).value().textValue()).isEqualTo("Babs");
  }

  @Test
  void nullPathIsNoPath_nullValueIsNoValue() {
    assertThat(patch("[{'op':'replace','path':null,'value':{'active':true}}]").operations())
        .hasSize(1);
    assertThat(errorOfOperations("[{'op':'add','path':'nickName','value':null}]").scimType())
        .isEqualTo(ScimType.INVALID_VALUE);
  }

  // --- errors ---

  @Test
  void removeWithoutPath_isNoTarget() {
    ScimError error = errorOfOperations("[{'op':'remove'}]");
    assertThat(error.status()).isEqualTo(400);
    assertThat(error.scimType()).isEqualTo(ScimType.NO_TARGET);
    assertThat(error.detail()).contains("Operations[0]");
  }

  @Test
  void malformedPath_isInvalidPathWithAPosition() {
    ScimError error = errorOfOperations("[{'op':'add','path':'members[value eq','value':[]}]");
    assertThat(error.scimType()).isEqualTo(ScimType.INVALID_PATH);
    assertThat(error.detail())
        .isEqualTo(
            "Operations[0].path: invalid path: expected a space and a value after 'eq', found the"
                + " end (at position 17)");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "members[",
        "members]",
        "members[value eq 'x'",
        "members[value eq 'x'].",
        "members[value eq 'x'].value.x",
        "members[value eq 'x']value",
        "members.value[value eq 'x']",
        "name..familyName",
        "name.",
        ".name",
        "emails[type eq 'work'][value eq 'x']",
        "emails[not]",
        "user name",
        "foo:bar",
      })
  void malformedPaths_areInvalidPath(String path) {
    ScimError error =
        errorOfOperations(
            "[{'op':'replace','path':" + JSON.valueToTree(json(path)) + ",'value':1}]");
    assertThat(error.scimType()).isEqualTo(ScimType.INVALID_PATH);
  }

  @Test
  void nonStringPath_isInvalidPath() {
    assertThat(errorOfOperations("[{'op':'replace','path':42,'value':1}]").scimType())
        .isEqualTo(ScimType.INVALID_PATH);
  }

  @Test
  void pathlessAddOrReplace_needsAValueObject() {
    for (String value : List.of("'x'", "[{'active':false}]", "{}", "true")) {
      ScimError error = errorOfOperations("[{'op':'replace','value':" + value + "}]");
      assertThat(error.scimType()).as(value).isEqualTo(ScimType.INVALID_VALUE);
    }
    assertThat(errorOfOperations("[{'op':'add'}]").scimType()).isEqualTo(ScimType.INVALID_VALUE);
  }

  @Test
  void pathlessValueKeys_mustBeAttributePaths() {
    assertThat(errorOfOperations("[{'op':'replace','value':{'not a name':1}}]").scimType())
        .isEqualTo(ScimType.INVALID_PATH);
    assertThat(
            errorOfOperations("[{'op':'replace','value':{'emails[type eq \\'work\\']':1}}]")
                .detail())
        .contains("not a filter");
  }

  @Test
  void stringBooleans_otherValuesAreInvalidValue() {
    PatchPath active = PatchPath.parse("active");
    for (String value : List.of("\"yes\"", "1", "null", "{}", "\"\"")) {
      try {
        PatchRequest.booleanValue(new ObjectMapper().readTree(value), active);
        throw new AssertionError("accepted " + value);
      } catch (ScimException e) {
        assertThat(e.error().scimType()).isEqualTo(ScimType.INVALID_VALUE);
        assertThat(e.error().detail()).contains("'active' takes true or false");
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new AssertionError(e);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "not json",
        "[]",
        "{}",
        "{'Operations':[{'op':'add','path':'a','value':1}]}",
        "{'schemas':['urn:ietf:params:scim:api:messages:2.0:Error'],'Operations':[{'op':'add','path':'a','value':1}]}",
        "{'schemas':'urn:ietf:params:scim:api:messages:2.0:PatchOp','Operations':[{'op':'add','path':'a','value':1}]}",
        "{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp']}",
        "{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[]}",
        "{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':{}}",
        "{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':['add']}",
        "{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[{'path':'a','value':1}]}",
        "{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[{'op':'merge','path':'a','value':1}]}",
        "{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[{'op':1,'path':'a','value':1}]}",
      })
  void malformedMessages_areInvalidSyntax(String body) {
    assertThat(errorOf(json(body)).scimType()).isEqualTo(ScimType.INVALID_SYNTAX);
  }

  @Test
  void unknownOpNamesWhatItGot() {
    assertThat(
            errorOfOperations("[{'op':'add','path':'a','value':1},{'op':'copy','path':'a'}]")
                .detail())
        .contains("Operations[1].op must be \"add\", \"remove\" or \"replace\", got \"copy\"");
  }

  // --- limits ---

  @Test
  void limits_operationsAtTheLimitAreAccepted_oneMoreIsTooMany() {
    String one = "{'op':'remove','path':'members[value eq \\'x\\']'}";
    String atLimit =
        "["
            + String.join(",", java.util.Collections.nCopies(PatchRequest.MAX_OPERATIONS, one))
            + "]";
    assertThat(patch(atLimit).operations()).hasSize(PatchRequest.MAX_OPERATIONS);
    String over =
        "["
            + String.join(",", java.util.Collections.nCopies(PatchRequest.MAX_OPERATIONS + 1, one))
            + "]";
    ScimError error = errorOfOperations(over);
    assertThat(error.scimType()).isEqualTo(ScimType.TOO_MANY);
    assertThat(error.detail()).contains("at most " + PatchRequest.MAX_OPERATIONS);
  }

  @Test
  void limits_pathlessValuesCountEachAttribute() {
    StringBuilder attributes = new StringBuilder();
    for (int i = 0; i <= PatchRequest.MAX_OPERATIONS; i++) {
      attributes.append(i == 0 ? "" : ",").append("'a").append(i).append("':1");
    }
    assertThat(errorOfOperations("[{'op':'replace','value':{" + attributes + "}}]").scimType())
        .isEqualTo(ScimType.TOO_MANY);
  }

  @Test
  void limits_overlongPathIsInvalidPath() {
    String path = "a".repeat(FilterParser.MAX_PATH_LENGTH + 1);
    ScimError error = errorOfOperations("[{'op':'remove','path':'" + path + "'}]");
    assertThat(error.scimType()).isEqualTo(ScimType.INVALID_PATH);
    assertThat(error.detail()).contains("at most " + FilterParser.MAX_PATH_LENGTH);
  }
}
