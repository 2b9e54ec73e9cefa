package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.server.auth.IssuerSettings.GroupMatch;
import dev.castellan.server.auth.IssuerSettings.Provisioning;
import dev.castellan.store.DirectoryGroup;
import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.Identity;
import dev.castellan.store.UserDraft;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The one place a verified token becomes a {@link Principal} (ADR 0020): its subject id in the
 * issuer's namespace, and for an issuer of the {@code issuers:} list the roles, groups and
 * administrator or auditor rights its claims map to, and the directory user it is (found, created
 * just in time, or refused). Every token is a directory user: the principal is {@code
 * user:<directory id>} (ADR 0023).
 */
final class TokenPrincipals {
  /** The identity kind of an OIDC subject; its namespace is {@link Subjects#oidcNamespace}. */
  static final String OIDC = Subjects.OIDC;

  /** How long a group claim value's directory groups are remembered. */
  static final long GROUP_CACHE_MILLIS = 1_000;

  private static final int GROUP_CACHE_SIZE = 10_000;

  private static final Object[] JIT_LOCKS = new Object[64];

  static {
    for (int i = 0; i < JIT_LOCKS.length; i++) {
      JIT_LOCKS[i] = new Object();
    }
  }

  /** How long a token identity's directory user is remembered. */
  static final long USER_CACHE_MILLIS = 5_000;

  private static final int USER_CACHE_SIZE = 100_000;

  private final DirectoryStore directory;
  private final Subjects names;
  private final Clock clock;
  private final Map<String, CachedGroups> groupCache = new ConcurrentHashMap<>();
  private final Map<String, CachedUser> userCache = new ConcurrentHashMap<>();

  private record CachedGroups(List<String> ids, long loadedAt) {}

  private record CachedUser(String id, long loadedAt) {}

  /** Directory users whose tokens are refused: a cached one is looked up again (deleted?). */
  private volatile java.util.function.Predicate<String> refused = id -> false;

  /** OIDC identities (namespace, value) of deleted users: never created again just in time. */
  private volatile java.util.function.BiPredicate<String, String> refusedIdentity =
      (namespace, value) -> false;

  /** Hears every directory user a first token creates. */
  private volatile AuditLog audit = AuditLog.NONE;

  TokenPrincipals(DirectoryStore directory, Clock clock) {
    this.directory = java.util.Objects.requireNonNull(directory, "directory");
    this.names = new Subjects(directory, List.of());
    this.clock = clock;
  }

  /**
   * The principal of a verified token.
   *
   * @param issuer the issuer that signed it; null for HS256
   * @param subjectClaim the claim {@code subject} came from, for messages
   * @param mapped whether {@code issuer}'s mapping applies (an issuer of the list) or the claims
   *     map as before (the single-issuer flags, HS256)
   */
  Principal build(
      @Nullable IssuerSettings issuer,
      boolean mapped,
      String subjectClaim,
      String subject,
      Map<String, Object> claims) {
    subjectId(issuer, subjectClaim, subject); // refuses what no subject id can spell
    String display =
        issuer == null || issuer.defaultNamespace()
            ? display(subject)
            : issuer.name() + "/" + display(subject);
    String user = directoryUser(issuer, subject, claims);
    if (!mapped || issuer == null) {
      return new Principal("user:" + user, display, claims);
    }
    List<String> roleValues = values(claims, issuer.rolesClaim());
    List<String> roles = new ArrayList<>();
    if (issuer.roleMappings().isEmpty()) {
      roles.addAll(roleValues);
    } else {
      for (String value : roleValues) {
        String role = issuer.roleMappings().get(value);
        if (role != null) {
          roles.add(role);
        }
      }
    }
    List<String> groups = groups(issuer, values(claims, issuer.groupsClaim()));
    boolean admin = issuer.admin().matches(values(claims, issuer.admin().claim()));
    boolean auditor = admin || issuer.auditor().matches(values(claims, issuer.auditor().claim()));
    return new Principal(
        "user:" + user,
        display,
        claims,
        new Principal.Mapped(
            issuer.name(), user, List.copyOf(new LinkedHashSet<>(roles)), groups, admin, auditor));
  }

