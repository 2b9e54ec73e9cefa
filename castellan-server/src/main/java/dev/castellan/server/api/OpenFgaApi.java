package dev.castellan.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Budget;
import dev.castellan.engine.BudgetExceededException;
import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.CheckResult;
import dev.castellan.engine.Engine;
import dev.castellan.engine.ExpandNode;
import dev.castellan.engine.Explanation;
import dev.castellan.engine.ListObjectsRequest;
import dev.castellan.engine.ListUsersRequest;
import dev.castellan.engine.Listing;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.InvalidModelException;
import dev.castellan.model.ModelJson;
import dev.castellan.model.ModelValidator;
import dev.castellan.server.EvaluationLimits;
import dev.castellan.server.Limits;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.audit.AuditEvent;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.server.audit.RequestAudit;
import dev.castellan.server.auth.Principal;
import dev.castellan.server.metrics.ServerMetrics;
import dev.castellan.store.Change;
import dev.castellan.store.ConsistencyToken;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.Store;
import dev.castellan.store.StoreInfo;
import dev.castellan.store.StoredModel;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleStore;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.WriteResult;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * OpenFGA's HTTP API: same paths, JSON field names, status codes and error bodies, so OpenFGA's
 * SDKs and CLI work unchanged. Castellan's additions are extra fields only: {@code
 * consistency_token}, check's {@code resolution} explanation, paging on list-objects and
 * list-users, tuple {@code expires_at}, and {@code POST /stores/{id}/delete-tuples}. The response
 * fields among them are listed in {@link OpenFgaShapes#EXTENSIONS} and left out with strict
 * responses; everything else has the shape OpenFGA's gateway gives it ({@link OpenFgaShapes}).
 */
public final class OpenFgaApi {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final Set<String> CONTEXTUAL_FIELDS = Set.of("tuple_keys");
  static final Set<String> CONSISTENCY =
      Set.of("", "UNSPECIFIED", "MINIMIZE_LATENCY", "HIGHER_CONSISTENCY");

  private final StoreRuntime runtime;
  private final Store store;
  private final Limits limits;

  /** What the server's access control adds to store management. */
  public interface StoreHooks {
    /** Whether the caller of {@code ctx} may see {@code info} in the store list. */
    boolean visible(Context ctx, StoreInfo info);

    /** After a store was deleted: drop the rights on it. */
    void deleted(String storeId);

    StoreHooks NONE =
        new StoreHooks() {
          @Override
          public boolean visible(Context ctx, StoreInfo info) {
            return true;
          }

          @Override
          public void deleted(String storeId) {}
        };
  }

  private final StoreHooks hooks;
  private final ServerMetrics metrics;
  private final AuditLog audit;
  private final long maxImportBytes;

  /** Tuples an import commits at once, each batch in one revision. */
  static final int IMPORT_BATCH = 5_000;

  private final EvaluationLimits evaluation;
  private final ListPages pages = new ListPages();
  private final boolean strictResponses;

  public OpenFgaApi(StoreRuntime runtime, Limits limits) {
    this(runtime, limits, ServerMetrics.detached(), StoreHooks.NONE);
  }

  public OpenFgaApi(StoreRuntime runtime, Limits limits, ServerMetrics metrics, StoreHooks hooks) {
    this(runtime, limits, metrics, hooks, AuditLog.NONE);
  }

  /** {@code audit} hears every decision (check, batch-check, lists) and every change made here. */
  public OpenFgaApi(
      StoreRuntime runtime,
      Limits limits,
      ServerMetrics metrics,
      StoreHooks hooks,
      AuditLog audit) {
    this(runtime, limits, metrics, hooks, audit, 64L * 1024 * 1024, EvaluationLimits.DEFAULT);
  }

  /**
   * As above, with the largest import body taken ({@code maxImportBytes}); evaluations run under
   * budgets made from {@code evaluation}.
   */
  public OpenFgaApi(
      StoreRuntime runtime,
      Limits limits,
      ServerMetrics metrics,
      StoreHooks hooks,
      AuditLog audit,
      long maxImportBytes,
      EvaluationLimits evaluation) {
    this(runtime, limits, metrics, hooks, audit, maxImportBytes, evaluation, false);
  }

  /**
   * As above; with {@code strictResponses} the responses of OpenFGA's routes carry OpenFGA's fields
   * only, without Castellan's extensions (listed in {@link OpenFgaShapes#EXTENSIONS}).
   */
  public OpenFgaApi(
      StoreRuntime runtime,
      Limits limits,
      ServerMetrics metrics,
      StoreHooks hooks,
      AuditLog audit,
      long maxImportBytes,
      EvaluationLimits evaluation,
      boolean strictResponses) {
    this.strictResponses = strictResponses;
    this.maxImportBytes = maxImportBytes;
    this.evaluation = evaluation;
    this.runtime = runtime;
    this.store = runtime.store();
    this.limits = limits;
    this.metrics = metrics;
    this.hooks = hooks;
    this.audit = audit;
  }

  public void register(SecuredRoutes routes) {
    // The router tries a method's routes in the order they were registered, one pattern after
    // another: the decisions, which are most of the traffic, come first.
    routes.post("/stores/{store_id}/check", Right.STORE_READER, this::check);
    routes.post("/stores/{store_id}/batch-check", Right.STORE_READER, this::batchCheck);
    routes.post("/stores/{store_id}/list-objects", Right.STORE_READER, this::listObjects);
    routes.post("/stores", Right.ADMIN, this::createStore);
    routes.get("/stores", Right.AUTHENTICATED, this::listStores);
    routes.get("/stores/{store_id}", Right.STORE_READER, this::getStore);
    routes.delete("/stores/{store_id}", Right.STORE_ADMIN, this::deleteStore);
    routes.post("/stores/{store_id}/authorization-models", Right.STORE_ADMIN, this::writeModel);
    routes.get("/stores/{store_id}/authorization-models", Right.STORE_READER, this::listModels);
    routes.get("/stores/{store_id}/authorization-models/{id}", Right.STORE_READER, this::readModel);
    routes.post("/stores/{store_id}/write", Right.STORE_WRITER, this::write);
    routes.post("/stores/{store_id}/delete-tuples", Right.STORE_WRITER, this::deleteTuples);
    routes.post("/stores/{store_id}/read", Right.STORE_READER, this::read);
    routes.post("/stores/{store_id}/import", Right.STORE_WRITER, this::importTuples);
    routes.get("/stores/{store_id}/changes", Right.STORE_READER, this::readChanges);
    routes.post("/stores/{store_id}/expand", Right.STORE_READER, this::expand);
    routes.post(
        "/stores/{store_id}/streamed-list-objects", Right.STORE_READER, this::streamedListObjects);
    routes.post("/stores/{store_id}/list-users", Right.STORE_READER, this::listUsers);
    routes.put("/stores/{store_id}/assertions/{id}", Right.STORE_WRITER, this::writeAssertions);
    routes.get("/stores/{store_id}/assertions/{id}", Right.STORE_READER, this::readAssertions);
  }

  // ------------------------------------------------------------------ stores

  private void createStore(Context ctx) {
    Body body = Body.parse(ctx.body(), Set.of("name"));
    String name = body.string("name", 64);
    if (name.length() < 3) {
      throw Body.invalid("'name' must be 3 to 64 characters");
    }
    StoreInfo info = store.createStore(name);
    audit.record(
        RequestAudit.change(
            ctx, "store-create", "", "create", "store:" + info.id(), name, info.id(), 0));
    json(ctx.status(201), storeJson(info));
  }

  private void listStores(Context ctx) {
    PageRequest request = page(ctx.queryParam("page_size"), ctx.queryParam("continuation_token"));
    String name = orEmpty(ctx.queryParam("name"));
    Page<StoreInfo> page = store.listStores(request);
    List<StoreInfo> items = new ArrayList<>(page.items());
    // OpenFGA's filter by exact name, and only the stores the caller may see. Whole store pages
    // are consumed, so the store's token stays valid; ask for what is still missing until the page
    // is full or the stores run out.
    java.util.function.Predicate<StoreInfo> wanted =
        s -> (name.isEmpty() || s.name().equals(name)) && hooks.visible(ctx, s);
    items.removeIf(wanted.negate());
    while (items.size() < request.pageSize() && !page.continuationToken().isEmpty()) {
      page =
          store.listStores(
              new PageRequest(request.pageSize() - items.size(), page.continuationToken()));
      page.items().stream().filter(wanted).forEach(items::add);
    }
    ObjectNode out = NODES.objectNode();
    ArrayNode stores = out.putArray("stores");
    items.forEach(s -> stores.add(storeJson(s).putNull("deleted_at")));
    out.put("continuation_token", page.continuationToken());
    json(ctx, out);
  }

  private void getStore(Context ctx) {
    String id = PathParams.storeId(ctx);
    json(ctx, storeJson(store.getStore(id).orElseThrow(() -> notFound(id))).putNull("deleted_at"));
  }

  private void deleteStore(Context ctx) {
    String id = PathParams.storeId(ctx);
    if (!store.deleteStore(id)) {
      throw notFound(id);
    }
    runtime.storeDeleted(id);
    hooks.deleted(id);
    audit.record(RequestAudit.change(ctx, "store-delete", "", "delete", "store:" + id, "", id, 0));
    ctx.status(204);
  }

  private static ObjectNode storeJson(StoreInfo info) {
    ObjectNode node = NODES.objectNode();
    node.put("id", info.id());
    node.put("name", info.name());
    node.put("created_at", info.createdAt().toString());
    node.put("updated_at", info.updatedAt().toString());
    return node;
  }

  // ------------------------------------------------------------------ models

  private void writeModel(Context ctx) {
    String storeId = existingStore(ctx);
    if (ctx.body().length() > limits.maxModelBytes()) {
      throw Body.invalid("the model is larger than " + limits.maxModelBytes() + " bytes");
    }
    Body body = Body.parse(ctx.body(), Set.of("schema_version", "type_definitions", "conditions"));
    AuthorizationModel model = ModelJson.read(body.raw());
    List<dev.castellan.model.ModelError> errors = ModelValidator.validate(model);
    if (!errors.isEmpty()) {
      throw new InvalidModelException(errors);
    }
    dev.castellan.condition.ConditionEvaluator.compile(model.conditions());
    String id = store.writeModel(storeId, model);
    runtime.modelWritten(storeId, id);
    audit.record(
        RequestAudit.change(ctx, "write-model", "", "write", "model:" + id, "", storeId, 0));
    ObjectNode out = NODES.objectNode();
    out.put("authorization_model_id", id);
    json(ctx.status(201), out);
  }

  private void listModels(Context ctx) {
    String storeId = existingStore(ctx);
    Page<StoredModel> page =
        store.listModels(
            storeId, page(ctx.queryParam("page_size"), ctx.queryParam("continuation_token")));
    ObjectNode out = NODES.objectNode();
    ArrayNode models = out.putArray("authorization_models");
    page.items().forEach(m -> models.add(modelJson(m)));
    out.put("continuation_token", page.continuationToken());
    json(ctx, out);
  }

  private void readModel(Context ctx) {
    String storeId = existingStore(ctx);
    String id = PathParams.param(ctx, "id");
    StoredModel model = runtime.model(storeId, id);
    ObjectNode out = NODES.objectNode();
    out.set("authorization_model", modelJson(model));
    json(ctx, out);
  }

  private static ObjectNode modelJson(StoredModel stored) {
    ObjectNode node = NODES.objectNode();
    node.put("id", stored.id());
    ObjectNode tree = ModelJson.toTree(stored.model());
    tree.properties().forEach(e -> node.set(e.getKey(), e.getValue()));
    return OpenFgaShapes.model(node);
  }

  // ------------------------------------------------------------------ writes and reads

  private void write(Context ctx) {
    String storeId = existingStore(ctx);
    Body body = Body.parse(ctx.body(), Set.of("writes", "deletes", "authorization_model_id"));
    Body writes = body.object("writes", Set.of("tuple_keys", "on_duplicate"));
    Body deletes = body.object("deletes", Set.of("tuple_keys", "on_missing"));
    int max = limits.maxTuplesPerWrite();
    List<JsonNode> writeNodes = writes.array("tuple_keys", max);
    List<JsonNode> deleteNodes = deletes.array("tuple_keys", max);
    if (writeNodes.size() + deleteNodes.size() > max) {
      throw new CastellanException(
          ErrorCode.EXCEEDED_ENTITY_LIMIT,
          "the write has "
              + (writeNodes.size() + deleteNodes.size())
              + " tuples; at most "
              + max
              + " per request");
    }
    if (writeNodes.isEmpty() && deleteNodes.isEmpty()) {
      throw new CastellanException(
          ErrorCode.INVALID_WRITE_INPUT, "the write has neither writes nor deletes");
    }
    boolean ignoreDuplicates = onFlag(writes.string("on_duplicate", 16), "on_duplicate");
    boolean ignoreMissing = onFlag(deletes.string("on_missing", 16), "on_missing");
    Engine engine = runtime.engine(storeId, body.string("authorization_model_id"), null, false);
    List<Tuple> tuples = new ArrayList<>();
    for (int i = 0; i < writeNodes.size(); i++) {
      Tuple tuple = Body.tuple(writeNodes.get(i), "writes.tuple_keys[" + i + "]");
      try {
        engine.validateTuple(tuple);
      } catch (CastellanException e) {
        // OpenFGA's write answers every tuple its model refuses with a validation error (2000),
        // the type restrictions included (commands/write.go, ValidationError).
        throw e.code() == ErrorCode.INVALID_TUPLE
            ? new CastellanException(
                ErrorCode.VALIDATION_ERROR, Objects.requireNonNullElse(e.getMessage(), ""))
            : e;
      }
      tuples.add(tuple);
    }
    // Deletes are not checked against the model, as in OpenFGA: a delete names a tuple by its key
    // alone (without the condition a relation may require), and tuples a newer model no longer
    // admits must stay deletable. A key that matches no tuple fails in the store.
    List<TupleKey> keys = new ArrayList<>();
    for (int i = 0; i < deleteNodes.size(); i++) {
      keys.add(Body.key(deleteNodes.get(i), "deletes.tuple_keys[" + i + "]", true));
    }
    WriteResult result =
        store.write(storeId, new TupleWrite(tuples, keys, ignoreDuplicates, ignoreMissing));
    runtime.afterWrite(storeId);
    // One entry per tuple, as asked for (an ignored duplicate or missing tuple included).
    for (TupleKey key : keys) {
      audit.record(
          RequestAudit.change(
              ctx,
              "delete",
              key.user(),
              key.relation(),
              key.object(),
              "",
              storeId,
              result.revision()));
    }
    for (Tuple tuple : tuples) {
      audit.record(
          RequestAudit.change(
              ctx,
              "write",
              tuple.key().user(),
              tuple.key().relation(),
              tuple.key().object(),
              "",
              storeId,
              result.revision()));
    }
    json(ctx, writeResult(storeId, result));
  }

  /**
   * Castellan's bulk import: a stream of JSON lines, one tuple each ({@code {"object","relation",
   * "user", "condition"?, "expires_at"?}}), checked against the store's latest model and committed
   * in batches of {@value #IMPORT_BATCH} (one revision each); tuples already present are skipped.
   *
   * <p>The body is read as a stream, line by line, so it is not held in memory and not bound by the
   * request size limit, but by its own ({@code maxImportBytes}): a declared length over it is
   * refused before anything is read, and a body that grows past it is cut with 413. A failure keeps
   * the batches committed before it and drops the one being filled; the change is audited either
   * way, and the error says how many tuples were committed.
   */
  private void importTuples(Context ctx) throws IOException {
    String storeId = existingStore(ctx);
    long declared = ctx.req().getContentLengthLong();
    if (declared > maxImportBytes) {
      throw TupleLines.tooLarge(maxImportBytes);
    }
    Engine engine = runtime.engine(storeId, "", null, false);
    TupleLines tuples =
        new TupleLines(ctx.req().getInputStream(), maxImportBytes, engine::validateTuple);
    long[] committed = {0};
    WriteResult result;
    try {
      result = store.importTuples(storeId, tuples, IMPORT_BATCH, count -> committed[0] = count);
    } catch (RuntimeException e) {
      if (committed[0] == 0) {
        throw e;
      }
      runtime.afterWrite(storeId);
      String what = e instanceof CastellanException c ? c.getMessage() : "the import failed";
      audit.record(
          RequestAudit.event(
              ctx,
              AuditEvent.Kind.CHANGE,
              "import",
              "",
              List.of(),
              "import",
              "",
              AuditEvent.Outcome.ERROR,
              "cut at line "
                  + tuples.lines()
                  + ": "
                  + what
                  + "; the first "
                  + committed[0]
                  + " tuples were committed (whole batches), the rest not",
              storeId,
              store.revision(storeId)));
      if (e instanceof CastellanException c) {
        throw new CastellanException(
            c.code(),
            c.getMessage()
                + "; the first "
                + committed[0]
                + " tuples of the body were committed (whole batches of "
                + IMPORT_BATCH
                + ") and stay; the rest was not imported",
            c);
      }
      throw e;
    }
    runtime.afterWrite(storeId);
    audit.record(
        RequestAudit.change(
            ctx,
            "import",
            "",
            "import",
            "",
            result.written() + " tuples written",
            storeId,
            result.revision()));
    json(ctx, writeResult(storeId, result));
  }

  /** Castellan's delete by filter: every tuple of an object, of a user, or of a type's relation. */
  private void deleteTuples(Context ctx) {
    String storeId = existingStore(ctx);
    Body body = Body.parse(ctx.body(), Set.of("tuple_key"));
    Body key = body.object("tuple_key", Set.of("object", "relation", "user"));
    TupleFilter filter =
        new TupleFilter(key.string("object"), key.string("relation"), key.string("user"));
    WriteResult result = store.deleteMatching(storeId, filter);
    runtime.afterWrite(storeId);
    audit.record(
        RequestAudit.change(
            ctx,
            "delete-tuples",
            filter.user(),
            filter.relation(),
            filter.object(),
            result.deleted() + " tuples deleted",
            storeId,
            result.revision()));
    json(ctx, writeResult(storeId, result));
  }

  private static ObjectNode writeResult(String storeId, WriteResult result) {
    ObjectNode out = NODES.objectNode();
    out.put("consistency_token", ConsistencyToken.encode(storeId, result.revision()));
    out.put("written", result.written());
    out.put("deleted", result.deleted());
    return out;
  }

  private static boolean onFlag(String value, String field) {
    return switch (value) {
      case "", "error", "ON_DUPLICATE_ERROR", "ON_MISSING_ERROR" -> false;
      case "ignore", "ON_DUPLICATE_IGNORE", "ON_MISSING_IGNORE" -> true;
      default -> throw Body.invalid("'" + field + "' must be 'error' or 'ignore'");
    };
  }

  private void read(Context ctx) {
    String storeId = existingStore(ctx);
    Body body =
        Body.parse(
            ctx.body(),
            Set.of(
                "tuple_key",
                "page_size",
                "continuation_token",
                "consistency",
                "consistency_token"));
    Body key = body.object("tuple_key", Set.of("object", "relation", "user"));
    TupleFilter filter =
        new TupleFilter(key.string("object"), key.string("relation"), key.string("user"));
    if (!filter.object().isEmpty() && !filter.object().contains(":")) {
      throw Body.invalid("'tuple_key.object' must be 'type:id' or 'type:'");
    }
    if (filter.objectId().isEmpty() && !filter.object().isEmpty() && filter.user().isEmpty()) {
      throw Body.invalid("reading all objects of a type needs 'tuple_key.user'");
    }
    Page<StoredTuple> page =
        readSource(storeId, body)
            .read(
                storeId,
                filter,
                new PageRequest(
                    body.integer("page_size", 50, 1, 100),
                    body.string("continuation_token", 4096)));
    ObjectNode out = NODES.objectNode();
    ArrayNode tuples = out.putArray("tuples");
    for (StoredTuple stored : page.items()) {
      ObjectNode item = tuples.addObject();
      item.set("key", tupleJson(stored.tuple()));
      item.put("timestamp", stored.writtenAt().toString());
      if (stored.tuple().isExpiredAt(Instant.now())) {
        item.put("expired", true); // no longer grants; purged from the store shortly
      }
    }
    out.put("continuation_token", page.continuationToken());
    json(ctx, out);
  }

  private void readChanges(Context ctx) {
    String storeId = existingStore(ctx);
    String type = orEmpty(ctx.queryParam("type"));
    Instant start = null;
    String startTime = ctx.queryParam("start_time");
    if (startTime != null && !startTime.isEmpty()) {
      try {
        start = Instant.parse(startTime);
      } catch (DateTimeParseException e) {
        throw Body.invalid("'start_time' must be an RFC 3339 time");
      }
    }
    // OpenFGA's read-changes carries no consistency: a replica behind the primary answers a page
    // that ends earlier, and the client's next poll with the continuation token gets the rest.
    Page<Change> page =
        store
            .readReplica()
            .orElse(store)
            .readChanges(
                storeId,
                type,
                start,
                page(ctx.queryParam("page_size"), ctx.queryParam("continuation_token")));
    ObjectNode out = NODES.objectNode();
    ArrayNode changes = out.putArray("changes");
    for (Change change : page.items()) {
      ObjectNode item = changes.addObject();
      item.set("tuple_key", tupleJson(change.tuple()));
      item.put(
          "operation",
          change.operation() == Change.Operation.WRITE
              ? "TUPLE_OPERATION_WRITE"
              : "TUPLE_OPERATION_DELETE");
      item.put("timestamp", change.time().toString());
    }
    out.put("continuation_token", page.continuationToken());
    json(ctx, out);
  }

  // ------------------------------------------------------------------ queries

  static final Set<String> CHECK_FIELDS =
      Set.of(
          "tuple_key",
          "contextual_tuples",
          "authorization_model_id",
          "trace",
          "context",
          "consistency",
          "consistency_token",
          "explain");

  private void check(Context ctx) {
    String storeId = existingStore(ctx);
    // The check, most of the traffic, reads its body without Javalin's copies (its only read).
    String text = RequestBody.text(ctx, limits.maxRequestBytes());
    // The whole body is read before any wait for a consistency token: a bad request fails at once.
    // The common shape is read as a stream; anything else (and every error) by the tree path.
    CheckBody common = CheckBody.read(text);
    CheckRequest request;
    Engine engine;
    if (common != null) {
      TupleKey key = common.key();
      request =
          new CheckRequest(
              key.object(), key.relation(), key.user(), List.of(), Map.of(), common.explain());
      engine =
          runtime.engine(
              storeId,
              common.modelId(),
              common.consistencyToken(),
              common.consistency().equals("HIGHER_CONSISTENCY"));
    } else {
      Body body = Body.parse(text, CHECK_FIELDS);
      request = checkRequest(body, "");
      engine = engine(storeId, body);
    }
    CheckResult result;
    try {
      result = engine.check(request, evaluation.check(ClientConnection.gone(ctx)));
    } catch (BudgetExceededException e) {
      stopped(ctx, "check", storeId, request.user(), request.relation(), request.object(), e);
      throw e;
    }
    audit.record(
        RequestAudit.decision(
            ctx,
            "check",
            request.user(),
            request.relation(),
            request.object(),
            result.allowed(),
            "",
            storeId,
            result.revision()));
    metrics.decision(ServerMetrics.Api.CHECK, result.allowed());
    byte[] answer =
        result.explanation().isPresent()
            ? null
            : plainAnswer(storeId, result.revision(), result.allowed());
    if (answer != null) {
      ctx.contentType("application/json");
      if (ctx.responseCharset().equals(StandardCharsets.UTF_8)) {
        write(ctx, answer);
        return;
      }
    }
    String token = StoreRuntime.token(storeId, result.revision());
    ObjectNode out = NODES.objectNode();
    out.put("allowed", result.allowed());
    out.put("resolution", result.explanation().map(Explanation::render).orElse(""));
    result.explanation().ifPresent(e -> out.set("explanation", explanationJson(e)));
    if (result.explanationOmittedSteps() > 0) {
      out.put("explanation_omitted_steps", result.explanationOmittedSteps());
    }
    out.put("consistency_token", token);
    json(ctx, out);
  }

  /** The plain answers of one store at one revision; an array is null where JSON would escape. */
  private record PlainAnswers(
      String storeId, long revision, byte @Nullable [] allowed, byte @Nullable [] denied) {}

  /**
   * The last store and revision checked, with both answers: most checks in a row are answered at
   * the same revision of the same store, and encoding the token and the answer was about a tenth of
   * the check handler's CPU. One slot, so it holds no store after its time.
   */
  private volatile @Nullable PlainAnswers lastAnswers;

  /** {@link #plainCheckAnswer} for a decision made at {@code revision} of {@code storeId}. */
  private byte @Nullable [] plainAnswer(String storeId, long revision, boolean allowed) {
    PlainAnswers last = lastAnswers;
    if (last == null || last.revision() != revision || !last.storeId().equals(storeId)) {
      String token = strictResponses ? "" : StoreRuntime.token(storeId, revision);
      last =
          new PlainAnswers(
              storeId, revision, plainCheckAnswer(true, token), plainCheckAnswer(false, token));
      lastAnswers = last;
    }
    return allowed ? last.allowed() : last.denied();
  }

  /**
   * The answer of a check without an explanation, {@code {"allowed":..,"resolution":"",
   * "consistency_token":".."}} (without the token when {@code token} is empty), as UTF-8: the bytes
   * the JSON tree of {@link #check} writes, made without one, which was a tenth of the CPU of a
   * check. Null when the token holds a character JSON would escape (tokens never do).
   */
  static byte @Nullable [] plainCheckAnswer(boolean allowed, String token) {
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
        return null;
      }
    }
    String head =
        allowed
            ? "{\"allowed\":true,\"resolution\":\"\""
            : "{\"allowed\":false,\"resolution\":\"\"";
    String text = token.isEmpty() ? head + "}" : head + ",\"consistency_token\":\"" + token + "\"}";
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  private CheckRequest checkRequest(Body body, String where) {
    TupleKey key = Body.key(body.raw().get("tuple_key"), Body.path(where, "tuple_key"), true);
    return CheckRequest.of(key.object(), key.relation(), key.user())
        .withContextualTuples(contextualTuples(body))
        .withContext(body.context("context"))
        .withExplain(body.bool("explain") || body.bool("trace"));
  }

  private List<Tuple> contextualTuples(Body body) {
    JsonNode node = body.raw().get("contextual_tuples");
    if (node == null || node.isNull()) {
      return List.of();
    }
    List<JsonNode> items =
        node.isArray()
            ? body.array("contextual_tuples", limits.maxContextualTuples())
            : body.object("contextual_tuples", CONTEXTUAL_FIELDS)
                .array("tuple_keys", limits.maxContextualTuples());
    List<Tuple> tuples = new ArrayList<>(items.size());
    for (int i = 0; i < items.size(); i++) {
      tuples.add(Body.tuple(items.get(i), "contextual_tuples[" + i + "]"));
    }
    return tuples;
  }

  private void batchCheck(Context ctx) {
    String storeId = existingStore(ctx);
    Body body =
        Body.parse(
            ctx.body(),
            Set.of("checks", "authorization_model_id", "consistency", "consistency_token"));
    List<JsonNode> checks = body.array("checks", limits.maxChecksPerBatch());
    if (checks.isEmpty()) {
      throw Body.invalid("'checks' must have at least one item");
    }
    // Every item's shape and correlation id are read before any wait for a consistency token; an
    // item whose tuple is bad is still answered in its own result, as OpenFGA does.
    List<Body> items = new ArrayList<>(checks.size());
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < checks.size(); i++) {
      Body item =
          Body.of(
              checks.get(i),
              "checks[" + i + "]",
              Set.of("tuple_key", "contextual_tuples", "context", "correlation_id"));
      String correlation = item.requiredString("correlation_id");
      if (!seen.add(correlation)) {
        throw Body.invalid("duplicate correlation_id '" + correlation + "'");
      }
      items.add(item);
    }
    Engine engine = engine(storeId, body);
    // The batch as a whole has the list deadline; each item its own steps and the check deadline
    // within it, so that one pathological item fails alone.
    Budget batch = evaluation.list(ClientConnection.gone(ctx));
    ObjectNode out = NODES.objectNode();
    ObjectNode results = out.putObject("result");
    // The token names the newest revision an item was decided at: a later read with it sees every
    // one of those decisions' tuples.
    long revision = engine.index().revision();
    for (int i = 0; i < items.size(); i++) {
      String where = "checks[" + i + "]";
      Body item = items.get(i);
      String correlation = item.requiredString("correlation_id");
      ObjectNode result = results.putObject(correlation);
      CheckRequest request = null;
      try {
        request = checkRequest(item, where);
        batch.requireTime();
        CheckResult decided =
            engine.check(request, batch.part(evaluation.checkTimeout(), evaluation.maxSteps()));
        boolean allowed = decided.allowed();
        revision = Math.max(revision, decided.revision());
        metrics.decision(ServerMetrics.Api.BATCH_CHECK, allowed);
        result.put("allowed", allowed);
        audit.record(
            RequestAudit.decision(
                ctx,
                "batch-check",
                request.user(),
                request.relation(),
                request.object(),
                allowed,
                "correlation_id " + correlation,
                storeId,
                decided.revision()));
      } catch (CastellanException e) {
        metrics.decisionError(ServerMetrics.Api.BATCH_CHECK);
        if (e instanceof BudgetExceededException exceeded && request != null) {
          stopped(
              ctx,
              "batch-check",
              storeId,
              request.user(),
              request.relation(),
              request.object(),
              exceeded);
        }
        // OpenFGA's per-item CheckError (pkg/server/batch_check.go): input_error for the step
        // budget (resolution too complex), internal_error for deadline_exceeded and cancelled.
        ObjectNode error = result.putObject("error");
        if (ApiErrors.status(e.code()) >= 500) {
          error.put("internal_error", e.code().wireName());
          error.put(
              "message", e instanceof BudgetExceededException ? e.getMessage() : "internal error");
        } else {
          error.put("input_error", e.code().wireName());
          error.put("message", e.getMessage());
        }
      }
    }
    out.put("consistency_token", StoreRuntime.token(storeId, revision));
    json(ctx, out);
  }

  private void expand(Context ctx) {
    String storeId = existingStore(ctx);
    Body body =
        Body.parse(
            ctx.body(),
            Set.of(
                "tuple_key",
                "authorization_model_id",
                "consistency",
                "consistency_token",
                "contextual_tuples"));
    TupleKey key = Body.key(body.raw().get("tuple_key"), "tuple_key", false);
    List<Tuple> contextual = contextualTuples(body);
    Engine engine = engine(storeId, body);
    ExpandNode root;
    try {
      root =
          engine.expand(
              key.object(),
              key.relation(),
              contextual,
              evaluation.list(ClientConnection.gone(ctx)));
    } catch (BudgetExceededException e) {
      stopped(ctx, "expand", storeId, "", key.relation(), key.object(), e);
      throw e;
    }
    ObjectNode out = NODES.objectNode();
    out.putObject("tree").set("root", expandJson(root));
    json(ctx, out);
  }

  private static final Set<String> LIST_OBJECTS_FIELDS =
      Set.of(
          "authorization_model_id",
          "type",
          "relation",
          "user",
          "contextual_tuples",
          "context",
          "consistency",
          "consistency_token",
          "page_size",
          "continuation_token");

  private ListObjectsRequest listObjectsRequest(Body body) {
    return ListObjectsRequest.of(
            body.requiredString("type"),
            body.requiredString("relation"),
            body.requiredString("user"))
        .withContextualTuples(contextualTuples(body))
        .withContext(body.context("context"));
  }

  private void listObjects(Context ctx) {
    String storeId = existingStore(ctx);
    Body body = Body.parse(ctx.body(), LIST_OBJECTS_FIELDS);
    ListObjectsRequest request = listObjectsRequest(body);
    int pageSize = pageSize(body);
    Engine engine = engine(storeId, body);
    ListPages.Page page =
        listPage(
            ctx,
            "list-objects",
            storeId,
            body,
            pageSize,
            () -> engine.objectListing(request),
            request.user(),
            request.relation(),
            request.type());
    metrics.decision(ServerMetrics.Api.LIST_OBJECTS, !page.items().isEmpty());
    ObjectNode out = NODES.objectNode();
    ArrayNode objects = out.putArray("objects");
    page.items().forEach(objects::add);
    out.put("continuation_token", page.next());
    out.put("consistency_token", StoreRuntime.token(storeId, page.revision()));
    json(ctx, out);
  }

  /**
   * One page of a list, audited; a page cut by its budget is counted, and its reason says so. Pages
   * are described in {@link ListPages}.
   */
  private ListPages.Page listPage(
      Context ctx,
      String api,
      String storeId,
      Body body,
      int pageSize,
      java.util.function.Supplier<Listing> listing,
      String subject,
      String action,
      String resource) {
    ListPages.Request request =
        new ListPages.Request(
            storeId,
            caller(ctx),
            fingerprint(body),
            body.string("continuation_token", 1024),
            pageSize);
    ListPages.Page page;
    try {
      page = pages.page(request, listing, evaluation.list(ClientConnection.gone(ctx)));
    } catch (BudgetExceededException e) {
      stopped(ctx, api, storeId, subject, action, resource, e);
      throw e;
    }
    page.cut().ifPresent(limit -> metrics.evaluationStopped(api, limit));
    String what = api.equals("list-users") ? " users" : " objects";
    audit.record(
        RequestAudit.decision(
            ctx,
            api,
            subject,
            action,
            resource,
            !page.items().isEmpty(),
            page.cut()
                .map(
                    limit ->
                        page.items().size()
                            + what
                            + " on this page; the walk was cut by its "
                            + limit.name().toLowerCase(java.util.Locale.ROOT)
                            + " limit and goes on with the continuation token")
                .orElse(page.computed() + what),
            storeId,
            page.revision()));
    return page;
  }

  private int pageSize(Body body) {
    body.string("continuation_token", 1024);
    return body.integer("page_size", limits.maxListResults(), 1, limits.maxListResults());
  }

  /**
   * Streams every object found, as OpenFGA does (unsorted there; sorted here). A walk cut by its
   * budget ends the stream with an error line rather than silently: OpenFGA's streamed endpoint has
   * no continuation token to go on with.
   */
  private void streamedListObjects(Context ctx) throws IOException {
    String storeId = existingStore(ctx);
    Body body = Body.parse(ctx.body(), LIST_OBJECTS_FIELDS);
    ListObjectsRequest request = listObjectsRequest(body);
    Engine engine = engine(storeId, body);
    Listing listing = engine.objectListing(request);
    Budget budget = evaluation.list(ClientConnection.gone(ctx));
    List<String> found;
    try {
      found = new ArrayList<>(listing.run(budget));
    } catch (BudgetExceededException e) {
      stopped(
          ctx,
          "streamed-list-objects",
          storeId,
          request.user(),
          request.relation(),
          request.type(),
          e);
      throw e;
    }
    Collections.sort(found);
    metrics.decision(ServerMetrics.Api.STREAMED_LIST_OBJECTS, !found.isEmpty());
    BudgetExceededException cut = listing.complete() ? null : BudgetExceededException.of(budget);
    if (cut != null) {
      stopped(
          ctx,
          "streamed-list-objects",
          storeId,
          request.user(),
          request.relation(),
          request.type(),
          cut);
    } else {
      audit.record(
          RequestAudit.decision(
              ctx,
              "streamed-list-objects",
              request.user(),
              request.relation(),
              request.type(),
              !found.isEmpty(),
              found.size() + " objects",
              storeId,
              listing.revision()));
    }
    ctx.contentType("application/x-ndjson");
    OutputStream out = ctx.outputStream();
    for (String object : found) {
      ObjectNode line = NODES.objectNode();
      line.putObject("result").put("object", object);
      out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    }
    if (cut != null) {
      // grpc-gateway's shape for an error in a stream, with the gRPC code OpenFGA's gateway
      // writes there; Castellan's `status` names the error.
      ObjectNode line = NODES.objectNode();
      ObjectNode error = line.putObject("error");
      error.put("code", OpenFgaShapes.grpcCode(cut.code()));
      error.put(
          "message", cut.getMessage() + "; the " + found.size() + " objects above are partial");
      error.putArray("details");
      error.put("status", cut.code().wireName());
      if (strictResponses) {
        OpenFgaShapes.strip(ctx.endpoint().path, line);
      }
      out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    }
    out.flush();
  }

  private void listUsers(Context ctx) {
    String storeId = existingStore(ctx);
    Body body =
        Body.parse(
            ctx.body(),
            Set.of(
                "authorization_model_id",
                "object",
                "relation",
                "user_filters",
                "contextual_tuples",
                "context",
                "consistency",
                "consistency_token",
                "page_size",
                "continuation_token"));
    Body object = body.object("object", Set.of("type", "id"));
    String objectRef = object.requiredString("type") + ":" + object.requiredString("id");
    List<JsonNode> filterNodes = body.array("user_filters", 1);
    if (filterNodes.isEmpty()) {
      throw Body.invalid("'user_filters' needs exactly one filter");
    }
    Body filterBody = Body.of(filterNodes.get(0), "user_filters[0]", Set.of("type", "relation"));
    String filter =
        filterBody.requiredString("type")
            + (filterBody.string("relation").isEmpty() ? "" : "#" + filterBody.string("relation"));
    ListUsersRequest request =
        ListUsersRequest.of(objectRef, body.requiredString("relation"), filter)
            .withContextualTuples(contextualTuples(body))
            .withContext(body.context("context"));
    int pageSize = pageSize(body);
    Engine engine = engine(storeId, body);
    ListPages.Page page =
        listPage(
            ctx,
            "list-users",
            storeId,
            body,
            pageSize,
            () -> engine.userListing(request),
            filter,
            request.relation(),
            objectRef);
    metrics.decision(ServerMetrics.Api.LIST_USERS, !page.items().isEmpty());
    ObjectNode out = NODES.objectNode();
    ArrayNode items = out.putArray("users");
    page.items().forEach(user -> items.add(userJson(user)));
    out.put("continuation_token", page.next());
    out.put("consistency_token", StoreRuntime.token(storeId, page.revision()));
    json(ctx, out);
  }

  private static ObjectNode userJson(String user) {
    ObjectNode node = NODES.objectNode();
    int colon = user.indexOf(':');
    int hash = user.indexOf('#');
    String type = user.substring(0, colon);
    if (hash >= 0) {
      ObjectNode userset = node.putObject("userset");
      userset.put("type", type);
      userset.put("id", user.substring(colon + 1, hash));
      userset.put("relation", user.substring(hash + 1));
    } else if (user.endsWith(":*")) {
      node.putObject("wildcard").put("type", type);
    } else {
      ObjectNode object = node.putObject("object");
      object.put("type", type);
      object.put("id", user.substring(colon + 1));
    }
    return node;
  }

  // ------------------------------------------------------------------ assertions

  private void writeAssertions(Context ctx) {
    String storeId = existingStore(ctx);
    String modelId = PathParams.param(ctx, "id");
    StoredModel model = runtime.model(storeId, modelId);
    Body body = Body.parse(ctx.body(), Set.of("assertions"));
    List<JsonNode> assertions = body.array("assertions", 100);
    for (int i = 0; i < assertions.size(); i++) {
      String where = "assertions[" + i + "]";
      Body assertion =
          Body.of(
              assertions.get(i),
              where,
              Set.of("tuple_key", "expectation", "contextual_tuples", "context"));
      TupleKey key = Body.key(assertion.raw().get("tuple_key"), where + ".tuple_key", true);
      requireInModel(model.model(), key, where + ".tuple_key");
      assertion.bool("expectation");
      List<Tuple> contextual = contextualTuples(assertion);
      if (!contextual.isEmpty()) {
        // As OpenFGA does: an assertion's contextual tuples are validated as writes are, and
        // any error is a validation error (2000).
        Engine engine = runtime.engine(storeId, modelId, null, false);
        for (Tuple tuple : contextual) {
          try {
            engine.validateTuple(tuple);
          } catch (CastellanException e) {
            throw new CastellanException(
                ErrorCode.VALIDATION_ERROR, Objects.requireNonNullElse(e.getMessage(), ""));
          }
        }
      }
    }
    ArrayNode array = NODES.arrayNode();
    assertions.forEach(array::add);
    store.writeAssertions(storeId, modelId, array.toString());
    audit.record(
        RequestAudit.change(
            ctx,
            "write-assertions",
            "",
            "write",
            "model:" + modelId,
            assertions.size() + " assertions",
            storeId,
            0));
    ctx.status(204);
  }

  /** As OpenFGA checks an assertion: its object type, relation and user type are in the model. */
  private static void requireInModel(AuthorizationModel model, TupleKey key, String where) {
    int hash = key.user().indexOf('#');
    boolean known =
        model.type(typeOf(key.object())).flatMap(t -> t.relation(key.relation())).isPresent()
            && model
                .type(typeOf(key.user()))
                .filter(t -> hash < 0 || t.relation(key.user().substring(hash + 1)).isPresent())
                .isPresent();
    if (!known) {
      throw Body.invalid(
          "'" + where + "' names a type or relation that is not in the model: " + key);
    }
  }

  private static String typeOf(String ref) {
    int colon = ref.indexOf(':');
    return colon <= 0 ? "" : ref.substring(0, colon);
  }

  private void readAssertions(Context ctx) throws IOException {
    String storeId = existingStore(ctx);
    String modelId = PathParams.param(ctx, "id");
    ObjectNode out = NODES.objectNode();
    out.put("authorization_model_id", modelId);
    out.set(
        "assertions",
        OpenFgaShapes.assertions(Body.JSON.readTree(store.readAssertions(storeId, modelId))));
    json(ctx, out);
  }

  // ------------------------------------------------------------------ helpers

  private Engine engine(String storeId, Body body) {
    String consistency = body.string("consistency", 32);
    if (!CONSISTENCY.contains(consistency)) {
      throw Body.invalid("'consistency' must be MINIMIZE_LATENCY or HIGHER_CONSISTENCY");
    }
    return runtime.engine(
        storeId,
        body.string("authorization_model_id"),
        body.string("consistency_token", 256),
        consistency.equals("HIGHER_CONSISTENCY"));
  }

  /**
   * Where a read-tuples request reads; no model (nor index) is needed. Without a read replica, the
   * store itself, which is always current (a token is only checked to belong to this store). With
   * one: the primary for HIGHER_CONSISTENCY; else the replica, once it has replayed the request's
   * consistency token (bounded, then the primary; ADR 0018).
   */
  private TupleStore readSource(String storeId, Body body) {
    String consistency = body.string("consistency", 32);
    if (!CONSISTENCY.contains(consistency)) {
      throw Body.invalid("'consistency' must be MINIMIZE_LATENCY or HIGHER_CONSISTENCY");
    }
    String token = body.string("consistency_token", 256);
    long atLeast = token.isEmpty() ? 0 : ConsistencyToken.decode(token, storeId);
    if (consistency.equals("HIGHER_CONSISTENCY")) {
      return store.latestReads();
    }
    return store.readReplica(storeId, atLeast).orElse(store);
  }

  /** The route's store, which must exist: from the node's memory when it holds the store. */
  private String existingStore(Context ctx) {
    String id = PathParams.storeId(ctx);
    runtime.requireStore(id);
    return id;
  }

  private static CastellanException notFound(String storeId) {
    return new CastellanException(ErrorCode.STORE_ID_NOT_FOUND, "store " + storeId + " not found");
  }

  private static PageRequest page(@Nullable String size, @Nullable String token) {
    int pageSize = 50;
    if (size != null && !size.isEmpty()) {
      try {
        pageSize = Integer.parseInt(size);
      } catch (NumberFormatException e) {
        throw Body.invalid("'page_size' must be an integer");
      }
    }
    return new PageRequest(pageSize, orEmpty(token));
  }

  private static String orEmpty(@Nullable String value) {
    return value == null ? "" : value;
  }

  /**
   * An evaluation stopped by its budget: counted, and audited as a decision that could not be made
   * (outcome error), with what ran out and what it had spent.
   */
  private void stopped(
      Context ctx,
      String api,
      String storeId,
      String subject,
      String action,
      String resource,
      BudgetExceededException e) {
    metrics.evaluationStopped(api, e.limit());
    audit.record(
        RequestAudit.event(
            ctx,
            AuditEvent.Kind.DECISION,
            api,
            subject,
            List.of(),
            action,
            resource,
            AuditEvent.Outcome.ERROR,
            e.code().wireName()
                + ": "
                + e.limit().name().toLowerCase(java.util.Locale.ROOT)
                + " limit reached after "
                + e.elapsed().toMillis()
                + " ms and "
                + e.steps()
                + " steps",
            storeId,
            runtime.feed(storeId).revision()));
  }

  private static String caller(Context ctx) {
    Principal principal = ctx.attribute("principal");
    return principal == null ? "" : principal.id();
  }

  /** What a continued listing must be asked with again: the body but for paging and consistency. */
  private static String fingerprint(Body body) {
    ObjectNode copy = ((ObjectNode) body.raw()).deepCopy();
    copy.remove(List.of("page_size", "continuation_token", "consistency", "consistency_token"));
    try {
      return java.util.HexFormat.of()
          .formatHex(
              java.security.MessageDigest.getInstance("SHA-256")
                  .digest(copy.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }

  static ObjectNode tupleJson(Tuple tuple) {
    ObjectNode node = NODES.objectNode();
    node.put("user", tuple.key().user());
    node.put("relation", tuple.key().relation());
    node.put("object", tuple.key().object());
    if (tuple.isConditional()) {
      ObjectNode condition = node.putObject("condition");
      condition.put("name", tuple.condition());
      condition.set(
          "context", Body.JSON.valueToTree(new LinkedHashMap<>(tuple.conditionContext())));
    } else {
      node.putNull("condition"); // as OpenFGA's gateway writes an unset message
    }
    Instant expiresAt = tuple.expiresAt();
    if (expiresAt != null) {
      node.put("expires_at", expiresAt.toString());
    }
    return node;
  }

  private static ObjectNode explanationJson(Explanation explanation) {
    ObjectNode node = NODES.objectNode();
    node.put("step", explanation.step());
    node.put("outcome", explanation.outcome().name().toLowerCase(java.util.Locale.ROOT));
    if (!explanation.children().isEmpty()) {
      ArrayNode children = node.putArray("children");
      explanation.children().forEach(c -> children.add(explanationJson(c)));
    }
    return node;
  }

  private static ObjectNode expandJson(ExpandNode node) {
    ObjectNode out = NODES.objectNode();
    switch (node) {
      case ExpandNode.Users u -> {
        out.put("name", u.name());
        ArrayNode users = out.putObject("leaf").putObject("users").putArray("users");
        u.users().forEach(users::add);
      }
      case ExpandNode.Computed c -> {
        out.put("name", c.name());
        out.putObject("leaf").putObject("computed").put("userset", c.userset());
      }
      case ExpandNode.TupleToUserset t -> {
        out.put("name", t.name());
        ObjectNode ttu = out.putObject("leaf").putObject("tupleToUserset");
        ttu.put("tupleset", t.tupleset());
        ArrayNode computed = ttu.putArray("computed");
        t.computed().forEach(userset -> computed.addObject().put("userset", userset));
      }
      case ExpandNode.Union u -> {
        out.put("name", u.name());
        ArrayNode nodes = out.putObject("union").putArray("nodes");
        u.nodes().forEach(n -> nodes.add(expandJson(n)));
      }
      case ExpandNode.Intersection i -> {
        out.put("name", i.name());
        ArrayNode nodes = out.putObject("intersection").putArray("nodes");
        i.nodes().forEach(n -> nodes.add(expandJson(n)));
      }
      case ExpandNode.Difference d -> {
        out.put("name", d.name());
        ObjectNode difference = out.putObject("difference");
        difference.set("base", expandJson(d.base()));
        difference.set("subtract", expandJson(d.subtract()));
      }
    }
    return out;
  }

  /**
   * Writes {@code body} as the response. The bytes go straight to the response stream rather than
   * through {@code ctx.result(...)}: Javalin copies a result through a fresh 32 KiB buffer per
   * response, which was a fifth of the CPU and over half of the allocation of a check. They are
   * made by {@link Body#JSON}, whose buffers are pooled, rather than by {@code JsonNode.toString()}
   * (the same text), whose buffers are per thread and so new on each request's virtual thread.
   */
  private void json(Context ctx, JsonNode body) {
    if (strictResponses) {
      OpenFgaShapes.strip(ctx.endpoint().path, body);
    }
    ctx.contentType("application/json");
    java.nio.charset.Charset charset = ctx.responseCharset();
    byte[] bytes;
    try {
      bytes =
          charset.equals(StandardCharsets.UTF_8)
              ? Body.JSON.writeValueAsBytes(body)
              : body.toString().getBytes(charset);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree could not be written", e);
    }
    write(ctx, bytes);
  }

  /**
   * Javalin's default {@code minSizeForCompression}, which Castellan keeps: a response shorter than
   * this is never compressed.
   */
  static final int MIN_COMPRESSED_BYTES = 1500;

  /** Writes {@code bytes}, JSON in the response's charset, as the response. */
  private static void write(Context ctx, byte[] bytes) {
    try {
      // Javalin's output stream decides on compression at the first write (reading the response's
      // headers), about 5% of the CPU of a check; a short answer is never compressed, so it
      // goes to the response's own stream, byte for byte what Javalin's would have written.
      if (bytes.length < MIN_COMPRESSED_BYTES) {
        ctx.res().getOutputStream().write(bytes);
        return;
      }
      ctx.outputStream().write(bytes);
    } catch (IOException e) {
      // The client has gone. The stream stays failed and Javalin's close of it after the handler
      // reports this as before (a client abort, not a server error).
    }
  }
}
