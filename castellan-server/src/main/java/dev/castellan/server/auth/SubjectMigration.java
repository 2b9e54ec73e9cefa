package dev.castellan.server.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.server.audit.AuditEvent;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.store.DocumentStore;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleStore;
import dev.castellan.store.TupleWrite;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings the grants in the system store to the subject scheme of ADR 0010, once per database, on
 * the first start of a Castellan that has it.
 *
 * <p>Before it, a token's subject kept only letters, digits and {@code _.@|-} (every other
 * character became {@code _}), and role and group claim values were slugged ({@code
 * PLATFORM_ADMINS} became {@code platform-admins}). Every id stored then is read as the literal
 * name an administrator wrote:
 *
 * <ul>
 *   <li>an id that is already canonical keeps its tuples and now means exactly that name;
 *   <li>an id that is not ({@code user:a+b}, {@code user:a/b}: characters the old grant API took
 *       but no token subject could ever reach) is rewritten to its canonical spelling ({@code
 *       user:a%2Bb}), so the grant reaches the subject it names;
 *   <li>ids whose meaning the old scheme blurred are <em>reported</em>, since the store alone
 *       cannot say whom they were meant for: a user or principal id with {@code _} (it also stood
 *       for {@code bob smith}, {@code bob:smith}, ...), a group id in slug form (it also stood for
 *       {@code PLATFORM_ADMINS}, {@code Platform Admins}, ...), a group id no claim could reach
 *       before and will now, and a principal that names no kind of caller.
 * </ul>
 *
 * Scheme 3 (ADR 0023) then gives every caller its one subject: {@code user:<directory id>} for a
 * person (its legacy {@code jwt:}/{@code user:} names resolved as grant aliases are, creating the
 * directory user when there is none), {@code service_account:<key id>} for a key.
 *
 * <p>The report is one warning in the log and one audit entry per subject ({@code GET
 * /api/audit?resource=castellan:subjects}); the version reached is kept as a document, so later
 * starts neither repeat the work nor the report.
 */
