package dev.castellan.store;

/** Every store contract on the in-memory parts. */
class MemoryStoreContractTest extends StoreContracts {

  @Override
  protected Store fresh() {
    return new MemoryStore();
  }
}
