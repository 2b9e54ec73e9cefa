package dev.castellan.store.jdbc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** Condition contexts as JSON text in the database. */
final class ContextJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {};

  private ContextJson() {}

  /** The JSON text of {@code context}, or null when it is empty. */
  static @Nullable String write(@Nullable Map<String, Object> context) {
    if (context == null || context.isEmpty()) {
      return null;
    }
    try {
      return MAPPER.writeValueAsString(context);
    } catch (JsonProcessingException e) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR, "condition context is not representable as JSON");
    }
  }

  static Map<String, Object> read(@Nullable String json) {
    if (json == null || json.isEmpty()) {
      return Map.of();
    }
    try {
      return MAPPER.readValue(json, MAP);
    } catch (JsonProcessingException e) {
      throw new CastellanException(
          ErrorCode.STORE_UNAVAILABLE, "the store holds a malformed condition context", e);
    }
  }

  /** {@code context} as it reads back from the database, for comparisons. */
  static Map<String, Object> normalize(Map<String, Object> context) {
    return read(write(context));
  }
}
