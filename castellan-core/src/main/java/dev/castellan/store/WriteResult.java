package dev.castellan.store;

/**
 * What a write did: the revision it committed (unchanged when it changed nothing), and how many
 * tuples it wrote and deleted.
 */
public record WriteResult(long revision, int written, int deleted) {}
