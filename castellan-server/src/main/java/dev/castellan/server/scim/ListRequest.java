package dev.castellan.server.scim;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The query parameters of a SCIM list request (RFC 7644 section 3.4.2): {@code filter}, {@code
 * startIndex} (1-based), {@code count}, {@code attributes} and {@code excludedAttributes}. Sorting
 * is not offered ({@code sort.supported} is false), so {@code sortBy} and {@code sortOrder} are not
 * read.
 *
 * @param filter the parsed filter, or null to list everything
 * @param startIndex the 1-based index of the first result; values below 1 read as 1 (RFC 7644
 *     section 3.4.2.4)
 * @param count how many results to return at most; negative values read as 0, values above the
 *     service's maximum as the maximum
 */
record ListRequest(
    @Nullable Filter filter,
    int startIndex,
    int count,
    List<AttributePath> attributes,
    List<AttributePath> excludedAttributes) {

  /** How many names {@code attributes} or {@code excludedAttributes} may list. */
  static final int MAX_ATTRIBUTES = 100;

  ListRequest {
    if (startIndex < 1 || count < 0) {
      throw new IllegalArgumentException(
          "startIndex is at least 1 and count at least 0, got " + startIndex + " and " + count);
    }
    attributes = List.copyOf(attributes);
    excludedAttributes = List.copyOf(excludedAttributes);
  }

  /**
   * Reads the parameters.
   *
   * @param parameter a query parameter's value by name, or null when absent
   * @param defaultCount the page size when {@code count} is absent
   * @param maxCount the largest page the service returns
   * @throws ScimException {@code invalidFilter} for a malformed filter, {@code invalidValue} for a
   *     malformed number or attribute list
   */
  static ListRequest fromQuery(
      Function<String, @Nullable String> parameter, int defaultCount, int maxCount) {
    if (defaultCount < 0 || maxCount < defaultCount) {
      throw new IllegalArgumentException(
          "need 0 <= defaultCount <= maxCount, got " + defaultCount + " and " + maxCount);
    }
    String filterText = parameter.apply("filter");
    Filter filter =
        filterText == null || filterText.isBlank() ? null : FilterParser.parse(filterText);
    long startIndex = integer(parameter.apply("startIndex"), "startIndex", 1);
    long count = integer(parameter.apply("count"), "count", defaultCount);
    return new ListRequest(
        filter,
        Math.clamp(startIndex, 1, Integer.MAX_VALUE),
        Math.clamp(count, 0, maxCount),
        attributeList(parameter.apply("attributes"), "attributes"),
        attributeList(parameter.apply("excludedAttributes"), "excludedAttributes"));
  }

  private static long integer(@Nullable String text, String name, long absent) {
    if (text == null || text.isBlank()) {
      return absent;
    }
    String trimmed = text.strip();
    if (!trimmed.matches("[+-]?\\d{1,18}")) {
      // Longer digit strings are out of any sensible range; read them as the extreme they tend to.
      if (trimmed.matches("[+-]?\\d+")) {
        return trimmed.startsWith("-") ? Long.MIN_VALUE : Long.MAX_VALUE;
      }
      throw ScimException.badRequest(
          ScimType.INVALID_VALUE,
          "'" + name + "' must be an integer, got '" + FilterParser.abbreviate(text) + "'");
    }
    return Long.parseLong(trimmed);
  }

  /** A comma-separated list of attribute paths (RFC 7644 section 3.4.2.5). */
  private static List<AttributePath> attributeList(@Nullable String text, String name) {
    if (text == null || text.isBlank()) {
      return List.of();
    }
    String[] names = text.split(",", -1);
    if (names.length > MAX_ATTRIBUTES) {
      throw ScimException.badRequest(
          ScimType.INVALID_VALUE,
          "'" + name + "' lists " + names.length + " attributes; at most " + MAX_ATTRIBUTES);
    }
    List<AttributePath> paths = new ArrayList<>(names.length);
    for (String each : names) {
      PatchPath path;
      try {
        path = FilterParser.parsePath(each.strip());
      } catch (ScimException e) {
        throw ScimException.badRequest(
            ScimType.INVALID_VALUE,
            "'"
                + name
                + "' must list attribute names separated by commas; '"
                + FilterParser.abbreviate(each)
                + "': "
                + e.error().detail());
      }
      if (path.valueFilter() != null) {
        throw ScimException.badRequest(
            ScimType.INVALID_VALUE,
            "'"
                + name
                + "' lists attribute names, not filters: '"
                + FilterParser.abbreviate(each)
                + "'");
      }
      paths.add(path.attribute());
    }
    return paths;
  }
}
