package dev.castellan.server.auth;

import dev.castellan.store.DirectoryUser;
import dev.castellan.store.Identity;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Every name under which one directory user may hold something or call, until one subject replaces
 * them all (issue 16, identity links): broader than the subjects group membership is projected to
 * ({@code dev.castellan.server.rbac.DirectorySubjects}), because deprovisioning revokes what any of
 * them holds and refuses their tokens.
 *
 * <p>The rule: the user's <em>names</em> are {@code dir/<directory id>} (its RBAC subject, ADR
 * 0019), its {@code userName}, its emails and the values of its {@code oidc} identity links, the
 * latter spelt as canonical subject ids ({@link SubjectIds}, exactly, without changing case: a
 * token's {@code sub} is compared exactly). Each name {@code n} is the RBAC subject {@code user:n}
 * (role bindings, group members in the system store) and the token caller {@code jwt:n}, whose
 * store and global rights are held by {@code principal:jwt.n}. A name that has no subject id (too
 * long once escaped) names no token and holds nothing, so it is left out. API keys are never a
 * directory user's.
 *
 * @param userId the directory id
 * @param names the names as canonical subject ids, the directory id first, each once
 */
public record DirectoryUserNames(String userId, List<String> names) {
  /** The namespace of directory ids in subjects: {@code user:dir/<id>} (ADR 0010, 0019). */
  public static final String DIRECTORY_NAMESPACE = "dir/";

  /** The identity kind whose values are OIDC token subjects. */
  public static final String OIDC = "oidc";

  public DirectoryUserNames {
    names = List.copyOf(new LinkedHashSet<>(names));
  }

  /** The subjects of {@code user} with its linked {@code identities}. */
  public static DirectoryUserNames of(DirectoryUser user, Collection<Identity> identities) {
    List<String> raw = new ArrayList<>();
    raw.add(user.userName());
    raw.addAll(user.emails());
    for (Identity identity : identities) {
      if (identity.kind().equals(OIDC) || identity.kind().equals(Identity.EMAIL)) {
        raw.add(identity.value());
      }
    }
    List<String> names = new ArrayList<>();
    names.add(DIRECTORY_NAMESPACE + user.id());
    for (String name : raw) {
      SubjectIds.escape(name).filter(SubjectIds::isCanonical).ifPresent(names::add);
    }
    return new DirectoryUserNames(user.id(), names);
  }

  /** These and {@code other}'s names (a user whose names changed in a write). */
  public DirectoryUserNames with(DirectoryUserNames other) {
    List<String> all = new ArrayList<>(names);
    all.addAll(other.names);
    return new DirectoryUserNames(userId, all);
  }

  /**
   * The users of system-store tuples these subjects hold: {@code user:n} and {@code
   * principal:jwt.n}.
   */
  public Set<String> tupleUsers() {
    Set<String> out = new LinkedHashSet<>();
    for (String name : names) {
      out.add("user:" + name);
    }
    for (String name : names) {
      out.add(AccessControl.subject("jwt:" + name));
    }
    return out;
  }

  /** Whether a caller is one of these subjects (a token's {@code jwt:n}). */
  public boolean names(Principal principal) {
    return principal.id().startsWith("jwt:") && names.contains(principal.id().substring(4));
  }
}
