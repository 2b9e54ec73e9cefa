/** Compiles and evaluates OpenFGA conditions (CEL expressions over typed context parameters). */
@NullMarked
package dev.castellan.condition;

import org.jspecify.annotations.NullMarked;