  /**
   * {@code escape(subject)}, prefixed by {@code name/} for an issuer outside the default namespace.
   */
  private static String subjectId(@Nullable IssuerSettings issuer, String claim, String subject) {
    String escaped =
        SubjectIds.escape(subject)
            .orElseThrow(() -> fail("the token's subject (" + claim + ") is not valid Unicode"));
    boolean prefixed = issuer != null && !issuer.defaultNamespace();
    String id = prefixed && issuer != null ? issuer.name() + "/" + escaped : escaped;
    if (id.length() > SubjectIds.MAX_LENGTH) {
      throw fail(
          "the token's subject ("
              + claim
              + ") is "
              + id.length()
              + " characters long once its characters other than letters, digits and _.@|- are"
              + " percent-encoded"
              + (prefixed ? " and its issuer's namespace is prefixed" : "")
              + "; at most "
              + SubjectIds.MAX_LENGTH
              + " are accepted");
    }
    return id;
  }

  /** {@code audit} hears every directory user a first token creates. */
  void audit(AuditLog audit) {
    this.audit = java.util.Objects.requireNonNull(audit, "audit");
  }

  /**
   * Looks a cached user up again when {@code refused} names it: a deleted user's identity may name
   * a user provisioned since, and a deactivated one is refused by the lookup itself.
   */
  void recheck(
      java.util.function.Predicate<String> refused,
      java.util.function.BiPredicate<String, String> refusedIdentity) {
    this.refused = refused;
    this.refusedIdentity = refusedIdentity;
  }

  // ------------------------------------------------------------------ groups

  private List<String> groups(IssuerSettings issuer, List<String> values) {
    LinkedHashSet<String> out = new LinkedHashSet<>();
    for (String value : values) {
      switch (issuer.groupMatch()) {
        case NAME ->
            SubjectIds.escape(value)
                .map(id -> issuer.defaultNamespace() ? id : issuer.name() + "/" + id)
                .filter(id -> id.length() <= SubjectIds.MAX_LENGTH)
                .ifPresent(out::add);
        case DISPLAY_NAME, EXTERNAL_ID -> out.addAll(directoryGroups(issuer.groupMatch(), value));
      }
    }
    return List.copyOf(out);
  }

  /**
   * The directory groups a claim value names, exactly (the directory compares display names without
   * regard to case; the token's value must be the group's spelling). Two groups may share a display
   * name: the value names both.
   */
  private List<String> directoryGroups(GroupMatch match, String value) {
    if (directory == null) {
      return List.of();
    }
    String key = match.name() + "\u0000" + value;
    long now = clock.millis();
    CachedGroups cached = groupCache.get(key);
    if (cached != null && now - cached.loadedAt() < GROUP_CACHE_MILLIS) {
      return cached.ids();
    }
    DirectoryQuery.Attribute attribute =
        match == GroupMatch.DISPLAY_NAME
            ? DirectoryQuery.Attribute.DISPLAY_NAME
            : DirectoryQuery.Attribute.EXTERNAL_ID;
    List<String> ids = new ArrayList<>();
    for (DirectoryGroup group :
        directory
            .findGroups(
                new DirectoryQuery.Compare(attribute, DirectoryQuery.Operator.EQ, value),
                1,
                DirectoryStore.MAX_COUNT)
            .items()) {
      String name = match == GroupMatch.DISPLAY_NAME ? group.displayName() : group.externalId();
      if (name.equals(value)) {
        ids.add(group.id());
      }
    }
    if (groupCache.size() >= GROUP_CACHE_SIZE) {
      groupCache.clear(); // crude, but bounded: tokens with made-up groups cannot grow it
    }
    groupCache.put(key, new CachedGroups(List.copyOf(ids), now));
    return ids;
  }

  // ------------------------------------------------------------------ directory users

