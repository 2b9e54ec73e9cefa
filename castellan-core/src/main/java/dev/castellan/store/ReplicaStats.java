package dev.castellan.store;

/**
 * What a store with a read replica did with its reads since it opened (ADR 0018), for {@code
 * /metrics}: in aggregate over every tenant, never per store.
 *
 * @param replicaReads reads the replica answered
 * @param lagBound reads with a consistency token that went to the primary because the replica had
 *     not replayed the token's revision within the bound
 * @param replicaDown reads that went to the primary because the replica failed, or was being
 *     skipped after a failure
 * @param notReplayed reads that went to the primary because the replica did not know the store yet
 * @param latest reads that asked for the latest revision ({@code HIGHER_CONSISTENCY}), which only
 *     the primary has: sent there without asking the replica
 * @param lagRevisions how many revisions the replica was behind the last token it was asked for (0:
 *     it had replayed it; the gauge moves only when a request carries a token)
 */
public record ReplicaStats(
    long replicaReads,
    long lagBound,
    long replicaDown,
    long notReplayed,
    long latest,
    long lagRevisions) {

  /** Reads answered by the primary in the replica's place, whatever the reason. */
  public long primaryReads() {
    return lagBound + replicaDown + notReplayed + latest;
  }
}
