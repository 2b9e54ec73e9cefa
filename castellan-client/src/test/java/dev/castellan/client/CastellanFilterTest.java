package dev.castellan.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The servlet filter in a real Jetty 12, in front of a servlet, against a fake Castellan. */
class CastellanFilterTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private FakeCastellan castellan;
  private Server jetty;
  private int port;

  /** Echoes who the filter says the caller is. */
  static final class WhoServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response)
        throws IOException {
      Decision decision = (Decision) request.getAttribute(CastellanFilter.DECISION_ATTRIBUTE);
      response.setContentType("text/plain");
      response
          .getWriter()
          .print(
              request.getMethod()
                  + " "
                  + request.getAttribute(CastellanFilter.SUBJECT_ATTRIBUTE)
                  + " principal="
                  + request.getUserPrincipal().getName()
                  + " analyst="
                  + request.isUserInRole("analyst")
                  + " permission="
                  + decision.permission());
    }
  }

  @BeforeEach
  void startCastellan() throws IOException {
    castellan = new FakeCastellan();
  }

  @AfterEach
  void stop() throws Exception {
    if (jetty != null) {
      jetty.stop();
    }
    castellan.close();
  }

  private void serve(FilterHolder filter) throws Exception {
    jetty = new Server();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    jetty.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/app");
    context.addFilter(filter, "/*", EnumSet.of(DispatcherType.REQUEST));
    context.addServlet(new ServletHolder(new WhoServlet()), "/*");
    jetty.setHandler(context);
    jetty.start();
    port = connector.getLocalPort();
  }

  private void serve(Filter filter) throws Exception {
    serve(new FilterHolder(filter));
  }

  private HttpResponse<String> send(String method, String path, String token) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/app" + path))
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private CastellanFilter seedRoutes() {
    return CastellanFilter.builder(CastellanClient.builder().baseUrl(castellan.url()).build())
        .route("POST", "/workflows", "create")
        .route("GET", "/workflows", "read")
        .route("POST", "/workflows/{id}/run", "run", "workflow:{id}")
        .route("DELETE", "/workflows/{id}", "delete", "workflow:{id}")
        .route("POST", "/workflows/{id}/share", "share", "workflow:{id}")
        .build();
  }

  @Test
  void anAllowedRequest_reachesTheServlet_knowingItsCaller() throws Exception {
    serve(seedRoutes());

    HttpResponse<String> response = send("POST", "/workflows/42/run", "role-analyst");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body())
        .isEqualTo(
            "POST user:analyst-user principal=user:analyst-user analyst=true"
                + " permission=Workflows.Run");
    assertThat(castellan.received.getFirst().body().get("resource").asText())
        .isEqualTo("workflow:42");
  }

  @Test
  void theSeedsMatrix_holdsPerMethodAndPath() throws Exception {
    serve(seedRoutes());
    Map<String, String[]> actions =
        Map.of(
            "create", new String[] {"POST", "/workflows"},
            "read", new String[] {"GET", "/workflows"},
            "run", new String[] {"POST", "/workflows/7/run"},
            "delete", new String[] {"DELETE", "/workflows/7"},
            "share", new String[] {"POST", "/workflows/7/share"});
    for (var role : FakeCastellan.SEED_000.entrySet()) {
      for (var action : actions.entrySet()) {
        int status =
            send(action.getValue()[0], action.getValue()[1], "role-" + role.getKey()).statusCode();
        assertThat(status)
            .as(role.getKey() + " " + action.getKey())
            .isEqualTo(role.getValue().contains(action.getKey()) ? 200 : 403);
      }
    }
  }

  @Test
  void aDenial_is403WithTheSeedsBody() throws Exception {
    serve(seedRoutes());

    HttpResponse<String> response = send("POST", "/workflows", "role-viewer");

    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(response.body()).isEqualTo("{\"detail\":\"Insufficient permissions\"}");
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
    assertThat(response.headers().firstValue("WWW-Authenticate")).isEmpty();
  }

  @Test
  void noTokenOrARejectedToken_is401WithABearerChallenge() throws Exception {
    serve(seedRoutes());

    HttpResponse<String> none = send("GET", "/workflows", null);
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
    assertThat(none.body()).isEqualTo("{\"detail\":\"Missing or invalid Authorization header\"}");
    assertThat(castellan.received).isEmpty();

    HttpResponse<String> expired = send("GET", "/workflows", "expired");
    assertThat(expired.statusCode()).isEqualTo(401);
    assertThat(expired.headers().firstValue("WWW-Authenticate"))
        .hasValue("Bearer error=\"invalid_token\", error_description=\"the token has expired\"");
    assertThat(expired.body()).isEqualTo("{\"detail\":\"the token has expired\"}");

    HttpResponse<String> basic =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/app/workflows"))
                .header("Authorization", "Basic YWxpY2U6cHc=")
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(basic.statusCode()).isEqualTo(401);
  }

  @Test
  void castellanDownOrFailing_is503_neverAnAllow() throws Exception {
    serve(seedRoutes());
    castellan.answer = new FakeCastellan.Answer(500, "application/json", "{}", false);
    HttpResponse<String> failing = send("GET", "/workflows", "role-admin");
    assertThat(failing.statusCode()).isEqualTo(503);
    assertThat(failing.body()).isEqualTo("{\"detail\":\"Authorization service unavailable\"}");

    castellan.close();
    assertThat(send("GET", "/workflows", "role-admin").statusCode()).isEqualTo(503);
  }

  @Test
  void anUnknownPermission_isAServerError_notAnAllow() throws Exception {
    serve(
        CastellanFilter.requiring(
            CastellanClient.builder().baseUrl(castellan.url()).build(), "fly"));
    HttpResponse<String> response = send("GET", "/anything", "role-admin");
    assertThat(response.statusCode()).isEqualTo(500);
    assertThat(response.body()).isEqualTo("{\"detail\":\"Authorization is misconfigured\"}");
  }

  @Test
  void unmappedRoutesAndPathTricks_areDenied_withoutAskingCastellan() throws Exception {
    serve(seedRoutes());
    for (String[] request :
        new String[][] {
          {"PUT", "/workflows"},
          {"GET", "/workflows/7"},
          {"POST", "/workflows/7/run/now"},
          {"POST", "/workflows./7/run"},
          {"POST", "/workflows/7/run."},
          {"GET", "/"},
        }) {
      assertThat(send(request[0], request[1], "role-admin").statusCode())
          .as(request[0] + " " + request[1])
          .isEqualTo(403);
    }
    assertThat(castellan.received).isEmpty();
  }

  @Test
  void dotSegmentsAndEncodedSlashes_neverReachAnotherRoutesPermission() throws Exception {
    serve(seedRoutes());
    // Whatever Jetty does with these (normalise or refuse), a viewer must not get to run or share.
    for (String path :
        new String[] {
          "/workflows/7/run/../share",
          "/workflows/7%2Frun",
          "/workflows/7/./run",
          "/workflows/%2e%2e/7/run"
        }) {
      int status = rawPost(path, "role-viewer");
      assertThat(status).as(path).isIn(400, 403, 404);
    }
  }

  /** Sends a request line as written, without the client normalising the path. */
  private int rawPost(String path, String token) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      String request =
          "POST /app"
              + path
              + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
              + token
              + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      String statusLine =
          new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
      return Integer.parseInt(statusLine.substring(9, 12));
    }
  }

  @Test
  void headRequests_needWhatGetNeeds() throws Exception {
    serve(seedRoutes());
    assertThat(send("HEAD", "/workflows", "role-viewer").statusCode()).isEqualTo(200);
    assertThat(send("HEAD", "/workflows", "role-nobody").statusCode()).isEqualTo(403);
  }

  @Test
  void initParameters_configureTheFilter_asInWebXml() throws Exception {
    FilterHolder holder = new FilterHolder(CastellanFilter.class);
    holder.setInitParameter("castellan-url", castellan.url());
    holder.setInitParameter(
        "routes",
        """
        # the seed's workflow API
        GET  /workflows           read
        POST /workflows/{id}/run  run   workflow:{id}
        """);
    serve(holder);

    assertThat(send("GET", "/workflows", "role-viewer").statusCode()).isEqualTo(200);
    assertThat(send("POST", "/workflows/9/run", "role-viewer").statusCode()).isEqualTo(403);
    assertThat(send("POST", "/workflows/9/run", "role-analyst").statusCode()).isEqualTo(200);
  }

  @Test
  void badInitParameters_stopTheFilter_sayingHowToFixThem() {
    String url = castellan.url();
    assertThatThrownBy(
            () ->
                new CastellanFilter()
                    .init(config(Map.of("castellan-url", url, "routes", "GET /workflows"))))
        .hasMessageContaining("routes entry 1: expected 'METHOD /path permission [resource]'");
    assertThatThrownBy(() -> new CastellanFilter().init(config(Map.of("permission", "read"))))
        .hasMessageContaining("castellan-url");
    assertThatThrownBy(
            () ->
                new CastellanFilter()
                    .init(
                        config(
                            Map.of(
                                "castellan-url",
                                url,
                                "permission",
                                "read",
                                "routes",
                                "GET /x read"))))
        .hasMessageContaining("exactly one of");
    assertThatThrownBy(
            () ->
                new CastellanFilter()
                    .init(config(Map.of("castellan-url", "castellan:8080", "permission", "read"))))
        .hasMessageContaining("http(s)");
  }

  @Test
  void routeTemplates_areCheckedWhenBuilt() {
    CastellanClient client = CastellanClient.builder().baseUrl(castellan.url()).build();
    assertThatThrownBy(() -> CastellanFilter.builder(client).route("POST", "workflows", "create"))
        .hasMessageContaining("starts with '/'");
    assertThatThrownBy(
            () -> CastellanFilter.builder(client).route("POST", "/w/{id}", "run", "workflow:{wid}"))
        .hasMessageContaining("uses {wid}");
    assertThatThrownBy(() -> CastellanFilter.builder(client).route("POST", "/w/x{id}", "run"))
        .hasMessageContaining("whole segment");
    assertThatThrownBy(
            () ->
                CastellanFilter.builder(client).route("GET", "/w", "read").route("get", "/w", "x"))
        .hasMessageContaining("given twice");
    assertThatThrownBy(() -> CastellanFilter.builder(client).build())
        .hasMessageContaining("at least one route");
  }

  private static jakarta.servlet.FilterConfig config(Map<String, String> parameters) {
    return new jakarta.servlet.FilterConfig() {
      @Override
      public String getFilterName() {
        return "castellan";
      }

      @Override
      public jakarta.servlet.ServletContext getServletContext() {
        return null;
      }

      @Override
      public String getInitParameter(String name) {
        return parameters.get(name);
      }

      @Override
      public java.util.Enumeration<String> getInitParameterNames() {
        return java.util.Collections.enumeration(parameters.keySet());
      }
    };
  }
}
