package dev.castellan.examples.workflows;

import static dev.castellan.client.CastellanJavalin.requirePermission;

import dev.castellan.client.CastellanClient;
import dev.castellan.client.CastellanJavalin;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An AI workflow API: every route needs the permission its role matrix names, and Castellan decides
 * from the caller's token. The app holds no roles, no matrix and no JWT secret.
 *
 * <pre>
 * POST   /workflows              create
 * GET    /workflows              read
 * POST   /workflows/{id}/run     run
 * DELETE /workflows/{id}         delete
 * POST   /workflows/{id}/share   share
 * </pre>
 */
public final class WorkflowApi {
  /** A workflow as stored: who made it and who it is shared with. */
  public record Workflow(long id, String name, String owner, List<String> sharedWith) {
    public Workflow {
      sharedWith = List.copyOf(sharedWith);
    }
  }

  private final ConcurrentSkipListMap<Long, Workflow> workflows = new ConcurrentSkipListMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, Long> runs = new ConcurrentHashMap<>();

  private WorkflowApi() {}

  /** The app on {@code host:port} (0: any free port), asking Castellan through {@code client}. */
  public static Javalin create(CastellanClient client, String host, int port) {
    WorkflowApi api = new WorkflowApi();
    return Javalin.create(
        config -> {
          config.startup.showJavalinBanner = false;
          config.concurrency.useVirtualThreads = true;
          config.jetty.host = host;
          config.jetty.port = port;
          CastellanJavalin.install(config, client);
          config.routes.post("/workflows", api::create, requirePermission("create"));
          config.routes.get("/workflows", api::list, requirePermission("read"));
          config.routes.post(
              "/workflows/{id}/run", api::run, requirePermission("run").on("workflow", "id"));
          config.routes.delete(
              "/workflows/{id}", api::delete, requirePermission("delete").on("workflow", "id"));
          config.routes.post(
              "/workflows/{id}/share", api::share, requirePermission("share").on("workflow", "id"));
          config.routes.get(
              "/healthz", ctx -> ctx.json(Map.of("status", "ok")), CastellanJavalin.PUBLIC);
        });
  }

  /** The caller, as Castellan named it (e.g. {@code user:alice}); the middleware put it there. */
  private static String caller(Context ctx) {
    return ctx.attribute(CastellanJavalin.SUBJECT_ATTRIBUTE);
  }

  private void create(Context ctx) {
    String name = Optional.ofNullable(ctx.body().isBlank() ? null : field(ctx, "name")).orElse("");
    long id = ids.incrementAndGet();
    Workflow workflow =
        new Workflow(id, name.isBlank() ? "workflow-" + id : name, caller(ctx), List.of());
    workflows.put(id, workflow);
    ctx.status(201).json(Map.of("msg", "Workflow created by " + caller(ctx), "workflow", workflow));
  }

  private void list(Context ctx) {
    ctx.json(Map.of("workflows", List.copyOf(workflows.values())));
  }

  private void run(Context ctx) {
    Workflow workflow = find(ctx);
    if (workflow == null) {
      return;
    }
    long run = runs.merge(workflow.id(), 1L, Long::sum);
    ctx.json(
        Map.of("msg", "Workflow " + workflow.id() + " executed by " + caller(ctx), "run", run));
  }

  private void delete(Context ctx) {
    Workflow workflow = find(ctx);
    if (workflow == null) {
      return;
    }
    workflows.remove(workflow.id());
    runs.remove(workflow.id());
    ctx.json(Map.of("msg", "Workflow " + workflow.id() + " deleted by " + caller(ctx)));
  }

  private void share(Context ctx) {
    Workflow workflow = find(ctx);
    if (workflow == null) {
      return;
    }
    String with = ctx.body().isBlank() ? "" : field(ctx, "with");
    if (with.isBlank()) {
      ctx.status(400).json(Map.of("detail", "give {\"with\": \"user:bob\"}"));
      return;
    }
    List<String> shared = new java.util.ArrayList<>(workflow.sharedWith());
    if (!shared.contains(with)) {
      shared.add(with);
    }
    Workflow updated = new Workflow(workflow.id(), workflow.name(), workflow.owner(), shared);
    workflows.put(workflow.id(), updated);
    ctx.json(
        Map.of(
            "msg", "Workflow " + workflow.id() + " shared by " + caller(ctx), "workflow", updated));
  }

  /** The workflow the path names, or null after answering 404. */
  private Workflow find(Context ctx) {
    Workflow workflow = null;
    try {
      workflow = workflows.get(Long.parseLong(ctx.pathParam("id")));
    } catch (NumberFormatException e) {
      // not an id: no such workflow
    }
    if (workflow == null) {
      ctx.status(404).json(Map.of("detail", "Workflow not found"));
    }
    return workflow;
  }

  private static String field(Context ctx, String name) {
    try {
      Object value = ctx.bodyAsClass(Map.class).get(name);
      return value instanceof String s ? s.strip() : "";
    } catch (RuntimeException e) {
      return "";
    }
  }
}
