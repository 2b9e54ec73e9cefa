package dev.castellan.engine;

/** A compiled directly-related type: {@code relation} is -1 unless this is a userset. */
record Restriction(int type, int relation, boolean wildcard, String condition) {}
