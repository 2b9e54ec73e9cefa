package dev.castellan.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/** {@link CastellanClient} over the JDK's HTTP client. */
final class HttpCastellanClient implements CastellanClient {
  /** Castellan refuses longer tokens too; checking here saves a round trip. */
  static final int MAX_TOKEN_CHARS = 8192;

  /** A decision is a few hundred bytes; anything much larger is not one. */
  static final int MAX_ANSWER_BYTES = 64 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI authorizeUri;
  private final HttpClient http;
  private final Duration requestTimeout;
  private final @Nullable DecisionCache cache; // null: no cache

  HttpCastellanClient(
      URI baseUrl, HttpClient http, Duration requestTimeout, @Nullable DecisionCache cache) {
    String base = baseUrl.toString();
    while (base.endsWith("/")) {
      base = base.substring(0, base.length() - 1);
    }
    this.authorizeUri = URI.create(base + "/api/authorize");
    this.http = http;
    this.requestTimeout = requestTimeout;
    this.cache = cache;
  }

  @Override
  public Decision authorize(String bearerToken, String permission, String resource) {
    Objects.requireNonNull(bearerToken, "bearerToken");
    Objects.requireNonNull(permission, "permission");
    Objects.requireNonNull(resource, "resource");
    if (permission.isBlank()) {
      throw new IllegalArgumentException("the permission must not be blank");
    }
    checkToken(bearerToken);
    if (cache == null) {
      return ask(bearerToken, permission, resource);
    }
    DecisionCache.Key key = DecisionCache.key(bearerToken, permission, resource);
    Decision cached = cache.get(key);
    if (cached != null) {
      return cached;
    }
    Decision decision = ask(bearerToken, permission, resource);
    cache.put(key, bearerToken, decision);
    return decision;
  }

  /**
   * RFC 6750's token characters only: this refuses header injection (CR, LF) and obvious garbage
   * before anything is sent.
   */
  private static void checkToken(String token) {
    if (token.isEmpty()) {
      throw new CastellanClientException.Unauthenticated("the bearer token is empty");
    }
    if (token.length() > MAX_TOKEN_CHARS) {
      throw new CastellanClientException.Unauthenticated(
          "the bearer token is longer than " + MAX_TOKEN_CHARS + " characters");
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      boolean ok =
          (c >= 'A' && c <= 'Z')
              || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9')
              || c == '-'
              || c == '.'
              || c == '_'
              || c == '~'
              || c == '+'
              || c == '/'
              || c == '=';
      if (!ok) {
        throw new CastellanClientException.Unauthenticated("the bearer token is malformed");
      }
    }
  }

  private Decision ask(String token, String permission, String resource) {
    ObjectNode body = JSON.createObjectNode().put("permission", permission);
    if (!resource.isEmpty()) {
      body.put("resource", resource);
    }
    HttpRequest request =
        HttpRequest.newBuilder(authorizeUri)
            .timeout(requestTimeout)
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
            .build();
    HttpResponse<InputStream> response;
    byte[] answer;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = response.body()) {
        answer = in.readNBytes(MAX_ANSWER_BYTES + 1);
      }
    } catch (HttpTimeoutException e) {
      throw new CastellanClientException.Unavailable(
          "Castellan at " + authorizeUri + " did not answer within " + requestTimeout, e);
    } catch (IOException e) {
      throw new CastellanClientException.Unavailable(
          "Castellan at " + authorizeUri + " is unreachable: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CastellanClientException.Unavailable(
          "interrupted while asking Castellan at " + authorizeUri, e);
    }
    if (answer.length > MAX_ANSWER_BYTES) {
      throw new CastellanClientException.Unavailable(
          "Castellan's answer is larger than " + MAX_ANSWER_BYTES + " bytes", null);
    }
    int status = response.statusCode();
    JsonNode json = parse(answer);
    if (status == 200) {
      return decision(json);
    }
    String code = text(json, "code");
    String message = text(json, "message");
    if (status == 401) {
      throw new CastellanClientException.Unauthenticated(
          message.isEmpty() ? "the bearer token was not accepted" : message);
    }
    if (status >= 500 || status == 429) {
      throw new CastellanClientException.Unavailable(
          "Castellan answered HTTP " + status + (code.isEmpty() ? "" : " (" + code + ")"), null);
    }
    throw new CastellanClientException.Rejected(
        status, code, message.isEmpty() ? "no message" : message);
  }

  private static Decision decision(@Nullable JsonNode json) {
    if (json == null || !json.path("allowed").isBoolean()) {
      throw new CastellanClientException.Unavailable(
          "Castellan's answer is not a decision (no boolean 'allowed')", null);
    }
    List<String> roles = new ArrayList<>();
    json.path("roles").forEach(role -> roles.add(role.asText()));
    return new Decision(
        json.get("allowed").booleanValue(),
        text(json, "reason"),
        text(json, "subject"),
        roles,
        text(json, "permission"));
  }

  /** The JSON object in {@code bytes}, or null when it is none. */
  private static @Nullable JsonNode parse(byte[] bytes) {
    if (bytes.length == 0) {
      return null;
    }
    try {
      JsonNode node = JSON.readTree(bytes);
      return node != null && node.isObject() ? node : null;
    } catch (JsonProcessingException e) {
      return null;
    } catch (IOException e) {
      return null;
    }
  }

  private static String text(@Nullable JsonNode json, String field) {
    if (json == null) {
      return "";
    }
    JsonNode value = json.get(field);
    return value != null && value.isTextual() ? value.textValue() : "";
  }
}
