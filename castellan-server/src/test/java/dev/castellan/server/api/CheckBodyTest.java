package dev.castellan.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.CastellanException;
import dev.castellan.engine.TupleKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * The streamed check body ({@link CheckBody}) accepts only what the tree path ({@link Body}, as
 * {@code OpenFgaApi.check} reads it) accepts, with the same values; it declines everything else,
 * which the tree path then reads (and refuses) as before.
 */
class CheckBodyTest {

  private static final String KEY =
      "\"tuple_key\":{\"user\":\"user:anne\",\"relation\":\"viewer\",\"object\":\"doc:1\"}";

  /** Bodies the stream reads: the common shape, its optional fields and their spellings. */
  private static final List<String> COMMON =
      List.of(
          "{" + KEY + "}",
          " \n{" + KEY + "}\n ",
          "{\"tuple_key\":{\"object\":\"doc:1\",\"user\":\"user:anne\",\"relation\":\"viewer\"}}",
          "{" + KEY + ",\"authorization_model_id\":\"01HXYZ\"}",
          "{\"authorization_model_id\":\"\"," + KEY + "}",
          "{" + KEY + ",\"consistency\":\"HIGHER_CONSISTENCY\"}",
          "{" + KEY + ",\"consistency\":\"MINIMIZE_LATENCY\"}",
          "{" + KEY + ",\"consistency\":\"UNSPECIFIED\"}",
          "{" + KEY + ",\"consistency\":\"\"}",
          "{" + KEY + ",\"consistency_token\":\"abc\"}",
          "{" + KEY + ",\"explain\":true}",
          "{" + KEY + ",\"explain\":false,\"trace\":true}",
          "{" + KEY + ",\"trace\":false}",
          "\t{\r\n" + KEY + " ,\t\"explain\" : true\n}\r\n",
          "{\"tuple_key\":{\"user\":\"user:"
              + "u".repeat(Body.MAX_NAME - 5)
              + "\","
              + "\"relation\":\"viewer\",\"object\":\"doc:1\"}}",
          "{" + KEY + ",\"consistency_token\":\"" + "t".repeat(256) + "\"}");

