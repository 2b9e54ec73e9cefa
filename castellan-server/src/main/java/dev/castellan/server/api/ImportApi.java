package dev.castellan.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Engine;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleIndex;
import dev.castellan.engine.TupleKey;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.server.audit.RequestAudit;
import dev.castellan.server.directory.PendingIdentities;
import dev.castellan.store.HeldTuple;
import dev.castellan.store.Identity;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.PendingStore;
import dev.castellan.store.PendingTuple;
import dev.castellan.store.Store;
import dev.castellan.store.StoredModel;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.WriteResult;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Imports that name people by identity (ADR 0024): {@code POST /api/stores/{store_id}/imports}
 * takes rows naming a {@code user} or an {@code identity} (an email, a Slack id); rows whose
 * identity the directory knows are written as {@code user:<directory id>}, the others are held
 * until it does. {@code GET} and {@code DELETE /api/stores/{store_id}/pending} list and drop held
 * rows. Every row is checked against the store's latest model before anything is written.
 */
public final class ImportApi {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Most rows of one import request. */
  public static final int MAX_ROWS = 1_000;

  private static final Set<String> ROW_FIELDS =
      Set.of("object", "relation", "user", "identity", "condition");
  private static final Set<String> IDENTITY_FIELDS = Set.of("kind", "namespace", "value");

  private final StoreRuntime runtime;
  private final Store store;
  private final PendingStore pending;
  private final PendingIdentities identities;
  private final AuditLog audit;

  public ImportApi(StoreRuntime runtime, PendingIdentities identities, AuditLog audit) {
    this.runtime = runtime;
    this.store = runtime.store();
    this.pending = runtime.store().pendingStore();
    this.identities = identities;
    this.audit = audit;
  }

  public void register(SecuredRoutes routes) {
    routes.post("/api/stores/{store_id}/imports", Right.STORE_WRITER, this::importRows);
    routes.get("/api/stores/{store_id}/pending", Right.STORE_READER, this::listPending);
    routes.delete("/api/stores/{store_id}/pending", Right.STORE_WRITER, this::dropPending);
  }

  /** A request row, checked: the tuple to write, or the row to hold. */
  private record Row(int index, Tuple tuple, @Nullable Identity identity) {}

  private void importRows(Context ctx) {
    String storeId = existingStore(ctx);
    Body body = Body.parse(ctx.body(), Set.of("source", "tuples"));
    String source = PendingTuple.checkSource(body.requiredString("source"));
    List<JsonNode> nodes = body.array("tuples", MAX_ROWS);
    if (nodes.isEmpty()) {
      throw Body.invalid("'tuples' must hold at least one row");
    }
    StoredModel model = store.requireLatestModel(storeId);
    Engine validator = Engine.create(model.model(), TupleIndex.create());
    // Every row is checked before anything is written: one bad row, and nothing is.
    List<Row> rows = new ArrayList<>(nodes.size());
    for (int i = 0; i < nodes.size(); i++) {
      rows.add(row(nodes.get(i), i, validator));
    }
    // Resolved once per identity; known active people are written, others held (a deactivated
    // person's rows wait for the reactivation).
    Map<Identity, Optional<String>> resolved = new HashMap<>();
    Map<TupleKey, Tuple> writes = new LinkedHashMap<>();
    Map<List<Object>, PendingTuple> holds = new LinkedHashMap<>();
    for (Row row : rows) {
      if (row.identity() == null) {
        writes.putIfAbsent(row.tuple().key(), row.tuple());
        continue;
      }
      Optional<String> user = resolved.computeIfAbsent(row.identity(), identities::recipient);
      Tuple tuple = row.tuple();
      if (user.isPresent()) {
        Tuple known =
            new Tuple(
                new TupleKey(
                    tuple.key().object(),
                    tuple.key().relation(),
                    PendingIdentities.subject(user.get())),
                tuple.condition(),
                tuple.conditionContext());
        writes.putIfAbsent(known.key(), known);
      } else {
        PendingTuple held =
            new PendingTuple(
                tuple.key().object(),
                tuple.key().relation(),
                tuple.condition(),
                tuple.conditionContext(),
                row.identity(),
                source);
        holds.putIfAbsent(List.of(held.object(), held.relation(), held.identity()), held);
      }
    }
    // The limit is checked before the write, so a full store refuses the whole request.
    long held = pending.count(storeId);
    if (held + holds.size() > PendingStore.MAX_PER_STORE) {
      throw PendingStore.full(storeId, held, holds.size());
    }
    WriteResult result =
        writes.isEmpty()
            ? new WriteResult(store.revision(storeId), 0, 0)
            : store.write(
                storeId, new TupleWrite(List.copyOf(writes.values()), List.of(), true, false));
    if (result.written() > 0) {
      runtime.afterWrite(storeId);
    }
    int newlyHeld = holds.isEmpty() ? 0 : pending.hold(storeId, List.copyOf(holds.values()));
    // A user created while this request ran may have looked for held rows before these were held:
    // look once more, so no row waits for the next start.
    int appliedNow = 0;
    Set<Identity> heldIdentities = new LinkedHashSet<>();
    holds.values().forEach(h -> heldIdentities.add(h.identity()));
    for (Identity identity : heldIdentities) {
      Optional<String> user = identities.recipient(identity);
      if (user.isPresent()) {
        appliedNow += identities.applyIn(storeId, identity, user.get());
      }
    }
    int unchanged = rows.size() - result.written() - newlyHeld;
    long revision = store.revision(storeId);
    audit.record(
        RequestAudit.change(
            ctx,
            "import-identities",
            "",
            "import",
            "source:" + source,
            rows.size()
                + " rows: "
                + result.written()
                + " tuples written, "
                + newlyHeld
                + " held for unknown identities, "
                + unchanged
                + " unchanged",
            storeId,
            revision));
    ObjectNode out = NODES.objectNode();
    out.put("written", result.written() + appliedNow);
    out.put("pending", newlyHeld - appliedNow);
    out.put("unchanged", unchanged);
    out.put("consistency_token", StoreRuntime.token(storeId, revision));
    json(ctx, out);
  }

