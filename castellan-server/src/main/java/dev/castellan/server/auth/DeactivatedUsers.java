package dev.castellan.server.auth;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.store.DocumentStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * The token subjects of directory users that SCIM deactivated or deleted: a token naming one is
 * refused ({@code USER_DEACTIVATED}, 401) before any right is looked at, whatever its expiry says.
 *
 * <p>Each subject is a document ({@value #KIND}, key the subject id of {@link DirectoryUserNames},
 * value the directory user's id), written by deprovisioning before it revokes anything and removed
 * when SCIM makes a user holding that name active again. A deleted user's names stay refused until
 * a user with that name is provisioned again. Every node keeps the set in memory, as it was read at
 * most {@link #REFRESH} ago, so a token request costs a hash lookup; the node that deprovisions
 * updates its copy at once, others within {@link #REFRESH} (an API key revoked elsewhere has 5 s).
 */
public final class DeactivatedUsers {
  /** The document kind of the refused subjects. */
  public static final String KIND = "castellan-deactivated";

  /** How old the set of another node's deactivations may be. */
  public static final Duration REFRESH = Duration.ofSeconds(2);

  private final DocumentStore documents;
  private final Clock clock;
  private final AtomicBoolean loading = new AtomicBoolean();
  private volatile Map<String, String> subjects;
  private volatile long loadedAt;
  private long generation; // local updates, guarded by this: a reload must not undo one

  public DeactivatedUsers(DocumentStore documents, Clock clock) {
    this.documents = documents;
    this.clock = clock;
    this.subjects = read(documents);
    this.loadedAt = clock.millis();
  }

  /**
   * Refuses {@code principal} when it is a token naming a deactivated directory user.
   *
   * @throws CastellanException {@code USER_DEACTIVATED}
   */
  public void check(Principal principal) {
    if (!principal.id().startsWith("jwt:")) {
      return; // API keys belong to no directory user
    }
    String user = current().get(principal.id().substring(4));
    if (user != null) {
      throw new CastellanException(
          ErrorCode.USER_DEACTIVATED,
          "the token's subject is directory user "
              + user
              + ", which is deactivated or deleted; the identity provider must activate it again");
    }
  }

  /** Refuses {@code subjects}' tokens from now on. */
  public void refuse(DirectoryUserNames subjects) {
    String value = "\"" + subjects.userId() + "\"";
    for (String name : subjects.names()) {
      documents.putDocument(KIND, name, value);
    }
    update(subjects.names(), subjects.userId());
  }

  /** Accepts {@code subjects}' tokens again (the user is active). */
  public void accept(DirectoryUserNames subjects) {
    for (String name : subjects.names()) {
      documents.deleteDocument(KIND, name);
    }
    update(subjects.names(), null);
  }

  /** Which of {@code names} are refused now, as the database says (not this node's copy). */
  public List<String> refused(Collection<String> names) {
    return names.stream().filter(n -> documents.document(KIND, n).isPresent()).toList();
  }

  private synchronized void update(Collection<String> names, @Nullable String userId) {
    Map<String, String> next = new HashMap<>(subjects);
    for (String name : names) {
      if (userId == null) {
        next.remove(name);
      } else {
        next.put(name, userId);
      }
    }
    subjects = Map.copyOf(next);
    generation++;
  }

  /** Subject id to directory user id, from the documents (whose values are JSON strings). */
  private static Map<String, String> read(DocumentStore documents) {
    Map<String, String> out = new HashMap<>();
    documents.documents(KIND).forEach((name, json) -> out.put(name, json.replace("\"", "")));
    return Map.copyOf(out);
  }

  private Map<String, String> current() {
    if (clock.millis() - loadedAt >= REFRESH.toMillis() && loading.compareAndSet(false, true)) {
      // One request reloads; the others go on with the copy they have.
      try {
        long before;
        synchronized (this) {
          before = generation;
        }
        Map<String, String> read = read(documents);
        synchronized (this) {
          if (generation == before) {
            subjects = read;
            loadedAt = clock.millis();
          }
        }
      } finally {
        loading.set(false);
      }
    }
    return subjects;
  }
}
