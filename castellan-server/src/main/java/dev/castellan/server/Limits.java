package dev.castellan.server;

/**
 * Limits on every input, with OpenFGA's defaults where OpenFGA has one.
 *
 * @param maxTuplesPerWrite tuples in one write request (OpenFGA: 100)
 * @param maxChecksPerBatch checks in one batch-check (OpenFGA: 50)
 * @param maxContextualTuples contextual tuples in one request (OpenFGA: 100)
 * @param maxListResults results of list-objects and list-users per page (OpenFGA: 1000)
 * @param maxModelBytes size of an authorization model's JSON (OpenFGA: 256 KiB)
 * @param maxRequestBytes size of any request body
 */
public record Limits(
    int maxTuplesPerWrite,
    int maxChecksPerBatch,
    int maxContextualTuples,
    int maxListResults,
    int maxModelBytes,
    long maxRequestBytes) {

  public static final Limits DEFAULT = new Limits(100, 50, 100, 1000, 256 * 1024, 1024 * 1024);

  public Limits withMaxTuplesPerWrite(int value) {
    if (value < 1 || value > 10_000) {
      throw new IllegalArgumentException("max tuples per write must be 1..10000, was " + value);
    }
    return new Limits(
        value,
        maxChecksPerBatch,
        maxContextualTuples,
        maxListResults,
        maxModelBytes,
        maxRequestBytes);
  }
}
