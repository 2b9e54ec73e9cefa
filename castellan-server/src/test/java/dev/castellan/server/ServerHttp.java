package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Date;
import java.util.Map;

/**
 * The HTTP tests' way of talking to an in-process server: one client and one JSON mapper for all,
 * requests with a bearer credential, JSON answers checked for their status, and HS256 tokens signed
 * with a test secret. Written once here rather than again in each test class.
 */
public final class ServerHttp {
  /** One mapper for all tests: reading answers needs no configuration. */
  public static final ObjectMapper JSON = new ObjectMapper();

  private static final HttpClient CLIENT = HttpClient.newHttpClient();

  private ServerHttp() {}

  /** Options of a test server: defaults, on a free port of 127.0.0.1. */
  public static CastellanServer.Options loopback() {
    return CastellanServer.Options.defaults().withPort(0).withHost("127.0.0.1");
  }

  /**
   * {@code method path} on {@code server} (127.0.0.1), with {@code Authorization: Bearer token}
   * unless {@code token} is null, and {@code body} unless it is null.
   */
  public static HttpResponse<String> send(
      CastellanServer server, String token, String method, String path, String body)
      throws IOException, InterruptedException {
    return send(server, token, method, path, body, Map.of());
  }

  /** {@link #send(CastellanServer, String, String, String, String)} with {@code headers} too. */
  public static HttpResponse<String> send(
      CastellanServer server,
      String token,
      String method,
      String path,
      String body,
      Map<String, String> headers)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    headers.forEach(request::header);
    return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The answer's body as JSON, once its status is {@code status} (else the test fails, saying). */
  public static JsonNode json(HttpResponse<String> response, int status) throws IOException {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    return JSON.readTree(response.body());
  }

  /**
   * An HS256 token for {@code subject} with {@code claims}, signed with {@code secret}, expiring
   * {@code lifetime} from now (a negative lifetime makes an expired token).
   */
  public static String hs256(
      String secret, String subject, Map<String, Object> claims, Duration lifetime)
      throws JOSEException {
    JWTClaimsSet.Builder builder =
        new JWTClaimsSet.Builder()
            .subject(subject)
            .expirationTime(new Date(System.currentTimeMillis() + lifetime.toMillis()));
    claims.forEach(builder::claim);
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), builder.build());
    jwt.sign(new MACSigner(secret));
    return jwt.serialize();
  }
}
