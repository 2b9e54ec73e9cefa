/** Authorization models: the DSL and JSON forms, their validation and modular models. */
@NullMarked
package dev.castellan.model;

import org.jspecify.annotations.NullMarked;
