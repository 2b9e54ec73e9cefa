package dev.castellan.server.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.store.ConsistencyToken;
import org.junit.jupiter.api.Test;

/** A check's answer written without a JSON tree is byte for byte what the tree writes. */
class PlainCheckAnswerTest {
  @Test
  void theSameBytesAsTheTree() throws Exception {
    String token = ConsistencyToken.encode("01JABCDEFGHJKMNPQRSTVWXYZ0", 123_456_789L);
    for (boolean allowed : new boolean[] {true, false}) {
      for (String t : new String[] {token, ""}) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("allowed", allowed);
        out.put("resolution", "");
        if (!t.isEmpty()) {
          out.put("consistency_token", t);
        }
        assertArrayEquals(
            Body.JSON.writeValueAsBytes(out), OpenFgaApi.plainCheckAnswer(allowed, t), out + "");
      }
    }
  }

  @Test
  void aTokenJsonWouldEscapeTakesTheTree() {
    assertNull(OpenFgaApi.plainCheckAnswer(true, "a\"b"));
    assertNull(OpenFgaApi.plainCheckAnswer(true, "a\\b"));
    assertNull(OpenFgaApi.plainCheckAnswer(true, "a\nb"));
    assertNull(OpenFgaApi.plainCheckAnswer(false, "é"));
  }
}