  /** Bodies the tree path reads or refuses, which the stream leaves to it. */
  private static final List<String> OTHERS =
      List.of(
          "",
          "   ",
          // Escapes, non-ASCII and control characters: the tree path decodes them.
          "{\"tuple\\u005fkey\":{\"user\":\"user:\\u00e9\\ud83d\\ude00\",\"relation\":\"viewer\","
              + "\"object\":\"doc:\\\"1\\\\\"}}",
          "{\"tuple_key\":{\"user\":\"user:\u00e9\",\"relation\":\"viewer\",\"object\":\"doc:1\"}}",
          "{\"tuple_key\":{\"user\":\"user:a\u0001\",\"relation\":\"viewer\",\"object\":\"doc:1\"}}",
          "{\"tuple_key\":{\"user\":\"user:a\u007f\",\"relation\":\"viewer\",\"object\":\"doc:1\"}}",
          "\ufeff{" + KEY + "}",
          "{" + KEY + "}\u00a0",
          "{" + KEY + "}\u0000",
          "{" + KEY + ",\"explain\":tru}",
          "{" + KEY + ",\"explain\":truex}",
          "{" + KEY + ",\"explain\":True}",
          "{" + KEY + ",\"explain\":true false}",
          "{" + KEY + ",\"explain\":\"\"}",
          "{" + KEY + ",}",
          "{," + KEY + "}",
          "{" + KEY + ",,\"explain\":true}",
          "{" + KEY + "\"explain\":true}",
          "{\"tuple_key\"" + KEY.substring(12) + "}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\",\"object\":\"d:1\",}}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\",\"object\":\"d:1\"}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\",\"object\":\"d:1\"}}}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\",\"object\":\"d:1}}",
          "null",
          "[]",
          "\"x\"",
          "1",
          "{}",
          "{",
          "{" + KEY,
          "{" + KEY + "} x",
          "{" + KEY + "} {}",
          "{" + KEY + "}]",
          "{" + KEY + "} 1",
          "{" + KEY + ",}",
          "{'tuple_key':{}}",
          // Duplicate keys, at either level.
          "{" + KEY + "," + KEY + "}",
          "{" + KEY + ",\"explain\":true,\"explain\":false}",
          "{" + KEY + ",\"trace\":true,\"trace\":true}",
          "{" + KEY + ",\"consistency\":\"\",\"consistency\":\"\"}",
          "{" + KEY + ",\"consistency_token\":\"a\",\"consistency_token\":\"a\"}",
          "{" + KEY + ",\"authorization_model_id\":\"a\",\"authorization_model_id\":\"a\"}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"user\":\"user:b\",\"relation\":\"r\","
              + "\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\",\"relation\":\"r\","
              + "\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\",\"object\":\"d:1\","
              + "\"object\":\"d:1\"}}",
          // Unknown fields, at either level.
          "{" + KEY + ",\"extra\":1}",
          "{" + KEY + ",\"Explain\":true}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\",\"object\":\"d:1\",\"x\":\"y\"}}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\",\"object\":\"d:1\","
              + "\"condition\":{\"name\":\"c\"}}}",
          // Missing, empty, null or mistyped values.
          "{\"tuple_key\":null}",
          "{\"tuple_key\":[]}",
          "{\"tuple_key\":\"doc:1#viewer@user:anne\"}",
          "{\"tuple_key\":{}}",
          "{\"tuple_key\":{\"relation\":\"r\",\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\"}}",
          "{\"tuple_key\":{\"user\":\"\",\"relation\":\"r\",\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":null,\"relation\":\"r\",\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":1,\"relation\":\"r\",\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":true,\"relation\":\"r\",\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":[\"user:a\"],\"relation\":\"r\",\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":{},\"relation\":\"r\",\"object\":\"d:1\"}}",
          "{" + KEY + ",\"explain\":null}",
          "{" + KEY + ",\"explain\":\"true\"}",
          "{" + KEY + ",\"explain\":1}",
          "{" + KEY + ",\"trace\":0}",
          "{" + KEY + ",\"authorization_model_id\":null}",
          "{" + KEY + ",\"authorization_model_id\":7}",
          "{" + KEY + ",\"consistency\":null}",
          "{" + KEY + ",\"consistency\":\"STRONG\"}",
          "{" + KEY + ",\"consistency\":\"higher_consistency\"}",
          "{" + KEY + ",\"consistency\":1}",
          "{" + KEY + ",\"consistency_token\":null}",
          "{" + KEY + ",\"consistency_token\":{}}",
          // Too long, or not valid Unicode.
          "{\"tuple_key\":{\"user\":\"user:"
              + "u".repeat(Body.MAX_NAME)
              + "\","
              + "\"relation\":\"viewer\",\"object\":\"doc:1\"}}",
          "{" + KEY + ",\"authorization_model_id\":\"" + "m".repeat(Body.MAX_NAME + 1) + "\"}",
          "{" + KEY + ",\"consistency_token\":\"" + "t".repeat(257) + "\"}",
          "{\"tuple_key\":{\"user\":\"user:\\ud83d\",\"relation\":\"r\",\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"\\udc00\",\"object\":\"d:1\"}}",
          "{" + KEY + ",\"consistency_token\":\"\\ud800x\"}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\",\"object\":\"d:1\",\"\\ud800\":1}}",
          // Numbers, huge or not, anywhere.
          "{" + KEY + ",\"context\":{\"n\":1e99999}}",
          "{" + KEY + ",\"context\":{\"n\":1e999999999999}}",
          "{" + KEY + ",\"x\":123456789012345678901234567890}",
          "{\"tuple_key\":{\"user\":1e400,\"relation\":\"r\",\"object\":\"d:1\"}}",
          // Context and contextual tuples: the tree path's.
          "{" + KEY + ",\"context\":{}}",
          "{" + KEY + ",\"context\":null}",
          "{" + KEY + ",\"context\":{\"ip\":\"10.0.0.1\",\"n\":[1,2.5,{\"a\":null}]}}",
          "{" + KEY + ",\"context\":[]}",
          "{" + KEY + ",\"contextual_tuples\":null}",
          "{" + KEY + ",\"contextual_tuples\":[]}",
          "{" + KEY + ",\"contextual_tuples\":{\"tuple_keys\":[]}}",
          "{"
              + KEY
              + ",\"contextual_tuples\":{\"tuple_keys\":[{\"user\":\"user:b\","
              + "\"relation\":\"viewer\",\"object\":\"doc:2\"}]}}",
          "{"
              + KEY
              + ",\"contextual_tuples\":[{\"user\":\"user:b\",\"relation\":\"viewer\","
              + "\"object\":\"doc:2\",\"condition\":{\"name\":\"c\",\"context\":{\"x\":1}}}]}",
          "{" + KEY + ",\"contextual_tuples\":\"x\"}",
          // Deep nesting and invalid JSON inside.
          "{" + KEY + ",\"context\":" + "[".repeat(100) + "]".repeat(100) + "}",
          "{\"tuple_key\":{\"user\":\"user:a\" \"relation\":\"r\",\"object\":\"d:1\"}}",
          "{\"tuple_key\":{\"user\":\"user:a\",\"relation\":\"r\",\"object\":\"d:1\"}" + KEY + "}",
          "{\"tuple_key\":{\"user\":\"\\x\",\"relation\":\"r\",\"object\":\"d:1\"}}");

  @Test
  void read_theCommonShape_givesWhatTheTreePathGives() {
    for (String text : COMMON) {
      CheckBody streamed = CheckBody.read(text);
      assertThat(streamed).as(text).isNotNull();
      assertThat(streamed).as(text).isEqualTo(treeRead(text).accepted());
    }
  }

  @Test
  void read_everyOtherBody_isLeftToTheTreePath() {
    for (String text : OTHERS) {
      assertThat(CheckBody.read(text)).as(text).isNull();
    }
  }

  /**
   * Whatever the body, the two paths never disagree: where the stream reads a body the tree path
   * accepts it with the same values and no context nor contextual tuples (which the stream never
   * reads). Run over every body above and over each one cut short and with each character changed.
   */
  @Test
  void read_neverDisagreesWithTheTreePath() {
    List<String> bodies = new ArrayList<>(COMMON);
    bodies.addAll(OTHERS);
    for (String text : List.copyOf(bodies)) {
      for (int i = 0; i < text.length(); i++) {
        bodies.add(text.substring(0, i));
        for (char c : new char[] {'"', '{', '}', ',', ':', ' ', 'x', '1', '\\'}) {
          bodies.add(text.substring(0, i) + c + text.substring(i + 1));
        }
      }
    }
    int streamed = 0;
    for (String text : bodies) {
      CheckBody fast = CheckBody.read(text);
      if (fast != null) {
        streamed++;
        TreeRead tree = treeRead(text);
        assertThat(tree.error()).as(text).isNull();
        assertThat(tree.accepted()).as(text).isEqualTo(fast);
      }
    }
    assertThat(streamed).isGreaterThan(COMMON.size());
  }

  /** The outcome of the tree path, as OpenFgaApi.check reads a body before it evaluates. */
  private record TreeRead(@Nullable CheckBody accepted, @Nullable String error) {}

  private static TreeRead treeRead(String text) {
    try {
      Body body = Body.parse(text, OpenFgaApi.CHECK_FIELDS);
      TupleKey key = Body.key(body.raw().get("tuple_key"), "tuple_key", true);
      boolean contextual = body.has("contextual_tuples");
      Map<String, Object> context = body.context("context");
      boolean explain = body.bool("explain") || body.bool("trace");
      String consistency = body.string("consistency", 32);
      if (!OpenFgaApi.CONSISTENCY.contains(consistency)) {
        throw Body.invalid("'consistency' must be MINIMIZE_LATENCY or HIGHER_CONSISTENCY");
      }
      String modelId = body.string("authorization_model_id");
      String token = body.string("consistency_token", 256);
      if (contextual || !context.isEmpty()) {
        return new TreeRead(null, null); // accepted, beyond the common shape
      }
      return new TreeRead(new CheckBody(key, modelId, consistency, token, explain), null);
    } catch (CastellanException e) {
      return new TreeRead(null, e.code() + ": " + e.getMessage());
    }
  }
}
