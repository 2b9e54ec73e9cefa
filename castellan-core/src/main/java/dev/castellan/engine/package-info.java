/** The decision engine: the in-memory tuple index and check, list-objects and list-users. */
@NullMarked
package dev.castellan.engine;

import org.jspecify.annotations.NullMarked;
