package dev.castellan.server.directory;

import dev.castellan.CastellanException;
import dev.castellan.engine.Engine;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleIndex;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.audit.AuditEvent;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.Identity;
import dev.castellan.store.ModelStore;
import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import dev.castellan.store.PendingStore;
import dev.castellan.store.StoredModel;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rows an import held for people named only by an identity, written once the directory knows them
 * (ADR 0024). Every way a user gains an identity calls {@link #applyFor}: SCIM create, replace and
 * patch, a link made through the API, a first token creating or linking a user just in time (the
 * directory handed to authentication is {@link #applyingOnLink wrapped}), and {@link #sweep} at
 * start for whatever was missed (rows the CLI held while the server was down). Rows of a
 * deactivated user stay held until its reactivation (a SCIM replace or patch). Each store's rows
 * are claimed and written in one transaction ({@link PendingStore#apply}), so several nodes
 * applying at once write each row once.
 */
public final class PendingIdentities {
  private static final Logger LOG = LoggerFactory.getLogger(PendingIdentities.class);

  /** The audit api of applied and dropped rows. */
  public static final String API = "pending-identities";

  /** The audit action of rows written for a user that appeared. */
  public static final String APPLIED = "import.pending.applied";

  /** The audit action of a held row the store's model no longer admits, dropped. */
  public static final String DROPPED = "import.pending.dropped";

  /**
   * The id a directory user's placeholder takes when an import row naming an identity is checked
   * against a model: a directory id has this shape.
   */
  public static final String PLACEHOLDER_ID = "00000000000000000000000000";

  private static final int SWEEP_PAGE = 1_000;

  private final DirectoryStore directory;
  private final PendingStore pending;
  private final ModelStore models;
  private final StoreRuntime runtime;
  private final AuditLog audit;

  public PendingIdentities(
      DirectoryStore directory,
      PendingStore pending,
      ModelStore models,
      StoreRuntime runtime,
      AuditLog audit) {
    this.directory = directory;
    this.pending = pending;
    this.models = models;
    this.runtime = runtime;
    this.audit = audit;
  }

  /**
   * The subject a directory user is in the tuples written for it: {@code user:<directory id>}, the
   * scheme of ADR 0023. The one place here that spells it.
   */
  public static String subject(String userId) {
    return "user:" + userId;
  }

  /**
   * The directory user {@code identity} names: the one it is linked to; else, for an email, the one
   * user holding that address (two users sharing an address name no one: which one is meant is not
   * for an import to decide, and a link settles it).
   */
  public Optional<String> resolve(Identity identity) {
    return resolve(directory, identity);
  }

  /** {@link #resolve(Identity)} in {@code directory}: for the CLI, which runs without a server. */
  public static Optional<String> resolve(DirectoryStore directory, Identity identity) {
    Optional<String> linked = directory.resolve(identity);
    if (linked.isPresent() || !identity.kind().equals(Identity.EMAIL)) {
      return linked;
    }
    List<DirectoryUser> users =
        directory
            .findUsers(DirectoryQuery.eq(DirectoryQuery.Attribute.EMAIL, identity.value()), 1, 2)
            .items();
    return users.size() == 1 ? Optional.of(users.get(0).id()) : Optional.empty();
  }

  /**
   * Whom rows held for {@code identity} are written for now: the user it {@link #resolve names},
   * when that user is active. A deactivated user's rows stay held until SCIM reactivates it:
   * deprovisioning has just revoked what the person held, and a row applied after it would hand a
   * right back (a SCIM write of an inactive user, a link, the start's sweep, an import).
   */
  public Optional<String> recipient(Identity identity) {
    return recipient(directory, identity);
  }

  /**
   * {@link #recipient(Identity)} in {@code directory}: for the CLI, which runs without a server.
   */
  public static Optional<String> recipient(DirectoryStore directory, Identity identity) {
    return resolve(directory, identity)
        .filter(id -> directory.user(id).map(DirectoryUser::active).orElse(false));
  }

  /**
   * Writes every held row naming an identity of user {@code userId} (its links and its emails) to
   * its store as {@code user:<userId>}, when the user is active: an inactive user's rows stay held,
   * and SCIM's reactivation (a replace or patch with {@code active: true}) applies them. Never
   * throws: a failure is logged and the rows stay held, for the next call or the next start's
   * sweep.
   *
   * @return how many rows were applied
   */
  public int applyFor(String userId) {
    try {
      Optional<DirectoryUser> user = directory.user(userId);
      if (user.isEmpty() || !user.get().active()) {
        return 0;
      }
      Set<Identity> identities = new LinkedHashSet<>(directory.identities(userId));
      for (String email : user.get().emails()) {
        try {
          identities.add(Identity.email(email));
        } catch (CastellanException e) {
          // Not an identity an import could name.
        }
      }
      int applied = 0;
      for (Identity identity : identities) {
        // Where rows are held first: one indexed read, and nearly always the last (this runs on
        // every SCIM write of a user).
        List<String> stores = pending.storesHolding(identity);
        if (!stores.isEmpty() && resolve(identity).filter(userId::equals).isPresent()) {
          for (String storeId : stores) {
            applied += applyIn(storeId, identity, userId);
          }
        }
      }
      return applied;
    } catch (RuntimeException e) {
      LOG.warn(
          "applying the rows held for directory user {} failed; they stay held: {}",
          userId,
          e.toString());
      return 0;
    }
  }

  /**
   * Applies what is held for every identity the directory now resolves to an active user: run at
   * start, so rows held while a user already existed (by the CLI, or a node that failed halfway)
   * are not left behind.
   *
   * @return how many rows were applied
   */
  public int sweep() {
    int applied = 0;
    String token = "";
    do {
      Page<Identity> page = pending.identities(new PageRequest(SWEEP_PAGE, token));
      for (Identity identity : page.items()) {
        try {
          Optional<String> user = recipient(identity);
          if (user.isPresent()) {
            applied += applyIdentity(identity, user.get());
          }
        } catch (RuntimeException e) {
          LOG.warn("applying rows held for an identity failed; they stay held: {}", e.toString());
        }
      }
      token = page.continuationToken();
    } while (!token.isEmpty());
    return applied;
  }

  /** Applies the rows of every store naming {@code identity} for {@code userId}. */
  int applyIdentity(Identity identity, String userId) {
    int applied = 0;
    for (String storeId : pending.storesHolding(identity)) {
      applied += applyIn(storeId, identity, userId);
    }
    return applied;
  }

  /** Claims and writes one store's rows naming {@code identity}; audits what happened. */
  public int applyIn(String storeId, Identity identity, String userId) {
    Function<Tuple, Optional<String>> refusal = refusal(storeId);
    String subject = subject(userId);
    PendingStore.Applied done = pending.apply(storeId, identity, subject, refusal);
    if (done.isEmpty()) {
      return 0;
    }
    if (done.written() > 0) {
      runtime.afterWrite(storeId);
    }
    for (PendingStore.Refused refused : done.refused()) {
      record(
          storeId,
          subject,
          DROPPED,
          refused.row().tuple().object() + "#" + refused.row().tuple().relation(),
          AuditEvent.Outcome.ERROR,
          "held for "
              + describe(identity)
              + " from source '"
              + refused.row().tuple().source()
              + "'; dropped, the store's latest model does not admit it: "
              + refused.reason(),
          done.revision());
    }
    if (!done.applied().isEmpty()) {
      Set<String> sources = new java.util.TreeSet<>();
      done.applied().forEach(r -> sources.add(r.tuple().source()));
      record(
          storeId,
          subject,
          APPLIED,
          describe(identity),
          AuditEvent.Outcome.OK,
          done.applied().size()
              + " held rows applied ("
              + done.written()
              + " tuples written, the rest stored already) from sources "
              + String.join(", ", sources),
          done.revision());
    }
    return done.applied().size();
  }

  /**
   * Why the store's latest model refuses a tuple, or empty: read once per claim, before the
   * transaction, and checked without the store's index.
   */
  private Function<Tuple, Optional<String>> refusal(String storeId) {
    Optional<StoredModel> model = models.latestModel(storeId);
    if (model.isEmpty()) {
      return t -> Optional.of("the store has no authorization model");
    }
    Engine validator = Engine.create(model.get().model(), TupleIndex.create());
    return tuple -> {
      try {
        validator.validateTuple(tuple);
        return Optional.empty();
      } catch (CastellanException e) {
        return Optional.of(String.valueOf(e.getMessage()));
      }
    };
  }

  /** {@code kind:value}, or {@code kind:namespace/value} for a namespaced kind. */
  public static String describe(Identity identity) {
    return identity.kind()
        + ":"
        + (identity.namespace().isEmpty() ? "" : identity.namespace() + "/")
        + identity.value();
  }

  private void record(
      String storeId,
      String subject,
      String action,
      String resource,
      AuditEvent.Outcome outcome,
      String reason,
      long revision) {
    audit.record(
        AuditEvent.serverChange(
            API, subject, action, resource, outcome, reason, storeId, revision));
  }

  /**
   * {@code directory}, applying held rows for a user each time an identity is linked to it: what
   * authentication is handed, so a first token that creates a user just in time (and links its OIDC
   * subject) or links a verified email's user applies that person's rows, with no change to the
   * token code. A failure to apply never fails the link.
   */
  public DirectoryStore applyingOnLink(DirectoryStore directory) {
    return new LinkHook(directory, this);
  }
}
