package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.openfga.sdk.api.client.ApiClient;
import dev.openfga.sdk.api.client.ClientAssertion;
import dev.openfga.sdk.api.client.OpenFgaClient;
import dev.openfga.sdk.api.client.model.ClientBatchCheckItem;
import dev.openfga.sdk.api.client.model.ClientBatchCheckRequest;
import dev.openfga.sdk.api.client.model.ClientBatchCheckSingleResponse;
import dev.openfga.sdk.api.client.model.ClientCheckRequest;
import dev.openfga.sdk.api.client.model.ClientExpandRequest;
import dev.openfga.sdk.api.client.model.ClientListObjectsRequest;
import dev.openfga.sdk.api.client.model.ClientListRelationsRequest;
import dev.openfga.sdk.api.client.model.ClientListUsersRequest;
import dev.openfga.sdk.api.client.model.ClientReadChangesRequest;
import dev.openfga.sdk.api.client.model.ClientReadRequest;
import dev.openfga.sdk.api.client.model.ClientReadResponse;
import dev.openfga.sdk.api.client.model.ClientRelationshipCondition;
import dev.openfga.sdk.api.client.model.ClientTupleKey;
import dev.openfga.sdk.api.client.model.ClientTupleKeyWithoutCondition;
import dev.openfga.sdk.api.client.model.ClientWriteRequest;
import dev.openfga.sdk.api.configuration.ApiToken;
import dev.openfga.sdk.api.configuration.ClientConfiguration;
import dev.openfga.sdk.api.configuration.ClientListStoresOptions;
import dev.openfga.sdk.api.configuration.ClientReadChangesOptions;
import dev.openfga.sdk.api.configuration.ClientReadOptions;
import dev.openfga.sdk.api.configuration.ClientWriteOptions;
import dev.openfga.sdk.api.configuration.Credentials;
import dev.openfga.sdk.api.model.Assertion;
import dev.openfga.sdk.api.model.AuthorizationModel;
import dev.openfga.sdk.api.model.ConsistencyPreference;
import dev.openfga.sdk.api.model.CreateStoreRequest;
import dev.openfga.sdk.api.model.FgaObject;
import dev.openfga.sdk.api.model.Node;
import dev.openfga.sdk.api.model.Store;
import dev.openfga.sdk.api.model.Tuple;
import dev.openfga.sdk.api.model.TupleChange;
import dev.openfga.sdk.api.model.TupleOperation;
import dev.openfga.sdk.api.model.User;
import dev.openfga.sdk.api.model.UserTypeFilter;
import dev.openfga.sdk.api.model.WriteAuthorizationModelRequest;
import dev.openfga.sdk.api.model.WriteRequestWrites;
import dev.openfga.sdk.errors.FgaApiAuthenticationError;
import dev.openfga.sdk.errors.FgaApiNotFoundError;
import dev.openfga.sdk.errors.FgaApiValidationError;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Castellan driven by the official OpenFGA Java SDK, as an OpenFGA user would drive it. The suite
 * runs once per kind of store, against one server per kind.
 */
@ParameterizedClass(name = "on {0}")
@EnumSource(StoreKind.class)
class OpenFgaSdkTest {
  static final String TOKEN = "test-token-0123456789abcdef";

  static final String DSL =
      """
      model
        schema 1.1

      type user

      type group
        relations
          define member: [user]

      type folder
        relations
          define parent: [folder]
          define viewer: [user, group#member] or viewer from parent

      type document
        relations
          define parent: [folder]
          define blocked: [user]
          define owner: [user]
          define editor: [user with level_ok]
          define viewer: [user, user:*, group#member, user with level_ok] or owner or viewer from parent
          define can_view: viewer but not blocked

      condition level_ok(level: int, required: int) {
        level >= required
      }
      """;

  /** The store this run of the suite is on; JUnit sets it, and hands it to startServer. */
  @Parameter StoreKind kind;

  static StoreKind.TestStore testStore;
  static CastellanServer server;
  static ApiClient apiClient;

  OpenFgaClient client;
  String storeId;
  String modelId;

  @BeforeParameterizedClassInvocation
  static void startServer(StoreKind kind) {
    testStore = kind.create();
    server = testStore.startServer(ServerHttp.loopback().withBootstrapToken(TOKEN));
    apiClient = new ApiClient();
  }

