package dev.castellan.server.scim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.TupleKey;
import dev.castellan.server.StoreRuntime;
import dev.castellan.server.audit.AuditEvent;
import dev.castellan.server.audit.AuditLog;
import dev.castellan.server.audit.RequestAudit;
import dev.castellan.server.auth.DeactivatedUsers;
import dev.castellan.server.auth.Subjects;
import dev.castellan.server.rbac.Rbac;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.DocumentStore;
import dev.castellan.store.Identity;
import dev.castellan.store.PageRequest;
import dev.castellan.store.StoredTuple;
import dev.castellan.store.TupleFilter;
import dev.castellan.store.TupleStore;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.UserDraft;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deprovisioning a directory user (SCIM {@code active: false}, or DELETE): its tokens are refused
 * at once ({@link DeactivatedUsers}), it leaves every group, and every tuple its one subject
 * ({@code user:<directory id>}, ADR 0023) holds in the system store is deleted: role bindings,
 * group memberships, store rights and global rights. Nothing is restored when the user is activated
 * again: the identity provider sends its group memberships again, and an administrator binds roles
 * again.
 *
 * <p>The directory and the system store are separate writes, so the operation is a journal, not a
 * transaction: a document ({@value #JOURNAL}, keyed by the user id) says what was started before
 * anything changes, every step is idempotent, and the document is removed only when every step is
 * done. A failure leaves the document, an audit entry with outcome {@code error} (alertable), and
 * an answer the identity provider retries; the next SCIM write of that user, or the next start of a
 * node, finishes it. A deprovisioning once started is finished: it is never rolled back, except
 * when the directory refuses the request's own write (a stale {@code If-Match}, a taken {@code
 * userName}), which then changed nothing.
 */
