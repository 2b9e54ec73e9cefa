package dev.castellan.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The object table's own lookup: open addressing over its names, grown as it fills. */
class ObjectTableTest {

  @Test
  void everyNameInterned_isFoundAgain_acrossGrowth() {
    ObjectTable table = new ObjectTable();
    for (int i = 0; i < 10_000; i++) {
      assertThat(table.intern("doc:" + i, 0, false)).isEqualTo(i);
    }
    for (int i = 0; i < 10_000; i++) {
      assertThat(table.find("doc:" + i)).isEqualTo(i);
      assertThat(table.name(i)).isEqualTo("doc:" + i);
    }
    assertThat(table.find("doc:10000")).isEqualTo(-1);
    assertThat(table.intern("doc:5", 0, false)).isEqualTo(5);
    assertThat(table.size()).isEqualTo(10_000);
  }

  @Test
  void namesWithTheSameHash_areTold_apart() {
    // "Aa" and "BB" share String.hashCode, so do all their concatenations of equal length.
    String[] parts = {"Aa", "BB"};
    ObjectTable table = new ObjectTable();
    int id = 0;
    for (String a : parts) {
      for (String b : parts) {
        for (String c : parts) {
          assertThat(table.intern("doc:" + a + b + c, 0, false)).isEqualTo(id++);
        }
      }
    }
    id = 0;
    for (String a : parts) {
      for (String b : parts) {
        for (String c : parts) {
          assertThat(table.find("doc:" + a + b + c)).isEqualTo(id++);
        }
      }
    }
    assertThat(table.find("doc:AaAaBBBB")).isEqualTo(-1);
  }

  @Test
  void aChildTable_findsItsParentsNames_andKeepsItsOwn() {
    ObjectTable parent = new ObjectTable();
    parent.intern("doc:1", 0, false);
    ObjectTable child = parent.child();
    assertThat(child.find("doc:1")).isZero();
    for (int i = 0; i < 100; i++) {
      assertThat(child.intern("doc:c" + i, 0, false)).isEqualTo(ObjectTable.LOCAL_BASE + i);
    }
    for (int i = 0; i < 100; i++) {
      assertThat(child.find("doc:c" + i)).isEqualTo(ObjectTable.LOCAL_BASE + i);
    }
    assertThat(parent.find("doc:c0")).isEqualTo(-1);
  }
}