  @AfterParameterizedClassInvocation
  static void stopServer() {
    testStore.close();
  }

  static OpenFgaClient newClient(String token) throws Exception {
    ClientConfiguration config =
        new ClientConfiguration()
            .apiUrl("http://127.0.0.1:" + server.port())
            .credentials(new Credentials(new ApiToken(token)))
            .maxRetries(0);
    return new OpenFgaClient(config, apiClient);
  }

  @BeforeEach
  void createStoreWithModel() throws Exception {
    client = newClient(TOKEN);
    var created = client.createStore(new CreateStoreRequest().name("sdk-test")).get();
    assertThat(created.getStatusCode()).isEqualTo(201);
    assertThat(created.getName()).isEqualTo("sdk-test");
    assertThat(created.getId()).isNotBlank();
    assertThat(created.getCreatedAt()).isNotNull();
    storeId = created.getId();
    client.setStoreId(storeId);
    var written = client.writeAuthorizationModel(modelRequest(DSL)).get();
    assertThat(written.getStatusCode()).isEqualTo(201);
    modelId = written.getAuthorizationModelId();
    assertThat(modelId).isNotBlank();
    client.setAuthorizationModelId(modelId);
  }

  static WriteAuthorizationModelRequest modelRequest(String dsl) throws Exception {
    return apiClient
        .getObjectMapper()
        .readValue(ModelJson.write(ModelDsl.parse(dsl)), WriteAuthorizationModelRequest.class);
  }

  static ClientTupleKey tuple(String user, String relation, String object) {
    return new ClientTupleKey().user(user).relation(relation)._object(object);
  }

  void write(ClientTupleKey... tuples) throws Exception {
    var response = client.writeTuples(List.of(tuples)).get();
    assertThat(response.getStatusCode()).isEqualTo(200);
  }

  boolean check(String user, String relation, String object) throws Exception {
    return client
        .check(new ClientCheckRequest().user(user).relation(relation)._object(object))
        .get()
        .getAllowed();
  }

  void seed() throws Exception {
    write(
        tuple("user:anne", "member", "group:eng"),
        tuple("group:eng#member", "viewer", "folder:root"),
        tuple("folder:root", "parent", "folder:sub"),
        tuple("folder:sub", "parent", "document:plan"),
        tuple("user:anne", "blocked", "document:secret"),
        tuple("user:anne", "owner", "document:secret"),
        tuple("user:*", "viewer", "document:public"),
        tuple("user:bob", "owner", "document:bobs"),
        tuple("user:carol", "viewer", "document:leveled")
            .condition(
                new ClientRelationshipCondition().name("level_ok").context(Map.of("required", 3))));
  }

