package dev.castellan.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One OIDC issuer whose tokens this server accepts, and how its claims map onto Castellan (ADR
 * 0020): the namespace of its subjects, which claim holds groups and how they match directory
 * groups, which claim values are which roles, which make an administrator or auditor, and whether a
 * first token creates the directory user.
 *
 * @param name short id ({@code [a-z0-9-]{1,32}}): the namespace of this issuer's subjects ({@code
 *     jwt:okta/00u1ab}, {@code user:okta/00u1ab}) unless {@code defaultNamespace}
 * @param issuer the {@code iss} its tokens carry, an http(s) URL
 * @param audience when not empty, a token's {@code aud} must contain it
 * @param jwksUri where its keys are; empty: discovery at {@code issuer/.well-known/...}
 * @param defaultNamespace its subjects are un-prefixed ({@code jwt:00u1ab}): at most one issuer,
 *     the one whose subjects hold grants from before several issuers were configured
 * @param subjectClaim the claim naming the caller, usually {@code sub}
 * @param groupsClaim the claim holding group names (a dotted path allowed); empty: none
 * @param groupMatch how a group claim value names a group
 * @param rolesClaim the claim holding role names or app roles (a dotted path allowed); empty: none
 * @param roleMappings claim value to Castellan role id or name, exact; empty: every value of the
 *     roles claim names a role as itself
 * @param admin claim values that make the caller a Castellan administrator
 * @param auditor claim values that make the caller a Castellan auditor
 * @param provisioning whether the directory must know the caller
 */
