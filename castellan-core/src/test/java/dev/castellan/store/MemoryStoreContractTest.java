package dev.castellan.store;

class MemoryStoreContractTest extends StoreContract {
  @Override
  protected Store newStore() {
    return new MemoryStore();
  }
}
