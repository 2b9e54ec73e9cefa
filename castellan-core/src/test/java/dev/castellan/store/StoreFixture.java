package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelDsl;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the store contract suites share: a fresh {@link Store} per test, from the implementation
 * under test, with one store (tenant) created in it. A contract takes the part it tests from the
 * store ({@code store.tupleStore()}, ...). Each implementation runs every contract, as nested
 * classes of one test class per implementation.
 */
public abstract class StoreFixture {

  /** A fresh, empty store implementation for one test. */
  protected abstract Store newStore();

  protected Store store;
  protected String storeId;

  protected static final AuthorizationModel MODEL =
      ModelDsl.parse(
          """
          model
            schema 1.1
          type user
          type doc
            relations
              define viewer: [user, user with office]
          condition office(ip: ipaddress) {
            ip.in_cidr("10.0.0.0/8")
          }
          """);

  @BeforeEach
  void open() {
    store = newStore();
    storeId = store.storeCatalog().createStore("contract").id();
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  protected static Tuple tuple(String object, String relation, String user) {
    return Tuple.of(object, relation, user);
  }

  protected static TupleKey key(String object, String relation, String user) {
    return new TupleKey(object, relation, user);
  }

  protected List<Tuple> all(String id) {
    List<Tuple> out = new ArrayList<>();
    store.tupleStore().snapshot(id, t -> out.add(t.tuple()));
    return out;
  }

  protected static void assertCode(Runnable action, ErrorCode code) {
    assertThatThrownBy(action::run)
        .isInstanceOf(CastellanException.class)
        .satisfies(e -> assertThat(((CastellanException) e).code()).isEqualTo(code));
  }
}
