package dev.castellan.server.scim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.unboundid.scim2.client.ScimService;
import com.unboundid.scim2.common.exceptions.BadRequestException;
import com.unboundid.scim2.common.exceptions.ResourceConflictException;
import com.unboundid.scim2.common.exceptions.ResourceNotFoundException;
import com.unboundid.scim2.common.exceptions.ScimException;
import com.unboundid.scim2.common.messages.ListResponse;
import com.unboundid.scim2.common.messages.PatchOperation;
import com.unboundid.scim2.common.messages.PatchRequest;
import com.unboundid.scim2.common.types.Email;
import com.unboundid.scim2.common.types.GroupResource;
import com.unboundid.scim2.common.types.Member;
import com.unboundid.scim2.common.types.ServiceProviderConfigResource;
import com.unboundid.scim2.common.types.UserResource;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.ServerHttp;
import dev.castellan.store.MemoryStore;
import jakarta.ws.rs.client.Client;
import jakarta.ws.rs.client.ClientBuilder;
import jakarta.ws.rs.client.ClientRequestFilter;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real SCIM client, UnboundID's SCIM 2 SDK on Jersey, drives the service: what it sends must be
 * understood and what the service answers must be read back as the SDK's own resource types.
 */
class ScimClientInteropTest {
  private static final String ADMIN = "admin-token-0123456789abcdef";

  private static CastellanServer server;
  private static Client client;
  private static ScimService scim;

  @BeforeAll
  static void start() throws Exception {
    server =
        CastellanServer.start(ServerHttp.loopback().withBootstrapToken(ADMIN), new MemoryStore());
    String key =
        ServerHttp.json(
                ServerHttp.send(
                    server, ADMIN, "POST", "/api/keys", "{\"name\":\"sdk\",\"scim\":true}"),
                201)
            .get("key")
            .asText();
    client =
        ClientBuilder.newClient(
                // HttpURLConnection, Jersey's default, cannot send PATCH; java.net.http can.
                new org.glassfish.jersey.client.ClientConfig()
                    .connectorProvider(
                        new org.glassfish.jersey.jnh.connector.JavaNetHttpConnectorProvider()))
            .register(
                (ClientRequestFilter)
                    request -> request.getHeaders().add("Authorization", "Bearer " + key));
    scim = new ScimService(client.target("http://127.0.0.1:" + server.port() + "/scim/v2"));
  }

  @AfterAll
  static void stop() {
    client.close();
    server.close();
  }

  @Test
  void theSdk_readsTheServiceProviderConfig() throws Exception {
    ServiceProviderConfigResource config = scim.getServiceProviderConfig();
    assertThat(config.getPatch().isSupported()).isTrue();
    assertThat(config.getBulk().isSupported()).isFalse();
    assertThat(scim.getResourceTypes().getTotalResults()).isEqualTo(2);
    assertThat(scim.getSchemas().getResources()).hasSize(3);
  }

  @Test
  void theSdk_createsFindsPatchesReplacesAndDeletes() throws Exception {
    UserResource user = new UserResource();
    user.setUserName("sdk.user@example.com");
    user.setDisplayName("SDK User");
    user.setActive(true);
    user.setEmails(List.of(new Email().setValue("sdk.user@example.com").setType("work")));
    UserResource created = scim.create("Users", user);
    assertThat(created.getId()).isNotBlank();
    assertThat(created.getMeta().getVersion()).isEqualTo("W/\"1\"");

    ListResponse<UserResource> found =
        scim.searchRequest("Users")
            .filter("userName eq \"SDK.user@example.com\"")
            .invoke(UserResource.class);
    assertThat(found.getTotalResults()).isEqualTo(1);
    assertThat(found.getResources().getFirst().getId()).isEqualTo(created.getId());

    GroupResource group = new GroupResource().setDisplayName("sdk-group");
    GroupResource createdGroup = scim.create("Groups", group);
    GroupResource withMember =
        scim.modifyRequest("Groups", createdGroup.getId())
            .addOperation(
                PatchOperation.add(
                    "members",
                    ServerHttp.JSON.valueToTree(
                        List.of(java.util.Map.of("value", created.getId())))))
            .invoke(GroupResource.class);
    assertThat(withMember.getMembers())
        .extracting(Member::getValue)
        .containsExactly(created.getId());

    UserResource inactive =
        scim.modify(
            "Users",
            created.getId(),
            new PatchRequest(PatchOperation.replace("active", false)),
            UserResource.class);
    assertThat(inactive.getActive()).isFalse();

    inactive.setDisplayName("Replaced");
    UserResource replaced = scim.replace(inactive);
    assertThat(replaced.getDisplayName()).isEqualTo("Replaced");
    assertThat(replaced.getMeta().getVersion()).isEqualTo("W/\"3\"");

    scim.delete(replaced);
    assertThatThrownBy(() -> scim.retrieve("Users", created.getId(), UserResource.class))
        .isInstanceOf(ResourceNotFoundException.class);
  }

  @Test
  void theSdk_readsScimErrors() {
    UserResource first = new UserResource().setUserName("twice@example.com");
    assertThatThrownBy(
            () -> {
              scim.create("Users", first);
              scim.create("Users", new UserResource().setUserName("TWICE@example.com"));
            })
        .isInstanceOf(ResourceConflictException.class)
        .satisfies(
            e ->
                assertThat(((ScimException) e).getScimError().getScimType())
                    .isEqualTo("uniqueness"));
    assertThatThrownBy(
            () ->
                scim.searchRequest("Users").filter("nickName eq \"x\"").invoke(UserResource.class))
        .isInstanceOf(BadRequestException.class)
        .satisfies(
            e ->
                assertThat(((ScimException) e).getScimError().getScimType())
                    .isEqualTo("invalidFilter"));
  }
}
