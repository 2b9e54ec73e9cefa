package dev.castellan.server.auth;

import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.CheckResult;
import dev.castellan.engine.Engine;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The answers of the checks the server makes on its system store (the caller's rights, on every
 * request), kept for as long as they are the answer: while the system store's engine (its model and
 * index) is the same and its index is at the same revision, and until the earliest expiry of the
 * tuples a check read. Any change to the system store moves its revision, so a grant or a
 * revocation is seen by the next request on this node, and on others once their feed applies it,
 * exactly as without the cache.
 *
 * <p>Keyed by the engine subject of the principal ({@code service_account:AbC}) and the object and
 * relation checked; at most {@link #MAX_ANSWERS} answers are held, after which they are let go and
 * gathered again.
 */
final class SystemDecisions {
  /** A bound on the answers held: a few per active principal. */
  static final int MAX_ANSWERS = 10_000;

  private record Answer(boolean allowed, long validUntilMillis) {}

  /**
   * What a check asked. A record, not a joined string: the subject's and the global object's hashes
   * are cached in their strings, which a principal made once keeps (no text copied per request).
   */
  private record Question(String subject, String object, String relation) {}

  /** The answers of one engine at one revision. */
  private record Generation(
      @Nullable Engine engine, long revision, ConcurrentHashMap<Question, Answer> answers) {}

  private volatile Generation current = new Generation(null, -1, new ConcurrentHashMap<>());

  /** Whether {@code subject} has {@code relation} on {@code object}, as {@code engine} decides. */
  boolean allowed(Engine engine, String object, String relation, String subject) {
    long revision = engine.index().revision();
    Generation generation = current;
    if (generation.engine() != engine
        || generation.revision() != revision
        || generation.answers().size() >= MAX_ANSWERS) {
      // Racing requests may each start one; the last one stays, and any is exact for its revision.
      generation = new Generation(engine, revision, new ConcurrentHashMap<>());
      current = generation;
    }
    Question key = new Question(subject, object, relation);
    Answer answer = generation.answers().get(key);
    long now = engine.clock().millis();
    if (answer != null && now < answer.validUntilMillis()) {
      return answer.allowed();
    }
    CheckResult result = engine.check(CheckRequest.of(object, relation, subject));
    // A write applied since the revision was read: the answer is exact, but for a later revision.
    if (result.revision() == revision) {
      generation.answers().put(key, new Answer(result.allowed(), result.validUntilMillis()));
    }
    return result.allowed();
  }

  /** Answers held now (for tests). */
  int size() {
    return current.answers().size();
  }
}
