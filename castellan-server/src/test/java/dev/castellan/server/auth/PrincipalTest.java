package dev.castellan.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The subject a principal is in the engine, computed once when it is made (ADR 0023). */
class PrincipalTest {
  @Test
  void eachKindOfCallerHasItsOneSubject() {
    assertEquals(
        "user:01JD6Z0000000000000000000A",
        new Principal("user:01JD6Z0000000000000000000A", "alice", Map.of()).subject());
    assertEquals("service_account:AbC123", new Principal("key:AbC123", "app", Map.of()).subject());
    assertEquals(
        "service_account:local.developer",
        new Principal("local:developer", "dev", Map.of()).subject());
  }

  @Test
  void equalByValueAndClaimsStayOutOfItsText() {
    Principal a = new Principal("key:AbC", "app", Map.of("secret-ish", "value"));
    assertEquals(a, new Principal("key:AbC", "app", Map.of("secret-ish", "value")));
    assertEquals(
        a.hashCode(), new Principal("key:AbC", "app", Map.of("secret-ish", "value")).hashCode());
    assertNotEquals(a, new Principal("key:AbC", "app", Map.of()));
    assertFalse(a.toString().contains("value"));
  }
}
