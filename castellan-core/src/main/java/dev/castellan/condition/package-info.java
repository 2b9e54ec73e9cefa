/** Compiles and evaluates OpenFGA conditions (CEL expressions over typed context parameters). */
package dev.castellan.condition;
