package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.audit.AuditEvent;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.Identity;
import dev.castellan.store.UserDraft;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The one subject of a caller (ADR 0023), and the aliases grants may name it by.
 *
 * <p>A person is {@code user:<directory id>}, an API key {@code service_account:<key id>}: the same
 * string in RBAC and in store and global rights. Grant inputs may also name a subject by an alias,
 * resolved here when the grant is written: {@code key:<id>}; {@code jwt:<sub>} and {@code
 * jwt:<issuer name>/<sub>} (the OIDC identity of that issuer); {@code user:<name>} where the name
 * is not a directory id (a userName, then an email, then the default issuer's OIDC subject); {@code
 * email:<address>}; and the spellings of earlier releases, {@code user:dir/<id>} and {@code
 * service_account:key.<id>}. Names after {@code jwt:} and {@code user:} are subject ids ({@link
 * SubjectIds}: {@code user:bob%20smith} for {@code bob smith}).
 *
 * <p>An alias that names nobody is <em>provisioned</em> when a grant is written ({@link #resolve}):
 * a directory user named after it and linked to the identity it was given as, so that the person's
 * first token resolves to the user holding the grant. {@link #find} never creates anyone ({@code
 * /api/authorize}).
 */
public final class Subjects {
  private static final Logger LOG = LoggerFactory.getLogger(Subjects.class);

  /**
   * The identity namespace of OIDC subjects without an issuer prefix: HS256 tokens, the issuer of
   * the {@code --oidc-issuer} flags and the one issuer with {@code default-namespace: true}. A
   * constant, not an issuer URL, so that grants of earlier releases ({@code jwt:alice}) map to the
   * same identity whatever the configuration says at the time.
   */
  public static final String DEFAULT_NAMESPACE = "default";

  /** The identity kind of an OIDC subject; its namespace is {@link #oidcNamespace}. */
  public static final String OIDC = "oidc";

  /** Longest subject or alias accepted (an email is 320 characters, plus its kind). */
  public static final int MAX_INPUT = 400;

  // ULIDs as the directory issues them: 26 characters of Crockford's base32, upper case.
  private static final Pattern DIRECTORY_ID = Pattern.compile("[0-9A-HJKMNP-TV-Z]{26}");

  /** The audit api of a directory user Castellan created on its own (grant alias, first token). */
  public static final String CREATED_API = "directory-user-create";

  /** How the audit reason of a user the subject migration created begins. */
  static final String MIGRATION_REASON = "subject-migration";

  private final DirectoryStore directory;
  private final Map<String, String> issuerUrls;
  private final AuditLog audit;

  /**
   * @param issuers the issuers outside the default namespace, to read {@code jwt:<name>/<sub>}
   */
  public Subjects(DirectoryStore directory, List<IssuerSettings> issuers) {
    this(directory, issuers, AuditLog.NONE);
  }

  /**
   * @param issuers the issuers outside the default namespace, to read {@code jwt:<name>/<sub>}
   * @param audit hears every directory user a grant's alias provisions
   */
  public Subjects(DirectoryStore directory, List<IssuerSettings> issuers, AuditLog audit) {
    this.directory = directory;
    this.audit = audit;
    Map<String, String> urls = new HashMap<>();
    for (IssuerSettings issuer : issuers) {
      if (!issuer.defaultNamespace()) {
        urls.put(issuer.name(), issuer.issuer());
      }
    }
    this.issuerUrls = Map.copyOf(urls);
  }

  /** The namespace of an issuer's OIDC identities; {@code issuer} null for HS256. */
  public static String oidcNamespace(@Nullable IssuerSettings issuer) {
    return issuer == null || issuer.defaultNamespace() ? DEFAULT_NAMESPACE : issuer.issuer();
  }

  /** True for a directory id (a ULID), the id of {@code user:<directory id>}. */
  public static boolean isDirectoryId(String id) {
    return DIRECTORY_ID.matcher(id).matches();
  }

  /**
   * The canonical subject of the spellings that need no directory: {@code user:<directory id>},
   * {@code user:dir/<directory id>}, {@code service_account:<id>}, {@code
   * service_account:key.<id>}, {@code key:<id>}; empty for anything else (an alias to resolve).
   */
  public static Optional<String> mechanical(String subject) {
    int colon = subject.indexOf(':');
    if (colon < 0) {
      return Optional.empty();
    }
    String type = subject.substring(0, colon);
    String id = subject.substring(colon + 1);
    switch (type) {
      case "user" -> {
        if (isDirectoryId(id)) {
          return Optional.of(subject);
        }
        if (id.startsWith("dir/") && isDirectoryId(id.substring(4))) {
          return Optional.of("user:" + id.substring(4));
        }
        return Optional.empty();
      }
      case "service_account", "key" -> {
        if (type.equals("service_account") && id.startsWith("key.")) {
          id = id.substring(4);
        }
        return SubjectIds.isCanonical(id) ? Optional.of("service_account:" + id) : Optional.empty();
      }
      default -> {
        return Optional.empty();
      }
    }
  }

  /**
   * The canonical subject {@code input} names, provisioning a directory user when it names nobody
   * (a grant written before the person's first token).
   *
   * @throws CastellanException {@code VALIDATION_ERROR} saying how to spell a subject
   */
  public String resolve(String input) {
    return resolve(input, "");
  }

  /**
   * {@link #resolve(String)} for a grant {@code caller} (a principal id; empty when unknown) makes:
   * the audit entry of a provisioned user names it.
   */
  public String resolve(String input, String caller) {
    String shown = abbreviate(input == null ? "" : input.strip());
    return resolve(
        input, caller, "grant alias " + shown + (caller.isEmpty() ? "" : " by " + caller));
  }

  /**
   * {@link #resolve(String)} for the subject migration (ADR 0023) rewriting {@code legacy}, a
   * subject stored by an earlier release, read as the alias {@code input}: a user it creates is
   * audited as the migration's, not as a grant's.
   */
  String resolveForMigration(String input, String legacy) {
    return resolve(input, "", MIGRATION_REASON + " of " + abbreviate(legacy));
  }

  /** {@code how} begins the audit reason of a user provisioned for {@code input}. */
  private String resolve(String input, String caller, String how) {
    Alias alias = parse(input);
    if (alias.canonical() != null) {
      return alias.canonical();
    }
    Optional<String> found = lookup(alias);
    if (found.isPresent()) {
      return "user:" + found.get();
    }
    return "user:" + provision(alias, how, caller);
  }

  private static String abbreviate(String text) {
    return text.length() > 120 ? text.substring(0, 120) + "..." : text;
  }

  /**
   * The audit entry of a directory user Castellan created and linked on its own: the same shape as
   * a SCIM creation, {@code reason} saying how (never a token's claims).
   */
  static AuditEvent created(String caller, String userId, String reason) {
    return new AuditEvent(
        Instant.now(),
        AuditEvent.Kind.CHANGE,
        CREATED_API,
        caller,
        "user:" + userId,
        List.of(),
        "create",
        "/scim/v2/Users/" + userId,
        AuditEvent.Outcome.OK,
        reason,
        "",
        0,
        MDC.get("request_id"),
        "");
  }

  /**
   * The canonical subject {@code input} names, creating nobody: an alias of no one is a subject
   * that holds nothing ({@code user:<alias>} is returned as given, so a check denies).
   *
   * @throws CastellanException {@code VALIDATION_ERROR} saying how to spell a subject
   */
  public String find(String input) {
    Alias alias = parse(input);
    if (alias.canonical() != null) {
      return alias.canonical();
    }
    return lookup(alias).map(id -> "user:" + id).orElse(NOBODY);
  }

  /** What {@link #find} answers for an alias of no one: a valid subject no grant can reach. */
  public static final String NOBODY = "user:nobody%00";

  /** The userName of a {@code user:<directory id>} subject; empty for others and unknown ids. */
  public Optional<String> userName(String subject) {
    if (!subject.startsWith("user:") || !isDirectoryId(subject.substring(5))) {
      return Optional.empty();
    }
    return directory.user(subject.substring(5)).map(DirectoryUser::userName);
  }

  // ------------------------------------------------------------------ aliases

  /**
   * An input read: either canonical already, or the identity it names with how to look it up.
   *
   * @param canonical the subject when no lookup is needed
   * @param identity the identity to resolve and to link a provisioned user to
   * @param byName also look the name up as a userName, then an email ({@code user:<name>})
   * @param name the name a provisioned user gets as its userName
   */
  private record Alias(
      @Nullable String canonical, @Nullable Identity identity, boolean byName, String name) {}

  private Alias parse(@Nullable String input) {
    String value = input == null ? "" : input.strip();
    if (value.isEmpty() || value.length() > MAX_INPUT) {
      throw invalid(value);
    }
    Optional<String> mechanical = mechanical(value);
    if (mechanical.isPresent()) {
      return new Alias(mechanical.get(), null, false, "");
    }
    int colon = value.indexOf(':');
    String type = colon < 0 ? "" : value.substring(0, colon);
    String id = value.substring(colon + 1);
    switch (type) {
      case "jwt", "user" -> {
        if (!SubjectIds.isSubjectId(id)) {
          throw invalid(value);
        }
        int slash = id.indexOf('/');
        if (slash > 0) {
          String issuer = id.substring(0, slash);
          String url = issuerUrls.get(issuer);
          if (url == null) {
            throw new CastellanException(
                ErrorCode.VALIDATION_ERROR,
                "'"
                    + value
                    + "' names issuer '"
                    + issuer
                    + "', which this server does not have; configured issuers outside the default"
                    + " namespace: "
                    + new java.util.TreeSet<>(issuerUrls.keySet()));
          }
          String sub = SubjectIds.unescape(id.substring(slash + 1)).orElseThrow();
          return new Alias(null, new Identity(OIDC, url, sub), false, issuer + "/" + sub);
        }
        String name = SubjectIds.unescape(id).orElseThrow();
        return new Alias(
            null, new Identity(OIDC, DEFAULT_NAMESPACE, name), type.equals("user"), name);
      }
      case "email" -> {
        if (id.isBlank() || id.length() > DirectoryStore.MAX_EMAIL || !id.contains("@")) {
          throw invalid(value);
        }
        return new Alias(null, Identity.email(id), false, id);
      }
      default -> throw invalid(value);
    }
  }

  /** The identity of an alias that is not canonical already (only those are looked up). */
  private static Identity identity(Alias alias) {
    return Objects.requireNonNull(alias.identity(), "a canonical subject has no identity");
  }

  /** The directory id an alias names, if any. */
  private Optional<String> lookup(Alias alias) {
    Identity identity = identity(alias);
    if (alias.byName()) {
      Optional<String> named = byUserName(alias.name());
      if (named.isPresent()) {
        return named;
      }
      Optional<String> mailed = byEmail(alias.name());
      if (mailed.isPresent()) {
        return mailed;
      }
      return directory.resolve(identity);
    }
    Optional<String> linked = directory.resolve(identity);
    if (linked.isPresent()) {
      return linked;
    }
    if (identity.kind().equals(Identity.EMAIL)) {
      return byEmail(alias.name());
    }
    if (identity.namespace().equals(DEFAULT_NAMESPACE)) {
      // jwt:x and user:x were one caller before ADR 0023: both name the user whose userName is x.
      return byUserName(alias.name());
    }
    return Optional.empty();
  }

  /** The user whose userName is exactly {@code name} (the directory ignores case; we do not). */
  Optional<String> byUserName(String name) {
    if (name.length() > DirectoryStore.MAX_NAME) {
      return Optional.empty();
    }
    return directory
        .findUsers(
            new DirectoryQuery.Compare(
                DirectoryQuery.Attribute.USER_NAME, DirectoryQuery.Operator.EQ, name),
            1,
            2)
        .items()
        .stream()
        .filter(u -> u.userName().equals(name))
        .map(DirectoryUser::id)
        .findFirst();
  }

  /** The one user with {@code address} among its emails; empty for none or several. */
  private Optional<String> byEmail(String address) {
    if (!address.contains("@")) {
      return Optional.empty();
    }
    return onlyUserWithEmail(address);
  }

  /**
   * The one user with {@code address} among its emails; empty for none, several or an over-long
   * address. One rule for email aliases and for tokens' verified emails: when two users share an
   * address, which one is meant is not for us to decide.
   */
  Optional<String> onlyUserWithEmail(String address) {
    if (address.length() > DirectoryStore.MAX_EMAIL) {
      return Optional.empty();
    }
    List<DirectoryUser> users =
        directory
            .findUsers(
                new DirectoryQuery.Compare(
                    DirectoryQuery.Attribute.EMAIL, DirectoryQuery.Operator.EQ, address),
                1,
                2)
            .items();
    return users.size() == 1 ? Optional.of(users.get(0).id()) : Optional.empty();
  }

  /**
   * Creates the directory user an alias of no one stands for: userName the name, linked to the
   * identity it was given as (an email also as the user's email), so that the person's first token,
   * or a SCIM IdP filtering on userName, finds it.
   */
  private synchronized String provision(Alias alias, String how, String caller) {
    Optional<String> raced = lookup(alias);
    if (raced.isPresent()) {
      return raced.get();
    }
    Identity identity = identity(alias);
    boolean email = identity.kind().equals(Identity.EMAIL);
    UserDraft draft =
        new UserDraft(alias.name(), "", "", true, email ? List.of(alias.name()) : List.of(), "");
    String reason = how + "; linked to its " + identity.kind() + " identity";
    try {
      return createAndLink(directory, audit, identity, draft, List.of(), caller, reason);
    } catch (CastellanException e) {
      if (e.code() != ErrorCode.UNIQUENESS_CONFLICT) {
        throw e;
      }
      Optional<String> other = lookup(alias);
      if (other.isPresent()) {
        return other.get(); // another node provisioned the person meanwhile
      }
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "'"
              + alias.name()
              + "' names no directory user, and a user whose userName differs from it only in"
              + " case exists; grant to that user's subject (user:<directory id>, GET"
              + " /api/users?filter=userName eq \"...\") or link the identity to it");
    }
  }

  /**
   * Creates a directory user linked to {@code identity}, the one way Castellan makes a person on
   * its own (a grant's alias, a first token, the subject migration), and audits it as {@link
   * #CREATED_API} once linked.
   *
   * <p>The user is {@code draft}, its userName replaced by the first of {@code otherNames} that is
   * free when the draft's is taken (each checked only when tried). When the link fails, the new
   * user is deleted whatever the failure: a user without its link is one nobody resolves to, and
   * one the audit trail never hears of (the entry is written once linked), so leaving it behind
   * only clutters the directory. The failure is not hidden by that: when another request linked the
   * identity first (a lost race) its user is adopted, and any other failure is thrown as it came, a
   * failed deletion suppressed in it.
   *
   * @return the id of the user {@code identity} is linked to: the new one, or a race winner's
   * @throws CastellanException {@code UNIQUENESS_CONFLICT} when every userName is taken and the
   *     identity is linked to nobody; the link's own failure otherwise
   */
  static String createAndLink(
      DirectoryStore directory,
      AuditLog audit,
      Identity identity,
      UserDraft draft,
      List<String> otherNames,
      String caller,
      String reason) {
    DirectoryUser created = null;
    CastellanException taken = null;
    for (int i = -1; i < otherNames.size() && created == null; i++) {
      UserDraft tried =
          i < 0
              ? draft
              : new UserDraft(
                  otherNames.get(i),
                  draft.externalId(),
                  draft.displayName(),
                  draft.active(),
                  draft.emails(),
                  draft.resourceJson());
      try {
        created = directory.createUser(tried);
      } catch (CastellanException e) {
        if (e.code() != ErrorCode.UNIQUENESS_CONFLICT) {
          throw e;
        }
        taken = e;
      }
    }
    if (created == null) {
      Optional<String> linked = directory.resolve(identity);
      if (linked.isPresent()) {
        return linked.get(); // the name is the race winner's, linked meanwhile
      }
      throw java.util.Objects.requireNonNull(taken, "taken");
    }
    try {
      directory.link(created.id(), identity);
    } catch (CastellanException e) {
      try {
        directory.deleteUser(created.id());
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
        LOG.warn(
            "directory user {} is left without its link: deleting it failed: {}",
            created.id(),
            cleanup.toString());
      }
      if (e.code() == ErrorCode.UNIQUENESS_CONFLICT) {
        Optional<String> winner = directory.resolve(identity);
        if (winner.isPresent()) {
          return winner.get(); // another request linked it first
        }
      }
      throw e;
    }
    audit.record(created(caller, created.id(), reason));
    return created.id();
  }

  private static CastellanException invalid(String value) {
    return new CastellanException(
        ErrorCode.VALIDATION_ERROR,
        "a subject is user:<directory id> or service_account:<key id>, or an alias of one:"
            + " key:<id>, jwt:<sub> (jwt:<issuer name>/<sub> for a further OIDC issuer),"
            + " user:<userName, email or token subject>, email:<address>; names with characters"
            + " other than letters, digits and _.@|- percent-encoded as UTF-8 with upper-case hex"
            + " (user:bob%20smith for 'bob smith'), at most "
            + SubjectIds.MAX_LENGTH
            + " characters; GET /api/whoami shows a caller its own; got '"
            + (value.length() > 80 ? value.substring(0, 80) + "..." : value)
            + "'");
  }
}