  /**
   * The id of the directory user the token names (ADR 0023), remembered for {@value
   * #USER_CACHE_MILLIS} ms so that a request costs no directory read: linked by (issuer namespace,
   * subject); else, in the default namespace, the user whose userName is the subject (the person
   * {@code jwt:x} and {@code user:x} named before); else by a verified email (then linked); else
   * created just in time, or refused for {@code scim-only}. Deactivation is not cached here: {@link
   * DeactivatedUsers} refuses a deactivated user's tokens on every request.
   */
  private String directoryUser(
      @Nullable IssuerSettings issuer, String subject, Map<String, Object> claims) {
    String namespace = Subjects.oidcNamespace(issuer);
    String key = namespace + '\u0000' + subject; // no Identity (it validates) on a hit
    long now = clock.millis();
    CachedUser cached = userCache.get(key);
    if (cached != null
        && now - cached.loadedAt() < USER_CACHE_MILLIS
        && !refused.test(cached.id())) {
      return cached.id();
    }
    Identity identity = new Identity(OIDC, namespace, subject);
    String id = lookUpUser(issuer, subject, claims, identity);
    if (userCache.size() >= USER_CACHE_SIZE) {
      userCache.clear(); // crude, but bounded
    }
    userCache.put(key, new CachedUser(id, now));
    return id;
  }

  private String lookUpUser(
      @Nullable IssuerSettings issuer,
      String subject,
      Map<String, Object> claims,
      Identity identity) {
    Optional<String> found = directory.resolve(identity);
    if (found.isEmpty() && identity.namespace().equals(Subjects.DEFAULT_NAMESPACE)) {
      found = names.byUserName(subject);
      found.ifPresent(id -> linkQuietly(id, identity));
    }
    if (found.isEmpty()) {
      found = byVerifiedEmail(claims);
      found.ifPresent(id -> linkQuietly(id, identity));
    }
    if (found.isEmpty()) {
      if (issuer != null && issuer.provisioning() == Provisioning.SCIM_ONLY) {
        throw new CastellanException(
            ErrorCode.IDENTITY_NOT_PROVISIONED,
            "no directory user has this token's subject or verified email, and issuer '"
                + issuer.name()
                + "' only accepts users provisioned through SCIM; ask an administrator to"
                + " provision the user");
      }
      if (refusedIdentity.test(identity.namespace(), identity.value())) {
        throw new CastellanException(
            ErrorCode.USER_DEACTIVATED,
            "the directory user of this token was deleted; it is refused until the identity"
                + " provider provisions the user again");
      }
      // One node creates a person once: first tokens racing here wait for each other (another
      // node racing is caught by the identity's unique key below).
      synchronized (JIT_LOCKS[Math.floorMod(identity.hashCode(), JIT_LOCKS.length)]) {
        found = directory.resolve(identity);
        if (found.isEmpty()) {
          found = Optional.of(createJustInTime(issuer, subject, claims, identity));
        }
      }
    }
    String id = found.get();
    DirectoryUser user =
        directory
            .user(id)
            .orElseThrow(
                () ->
                    new CastellanException(
                        ErrorCode.IDENTITY_NOT_PROVISIONED,
                        "the directory user of this token was deleted meanwhile; try again"));
    if (!user.active()) {
      throw new CastellanException(
          ErrorCode.USER_DEACTIVATED,
          "the directory user of this token is deactivated (active: false)");
    }
    return id;
  }

  private Optional<String> byVerifiedEmail(Map<String, Object> claims) {
    // Only an address the issuer says it verified: anyone can type someone else's into a profile.
    if (!(claims.get("email") instanceof String email)
        || !Boolean.TRUE.equals(claims.get("email_verified"))
        || email.isBlank()
        || email.length() > DirectoryStore.MAX_EMAIL) {
      return Optional.empty();
    }
    return names.onlyUserWithEmail(email);
  }

  private void linkQuietly(String userId, Identity identity) {
    try {
      directory.link(userId, identity);
    } catch (CastellanException e) {
      // Linked meanwhile (a concurrent first request) or the user is full of links: the email
      // still names the user, so the request goes on.
    }
  }