  /**
   * Reads and checks row {@code i}: exactly one of {@code user} and {@code identity}; a row naming
   * an identity is checked as a tuple of a {@code user:} placeholder, the type its person will be.
   */
  private static Row row(JsonNode node, int i, Engine validator) {
    String where = "tuples[" + i + "]";
    if (!node.isObject()) {
      throw Body.invalid("'" + where + "' must be an object");
    }
    Body row = Body.of(node, where, ROW_FIELDS);
    boolean byUser = row.has("user");
    boolean byIdentity = row.has("identity");
    if (byUser == byIdentity) {
      throw Body.invalid(
          "'"
              + where
              + "' names either a 'user' or an 'identity', not "
              + (byUser ? "both" : "neither"));
    }
    Identity identity = null;
    ObjectNode key = node.deepCopy();
    if (byIdentity) {
      Body id = row.object("identity", IDENTITY_FIELDS);
      try {
        identity =
            new Identity(
                id.requiredString("kind"), id.string("namespace"), id.requiredString("value"));
      } catch (CastellanException e) {
        throw new CastellanException(e.code(), where + ".identity: " + e.getMessage());
      }
      key.remove("identity");
      key.put("user", "user:" + PendingIdentities.PLACEHOLDER_ID);
    }
    Tuple tuple = Body.tuple(key, where);
    try {
      validator.validateTuple(tuple);
    } catch (CastellanException e) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          where
              + (byIdentity ? " (its identity checked as a user:<directory id>)" : "")
              + ": "
              + e.getMessage());
    }
    return new Row(i, tuple, identity);
  }

  private void listPending(Context ctx) {
    String storeId = existingStore(ctx);
    Map<String, String> params =
        DirectoryApi.params(ctx, Set.of("page_size", "continuation_token"));
    int size = DirectoryApi.pageSize(params);
    Page<HeldTuple> page =
        pending.held(storeId, new PageRequest(size, params.getOrDefault("continuation_token", "")));
    ObjectNode out = NODES.objectNode();
    ArrayNode list = out.putArray("pending");
    for (HeldTuple held : page.items()) {
      PendingTuple row = held.tuple();
      ObjectNode item = list.addObject();
      item.put("object", row.object());
      item.put("relation", row.relation());
      if (!row.condition().isEmpty()) {
        ObjectNode condition = item.putObject("condition").put("name", row.condition());
        if (!row.conditionContext().isEmpty()) {
          condition.set("context", Body.JSON.valueToTree(row.conditionContext()));
        }
      }
      item.putObject("identity")
          .put("kind", row.identity().kind())
          .put("namespace", row.identity().namespace())
          .put("value", row.identity().value());
      item.put("source", row.source());
      item.put("held_at", held.heldAt().toString());
    }
    out.put("total", pending.count(storeId));
    out.put("continuation_token", page.continuationToken());
    json(ctx, out);
  }

  private void dropPending(Context ctx) {
    String storeId = existingStore(ctx);
    Map<String, String> params = DirectoryApi.params(ctx, Set.of("source"));
    String source = params.getOrDefault("source", "");
    if (source.isEmpty()) {
      throw Body.invalid("'source' is required: the rows of which import to drop");
    }
    int dropped = pending.drop(storeId, PendingTuple.checkSource(source));
    audit.record(
        RequestAudit.change(
            ctx,
            "import-identities",
            "",
            "drop-pending",
            "source:" + source,
            dropped + " held rows dropped",
            storeId,
            0));
    ObjectNode out = NODES.objectNode();
    out.put("dropped", dropped);
    json(ctx, out);
  }

  private String existingStore(Context ctx) {
    String id = PathParams.storeId(ctx);
    runtime.requireStore(id);
    return id;
  }

  private static void json(Context ctx, ObjectNode body) {
    ctx.contentType("application/json").result(body.toString());
  }
}
