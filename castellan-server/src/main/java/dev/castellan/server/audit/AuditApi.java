package dev.castellan.server.audit;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.audit.AuditFilter;
import dev.castellan.audit.AuditLines;
import dev.castellan.audit.AuditRecord;
import dev.castellan.server.api.Right;
import dev.castellan.server.api.SecuredRoutes;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Reading the audit trail: {@code GET /api/audit} (a page of entries, oldest first) and {@code GET
 * /api/audit/export} (every matching entry as JSON lines). The request filter lets only Castellan
 * admins and auditors in.
 */
public final class AuditApi {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final Set<String> OUTCOMES = Set.of("allow", "deny", "ok", "error");
  private static final int DEFAULT_LIMIT = 100;

  private final AuditTrail trail;

  public AuditApi(AuditTrail trail) {
    this.trail = trail;
  }

  public void register(SecuredRoutes routes) {
    routes.get("/api/audit", Right.AUDITOR, this::query);
    routes.get("/api/audit/export", Right.AUDITOR, this::export);
  }

  private void query(Context ctx) throws IOException {
    if ("jsonl".equals(ctx.queryParam("format"))) {
      export(ctx);
      return;
    }
    AuditFilter filter = filter(ctx);
    int limit = limit(ctx.queryParam("limit"));
    String token = orEmpty(ctx.queryParam("continuation_token"));
    trail.flush(Duration.ofSeconds(2)); // the caller sees what it just did
    Page<AuditRecord> page = trail.records().read(filter, new PageRequest(limit, token));
    ObjectNode out = NODES.objectNode();
    ArrayNode entries = out.putArray("entries");
    page.items().forEach(record -> entries.add(AuditJson.record(record)));
    out.put("continuation_token", page.continuationToken());
    ctx.contentType("application/json").result(out.toString());
  }

  private void export(Context ctx) throws IOException {
    AuditFilter filter = filter(ctx);
    trail.flush(Duration.ofSeconds(2));
    ctx.contentType("application/x-ndjson");
    OutputStream out = ctx.outputStream();
    String token = orEmpty(ctx.queryParam("continuation_token"));
    AuditLines.Encoder lines = new AuditLines.Encoder();
    do {
      Page<AuditRecord> page =
          trail.records().read(filter, new PageRequest(PageRequest.MAX_PAGE_SIZE, token));
      lines.reset();
      for (AuditRecord record : page.items()) {
        lines.write(record);
      }
      out.write(lines.toByteArray());
      token = page.continuationToken();
    } while (!token.isEmpty());
    out.flush();
  }

  private static AuditFilter filter(Context ctx) {
    String outcome = orEmpty(ctx.queryParam("outcome"));
    if (!outcome.isEmpty() && !OUTCOMES.contains(outcome)) {
      throw invalid("'outcome' must be allow, deny, ok or error");
    }
    return new AuditFilter(
        time(ctx.queryParam("since"), "since", Instant.EPOCH),
        time(ctx.queryParam("until"), "until", AuditFilter.NO_END),
        bounded(ctx.queryParam("subject"), "subject"),
        bounded(ctx.queryParam("action"), "action"),
        bounded(ctx.queryParam("resource"), "resource"),
        outcome);
  }

  private static Instant time(@Nullable String value, String name, Instant fallback) {
    if (value == null || value.isEmpty()) {
      return fallback;
    }
    try {
      return Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw invalid("'" + name + "' must be an RFC 3339 time, e.g. 2026-11-25T10:00:00Z");
    }
  }

  private static String bounded(@Nullable String value, String name) {
    String text = orEmpty(value);
    if (text.length() > 1024) {
      throw invalid("'" + name + "' is longer than 1024 characters");
    }
    return text;
  }

  private static int limit(@Nullable String value) {
    if (value == null || value.isEmpty()) {
      return DEFAULT_LIMIT;
    }
    try {
      int limit = Integer.parseInt(value);
      if (limit >= 1 && limit <= PageRequest.MAX_PAGE_SIZE) {
        return limit;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw invalid("'limit' must be a number from 1 to " + PageRequest.MAX_PAGE_SIZE);
  }

  private static String orEmpty(@Nullable String value) {
    return value == null ? "" : value;
  }

  private static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }
}
