package dev.castellan.audit;

import dev.castellan.store.Page;
import dev.castellan.store.PageRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The audit chain held in memory ({@link AuditRecords#inMemory}); every method holds this object's
 * monitor. It keeps the newest {@code capacity} entries, moving the chain's start past older ones
 * as retention does, so a long-running embedded server does not grow without bound.
 */
final class MemoryAuditRecords implements AuditRecords {
  static final int DEFAULT_CAPACITY = 1_000_000;

  private final TreeMap<Long, AuditRecord> records = new TreeMap<>();
  private final int capacity;
  private Head head = Head.EMPTY;

  MemoryAuditRecords(int capacity) {
    this.capacity = capacity;
  }

  @Override
  public synchronized List<AuditRecord> append(List<AuditEntry> entries) {
    List<AuditRecord> out = new ArrayList<>(entries.size());
    long seq = head.lastSeq();
    String previous = head.lastHash();
    for (AuditEntry entry : entries) {
      AuditRecord record = AuditRecord.chain(++seq, entry, previous);
      records.put(seq, record);
      previous = record.hash();
      out.add(record);
    }
    head = new Head(head.firstSeq(), head.anchorHash(), seq, previous);
    while (records.size() > capacity) {
      records.pollFirstEntry();
      AuditRecord first = records.firstEntry().getValue();
      head = new Head(first.seq(), first.previousHash(), head.lastSeq(), head.lastHash());
    }
    return out;
  }

  @Override
  public synchronized Page<AuditRecord> read(AuditFilter filter, PageRequest page) {
    List<AuditRecord> items = new ArrayList<>();
    long after = AuditRecords.afterSeq(page.continuationToken());
    for (Map.Entry<Long, AuditRecord> e : records.tailMap(after, false).entrySet()) {
      if (filter.matches(e.getValue().entry())) {
        if (items.size() == page.pageSize()) {
          return new Page<>(items, AuditRecords.tokenAfter(items.getLast().seq()));
        }
        items.add(e.getValue());
      }
    }
    return new Page<>(items, "");
  }

  @Override
  public synchronized Head head() {
    return head;
  }

  @Override
  public synchronized long deleteOlderThan(Instant cutoff) {
    // Everything goes unless a record is young enough; the first kept record anchors the chain.
    long keepFrom = head.lastSeq() + 1;
    String anchor = head.lastHash();
    for (AuditRecord record : records.values()) {
      if (!record.entry().time().isBefore(cutoff)) {
        keepFrom = record.seq();
        anchor = record.previousHash();
        break;
      }
    }
    Map<Long, AuditRecord> gone = records.headMap(keepFrom, false);
    long count = gone.size();
    if (count == 0) {
      return 0;
    }
    gone.clear();
    head = new Head(keepFrom, anchor, head.lastSeq(), head.lastHash());
    return count;
  }
}
