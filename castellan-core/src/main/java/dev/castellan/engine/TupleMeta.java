package dev.castellan.engine;

import java.util.Map;

/** The condition of a conditional tuple, kept beside its subject in {@link Postings}. */
record TupleMeta(String condition, Map<String, Object> context) {}