  /** The cause of a failed future: the SDK reports HTTP errors through the future. */
  static Throwable failure(CompletableFuture<?> future) {
    try {
      future.get();
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("expected the request to fail");
  }

  // ------------------------------------------------------------------ stores

  @Test
  void stores_createListGetDelete() throws Exception {
    var got = client.getStore().get();
    assertThat(got.getStatusCode()).isEqualTo(200);
    assertThat(got.getId()).isEqualTo(storeId);
    assertThat(got.getName()).isEqualTo("sdk-test");

    List<String> ids = new ArrayList<>();
    String token = null;
    do {
      var page =
          client
              .listStores(new ClientListStoresOptions().pageSize(2).continuationToken(token))
              .get();
      page.getStores().stream().map(Store::getId).forEach(ids::add);
      token = page.getContinuationToken();
    } while (token != null && !token.isEmpty());
    assertThat(ids).contains(storeId).doesNotHaveDuplicates();

    // OpenFGA's name filter.
    var other = client.createStore(new CreateStoreRequest().name("sdk-other-store")).get();
    var named = client.listStores(new ClientListStoresOptions().name("sdk-other-store")).get();
    assertThat(named.getStores()).extracting(Store::getId).containsExactly(other.getId());
    var namedPaged =
        client.listStores(new ClientListStoresOptions().name("sdk-other-store").pageSize(1)).get();
    assertThat(namedPaged.getStores()).extracting(Store::getId).containsExactly(other.getId());
    assertThat(
            client
                .listStores(new ClientListStoresOptions().name("no-such-store-name"))
                .get()
                .getStores())
        .isEmpty();

    var deleted = client.deleteStore().get();
    assertThat(deleted.getStatusCode()).isEqualTo(204);
    Throwable error = failure(client.getStore());
    assertThat(error).isInstanceOf(FgaApiNotFoundError.class);
    assertThat(((FgaApiNotFoundError) error).getApiErrorCode()).isEqualTo("store_id_not_found");
  }

  @Test
  void wrongToken_isAnAuthenticationError() throws Exception {
    OpenFgaClient intruder = newClient("not-the-token-0123456789abcdef");
    intruder.setStoreId(storeId);
    assertThat(failure(intruder.getStore())).isInstanceOf(FgaApiAuthenticationError.class);
  }

  // ------------------------------------------------------------------ models

  @Test
  void models_readAndReadLatest() throws Exception {
    var one = client.readAuthorizationModel().get().getAuthorizationModel();
    assertThat(one.getId()).isEqualTo(modelId);
    assertThat(one.getSchemaVersion()).isEqualTo("1.1");
    assertThat(one.getTypeDefinitions())
        .extracting(t -> t.getType())
        .containsExactly("user", "group", "folder", "document");
    assertThat(one.getConditions()).containsKey("level_ok");
    assertThat(one.getConditions().get("level_ok").getExpression()).contains("level >= required");
    var document = one.getTypeDefinitions().get(3);
    assertThat(document.getRelations())
        .containsKeys("parent", "blocked", "owner", "viewer", "can_view");
    assertThat(document.getRelations().get("can_view").getDifference()).isNotNull();
    assertThat(document.getMetadata().getRelations().get("viewer").getDirectlyRelatedUserTypes())
        .anySatisfy(r -> assertThat(r.getWildcard()).isNotNull())
        .anySatisfy(r -> assertThat(r.getCondition()).isEqualTo("level_ok"))
        .anySatisfy(r -> assertThat(r.getRelation()).isEqualTo("member"));

    String second =
        client
            .writeAuthorizationModel(modelRequest(DSL + "\ntype extra\n"))
            .get()
            .getAuthorizationModelId();
    assertThat(second).isNotEqualTo(modelId);
    AuthorizationModel latest = client.readLatestAuthorizationModel().get().getAuthorizationModel();
    assertThat(latest.getId()).isEqualTo(second);
    var all = client.readAuthorizationModels().get().getAuthorizationModels();
    assertThat(all).extracting(AuthorizationModel::getId).containsExactly(second, modelId);
  }

  @Test
  void invalidModel_isAValidationError() throws Exception {
    // A relation that refers to one that does not exist.
    String bad =
        """
        model
          schema 1.1
        type user
        type document
          relations
            define viewer: [user] or editor
        """;
    Throwable error = failure(client.writeAuthorizationModel(modelRequest(bad)));
    assertThat(error).isInstanceOf(FgaApiValidationError.class);
    assertThat(((FgaApiValidationError) error).getApiErrorCode())
        .isEqualTo("invalid_authorization_model");
    // Nothing was stored: the latest model is still the first one.
    assertThat(client.readLatestAuthorizationModel().get().getAuthorizationModel().getId())
        .isEqualTo(modelId);
  }

  // ------------------------------------------------------------------ tuples

  @Test
  void unknownType_isAValidationError_andNothingIsWritten() throws Exception {
    Throwable error =
        failure(
            client.writeTuples(
                List.of(
                    tuple("user:anne", "owner", "document:ok"),
                    tuple("user:anne", "viewer", "spaceship:1"))));
    assertThat(error).isInstanceOf(FgaApiValidationError.class);
    assertThat(client.read(new ClientReadRequest()).get().getTuples()).isEmpty();
    Throwable badCondition =
        failure(
            client.writeTuples(
                List.of(
                    tuple("user:anne", "viewer", "document:x")
                        .condition(new ClientRelationshipCondition().name("no_such_condition")))));
    assertThat(badCondition).isInstanceOf(FgaApiValidationError.class);
  }

  @Test
  void write_check_allowedAndDenied() throws Exception {
    seed();
    assertThat(check("user:anne", "viewer", "document:plan")).isTrue(); // group -> folder -> parent
    assertThat(check("user:bob", "viewer", "document:plan")).isFalse();
    assertThat(check("user:anne", "viewer", "document:secret")).isTrue(); // owner
    assertThat(check("user:anne", "can_view", "document:secret")).isFalse(); // but not blocked
    assertThat(check("user:bob", "can_view", "document:bobs")).isTrue();
    assertThat(check("user:somebody", "can_view", "document:public")).isTrue(); // wildcard
    assertThat(check("user:somebody", "can_view", "document:plan")).isFalse();
  }

  @Test
  void check_withContextualTuplesAndConditionContext() throws Exception {
    seed();
    assertThat(check("user:dave", "viewer", "document:plan")).isFalse();
    var withContextual =
        client
            .check(
                new ClientCheckRequest()
                    .user("user:dave")
                    .relation("viewer")
                    ._object("document:plan")
                    .contextualTuples(List.of(tuple("user:dave", "member", "group:eng"))))
            .get();
    assertThat(withContextual.getAllowed()).isTrue();
    // Contextual tuples are not stored.
    assertThat(check("user:dave", "viewer", "document:plan")).isFalse();

    ClientCheckRequest leveled =
        new ClientCheckRequest().user("user:carol").relation("viewer")._object("document:leveled");
    assertThat(client.check(leveled.context(Map.of("level", 5))).get().getAllowed()).isTrue();
    assertThat(client.check(leveled.context(Map.of("level", 2))).get().getAllowed()).isFalse();
    // Without the parameter the condition cannot be evaluated: as in OpenFGA, that is a
    // validation error, never an answer.
    Throwable missing =
        failure(
            client.check(
                new ClientCheckRequest()
                    .user("user:carol")
                    .relation("viewer")
                    ._object("document:leveled")));
    assertThat(missing).isInstanceOf(FgaApiValidationError.class);
    assertThat(((FgaApiValidationError) missing).getApiErrorCode()).isEqualTo("validation_error");
  }

  @Test
  void clientSideBatchCheck_andListRelations() throws Exception {
    seed();
    var responses =
        client
            .clientBatchCheck(
                List.of(
                    new ClientCheckRequest()
                        .user("user:anne")
                        .relation("viewer")
                        ._object("document:plan"),
                    new ClientCheckRequest()
                        .user("user:bob")
                        .relation("viewer")
                        ._object("document:plan")))
            .get();
    assertThat(responses)
        .extracting(r -> r.getRequest().getUser() + "=" + r.getAllowed())
        .containsExactlyInAnyOrder("user:anne=true", "user:bob=false");
    var relations =
        client
            .listRelations(
                new ClientListRelationsRequest()
                    .user("user:anne")
                    ._object("document:secret")
                    .relations(List.of("owner", "blocked", "viewer", "can_view", "parent")))
            .get();
    assertThat(relations.getRelations()).containsExactlyInAnyOrder("owner", "blocked", "viewer");
  }

  @Test
  void batchCheck_serverSide() throws Exception {
    seed();
    var response =
        client
            .batchCheck(
                new ClientBatchCheckRequest()
                    .checks(
                        List.of(
                            new ClientBatchCheckItem()
                                .user("user:anne")
                                .relation("viewer")
                                ._object("document:plan")
                                .correlationId("a"),
                            new ClientBatchCheckItem()
                                .user("user:anne")
                                .relation("can_view")
                                ._object("document:secret")
                                .correlationId("b"),
                            new ClientBatchCheckItem()
                                .user("user:erin")
                                .relation("viewer")
                                ._object("document:plan")
                                .contextualTuples(
                                    List.of(tuple("user:erin", "member", "group:eng")))
                                .correlationId("c"),
                            new ClientBatchCheckItem()
                                .user("user:carol")
                                .relation("viewer")
                                ._object("document:leveled")
                                .context(Map.of("level", 4))
                                .correlationId("d"),
                            new ClientBatchCheckItem()
                                .user("user:anne")
                                .relation("no_such_relation")
                                ._object("document:plan")
                                .correlationId("e"))))
            .get();
    Map<String, ClientBatchCheckSingleResponse> byId =
        response.getResult().stream()
            .collect(Collectors.toMap(ClientBatchCheckSingleResponse::getCorrelationId, r -> r));
    assertThat(byId).containsOnlyKeys("a", "b", "c", "d", "e");
    assertThat(byId.get("a").isAllowed()).isTrue();
    assertThat(byId.get("a").getError()).isNull();
    assertThat(byId.get("b").isAllowed()).isFalse();
    assertThat(byId.get("c").isAllowed()).isTrue();
    assertThat(byId.get("d").isAllowed()).isTrue();
    assertThat(byId.get("e").isAllowed()).isFalse();
    assertThat(byId.get("e").getError()).isNotNull();
    assertThat(byId.get("e").getError().getMessage()).isNotBlank();
    assertThat(byId.get("e").getRequest().getRelation()).isEqualTo("no_such_relation");

    // Without correlation ids the SDK makes its own and maps the answers back.
    var generated =
        client
            .batchCheck(
                new ClientBatchCheckRequest()
                    .checks(
                        List.of(
                            new ClientBatchCheckItem()
                                .user("user:bob")
                                .relation("viewer")
                                ._object("document:bobs"),
                            new ClientBatchCheckItem()
                                .user("user:bob")
                                .relation("viewer")
                                ._object("document:plan"))))
            .get();
    assertThat(generated.getResult())
        .extracting(r -> r.getRequest().getObject() + "=" + r.isAllowed())
        .containsExactlyInAnyOrder("document:bobs=true", "document:plan=false");
  }

  @Test
  void listObjects_andListUsers() throws Exception {
    seed();
    var objects =
        client
            .listObjects(
                new ClientListObjectsRequest()
                    .user("user:anne")
                    .relation("viewer")
                    .type("document"))
            .get();
    assertThat(objects.getObjects())
        .containsExactlyInAnyOrder("document:plan", "document:secret", "document:public");
    var canView =
        client
            .listObjects(
                new ClientListObjectsRequest()
                    .user("user:anne")
                    .relation("can_view")
                    .type("document"))
            .get();
    assertThat(canView.getObjects()).containsExactlyInAnyOrder("document:plan", "document:public");
    var withContext =
        client
            .listObjects(
                new ClientListObjectsRequest()
                    .user("user:carol")
                    .relation("viewer")
                    .type("document")
                    .context(Map.of("level", 3)))
            .get();
    assertThat(withContext.getObjects())
        .containsExactlyInAnyOrder("document:leveled", "document:public");

    var users =
        client
            .listUsers(
                new ClientListUsersRequest()
                    ._object(new FgaObject().type("document").id("plan"))
                    .relation("viewer")
                    .userFilters(List.of(new UserTypeFilter().type("user"))))
            .get();
    assertThat(users.getUsers())
        .extracting(u -> u.getObject() == null ? null : u.getObject().getId())
        .containsExactly("anne");
    var publicUsers =
        client
            .listUsers(
                new ClientListUsersRequest()
                    ._object(new FgaObject().type("document").id("public"))
                    .relation("viewer")
                    .userFilters(List.of(new UserTypeFilter().type("user"))))
            .get();
    assertThat(publicUsers.getUsers()).hasSize(1);
    User wildcard = publicUsers.getUsers().get(0);
    assertThat(wildcard.getWildcard()).isNotNull();
    assertThat(wildcard.getWildcard().getType()).isEqualTo("user");
    var usersets =
        client
            .listUsers(
                new ClientListUsersRequest()
                    ._object(new FgaObject().type("folder").id("root"))
                    .relation("viewer")
                    .userFilters(List.of(new UserTypeFilter().type("group").relation("member"))))
            .get();
    var withContextual =
        client
            .listUsers(
                new ClientListUsersRequest()
                    ._object(new FgaObject().type("document").id("plan"))
                    .relation("viewer")
                    .userFilters(List.of(new UserTypeFilter().type("user")))
                    .contextualTupleKeys(List.of(tuple("user:zed", "member", "group:eng"))))
            .get();
    assertThat(withContextual.getUsers())
        .extracting(u -> u.getObject().getId())
        .containsExactlyInAnyOrder("anne", "zed");
    assertThat(usersets.getUsers()).hasSize(1);
    assertThat(usersets.getUsers().get(0).getUserset().getId()).isEqualTo("eng");
    assertThat(usersets.getUsers().get(0).getUserset().getRelation()).isEqualTo("member");
  }

  @Test
  void read_pages_andReadChanges() throws Exception {
    seed();
    List<String> seen = new ArrayList<>();
    String token = null;
    int pages = 0;
    do {
      ClientReadResponse page =
          client
              .read(
                  new ClientReadRequest(),
                  new ClientReadOptions().pageSize(2).continuationToken(token))
              .get();
      assertThat(page.getTuples().size()).isLessThanOrEqualTo(2);
      for (Tuple t : page.getTuples()) {
        seen.add(
            t.getKey().getUser() + " " + t.getKey().getRelation() + " " + t.getKey().getObject());
        assertThat(t.getTimestamp()).isNotNull();
      }
      token = page.getContinuationToken();
      pages++;
    } while (token != null && !token.isEmpty() && pages < 20);
    assertThat(pages).isEqualTo(5);
    assertThat(seen).hasSize(9).doesNotHaveDuplicates().contains("user:* viewer document:public");

    var conditioned =
        client.read(new ClientReadRequest()._object("document:leveled")).get().getTuples();
    assertThat(conditioned).hasSize(1);
    assertThat(conditioned.get(0).getKey().getCondition().getName()).isEqualTo("level_ok");
    assertThat(conditioned.get(0).getKey().getCondition().getContext())
        .isEqualTo(Map.of("required", 3));

    var byUserAndType =
        client
            .read(new ClientReadRequest().user("user:anne")._object("document:"))
            .get()
            .getTuples();
    assertThat(byUserAndType)
        .extracting(t -> t.getKey().getRelation() + " " + t.getKey().getObject())
        .containsExactlyInAnyOrder("blocked document:secret", "owner document:secret");

    client
        .deleteTuples(
            List.of(
                new ClientTupleKeyWithoutCondition()
                    .user("user:bob")
                    .relation("owner")
                    ._object("document:bobs")))
        .get();
    List<TupleChange> changes = new ArrayList<>();
    String changesToken = null;
    int changePages = 0;
    do {
      var page =
          client
              .readChanges(
                  new ClientReadChangesRequest(),
                  new ClientReadChangesOptions().pageSize(4).continuationToken(changesToken))
              .get();
      changes.addAll(page.getChanges());
      changesToken = page.getContinuationToken();
      changePages++;
      if (page.getChanges().isEmpty()) {
        break; // OpenFGA hands back a token even at the end; an empty page ends the feed.
      }
    } while (changesToken != null && !changesToken.isEmpty() && changePages < 20);
    assertThat(changes).hasSize(10);
    assertThat(changes.get(9).getOperation()).isEqualTo(TupleOperation.DELETE);
    assertThat(changes.get(9).getTupleKey().getObject()).isEqualTo("document:bobs");
    assertThat(changes.subList(0, 9))
        .allSatisfy(c -> assertThat(c.getOperation()).isEqualTo(TupleOperation.WRITE));
    var future =
        client
            .readChanges(
                new ClientReadChangesRequest().startTime(OffsetDateTime.now().plusHours(1)))
            .get();
    assertThat(future.getChanges()).isEmpty();
    var past =
        client
            .readChanges(
                new ClientReadChangesRequest().startTime(OffsetDateTime.now().minusHours(1)))
            .get();
    assertThat(past.getChanges()).hasSize(10);
    var folderChanges =
        client.readChanges(new ClientReadChangesRequest().type("folder")).get().getChanges();
    assertThat(folderChanges)
        .extracting(c -> c.getTupleKey().getObject())
        .containsExactly("folder:root", "folder:sub");
  }

  @Test
  void expand() throws Exception {
    seed();
    Node root =
        client
            .expand(new ClientExpandRequest().relation("viewer")._object("document:public"))
            .get()
            .getTree()
            .getRoot();
    assertThat(root.getName()).isEqualTo("document:public#viewer");
    assertThat(root.getUnion()).isNotNull();
    List<Node> children = root.getUnion().getNodes();
    assertThat(children).hasSize(3);
    assertThat(children.get(0).getLeaf().getUsers().getUsers()).containsExactly("user:*");
    assertThat(children.get(1).getLeaf().getComputed().getUserset())
        .isEqualTo("document:public#owner");
    assertThat(children.get(2).getLeaf().getTupleToUserset().getTupleset())
        .isEqualTo("document:public#parent");
    Node difference =
        client
            .expand(new ClientExpandRequest().relation("can_view")._object("document:secret"))
            .get()
            .getTree()
            .getRoot();
    assertThat(difference.getDifference()).isNotNull();
    assertThat(difference.getDifference().getSubtract().getLeaf().getComputed().getUserset())
        .isEqualTo("document:secret#blocked");
  }

  @Test
  void deleteTuples() throws Exception {
    seed();
    assertThat(check("user:bob", "viewer", "document:bobs")).isTrue();
    var deleted =
        client
            .deleteTuples(
                List.of(
                    new ClientTupleKeyWithoutCondition()
                        .user("user:bob")
                        .relation("owner")
                        ._object("document:bobs")))
            .get();
    assertThat(deleted.getStatusCode()).isEqualTo(200);
    assertThat(check("user:bob", "viewer", "document:bobs")).isFalse();
    // A tuple of a relation that admits users only with a condition is deleted by its key alone.
    write(
        tuple("user:bob", "editor", "document:plan")
            .condition(
                new ClientRelationshipCondition().name("level_ok").context(Map.of("required", 1))));
    assertThat(
            client
                .deleteTuples(
                    List.of(
                        new ClientTupleKeyWithoutCondition()
                            .user("user:bob")
                            .relation("editor")
                            ._object("document:plan")))
                .get()
                .getStatusCode())
        .isEqualTo(200);
    assertThat(
            client
                .read(new ClientReadRequest()._object("document:plan").relation("editor"))
                .get()
                .getTuples())
        .isEmpty();
    // Deleting it again fails.
    assertThat(
            failure(
                client.deleteTuples(
                    List.of(
                        new ClientTupleKeyWithoutCondition()
                            .user("user:bob")
                            .relation("owner")
                            ._object("document:bobs")))))
        .isInstanceOf(FgaApiValidationError.class);
  }

  @Test
  void duplicateWrites() throws Exception {
    write(tuple("user:bob", "owner", "document:x"));
    assertThat(failure(client.writeTuples(List.of(tuple("user:bob", "owner", "document:x")))))
        .isInstanceOf(FgaApiValidationError.class);
    var ignored =
        client
            .write(
                ClientWriteRequest.ofWrites(List.of(tuple("user:bob", "owner", "document:x"))),
                new ClientWriteOptions().onDuplicate(WriteRequestWrites.OnDuplicateEnum.IGNORE))
            .get();
    assertThat(ignored.getStatusCode()).isEqualTo(200);
    assertThat(client.read(new ClientReadRequest()).get().getTuples()).hasSize(1);
  }

  // ------------------------------------------------------------------ assertions

  @Test
  void assertions_writeAndRead() throws Exception {
    var written =
        client
            .writeAssertions(
                List.of(
                    new ClientAssertion()
                        .user("user:anne")
                        .relation("viewer")
                        ._object("document:plan")
                        .expectation(true),
                    new ClientAssertion()
                        .user("user:bob")
                        .relation("can_view")
                        ._object("document:secret")
                        .expectation(false)))
            .get();
    assertThat(written.getStatusCode()).isEqualTo(204);
    var read = client.readAssertions().get();
    assertThat(read.getAuthorizationModelId()).isEqualTo(modelId);
    List<Assertion> assertions = read.getAssertions();
    assertThat(assertions).hasSize(2);
    assertThat(assertions.get(0).getTupleKey().getObject()).isEqualTo("document:plan");
    assertThat(assertions.get(0).getTupleKey().getUser()).isEqualTo("user:anne");
    assertThat(assertions.get(0).getExpectation()).isTrue();
    assertThat(assertions.get(1).getTupleKey().getRelation()).isEqualTo("can_view");
    assertThat(assertions.get(1).getExpectation()).isFalse();
  }

  @Test
  void higherConsistency_isAccepted() throws Exception {
    seed();
    var response =
        client
            .check(
                new ClientCheckRequest()
                    .user("user:anne")
                    .relation("viewer")
                    ._object("document:plan"),
                new dev.openfga.sdk.api.configuration.ClientCheckOptions()
                    .consistency(ConsistencyPreference.HIGHER_CONSISTENCY))
            .get();
    assertThat(response.getAllowed()).isTrue();
  }

  @Test
  void invalidInputs_throwValidationErrors() {
    assertThatThrownBy(() -> check("user:anne", "viewer", "spaceship:1"))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(FgaApiValidationError.class);
    assertThatThrownBy(() -> check("user:anne", "nope", "document:1"))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(FgaApiValidationError.class);
  }
}
