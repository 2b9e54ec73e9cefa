package dev.castellan.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.ErrorCode;
import org.junit.jupiter.api.Test;

/** The HTTP statuses of Castellan's own conflict codes. */
class ApiErrorsTest {

  @Test
  void directoryConflicts_are409And412() {
    assertThat(ApiErrors.status(ErrorCode.UNIQUENESS_CONFLICT)).isEqualTo(409);
    assertThat(ApiErrors.status(ErrorCode.ALREADY_EXISTS)).isEqualTo(409);
    assertThat(ApiErrors.status(ErrorCode.VERSION_MISMATCH)).isEqualTo(412);
    assertThat(ApiErrors.status(ErrorCode.VALIDATION_ERROR)).isEqualTo(400);
  }
}
