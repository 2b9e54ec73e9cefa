package dev.castellan.store.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryQuery.Attribute;
import dev.castellan.store.DirectoryQuery.Compare;
import dev.castellan.store.DirectoryQuery.Operator;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The directory's queries as SQL: values only ever as parameters. */
class JdbcDirectorySqlTest {

  @Test
  void values_goToParameters_neverIntoTheText() {
    String hostile = "x' OR '1'='1";
    DirectoryQuery query =
        DirectoryQuery.eq(Attribute.USER_NAME, hostile)
            .or(new Compare(Attribute.EMAIL, Operator.CO, hostile))
            .and(new Compare(Attribute.EXTERNAL_ID, Operator.NE, "E_1%"));
    List<String> params = new ArrayList<>();
    String sql = JdbcDirectory.sql(query, params);
    assertThat(sql).doesNotContain("OR '1'").doesNotContain("x'").doesNotContain("E_1");
    assertThat(params)
        .containsExactly("x' or '1'='1", "%x' or '1'='1%", "E_1%")
        .hasSize((int) sql.chars().filter(c -> c == '?').count());
    assertThat(sql)
        .isEqualTo(
            "(((x.user_name_lower <> '' AND x.user_name_lower = ?) OR EXISTS (SELECT 1 FROM"
                + " directory_user_emails e WHERE e.user_id = x.id AND (e.email_lower <> '' AND"
                + " e.email_lower LIKE ? ESCAPE '\\'))) AND NOT ((x.external_id <> '' AND"
                + " x.external_id = ?)))");
  }

  @Test
  void likePatterns_escapeTheirWildcards() {
    List<String> params = new ArrayList<>();
    JdbcDirectory.sql(new Compare(Attribute.DISPLAY_NAME, Operator.SW, "50%_a\\b"), params);
    // 50\%\_a\\b% : each wildcard and the escape character itself behind a backslash.
    assertThat(params).containsExactly("50\\%\\_a\\\\b%");
  }
}
