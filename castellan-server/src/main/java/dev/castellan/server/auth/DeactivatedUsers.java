package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.DocumentStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The directory users that SCIM deactivated or deleted: a token resolving to one ({@code
 * user:<directory id>}, ADR 0023) is refused ({@code USER_DEACTIVATED}, 401) before any right is
 * looked at, whatever its expiry says.
 *
 * <p>Each user is a document ({@value #KIND}, key and value the directory user's id), written by
 * deprovisioning before it revokes anything and removed when SCIM makes the user active again.
 * (Earlier releases keyed the documents by the user's names, with its id as the value; the value is
 * what is read, so those still refuse.) Every node keeps the set in memory, as it was read at most
 * {@link #REFRESH} ago, so a token request costs a hash lookup; the node that deprovisions updates
 * its copy at once, others within {@link #REFRESH} (an API key revoked elsewhere has 5 s).
 */
public final class DeactivatedUsers {
  /** The document kind of the refused subjects. */
  public static final String KIND = "castellan-deactivated";

  /** How old the set of another node's deactivations may be. */
  public static final Duration REFRESH = Duration.ofSeconds(2);

  private final DocumentStore documents;
  private final Clock clock;
  private final AtomicBoolean loading = new AtomicBoolean();
  private volatile Set<String> users;
  private volatile long loadedAt;
  private long generation; // local updates, guarded by this: a reload must not undo one

  public DeactivatedUsers(DocumentStore documents, Clock clock) {
    this.documents = documents;
    this.clock = clock;
    this.users = read(documents);
    this.loadedAt = clock.millis();
  }

  /**
   * Refuses {@code principal} when it is a token of a deactivated directory user.
   *
   * @throws CastellanException {@code USER_DEACTIVATED}
   */
  public void check(Principal principal) {
    if (!principal.id().startsWith("user:")) {
      return; // API keys belong to no directory user
    }
    String user = principal.id().substring(5);
    if (current().contains(user)) {
      throw new CastellanException(
          ErrorCode.USER_DEACTIVATED,
          "the token's subject is directory user "
              + user
              + ", which is deactivated or deleted; the identity provider must activate it again");
    }
  }

  /** The key prefix of the OIDC identities of deleted users. */
  private static final String IDENTITY = "oidc:";

  /**
   * Refuses the OIDC identities ({@code namespace}, {@code value}) of directory user {@code
   * userId}, which is being deleted: deleting it deletes its identity links, and a token of one of
   * them must not become a new user just in time (holding what its claims say, an administrator's
   * claim included) until the person is provisioned again.
   */
  public void refuseIdentities(String userId, Collection<Map.Entry<String, String>> identities) {
    String value = "\"" + userId + "\"";
    for (Map.Entry<String, String> identity : identities) {
      String key = identityKey(identity.getKey(), identity.getValue());
      documents.putDocument(KIND, key, value);
      update(key, true);
    }
  }

  /** Whether an OIDC identity of a deleted user is refused (its copy, as {@link #check}). */
  public boolean refusesIdentity(String namespace, String value) {
    return current().contains(identityKey(namespace, value));
  }

  /** A short, fixed-length document key for an identity (namespaces are URLs). */
  private static String identityKey(String namespace, String value) {
    try {
      byte[] hash =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest((namespace + "\n" + value).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return IDENTITY + java.util.HexFormat.of().formatHex(hash);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** Whether this node refuses {@code userId}'s tokens now (its copy, as {@link #check}). */
  public boolean refuses(String userId) {
    return current().contains(userId);
  }

  /** Refuses the tokens of directory user {@code userId} from now on. */
  public void refuse(String userId) {
    documents.putDocument(KIND, userId, "\"" + userId + "\"");
    update(userId, true);
  }

  /** Accepts the tokens of directory user {@code userId} again (it is active). */
  public void accept(String userId) {
    String value = "\"" + userId + "\"";
    // Documents of earlier releases are keyed by the user's names: every one naming the user goes.
    documents
        .documents(KIND)
        .forEach(
            (key, json) -> {
              if (json.equals(value)) {
                documents.deleteDocument(KIND, key);
                update(key, false);
              }
            });
    documents.deleteDocument(KIND, userId);
    update(userId, false);
  }

  /** Whether {@code userId} is refused now, as the database says (not this node's copy). */
  public boolean refused(String userId) {
    return read(documents).contains(userId);
  }

  private synchronized void update(String userId, boolean refused) {
    Set<String> next = new HashSet<>(users);
    if (refused) {
      next.add(userId);
    } else {
      next.remove(userId);
    }
    users = Set.copyOf(next);
    generation++;
  }

  /**
   * The refused directory user ids, the documents' values (JSON strings), and the refused
   * identities, the keys that are {@link #identityKey}s.
   */
  private static Set<String> read(DocumentStore documents) {
    Set<String> out = new HashSet<>();
    documents
        .documents(KIND)
        .forEach(
            (key, json) -> {
              out.add(json.replace("\"", ""));
              if (key.startsWith(IDENTITY)) {
                out.add(key);
              }
            });
    return Set.copyOf(out);
  }

  private Set<String> current() {
    if (clock.millis() - loadedAt >= REFRESH.toMillis() && loading.compareAndSet(false, true)) {
      // One request reloads; the others go on with the copy they have.
      try {
        long before;
        synchronized (this) {
          before = generation;
        }
        Set<String> read = read(documents);
        synchronized (this) {
          if (generation == before) {
            users = read;
            loadedAt = clock.millis();
          }
        }
      } finally {
        loading.set(false);
      }
    }
    return users;
  }
}
