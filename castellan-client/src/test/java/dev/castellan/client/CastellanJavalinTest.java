package dev.castellan.client;

import static dev.castellan.client.CastellanJavalin.requirePermission;
import static org.assertj.core.api.Assertions.assertThat;

import io.javalin.Javalin;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Javalin integration in a real Javalin 7 app, against a fake Castellan. */
class CastellanJavalinTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private FakeCastellan castellan;
  private Javalin app;

  @BeforeEach
  void start() throws IOException {
    castellan = new FakeCastellan();
    CastellanClient client = CastellanClient.builder().baseUrl(castellan.url()).build();
    app =
        Javalin.create(
                config -> {
                  config.startup.showJavalinBanner = false;
                  config.jetty.host = "127.0.0.1";
                  config.jetty.port = 0;
                  CastellanJavalin.install(config, client);
                  config.routes.get(
                      "/workflows",
                      ctx -> ctx.result("list for " + ctx.attribute("castellan.subject")),
                      requirePermission("read"));
                  config.routes.post(
                      "/workflows",
                      ctx -> ctx.status(201).result("created"),
                      requirePermission("create"));
                  config.routes.post(
                      "/workflows/{id}/run",
                      ctx ->
                          ctx.result(
                              "ran "
                                  + ctx.pathParam("id")
                                  + " as "
                                  + CastellanJavalin.decision(ctx).orElseThrow().roles()),
                      requirePermission("run").on("workflow", "id"));
                  config.routes.get("/healthz", ctx -> ctx.result("ok"), CastellanJavalin.PUBLIC);
                  config.routes.get("/forgotten", ctx -> ctx.result("open?"));
                  config.routes.before("/reports/*", requirePermission("share"));
                  config.routes.get("/reports/weekly", ctx -> ctx.result("weekly report"));
                })
            .start();
  }

  @AfterEach
  void stop() {
    app.stop();
    castellan.close();
  }

  private HttpResponse<String> send(String method, String path, String token) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + path))
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void anAllowedRequest_reachesTheHandler_withTheSubjectAndDecision() throws Exception {
    HttpResponse<String> list = send("GET", "/workflows", "role-viewer");
    assertThat(list.statusCode()).isEqualTo(200);
    assertThat(list.body()).isEqualTo("list for user:viewer-user");

    HttpResponse<String> run = send("POST", "/workflows/42/run", "role-analyst");
    assertThat(run.statusCode()).isEqualTo(200);
    assertThat(run.body()).isEqualTo("ran 42 as [analyst]");
    assertThat(castellan.received.getLast().body().get("resource").asText())
        .isEqualTo("workflow:42");
  }

  @Test
  void theSamePath_needsEachMethodsOwnPermission() throws Exception {
    assertThat(send("GET", "/workflows", "role-viewer").statusCode()).isEqualTo(200);
    HttpResponse<String> create = send("POST", "/workflows", "role-viewer");
    assertThat(create.statusCode()).isEqualTo(403);
    assertThat(create.body()).isEqualTo("{\"detail\":\"Insufficient permissions\"}");
    assertThat(create.headers().firstValue("Content-Type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
    assertThat(send("POST", "/workflows", "role-developer").statusCode()).isEqualTo(201);
  }

  @Test
  void noOrRejectedToken_is401WithABearerChallenge_andTheHandlerNeverRuns() throws Exception {
    HttpResponse<String> none = send("POST", "/workflows", null);
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
    assertThat(none.body()).isEqualTo("{\"detail\":\"Missing or invalid Authorization header\"}");

    HttpResponse<String> forged = send("POST", "/workflows", "bad-signature");
    assertThat(forged.statusCode()).isEqualTo(401);
    assertThat(forged.headers().firstValue("WWW-Authenticate"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer error=\"invalid_token\""));
    assertThat(forged.body()).doesNotContain("created");
  }

  @Test
  void castellanUnreachable_is503() throws Exception {
    castellan.close();
    HttpResponse<String> response = send("GET", "/workflows", "role-admin");
    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(response.body()).isEqualTo("{\"detail\":\"Authorization service unavailable\"}");
  }

  @Test
  void aRouteWithoutAPermission_isClosed_unlessMarkedPublic() throws Exception {
    assertThat(send("GET", "/forgotten", "role-admin").statusCode()).isEqualTo(403);
    assertThat(send("GET", "/healthz", null).statusCode()).isEqualTo(200);
    assertThat(send("GET", "/no-such-route", "role-admin").statusCode()).isEqualTo(404);
  }

  @Test
  void requirePermission_worksAsABeforeHandlerOnAPath() throws Exception {
    assertThat(send("GET", "/reports/weekly", "role-viewer").statusCode()).isEqualTo(403);
    assertThat(send("GET", "/reports/weekly", null).statusCode()).isEqualTo(401);
    HttpResponse<String> admin = send("GET", "/reports/weekly", "role-admin");
    assertThat(admin.statusCode()).isEqualTo(200);
    assertThat(admin.body()).isEqualTo("weekly report");
  }
}