  private String createJustInTime(
      @Nullable IssuerSettings issuer,
      String subject,
      Map<String, Object> claims,
      Identity identity) {
    String userName = firstText(claims, "preferred_username", "email");
    String fallback =
        issuer == null || issuer.defaultNamespace() ? subject : issuer.name() + "/" + subject;
    if (identity.namespace().equals(Subjects.DEFAULT_NAMESPACE)
        || userName.isEmpty()
        || userName.length() > DirectoryStore.MAX_NAME) {
      // In the default namespace the userName is the subject: what user:<name> grants name.
      userName = fallback;
    }
    String email = claims.get("email") instanceof String s && s.length() <= 320 ? s : "";
    String displayName = firstText(claims, "name");
    // The subject's own name may be another user's: this person is not that one (no link said
    // so), and the issuer-prefixed name serves. That name may be taken too, by another node's
    // concurrent first token: then that node's user is this person's, once linked.
    String issuerName = issuerName(issuer);
    try {
      return Subjects.createAndLink(
          directory,
          audit,
          identity,
          draft(userName, displayName, email),
          List.of(issuerName + "/" + subject),
          "",
          "jit: first token of issuer " + issuerName + "; linked to its oidc identity");
    } catch (CastellanException e) {
      if (e.code() != ErrorCode.UNIQUENESS_CONFLICT) {
        throw e;
      }
      throw raced();
    }
  }

  /**
   * The name of a token's issuer in fallback userNames and audit reasons: a listed issuer's own
   * name, and for HS256 {@value Subjects#DEFAULT_NAMESPACE}, the namespace its identities are
   * linked in (and the name of the {@code --oidc-issuer} issuer that shares it), so a user's name,
   * its audit entry and its link say the same.
   */
  static String issuerName(@Nullable IssuerSettings issuer) {
    return issuer == null ? Subjects.DEFAULT_NAMESPACE : issuer.name();
  }

  /** Another node is creating this person's user right now: a retry finds it. */
  private static CastellanException raced() {
    return new CastellanException(
        ErrorCode.STORE_UNAVAILABLE,
        "the directory user of this token is being created by another request; try again");
  }

  private static UserDraft draft(String userName, String displayName, String email) {
    String name = displayName.length() > DirectoryStore.MAX_NAME ? "" : displayName;
    return new UserDraft(
        userName, "", name, true, email.isEmpty() ? List.of() : List.of(email), "");
  }

  private static String firstText(Map<String, Object> claims, String... names) {
    for (String name : names) {
      if (claims.get(name) instanceof String s && !s.isBlank()) {
        return s.strip();
      }
    }
    return "";
  }

  // ------------------------------------------------------------------ claims

  /**
   * The string values of a claim (a name or a dotted path into nested objects); refused when it
   * holds more than {@value IssuerSettings#MAX_CLAIM_VALUES} values or one longer than {@value
   * IssuerSettings#MAX_CLAIM_VALUE} characters, rather than cut.
   */
  static List<String> values(Map<String, Object> claims, String name) {
    if (name.isEmpty()) {
      return List.of();
    }
    Object value = claims.get(name); // a claim named with dots (Entra's URIs) wins over a path
    if (value == null) {
      Object at = claims;
      for (String part : name.split("\\.")) {
        at = at instanceof Map<?, ?> map ? map.get(part) : null;
      }
      value = at;
    }
    List<String> out = new ArrayList<>();
    if (value instanceof String s) {
      out.add(s);
    } else if (value instanceof List<?> list) {
      if (list.size() > IssuerSettings.MAX_CLAIM_VALUES) {
        throw fail(
            "the token's claim "
                + name
                + " holds "
                + list.size()
                + " values; at most "
                + IssuerSettings.MAX_CLAIM_VALUES
                + " are accepted");
      }
      for (Object item : list) {
        if (item instanceof String s) {
          out.add(s);
        }
      }
    }
    for (String s : out) {
      if (s.length() > IssuerSettings.MAX_CLAIM_VALUE) {
        throw fail(
            "a value of the token's claim "
                + name
                + " is longer than "
                + IssuerSettings.MAX_CLAIM_VALUE
                + " characters");
      }
    }
    out.removeIf(String::isBlank);
    return out;
  }

  /** The subject for logs: control characters (line breaks included) replaced. */
  static String display(String subject) {
    StringBuilder out = new StringBuilder(subject.length());
    subject.codePoints().forEach(c -> out.appendCodePoint(Character.isISOControl(c) ? '?' : c));
    return out.toString();
  }

  private static CastellanException fail(String message) {
    return new CastellanException(ErrorCode.UNAUTHENTICATED, message);
  }
}
