package dev.castellan.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelDsl;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The accounting behind "heap within the budget" (issue 14): the estimates of an index and of an
 * engine add up what they hold, object by object, so that a change to what they hold moves the
 * estimate by what it costs. The figure against the live heap comes from {@code StoreFootprint}
 * (castellan-bench): a unit test measuring the heap after a GC would be flaky.
 */
class HeapEstimateTest {
  private static final String PLAIN =
      """
      model
        schema 1.1
      type user
      type doc
        relations
          define viewer: [user]
      """;

  private static final String CONDITIONAL =
      """
      model
        schema 1.1
      type user
      type doc
        relations
          define viewer: [user, user with in_office]
      condition in_office(ip: ipaddress) {
        ip.in_cidr("10.0.0.0/8")
      }
      """;

  @Test
  void sizes_followTheJvmsLayout() {
    assertThat(HeapSizes.array(4, 0)).isEqualTo(16);
    assertThat(HeapSizes.array(4, 1)).isEqualTo(24);
    assertThat(HeapSizes.array(8, 3)).isEqualTo(40);
    // A String and its byte array: Latin-1 takes a byte per character, anything else two.
    assertThat(HeapSizes.string("doc:7")).isEqualTo(24 + 24);
    assertThat(HeapSizes.string("doc:\u0100\u0101\u0102\u0103")).isEqualTo(24 + 32);
    assertThat(HeapSizes.hashTable(0)).isZero();
    assertThat(HeapSizes.hashTable(12)).isEqualTo(HeapSizes.array(4, 16));
    assertThat(HeapSizes.hashTable(13)).isEqualTo(HeapSizes.array(4, 32));
    assertThat(HeapSizes.boxedId(127)).isZero();
    assertThat(HeapSizes.boxedId(128)).isEqualTo(16);
  }

  @Test
  void longerNames_costTheirBytes_andNothingElse() {
    TupleIndex shortNames = index("doc:", "user:", 200);
    TupleIndex longNames = index("documentwithalongname:", "user:", 200);
    long extra = 0;
    for (int i = 0; i < 200; i++) {
      extra += HeapSizes.string("documentwithalongname:" + i) - HeapSizes.string("doc:" + i);
    }
    // The type name is interned once per index, in the names table.
    extra += HeapSizes.string("documentwithalongname") - HeapSizes.string("doc");
    assertThat(longNames.estimatedBytes() - shortNames.estimatedBytes()).isEqualTo(extra);
  }

  @Test
  void everyTuple_addsItsObjects_postingsAndReverseEntry() {
    TupleIndex index = index("doc:", "user:", 1_000);
    long perTuple = index.estimatedBytes() / index.size();
    // Two names (object and user: a map node, an Integer, a String), a posting, a reverse array,
    // the map slots: about 300 bytes with short names, never the 100 a bare tuple key suggests.
    assertThat(perTuple).isBetween(250L, 400L);
  }

  @Test
  void aConditionalTuple_countsItsMeta() {
    TupleIndex plain = TupleIndex.create();
    plain.write(List.of(Tuple.of("doc:1", "viewer", "user:1")));
    TupleIndex conditional = TupleIndex.create();
    conditional.write(
        List.of(new Tuple(new TupleKey("doc:1", "viewer", "user:1"), "in_office", Map.of())));
    long meta = new TupleMeta("in_office", Map.of(), TupleMeta.NEVER).estimatedBytes();
    assertThat(conditional.estimatedBytes() - plain.estimatedBytes())
        .isEqualTo(HeapSizes.array(4, 1) + meta);
    assertThat(meta).isEqualTo(32 + HeapSizes.string("in_office"));
  }

  @Test
  void anEngine_countsItsModel_andEachCondition() {
    TupleIndex index = index("doc:", "user:", 10);
    AuthorizationModel plainModel = ModelDsl.parse(PLAIN);
    AuthorizationModel conditionalModel = ModelDsl.parse(CONDITIONAL);
    long plain = Engine.create(plainModel, index).estimatedBytes();
    long conditional = Engine.create(conditionalModel, index).estimatedBytes();
    assertThat(plain).isPositive();
    // The condition's compiled program, its source and one more restriction.
    assertThat(conditional - plain)
        .isGreaterThan(
            ModelFootprint.CONDITION_BYTES
                + ModelFootprint.CONDITION_BYTES_PER_CHAR * "ip.in_cidr(\"10.0.0.0/8\")".length());
    // The same model compiled twice costs the same: the estimate depends on the model only.
    assertThat(Engine.create(ModelDsl.parse(PLAIN), index).estimatedBytes()).isEqualTo(plain);
  }

  private static TupleIndex index(String objectPrefix, String userPrefix, int tuples) {
    List<Tuple> writes = new ArrayList<>();
    for (int i = 0; i < tuples; i++) {
      writes.add(Tuple.of(objectPrefix + i, "viewer", userPrefix + i));
    }
    TupleIndex index = TupleIndex.create();
    index.write(writes);
    return index;
  }
}