public record IssuerSettings(
    String name,
    String issuer,
    String audience,
    String jwksUri,
    boolean defaultNamespace,
    String subjectClaim,
    String groupsClaim,
    GroupMatch groupMatch,
    String rolesClaim,
    Map<String, String> roleMappings,
    ClaimValues admin,
    ClaimValues auditor,
    Provisioning provisioning) {

  /** Most issuers one server accepts. */
  public static final int MAX_ISSUERS = 16;

  /** Most role mappings, and most admin or auditor values, of one issuer. */
  public static final int MAX_MAPPINGS = 256;

  /** Longest claim value looked at; longer values are refused with the token. */
  public static final int MAX_CLAIM_VALUE = 256;

  /** Most values one groups or roles claim may hold; more is refused rather than cut. */
  public static final int MAX_CLAIM_VALUES = 100;

  private static final Pattern NAME = Pattern.compile("[a-z0-9-]{1,32}");
  private static final Pattern CLAIM = Pattern.compile("[A-Za-z0-9_:.\\-/]{1,128}");

  /** How a token's group claim value names a group. */
  public enum GroupMatch {
    /**
     * The value is the group's id ({@code group:<escaped value>}, in the issuer's namespace unless
     * it has the default one): the behaviour of a single issuer before directories.
     */
    NAME,
    /** The directory groups whose {@code displayName} is the value (exactly). */
    DISPLAY_NAME,
    /** The directory group whose {@code externalId} is the value (exactly). */
    EXTERNAL_ID;

    String wireName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /** Whether a caller must be a directory user. */
  public enum Provisioning {
    /**
     * Deprecated (ADR 0023): behaves as {@link #JIT}, since every token is a directory user now; a
     * warning at start says so.
     */
    NONE,
    /** A first token creates the directory user and links its (issuer, subject) to it. */
    JIT,
    /** A token whose subject (or verified email) names no directory user is refused. */
    SCIM_ONLY;

    String wireName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * Claim values that grant something: the caller qualifies when {@code claim} holds (or is) one of
   * {@code values}, compared exactly.
   */
  public record ClaimValues(String claim, List<String> values) {
    public static final ClaimValues NONE = new ClaimValues("", List.of());

    public ClaimValues {
      values = List.copyOf(values);
      if (values.size() > MAX_MAPPINGS) {
        throw new IllegalArgumentException(
            "at most " + MAX_MAPPINGS + " claim values per setting, got " + values.size());
      }
      if (!values.isEmpty() && claim.isEmpty()) {
        throw new IllegalArgumentException("claim values need the claim they are read from");
      }
    }

    boolean matches(List<String> claimValues) {
      for (String value : claimValues) {
        if (values.contains(value)) {
          return true;
        }
      }
      return false;
    }
  }

  public IssuerSettings {
    roleMappings = Map.copyOf(roleMappings);
    String where = "issuer '" + name + "'";
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "an issuer's name is 1 to 32 of a-z, 0-9 and '-' (it prefixes the issuer's subjects,"
              + " okta/00u1ab), got '"
              + name
              + "'");
    }
    checkUrl(issuer, where + ": issuer");
    if (!jwksUri.isEmpty()) {
      checkUrl(jwksUri, where + ": jwks-uri");
      if (issuer.startsWith("https:") && !jwksUri.startsWith("https:")) {
        throw new IllegalArgumentException(
            where + ": the jwks-uri of an https issuer must be https too");
      }
    }
    for (String claim :
        List.of(subjectClaim, groupsClaim, rolesClaim, admin.claim(), auditor.claim())) {
      if (!claim.isEmpty() && !CLAIM.matcher(claim).matches()) {
        throw new IllegalArgumentException(
            where + ": a claim name is 1 to 128 of letters, digits and _:.-/, got '" + claim + "'");
      }
    }
    if (subjectClaim.isEmpty()) {
      throw new IllegalArgumentException(where + ": subject-claim must not be empty");
    }
    if (roleMappings.size() > MAX_MAPPINGS) {
      throw new IllegalArgumentException(
          where + ": at most " + MAX_MAPPINGS + " role-mappings, got " + roleMappings.size());
    }
    if (!roleMappings.isEmpty() && rolesClaim.isEmpty()) {
      throw new IllegalArgumentException(
          where + ": role-mappings need roles-claim, the claim whose values they map");
    }
    if (groupMatch != GroupMatch.NAME && groupsClaim.isEmpty()) {
      throw new IllegalArgumentException(
          where + ": group-match " + groupMatch.wireName() + " needs groups-claim");
    }
  }

  /** The issuer the {@code --oidc-issuer} flags describe: default namespace, roles as before. */
  static IssuerSettings legacy(JwtSettings settings) {
    return new IssuerSettings(
        "default",
        settings.issuer(),
        settings.audience(),
        "",
        true,
        settings.subjectClaim(),
        "",
        GroupMatch.NAME,
        "",
        Map.of(),
        ClaimValues.NONE,
        ClaimValues.NONE,
        Provisioning.JIT);
  }

  /**
   * The issuers of a config file's {@code issuers:} list (kebab-case keys), checked together: names
   * and issuer URLs unique, at most one default namespace, at most {@value #MAX_ISSUERS}.
   *
   * @throws IllegalArgumentException naming {@code source}, the entry and how to fix it
   */
  public static List<IssuerSettings> parse(JsonNode list, String source) {
    if (list == null || list.isNull()) {
      return List.of();
    }
    if (!list.isArray()) {
      throw new IllegalArgumentException(
          source + ": issuers is a list of mappings, each with at least name and issuer");
    }
    if (list.size() > MAX_ISSUERS) {
      throw new IllegalArgumentException(
          source + ": at most " + MAX_ISSUERS + " issuers, got " + list.size());
    }
    List<IssuerSettings> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      String where = source + ": issuers[" + i + "]";
      try {
        out.add(parseOne(list.get(i), where));
      } catch (IllegalArgumentException e) {
        String message = e.getMessage();
        throw message != null && message.startsWith(where)
            ? e
            : new IllegalArgumentException(where + ": " + message, e);
      }
    }
    checkTogether(out, source);
    return List.copyOf(out);
  }

  /**
   * Refuses duplicate names or issuer URLs, and a second default namespace.
   *
   * @throws IllegalArgumentException naming {@code source}
   */
  public static void checkTogether(List<IssuerSettings> issuers, String source) {
    Set<String> names = new HashSet<>();
    Set<String> urls = new HashSet<>();
    int defaults = 0;
    for (IssuerSettings issuer : issuers) {
      if (!names.add(issuer.name())) {
        throw new IllegalArgumentException(
            source + ": two issuers are named '" + issuer.name() + "'; names must be unique");
      }
      if (!urls.add(issuer.issuer())) {
        throw new IllegalArgumentException(
            source + ": the issuer " + issuer.issuer() + " is listed twice");
      }
      defaults += issuer.defaultNamespace() ? 1 : 0;
    }
    if (defaults > 1) {
      throw new IllegalArgumentException(
          source
              + ": at most one issuer has default-namespace: true (its subjects are un-prefixed;"
              + " two would share them)");
    }
    if (issuers.size() > MAX_ISSUERS) {
      throw new IllegalArgumentException(
          source + ": at most " + MAX_ISSUERS + " issuers, got " + issuers.size());
    }
  }

  private static final Set<String> KEYS =
      Set.of(
          "name",
          "issuer",
          "audience",
          "jwks-uri",
          "default-namespace",
          "subject-claim",
          "groups-claim",
          "group-match",
          "roles-claim",
          "role-mappings",
          "admin-values",
          "auditor-values",
          "provisioning");

  private static IssuerSettings parseOne(@Nullable JsonNode node, String where) {
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException(where + ": expected a mapping with name and issuer");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!KEYS.contains(key)) {
        throw new IllegalArgumentException(
            where + ": unknown setting '" + key + "'; known: " + new java.util.TreeSet<>(KEYS));
      }
    }
    String name = text(node, "name", where, null);
    String issuer = text(node, "issuer", where, null);
    return new IssuerSettings(
        name,
        issuer,
        text(node, "audience", where, ""),
        text(node, "jwks-uri", where, ""),
        bool(node, "default-namespace", where),
        text(node, "subject-claim", where, "sub"),
        text(node, "groups-claim", where, ""),
        choice(node, "group-match", where, GroupMatch.values(), GroupMatch.NAME),
        text(node, "roles-claim", where, ""),
        mappings(node.get("role-mappings"), where),
        claimValues(node.get("admin-values"), where + ": admin-values"),
        claimValues(node.get("auditor-values"), where + ": auditor-values"),
        choice(node, "provisioning", where, Provisioning.values(), Provisioning.JIT));
  }

  private static String text(JsonNode node, String key, String where, @Nullable String fallback) {
    JsonNode value = node.get(key);
    if (value == null || value.isNull()) {
      if (fallback == null) {
        throw new IllegalArgumentException(where + ": '" + key + "' is required");
      }
      return fallback;
    }
    if (!value.isTextual() || value.asText().isBlank()) {
      throw new IllegalArgumentException(where + ": '" + key + "' must be a non-empty string");
    }
    return value.asText().strip();
  }

  private static boolean bool(JsonNode node, String key, String where) {
    JsonNode value = node.get(key);
    if (value == null || value.isNull()) {
      return false;
    }
    if (!value.isBoolean()) {
      throw new IllegalArgumentException(where + ": '" + key + "' must be true or false");
    }
    return value.asBoolean();
  }

  private static <E extends Enum<E>> E choice(
      JsonNode node, String key, String where, E[] options, E fallback) {
    JsonNode value = node.get(key);
    if (value == null || value.isNull()) {
      return fallback;
    }
    List<String> names = new ArrayList<>();
    for (E option : options) {
      String wire = option.name().toLowerCase(Locale.ROOT).replace('_', '-');
      names.add(wire);
      if (wire.equals(value.asText())) {
        return option;
      }
    }
    throw new IllegalArgumentException(
        where + ": '" + key + "' is one of " + names + ", got '" + value.asText() + "'");
  }

  private static Map<String, String> mappings(JsonNode node, String where) {
    if (node == null || node.isNull()) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw new IllegalArgumentException(
          where + ": role-mappings maps claim values to role ids ('Castellan.Dev': developer)");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (var entry : node.properties()) {
      if (!entry.getValue().isTextual() || entry.getValue().asText().isBlank()) {
        throw new IllegalArgumentException(
            where + ": role-mappings '" + entry.getKey() + "' must name a role");
      }
      out.put(entry.getKey(), entry.getValue().asText().strip());
    }
    return out;
  }

  private static ClaimValues claimValues(@Nullable JsonNode node, String where) {
    if (node == null || node.isNull()) {
      return ClaimValues.NONE;
    }
    if (!node.isObject() || !(node.get("values") instanceof JsonNode values) || !values.isArray()) {
      throw new IllegalArgumentException(
          where + ": expected {claim: groups, values: [castellan-admins]}");
    }
    String claim = text(node, "claim", where, null);
    List<String> out = new ArrayList<>();
    for (JsonNode value : values) {
      if (!value.isTextual() || value.asText().isEmpty()) {
        throw new IllegalArgumentException(where + ": values must be non-empty strings");
      }
      out.add(value.asText());
    }
    return new ClaimValues(claim, out);
  }

  private static void checkUrl(String url, String what) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(what + " is not a valid URL: " + url);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http")) {
      throw new IllegalArgumentException(what + " must be an http(s) URL: " + url);
    }
    if (uri.getHost() == null || uri.getRawFragment() != null) {
      throw new IllegalArgumentException(
          what + " must be a URL with a host and no fragment: " + url);
    }
  }
}
