package dev.castellan.server.audit;

import dev.castellan.audit.AuditRecords;
import dev.castellan.store.Store;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;

/** A store whose audit trail is another one: to stall or fail the audit writer of a server. */
final class StalledAuditStore {
  private StalledAuditStore() {}

  static Store over(Store inner, AuditRecords records) {
    return (Store)
        Proxy.newProxyInstance(
            Store.class.getClassLoader(),
            new Class<?>[] {Store.class},
            (proxy, method, args) -> {
              if (method.getName().equals("auditRecords") && method.getParameterCount() == 0) {
                return records;
              }
              try {
                return method.invoke(inner, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }
}
