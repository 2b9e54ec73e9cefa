package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Engine;
import dev.castellan.engine.ListObjectsRequest;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.model.ModelDsl;
import dev.castellan.server.StoreRuntime;
import dev.castellan.store.Store;
import dev.castellan.store.StoreInfo;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleWrite;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Castellan authorizes its own API with its own engine: rights live as tuples in a built-in system
 * store ({@value #SYSTEM_STORE_NAME}), which the public API never shows. A subject ({@code
 * user:<directory id>} or {@code service_account:<key id>}, ADR 0023) is a global admin, or an
 * admin, writer or reader of a store (each role includes the next).
 */
public final class AccessControl {
  public static final String SYSTEM_STORE_NAME = "castellan-system";

  /** The rights a request may need. */
  public enum Role {
    READER,
    WRITER,
    ADMIN;

    String relation() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Role parse(String value) {
      try {
        return Role.valueOf(value.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException | NullPointerException e) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR, "role must be admin, writer or reader");
      }
    }
  }

  static final String MODEL =
      """
      model
        schema 1.1
      type user
      type service_account
      type castellan
        relations
          define admin: [user, service_account]
          define auditor: [user, service_account] or admin
          define scim: [user, service_account]
      type store
        relations
          define admin: [user, service_account]
          define writer: [user, service_account] or admin
          define reader: [user, service_account] or writer
      type group
        relations
          define member: [user, service_account, group#member]
      type role
        relations
          define assignee: [user, service_account, group#member]
      type permission
        relations
          define granted: [role#assignee]
      """;

  private static final String GLOBAL = "castellan:global";

  private final Store store;
  private final String systemStoreId;
  private final boolean localDevelopment;
  private final SystemDecisions decisions = new SystemDecisions();

  private AccessControl(Store store, String systemStoreId, boolean localDevelopment) {
    this.store = store;
    this.systemStoreId = systemStoreId;
    this.localDevelopment = localDevelopment;
  }

  /**
   * Finds the system store, or creates it on the first start, and makes sure its latest model is
   * this version's (a newer Castellan may add types; tuples of the old model stay valid).
   */
  public static AccessControl open(Store store) {
    String id = findSystemStore(store);
    if (id == null) {
      store.createStore(SYSTEM_STORE_NAME);
      // Two nodes starting together on an empty database may both create one: the oldest wins.
      id = Objects.requireNonNull(findSystemStore(store), "the system store was just created");
    }
    var model = ModelDsl.parse(MODEL);
    var latest = store.latestModel(id);
    if (latest.isEmpty() || !latest.get().model().equals(model)) {
      store.writeModel(id, model);
    }
    return new AccessControl(store, id, false);
  }

  /**
   * This access control for a server in {@link AuthMode#NONE}: {@link LocalDevelopment#CALLER} is a
   * global administrator and auditor (held by no tuple: nothing of the mode stays in the database).
   * Only such a server makes one; to any other the caller has no rights.
   */
  public AccessControl withLocalDevelopment() {
    return new AccessControl(store, systemStoreId, true);
  }

  private static @Nullable String findSystemStore(Store store) {
    return store.allStores().stream() // oldest first
        .filter(info -> info.name().equals(SYSTEM_STORE_NAME))
        .map(StoreInfo::id)
        .findFirst()
        .orElse(null);
  }

  public String systemStoreId() {
    return systemStoreId;
  }

  /** The engine subject of a caller: {@link Principal#subject()}. */
  public static String subject(Principal principal) {
    return principal.subject();
  }

  /**
   * The canonical subject of a grant's subject given in a spelling that needs no directory (ADR
   * 0023): {@code user:<directory id>}, {@code service_account:<key id>}, or {@code key:<id>}.
   * Aliases that name a person ({@code jwt:alice}, {@code user:alice}) are resolved by {@link
   * Subjects} before they come here.
   *
   * @throws CastellanException {@code VALIDATION_ERROR} saying how to spell the subject
   */
  public static String subject(String subject) {
    return Subjects.mechanical(subject)
        .orElseThrow(
            () ->
                new CastellanException(
                    ErrorCode.VALIDATION_ERROR,
                    "a subject here is user:<directory id>, service_account:<key id> or"
                        + " key:<id>; got '"
                        + (subject.length() > 80 ? subject.substring(0, 80) + "..." : subject)
                        + "'"));
  }

  // ------------------------------------------------------------------ decisions

  /**
   * The rights of {@code principal} for one request: the system store's engine is looked up once,
   * at the first decision that needs it, however many rights the request checks.
   */
  public Caller caller(StoreRuntime runtime, Principal principal) {
    return new Caller(runtime, principal);
  }

  /** A global administrator; see {@link Caller#isAdmin()}. */
  public boolean isAdmin(StoreRuntime runtime, Principal principal) {
    return caller(runtime, principal).isAdmin();
  }

  /** An auditor; see {@link Caller#isAuditor()}. */
  public boolean isAuditor(StoreRuntime runtime, Principal principal) {
    return caller(runtime, principal).isAuditor();
  }

  /** A provisioning key; see {@link Caller#isProvisioner()}. */
  public boolean isProvisioner(StoreRuntime runtime, Principal principal) {
    return caller(runtime, principal).isProvisioner();
  }

  /** True when {@code principal} has {@code role} (or a higher one) on {@code storeId}. */
  public boolean allowed(StoreRuntime runtime, Principal principal, String storeId, Role role) {
    return caller(runtime, principal).allowed(storeId, role);
  }

  /** The decisions on one caller's rights, made for one request (not shared between threads). */
  public final class Caller {
    private final StoreRuntime runtime;
    private final Principal principal;

    /** The system store's engine, once a decision needed it. */
    private @Nullable Engine engine;

    private Caller(StoreRuntime runtime, Principal principal) {
      this.runtime = runtime;
      this.principal = principal;
    }

    /**
     * A global administrator: by a grant, or by a claim value its issuer's {@code admin-values}
     * name (held for as long as the token says so, and by no tuple).
     */
    public boolean isAdmin() {
      if (localDeveloper(principal) || principal.mapped().admin()) {
        return true;
      }
      return check(GLOBAL, "admin");
    }

    /** An auditor reads the audit trail; every admin is one. */
    public boolean isAuditor() {
      if (localDeveloper(principal) || principal.mapped().auditor()) {
        return true;
      }
      return check(GLOBAL, "auditor");
    }

    /**
     * A provisioning key: its only right is the SCIM service. Not implied by admin (an
     * administrator key leaking into an IdP's connector settings would otherwise be a full
     * administrator there), and not held by the local-development caller.
     */
    public boolean isProvisioner() {
      // Only keys are ever granted the right (POST /api/keys {"scim": true}): a token is never
      // one, and skipping the check keeps token requests at their cost.
      if (!principal.id().startsWith("key:")) {
        return false;
      }
      return check(GLOBAL, "scim");
    }

    /** True when the caller has {@code role} (or a higher one) on {@code storeId}. */
    public boolean allowed(String storeId, Role role) {
      if (localDeveloper(principal) || principal.mapped().admin()) {
        return true;
      }
      return check(GLOBAL, "admin") || check("store:" + storeId, role.relation());
    }

    /** Every request checks its caller's rights: answered from memory while they hold. */
    private boolean check(String object, String relation) {
      Engine current = engine;
      if (current == null) {
        current = runtime.engine(systemStoreId, "", null, false);
        engine = current;
      }
      return decisions.allowed(current, object, relation, subject(principal));
    }
  }

  /** Stores {@code principal} may read; null when it may read all (a global admin). */
  public @Nullable Set<String> readableStores(StoreRuntime runtime, Principal principal) {
    if (isAdmin(runtime, principal)) {
      return null;
    }
    Engine engine = runtime.engine(systemStoreId, "", null, false);
    Set<String> out = new HashSet<>();
    for (String object :
        engine.listObjects(ListObjectsRequest.of("store", "reader", subject(principal)))) {
      out.add(object.substring("store:".length()));
    }
    return out;
  }

  /** The caller of {@link AuthMode#NONE}, on a server in that mode. */
  private boolean localDeveloper(Principal principal) {
    return localDevelopment && principal.id().equals(LocalDevelopment.CALLER_ID);
  }

  /**
   * The subjects holding the global admin right directly ({@code service_account:AbC}, {@code
   * user:01JD...}), at most {@code limit} of them.
   */
  public List<String> admins(int limit) {
    List<String> out = new java.util.ArrayList<>();
    String token = "";
    do {
      var page =
          store.read(
              systemStoreId,
              new TupleFilter(GLOBAL, "admin", ""),
              new dev.castellan.store.PageRequest(
                  dev.castellan.store.PageRequest.MAX_PAGE_SIZE, token));
      for (var stored : page.items()) {
        String user = stored.tuple().key().user();
        if (out.size() < limit) {
          out.add(user);
        }
      }
      token = page.continuationToken();
    } while (!token.isEmpty() && out.size() < limit);
    return out;
  }

  /**
   * The rights {@code principalId} (a subject, or {@code key:<id>}) holds directly: {@code admin},
   * {@code auditor}, {@code writer on 01J...}.
   */
  public List<String> rights(String principalId) {
    List<String> out = new java.util.ArrayList<>();
    String token = "";
    do {
      var page =
          store.read(
              systemStoreId,
              TupleFilter.user(subject(principalId)),
              new dev.castellan.store.PageRequest(
                  dev.castellan.store.PageRequest.MAX_PAGE_SIZE, token));
      for (var stored : page.items()) {
        TupleKey key = stored.tuple().key();
        if (key.object().equals(GLOBAL)) {
          out.add(key.relation());
        } else if (key.object().startsWith("store:")) {
          out.add(key.relation() + " on " + key.object().substring("store:".length()));
        }
      }
      token = page.continuationToken();
    } while (!token.isEmpty());
    return out;
  }

  // ------------------------------------------------------------------ grants

  public void grantAdmin(String principalId) {
    write(Tuple.of(GLOBAL, "admin", subject(principalId)));
  }

  public void grantAuditor(String principalId) {
    write(Tuple.of(GLOBAL, "auditor", subject(principalId)));
  }

  /** Makes {@code principalId} (a new key with no other right) a provisioning key. */
  public void grantScim(String principalId) {
    write(Tuple.of(GLOBAL, "scim", subject(principalId)));
  }

  public void grant(String principalId, String storeId, Role role) {
    write(Tuple.of("store:" + storeId, role.relation(), subject(principalId)));
  }

  public void revoke(String principalId, String storeId, Role role) {
    store.write(
        systemStoreId,
        new TupleWrite(
            List.of(),
            List.of(new TupleKey("store:" + storeId, role.relation(), subject(principalId))),
            false,
            true));
  }

  /** Removes every right of a principal (its key was revoked). */
  public void revokeAll(String principalId) {
    store.deleteMatching(systemStoreId, TupleFilter.user(subject(principalId)));
  }

  /** Removes every right on a deleted store. */
  public void forgetStore(String storeId) {
    store.deleteMatching(systemStoreId, TupleFilter.object("store:" + storeId));
  }

  private void write(Tuple tuple) {
    store.write(systemStoreId, new TupleWrite(List.of(tuple), List.of(), true, false));
  }
}