public final class SubjectMigration {
  private static final Logger LOG = LoggerFactory.getLogger(SubjectMigration.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  static final String DOCUMENT_KIND = "castellan-subjects";
  static final String DOCUMENT_KEY = "scheme";

  /** The resource of the migration's audit entries, to find them all at once. */
  public static final String AUDIT_RESOURCE = "castellan:subjects";

  /**
   * One subject per caller (ADR 0023); the escaping scheme of ADR 0010 is 2, the slugging one
   * before it 1.
   */
  public static final int VERSION = 3;

  /** Subjects named in the warning; the audit trail has them all. */
  private static final int LOGGED_SUBJECTS = 30;

  private static final int BATCH = 100;

  /** What the old scheme made of a claim value: the only group ids a token could reach. */
  private static final Pattern SLUG = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");

  private SubjectMigration() {}

  /** One subject whose grants were rewritten to its canonical id. */
  public record Rewrite(String from, String to, int grants) {}

  /** One subject whose grants stay as they are but may not mean what they did. */
  public record Review(String subject, int grants, String why) {}

  /** What a run did; both lists empty when there was nothing to do or it ran before. */
  public record Report(List<Rewrite> rewritten, List<Review> toReview) {}

  /**
   * Migrates the system store unless this database already is at {@link #VERSION}: to scheme 2 (ADR
   * 0010) when it is older, then to scheme 3 (ADR 0023). Every step is idempotent, so a run
   * interrupted part way is finished by the next start.
   *
   * @param audit hears one change per rewritten or reported subject
   * @param subjects resolves the legacy subjects to directory users, creating those missing
   */
  public static Report run(
      TupleStore store,
      DocumentStore documents,
      String systemStoreId,
      AuditLog audit,
      Clock clock,
      Subjects subjects) {
    int from = version(documents);
    if (from >= VERSION) {
      return new Report(List.of(), List.of());
    }
    List<Rewrite> rewritten = new ArrayList<>();
    List<Review> toReview = new ArrayList<>();
    if (from < 2) {
      toEscapedIds(store, systemStoreId, rewritten, toReview);
    }
    toOneSubject(store, systemStoreId, subjects, rewritten, toReview);
    record(documents, clock);
    report(systemStoreId, audit, clock, rewritten, toReview);
    return new Report(List.copyOf(rewritten), List.copyOf(toReview));
  }

  private static Map<String, List<Tuple>> byUser(TupleStore store, String systemStoreId) {
    Map<String, List<Tuple>> byUser = new TreeMap<>();
    String token = "";
    do {
      Page<StoredTuple> page =
          store.read(
              systemStoreId, TupleFilter.ALL, new PageRequest(PageRequest.MAX_PAGE_SIZE, token));
      for (StoredTuple stored : page.items()) {
        byUser
            .computeIfAbsent(stored.tuple().key().user(), u -> new ArrayList<>())
            .add(stored.tuple());
      }
      token = page.continuationToken();
    } while (!token.isEmpty());
    return byUser;
  }

  /**
   * Scheme 3 (ADR 0023): every subject of a caller becomes its one subject. {@code user:dir/<id>}
   * becomes {@code user:<id>}, {@code principal:key.<id>} and {@code service_account:key.<id>}
   * become {@code service_account:<id>}, and {@code principal:jwt.<x>} and {@code user:<x>} become
   * the directory user they name by the alias rules of {@link Subjects} (created when there is
   * none: {@code jwt:x} and {@code user:x} of the default namespace are one person, one user).
   * Group memberships projected from the directory follow, being tuples of the same users.
   */
  private static void toOneSubject(
      TupleStore store,
      String systemStoreId,
      Subjects subjects,
      List<Rewrite> rewritten,
      List<Review> toReview) {
    for (Map.Entry<String, List<Tuple>> entry : byUser(store, systemStoreId).entrySet()) {
      String user = entry.getKey();
      String alias;
      if (user.startsWith("principal:jwt.")) {
        alias = "jwt:" + user.substring("principal:jwt.".length());
      } else if (user.startsWith("principal:key.")) {
        alias = "key:" + user.substring("principal:key.".length());
      } else if (user.startsWith("user:") || user.startsWith("service_account:key.")) {
        alias = user;
      } else {
        continue; // groups, roles, and what scheme 2 reported already
      }
      String to;
      try {
        to = subjects.resolveForMigration(alias, user);
      } catch (CastellanException e) {
        if (e.code() != ErrorCode.VALIDATION_ERROR) {
          throw e; // the database went away: the next start finishes the work
        }
        toReview.add(
            new Review(
                user,
                entry.getValue().size(),
                "names no caller of the subject scheme of ADR 0023 ("
                    + e.getMessage()
                    + "): no request can use these rights"));
        continue;
      }
      if (!to.equals(user)) {
        move(store, systemStoreId, entry.getValue(), to);
        rewritten.add(new Rewrite(user, to, entry.getValue().size()));
      }
    }
  }

  /** Scheme 2 (ADR 0010). */
  private static void toEscapedIds(
      TupleStore store, String systemStoreId, List<Rewrite> rewritten, List<Review> toReview) {
    Map<String, List<Tuple>> byUser = byUser(store, systemStoreId);
    for (Map.Entry<String, List<Tuple>> entry : byUser.entrySet()) {
      String user = entry.getKey();
      int grants = entry.getValue().size();
      int colon = user.indexOf(':');
      String type = colon < 0 ? "" : user.substring(0, colon);
      String rest = user.substring(colon + 1);
      switch (type) {
        case "principal" -> principal(user, rest, grants).ifPresent(toReview::add);
        case "user", "service_account" -> {
          if (Subjects.mechanical(user).isPresent()) {
            continue; // user:dir/<id> of ADR 0019, already in a namespace: scheme 3's
          }
          String id =
              rewrite(store, systemStoreId, type, rest, "", entry.getValue(), rewritten, toReview);
          // Only tokens were folded; service accounts are API keys, whose ids never were.
          if (type.equals("user") && id.contains("_")) {
            toReview.add(new Review("user:" + id, grants, folded(id, "user:" + id)));
          }
        }
        case "group" -> {
          if (rest.endsWith("#member")) {
            String name = rest.substring(0, rest.length() - "#member".length());
            String id =
                rewrite(
                    store,
                    systemStoreId,
                    type,
                    name,
                    "#member",
                    entry.getValue(),
                    rewritten,
                    toReview);
            if (SubjectIds.isCanonical(id)) {
              toReview.add(new Review("group:" + id + "#member", grants, groupReason(name)));
            }
          }
        }
        default -> {
          // role#assignee on permissions, stores and the like: not subjects of a caller
        }
      }
    }
  }

  /** The scheme version this database is at; 1 when it never recorded one. */
  static int version(DocumentStore store) {
    return store
        .document(DOCUMENT_KIND, DOCUMENT_KEY)
        .map(
            json -> {
              try {
                return JSON.readTree(json).path("version").asInt(1);
              } catch (IOException e) {
                return 1;
              }
            })
        .orElse(1);
  }

  private static Optional<Review> principal(String user, String rest, int grants) {
    int dot = rest.indexOf('.');
    String kind = dot < 0 ? "" : rest.substring(0, dot);
    String id = rest.substring(dot + 1);
    if (!(kind.equals("jwt") || kind.equals("key")) || !SubjectIds.isCanonical(id)) {
      return Optional.of(
          new Review(
              user,
              grants,
              "names no caller (a caller is key:<id> or jwt:<subject>): no request could use"
                  + " these rights before, and none can now"));
    }
    if (kind.equals("jwt") && id.contains("_")) {
      return Optional.of(new Review(user, grants, folded(id, "jwt:" + id)));
    }
    return Optional.empty();
  }

  /** Why an id with {@code _} is listed: the old scheme wrote every other character as one. */
  private static String folded(String id, String subject) {
    return "under the old scheme every token subject that differs from '"
        + id
        + "' only where it has '_' (such as '"
        + id.replaceFirst("_", " ")
        + "') was "
        + subject
        + " too; now only the subject '"
        + id
        + "' is";
  }

  private static String groupReason(String name) {
    if (SLUG.matcher(name).matches()) {
      return "group claims were slugged, so every claim value with the same letters and digits"
          + " (such as '"
          + name.toUpperCase(Locale.ROOT).replace('-', '_')
          + "') was this group; now only the claim value '"
          + name
          + "' is (or any case of it with case_insensitive_claims)";
    }
    return "no group claim could reach this id under the old scheme (claim values were slugged);"
        + " now the claim value '"
        + SubjectIds.unescape(name).orElse(name)
        + "' does";
  }

  /**
   * Rewrites the tuples of {@code type:id<suffix>} to the canonical id unless it is canonical
   * already; returns the id the tuples now have.
   */
  private static String rewrite(
      TupleStore store,
      String systemStoreId,
      String type,
      String id,
      String suffix,
      List<Tuple> tuples,
      List<Rewrite> rewritten,
      List<Review> toReview) {
    if (SubjectIds.isCanonical(id)) {
      return id;
    }
    String canonical = SubjectIds.escape(id).orElse("");
    if (canonical.isEmpty() || canonical.length() > SubjectIds.MAX_LENGTH) {
      toReview.add(
          new Review(
              type + ":" + id + suffix,
              tuples.size(),
              "has no spelling in the subject scheme of ADR 0010 (longer than "
                  + SubjectIds.MAX_LENGTH
                  + " characters once escaped): no caller can reach it"));
      return id;
    }
    String to = type + ":" + canonical + suffix;
    move(store, systemStoreId, tuples, to);
    rewritten.add(new Rewrite(type + ":" + id + suffix, to, tuples.size()));
    return canonical;
  }

  /** Gives {@code tuples} to the user {@code to} instead of theirs. */
  private static void move(TupleStore store, String systemStoreId, List<Tuple> tuples, String to) {
    for (int i = 0; i < tuples.size(); i += BATCH) {
      List<Tuple> writes = new ArrayList<>();
      List<TupleKey> deletes = new ArrayList<>();
      for (Tuple tuple : tuples.subList(i, Math.min(tuples.size(), i + BATCH))) {
        deletes.add(tuple.key());
        writes.add(
            new Tuple(
                new TupleKey(tuple.key().object(), tuple.key().relation(), to),
                tuple.condition(),
                tuple.conditionContext(),
                tuple.expiresAt()));
      }
      // Deletes first, then writes, in one revision; a second node doing the same is harmless.
      store.write(systemStoreId, new TupleWrite(writes, deletes, true, true));
    }
  }

  private static void record(DocumentStore store, Clock clock) {
    ObjectNode doc = JSON.createObjectNode();
    doc.put("version", VERSION);
    doc.put("migrated_at", clock.instant().toString());
    store.putDocument(DOCUMENT_KIND, DOCUMENT_KEY, doc.toString());
  }

  private static void report(
      String systemStoreId,
      AuditLog audit,
      Clock clock,
      List<Rewrite> rewritten,
      List<Review> toReview) {
    for (Rewrite r : rewritten) {
      audit.record(
          change(
              clock,
              r.to(),
              "rewrite " + r.from() + " to " + r.to() + " (" + r.grants() + " grants)",
              "the old subject is not the one of the current scheme (ADR 0010, ADR 0023)",
              systemStoreId));
    }
    for (Review r : toReview) {
      audit.record(
          change(clock, r.subject(), "review (" + r.grants() + " grants)", r.why(), systemStoreId));
    }
    if (!rewritten.isEmpty()) {
      LOG.warn(
          "subject scheme {} (ADR 0010, 0023): rewrote {} subjects to their canonical ones, so that"
              + " their grants reach the caller they name: {}",
          VERSION,
          rewritten.size(),
          names(rewritten.stream().map(r -> r.from() + " -> " + r.to()).toList()));
    }
    if (!toReview.isEmpty()) {
      LOG.warn(
          "subject scheme 2 (ADR 0010): token subjects and role and group claims now match exactly,"
              + " and {} subjects in existing grants may not be who they were: {}. For each: if"
              + " its grants were meant for a subject the old scheme folded into it (a token"
              + " subject with other characters, a group claim in another spelling), grant them to"
              + " that subject's new id (a caller sees its own with GET /api/whoami) and remove"
              + " the old ones; grants that are right as they are need nothing. Every subject and"
              + " why it is listed: GET /api/audit?resource=castellan:subjects",
          toReview.size(),
          names(toReview.stream().map(Review::subject).toList()));
    }
  }

  private static String names(List<String> names) {
    if (names.size() <= LOGGED_SUBJECTS) {
      return String.join(", ", names);
    }
    return String.join(", ", names.subList(0, LOGGED_SUBJECTS))
        + " and "
        + (names.size() - LOGGED_SUBJECTS)
        + " more";
  }

  private static AuditEvent change(
      Clock clock, String subject, String action, String reason, String systemStoreId) {
    return new AuditEvent(
        clock.instant(),
        AuditEvent.Kind.CHANGE,
        "subject-migration",
        "castellan",
        subject,
        List.of(),
        action,
        AUDIT_RESOURCE,
        AuditEvent.Outcome.OK,
        reason,
        systemStoreId,
        0,
        "",
        "");
  }
}
