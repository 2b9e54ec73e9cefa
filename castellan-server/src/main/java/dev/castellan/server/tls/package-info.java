/**
 * HTTPS: the server identity read from PEM files with the JDK alone, Jetty's TLS listener that
 * serves renewed files without a restart, and the fixed answer to plain HTTP on the HTTPS port.
 */
@NullMarked
package dev.castellan.server.tls;

import org.jspecify.annotations.NullMarked;
