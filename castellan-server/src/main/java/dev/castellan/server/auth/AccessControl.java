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
import java.util.Set;

/**
 * Castellan authorizes its own API with its own engine: rights live as tuples in a built-in system
 * store ({@value #SYSTEM_STORE_NAME}), which the public API never shows. A principal is a global
 * admin, or an admin, writer or reader of a store (each role includes the next).
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
      type principal
      type castellan
        relations
          define admin: [principal]
          define auditor: [principal] or admin
          define scim: [principal]
      type store
        relations
          define admin: [principal]
          define writer: [principal] or admin
          define reader: [principal] or writer
      type user
      type service_account
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
      id = findSystemStore(store);
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

  private static String findSystemStore(Store store) {
    return store.allStores().stream() // oldest first
        .filter(info -> info.name().equals(SYSTEM_STORE_NAME))
        .map(StoreInfo::id)
        .findFirst()
        .orElse(null);
  }

  public String systemStoreId() {
    return systemStoreId;
  }

  /**
   * The engine subject naming a principal: {@code key:AbC} becomes {@code principal:key.AbC},
   * {@code jwt:bob%20smith} becomes {@code principal:jwt.bob%20smith}.
   */
  public static String subject(Principal principal) {
    return subject(principal.id());
  }

  /**
   * The engine subject of a principal id, {@code key:<id>} or {@code jwt:<subject id>}. The kind is
   * one of those two and the id canonical ({@link SubjectIds}), so the {@code .} that replaces the
   * {@code :} can be read back and no two principals share a subject.
   *
   * @throws CastellanException {@code VALIDATION_ERROR} saying how to spell the id
   */
  public static String subject(String principalId) {
    int colon = principalId.indexOf(':');
    String kind = colon < 0 ? "" : principalId.substring(0, colon);
    String id = principalId.substring(colon + 1);
    if (!(kind.equals("key") || kind.equals("jwt")) || !SubjectIds.isSubjectId(id)) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "a subject is key:<id> or jwt:<subject>, with every character of the subject other than"
              + " letters, digits and _.@|- percent-encoded as UTF-8 with upper-case hex"
              + " (jwt:bob%20smith for 'bob smith'; jwt:okta/00u1 for a further OIDC issuer's), at"
              + " most "
              + SubjectIds.MAX_LENGTH
              + " characters; GET /api/whoami shows a caller its own; got '"
              + (principalId.length() > 80 ? principalId.substring(0, 80) + "..." : principalId)
              + "'");
    }
    return "principal:" + kind + "." + id;
  }

  // ------------------------------------------------------------------ decisions

  /**
   * A global administrator: by a grant, or by a claim value its issuer's {@code admin-values} name
   * (held for as long as the token says so, and by no tuple).
   */
  public boolean isAdmin(StoreRuntime runtime, Principal principal) {
    if (localDeveloper(principal) || principal.mapped().admin()) {
      return true;
    }
    return check(runtime, GLOBAL, "admin", subject(principal));
  }

  /** An auditor reads the audit trail; every admin is one. */
  public boolean isAuditor(StoreRuntime runtime, Principal principal) {
    if (localDeveloper(principal) || principal.mapped().auditor()) {
      return true;
    }
    return check(runtime, GLOBAL, "auditor", subject(principal));
  }

  /**
   * A provisioning key: its only right is the SCIM service. Not implied by admin (an administrator
   * key leaking into an IdP's connector settings would otherwise be a full administrator there),
   * and not held by the local-development caller.
   */
  public boolean isProvisioner(StoreRuntime runtime, Principal principal) {
    // Only keys are ever granted the right (POST /api/keys {"scim": true}): a token is never
    // one, and skipping the check keeps token requests at their cost.
    if (!principal.id().startsWith("key:")) {
      return false;
    }
    return check(runtime, GLOBAL, "scim", subject(principal));
  }

  /** True when {@code principal} has {@code role} (or a higher one) on {@code storeId}. */
  public boolean allowed(StoreRuntime runtime, Principal principal, String storeId, Role role) {
    if (localDeveloper(principal) || principal.mapped().admin()) {
      return true;
    }
    String subject = subject(principal);
    return check(runtime, GLOBAL, "admin", subject)
        || check(runtime, "store:" + storeId, role.relation(), subject);
  }

  /** Stores {@code principal} may read; null when it may read all (a global admin). */
  public Set<String> readableStores(StoreRuntime runtime, Principal principal) {
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

  /** Every request checks its caller's rights: answered from memory while they hold. */
  private boolean check(StoreRuntime runtime, String object, String relation, String subject) {
    Engine engine = runtime.engine(systemStoreId, "", null, false);
    return decisions.allowed(engine, object, relation, subject);
  }

  /**
   * The principals holding the global admin right directly ({@code key:AbC}, {@code jwt:alice}), at
   * most {@code limit} of them.
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
        if (user.startsWith("principal:") && out.size() < limit) {
          String id = user.substring("principal:".length());
          int dot = id.indexOf('.');
          out.add(dot < 0 ? id : id.substring(0, dot) + ":" + id.substring(dot + 1));
        }
      }
      token = page.continuationToken();
    } while (!token.isEmpty() && out.size() < limit);
    return out;
  }

  /**
   * The rights {@code principalId} holds directly: {@code admin}, {@code auditor}, {@code writer on
   * 01J...}.
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