public final class Deprovisioning {
  private static final Logger LOG = LoggerFactory.getLogger(Deprovisioning.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The audit action of a deprovisioning, for queries and alert rules. */
  public static final String ACTION = "directory.user.deprovisioned";

  /** The audit action of a deprovisioned user made active again. */
  public static final String REACTIVATED = "directory.user.reactivated";

  /** The audit api of both. */
  public static final String API = "scim-user-deprovision";

  /** The document kind of started deprovisionings. */
  public static final String JOURNAL = "castellan-deprovisioning";

  /** Revoked items named per audit entry; more take further entries. */
  static final int ITEMS_PER_ENTRY = 100;

  /** Tuples deleted per write (each write is one revision of the system store). */
  static final int DELETES_PER_WRITE = 1_000;

  /** What started it. */
  public enum Trigger {
    /** {@code active} became false (PUT, PATCH in any shape, or a user created inactive). */
    DEACTIVATE,
    /** The user was deleted. */
    DELETE
  }

  /**
   * What a deprovisioning did.
   *
   * @param groups the groups the user left
   * @param revoked the system-store tuples deleted, as {@code object#relation@user}
   * @param consistencyToken the system store's revision once they were deleted
   */
  public record Outcome(
      String userId, List<String> groups, List<String> revoked, String consistencyToken) {
    public Outcome {
      groups = List.copyOf(groups);
      revoked = List.copyOf(revoked);
    }
  }

  /** A write and the deprovisioning around it. */
  public record Done<T>(T written, Outcome outcome) {}

  private final DirectoryStore directory;
  private final DocumentStore documents;
  private final TupleStore tuples;
  private final String systemStoreId;
  private final StoreRuntime runtime;
  private final DeactivatedUsers deactivated;
  private final AuditLog audit;

  public Deprovisioning(
      DirectoryStore directory,
      DocumentStore documents,
      TupleStore tuples,
      String systemStoreId,
      StoreRuntime runtime,
      DeactivatedUsers deactivated,
      AuditLog audit) {
    this.directory = directory;
    this.documents = documents;
    this.tuples = tuples;
    this.systemStoreId = systemStoreId;
    this.runtime = runtime;
    this.deactivated = deactivated;
    this.audit = audit;
  }

  /** The refused-token list this deprovisioning writes. */
  public DeactivatedUsers deactivated() {
    return deactivated;
  }

  /**
   * Deprovisions {@code current} around {@code write}, the request's own directory write (the
   * update to {@code active: false}, or the deletion): the journal and the token refusal come
   * first, then the write, then the revocations.
   *
   * @throws CastellanException what {@code write} threw (then nothing changed), or what a later
   *     step threw (then the journal stays and the deprovisioning is finished later)
   */
  public <T> Done<T> run(
      @Nullable Context ctx, Trigger trigger, DirectoryUser current, Supplier<T> write) {
    List<String> groups = directory.groupsOf(current.id());
    ObjectNode journal = JSON.createObjectNode();
    journal.put("trigger", trigger.name());
    groups.forEach(journal.putArray("groups")::add);
    journal.put("started", Instant.now().toString());
    documents.putDocument(JOURNAL, current.id(), journal.toString());
    boolean refusedBefore = deactivated.refused(current.id());
    deactivated.refuse(current.id());
    if (trigger == Trigger.DELETE) {
      refuseIdentities(current.id());
    }
    T written;
    try {
      written = write.get();
    } catch (CastellanException e) {
      if (e.code() != ErrorCode.STORE_UNAVAILABLE && e.code() != ErrorCode.INTERNAL_ERROR) {
        // The directory refused the write: nothing happened, so nothing is to be finished.
        if (!refusedBefore) {
          deactivated.accept(current.id());
        }
        documents.deleteDocument(JOURNAL, current.id());
      }
      throw e;
    }
    return new Done<>(written, finish(ctx, current.id()));
  }

  /**
   * Finishes the deprovisioning of {@code userId} if one was started and not finished; empty when
   * there is none.
   */
  public Optional<Outcome> resume(@Nullable Context ctx, String userId) {
    if (documents.document(JOURNAL, userId).isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(finish(ctx, userId));
  }

  /** Finishes every deprovisioning left unfinished (at start); failures are logged and kept. */
  public int resumeAll() {
    int finished = 0;
    for (String userId : documents.documents(JOURNAL).keySet()) {
      try {
        finish(null, userId);
        finished++;
      } catch (RuntimeException e) {
        LOG.warn(
            "deprovisioning of directory user {} is still unfinished: {}", userId, e.toString());
      }
    }
    return finished;
  }

  /** The users whose deprovisioning was started and is not finished. */
  public List<String> pending() {
    return List.copyOf(documents.documents(JOURNAL).keySet());
  }

  /** Records that {@code user}, deprovisioned before, is active again; nothing is restored. */
  public void reactivated(@Nullable Context ctx, DirectoryUser before, DirectoryUser after) {
    deactivated.accept(after.id());
    record(
        ctx,
        after.id(),
        REACTIVATED,
        AuditEvent.Outcome.OK,
        "active again; tokens accepted, nothing restored: groups come back as SCIM adds them,"
            + " roles and rights as an administrator grants them",
        0);
  }

  private Outcome finish(@Nullable Context ctx, String userId) {
    String journalText = documents.document(JOURNAL, userId).orElse("{}");
    try {
      JsonNode journal = JSON.readTree(journalText);
      Trigger trigger =
          journal.path("trigger").asText().equals(Trigger.DELETE.name())
              ? Trigger.DELETE
              : Trigger.DEACTIVATE;
      Set<String> groups = new LinkedHashSet<>(texts(journal.path("groups")));
      Optional<DirectoryUser> user = directory.user(userId);
      deactivated.refuse(userId);
      if (user.isPresent()) {
        DirectoryUser u = user.get();
        List<String> current = directory.groupsOf(userId);
        groups.addAll(current);
        if (trigger == Trigger.DELETE) {
          // The request's own deletion did not land (a failure, then a resume); it drops the
          // memberships with the user.
          refuseIdentities(userId);
          directory.deleteUser(userId);
        } else {
          for (String group : current) {
            try {
              directory.changeMembers(
                  group, DirectoryStore.ANY_VERSION, List.of(), List.of(userId));
            } catch (CastellanException e) {
              if (e.code() != ErrorCode.NOT_FOUND) {
                throw e; // a group deleted meanwhile has no member left to remove
              }
            }
          }
          if (u.active()) {
            // The request's own update did not land (a failure, then a resume).
            directory.updateUser(
                userId,
                DirectoryStore.ANY_VERSION,
                new UserDraft(
                    u.userName(),
                    u.externalId(),
                    u.displayName(),
                    false,
                    u.emails(),
                    u.resourceJson()));
          }
        }
      }
      List<String> revoked = revoke("user:" + userId);
      runtime.afterWrite(systemStoreId);
      // RBAC's token: what /api/authorize waits for (a store token would name the system store).
      String token = Rbac.tokenAt(runtime.feed(systemStoreId).revision());
      recordDone(ctx, userId, trigger, List.copyOf(groups), revoked);
      documents.deleteDocument(JOURNAL, userId);
      return new Outcome(userId, List.copyOf(groups), revoked, token);
    } catch (JsonProcessingException e) {
      throw new CastellanException(
          ErrorCode.INTERNAL_ERROR, "the deprovisioning journal of " + userId + " is not JSON");
    } catch (RuntimeException e) {
      try {
        record(
            ctx,
            userId,
            ACTION,
            AuditEvent.Outcome.ERROR,
            "unfinished, will be finished by the next SCIM write of this user or the next start: "
                + e.getMessage(),
            0);
      } catch (RuntimeException again) {
        e.addSuppressed(again);
      }
      throw e;
    }
  }

  /** Refuses the OIDC identities of a user about to be deleted (its links go with it). */
  private void refuseIdentities(String userId) {
    List<java.util.Map.Entry<String, String>> oidc = new ArrayList<>();
    for (Identity identity : directory.identities(userId)) {
      if (identity.kind().equals(Subjects.OIDC)) {
        oidc.add(java.util.Map.entry(identity.namespace(), identity.value()));
      }
    }
    deactivated.refuseIdentities(userId, oidc);
  }

  /** Deletes every system-store tuple of {@code subject}; the deleted, as text. */
  private List<String> revoke(String subject) {
    List<TupleKey> keys = new ArrayList<>();
    String token = "";
    do {
      var page =
          tuples.read(
              systemStoreId,
              TupleFilter.user(subject),
              new PageRequest(PageRequest.MAX_PAGE_SIZE, token));
      for (StoredTuple stored : page.items()) {
        keys.add(stored.tuple().key());
      }
      token = page.continuationToken();
    } while (!token.isEmpty());
    for (int from = 0; from < keys.size(); from += DELETES_PER_WRITE) {
      List<TupleKey> part = keys.subList(from, Math.min(keys.size(), from + DELETES_PER_WRITE));
      tuples.write(systemStoreId, new TupleWrite(List.of(), part, false, true));
    }
    return keys.stream().map(k -> k.object() + "#" + k.relation() + "@" + k.user()).toList();
  }

  private void recordDone(
      @Nullable Context ctx,
      String userId,
      Trigger trigger,
      List<String> groups,
      List<String> revoked) {
    List<String> items = new ArrayList<>();
    groups.forEach(g -> items.add("group " + g));
    items.addAll(revoked);
    String head =
        (trigger == Trigger.DELETE ? "deleted" : "deactivated")
            + "; tokens refused; left "
            + groups.size()
            + " groups, "
            + revoked.size()
            + " grants revoked";
    long revision = tuples.revision(systemStoreId);
    int parts = Math.max(1, (items.size() + ITEMS_PER_ENTRY - 1) / ITEMS_PER_ENTRY);
    for (int part = 0; part < parts; part++) {
      List<String> slice =
          items.subList(
              part * ITEMS_PER_ENTRY, Math.min(items.size(), (part + 1) * ITEMS_PER_ENTRY));
      String reason =
          head
              + (parts > 1 ? " (part " + (part + 1) + " of " + parts + ")" : "")
              + (slice.isEmpty() ? "" : ": " + String.join(", ", slice));
      record(ctx, userId, ACTION, AuditEvent.Outcome.OK, reason, revision);
    }
  }

  private void record(
      @Nullable Context ctx,
      String userId,
      String action,
      AuditEvent.Outcome outcome,
      String reason,
      long revision) {
    String subject = "user:" + userId;
    String resource = ScimApi.BASE + "/Users/" + userId;
    audit.record(
        ctx == null
            ? AuditEvent.serverChange(API, subject, action, resource, outcome, reason, "", revision)
            : RequestAudit.event(
                ctx,
                AuditEvent.Kind.CHANGE,
                API,
                subject,
                List.of(),
                action,
                resource,
                outcome,
                reason,
                "",
                revision));
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    for (JsonNode item : array) {
      out.add(item.asText());
    }
    return out;
  }
}
