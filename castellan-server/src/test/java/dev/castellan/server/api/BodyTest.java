package dev.castellan.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A request body has one reading: the one a proxy or a log in front of Castellan also sees. */
class BodyTest {
  private static final Set<String> CHECK = OpenFgaApi.CHECK_FIELDS;

  /**
   * Found by OpenFgaRequestFuzzTest#check (crash-99c8841a): what followed the object was ignored.
   */
  @Test
  void parse_dataAfterTheObject_isAValidationError() {
    for (String body :
        new String[] {
          "{\"tuple_key\":{}}\"",
          "{\"tuple_key\":{}} {\"tuple_key\":{}}",
          "{\"tuple_key\":{}}]",
          "{} 1"
        }) {
      assertThatThrownBy(() -> Body.parse(body, CHECK))
          .as(body)
          .isInstanceOf(CastellanException.class)
          .hasMessageStartingWith("the request body ")
          .satisfies(e -> assertCode(e, ErrorCode.VALIDATION_ERROR));
    }
    assertThatThrownBy(() -> Body.parse("{} \"x\"", CHECK))
        .hasMessage("the request body must be one JSON object, with nothing after it");
    assertThat(Body.parse("{\"explain\":true}\n  ", CHECK).bool("explain")).isTrue();
  }

  /** A key given twice: Jackson kept the last, a proxy or a log may keep the first. */
  @Test
  void parse_aKeyTwice_isAValidationError() {
    String body =
        "{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:anne\"},"
            + "\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:bob\"}}";
    assertThatThrownBy(() -> Body.parse(body, CHECK))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("Duplicate field 'tuple_key'")
        .satisfies(e -> assertCode(e, ErrorCode.VALIDATION_ERROR));
    assertThatThrownBy(
            () -> Body.parse("{\"tuple_key\":{\"user\":\"user:a\",\"user\":\"user:b\"}}", CHECK))
        .isInstanceOf(CastellanException.class)
        .hasMessageContaining("Duplicate field 'user'");
  }

  private static void assertCode(Throwable e, ErrorCode code) {
    assertThat(((CastellanException) e).code()).isEqualTo(code);
  }

  /**
   * Found by OpenFgaRequestFuzzTest#check (crash-78f9c456): the JSON escape of half a surrogate
   * pair was accepted in a user; UTF-8 cannot hold it, so a store encoding it keeps '?' instead.
   */
  @Test
  void string_withAnUnpairedSurrogate_isAValidationError() {
    for (String escaped : new String[] {"\\ud800", "\\udc00", "a\\ud800b", "\\udc00\\ud800"}) {
      Body body = Body.parse("{\"user\":\"user:" + escaped + "\"}", Set.of("user"));
      assertThatThrownBy(() -> body.string("user"))
          .as(escaped)
          .isInstanceOf(CastellanException.class)
          .hasMessage("'user' is not valid Unicode (an unpaired surrogate)");
    }
    assertThat(Body.parse("{\"user\":\"user:\\ud83d\\ude00\"}", Set.of("user")).string("user"))
        .isEqualTo("user:\uD83D\uDE00");
  }
}
