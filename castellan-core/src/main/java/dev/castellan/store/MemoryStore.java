package dev.castellan.store;

import dev.castellan.audit.AuditRecords;
import java.time.Clock;

/**
 * A {@link Store} held in memory: for tests and for embedding Castellan in another program. Its
 * parts keep the same contracts as the durable ones (revisions, changelog, errors, the {@link
 * WritePlanner}'s rules), and nothing after the process ends. Its audit trail keeps the newest
 * 1,000,000 entries.
 */
public final class MemoryStore implements Store {
  private final MemoryCatalog catalog;
  private final MemoryTuples tuples;
  private final MemoryModels models;
  private final MemoryCredentials credentials = new MemoryCredentials();
  private final MemoryDocuments documents = new MemoryDocuments();
  private final MemoryDirectory directory;
  private final MemoryPending pending;
  private final AuditRecords audit = AuditRecords.inMemory(AuditRecords.DEFAULT_MEMORY_CAPACITY);

  public MemoryStore() {
    this(Clock.systemUTC());
  }

  /** A store whose timestamps (store, model, tuple and change times) come from {@code clock}. */
  public MemoryStore(Clock clock) {
    this.catalog = new MemoryCatalog(clock);
    this.tuples = new MemoryTuples(catalog);
    this.models = new MemoryModels(catalog);
    this.directory = new MemoryDirectory(clock);
    this.pending = new MemoryPending(catalog, tuples, clock);
  }

  @Override
  public StoreCatalog storeCatalog() {
    return catalog;
  }

  @Override
  public TupleStore tupleStore() {
    return tuples;
  }

  @Override
  public ModelStore modelStore() {
    return models;
  }

  @Override
  public CredentialStore credentialStore() {
    return credentials;
  }

  @Override
  public DocumentStore documentStore() {
    return documents;
  }

  @Override
  public DirectoryStore directoryStore() {
    return directory;
  }

  @Override
  public PendingStore pendingStore() {
    return pending;
  }

  @Override
  public AuditRecords auditRecords() {
    return audit;
  }

  @Override
  public void close() {}
}
