package dev.castellan.server.scim;

import org.jspecify.annotations.Nullable;

/**
 * The {@code path} of a PATCH operation (RFC 7644 section 3.5.2): an attribute path, and for a
 * multi-valued attribute an optional filter choosing which values the operation targets. In {@code
 * emails[type eq "work"].value} the attribute is {@code emails.value} and the filter {@code type eq
 * "work"} selects among the {@code emails} values; in {@code members[value eq "2819c223"]} the
 * attribute is {@code members}.
 */
record PatchPath(AttributePath attribute, @Nullable Filter valueFilter) {

  static PatchPath parse(String path) {
    return FilterParser.parsePath(path);
  }
}
