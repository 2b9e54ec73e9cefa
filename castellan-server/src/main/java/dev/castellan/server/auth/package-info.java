/**
 * Who is calling and what they may do: API keys, JWT issuers, trusted proxies, the principal a
 * request carries and the system-store decisions that authorize it.
 */
@NullMarked
package dev.castellan.server.auth;

import org.jspecify.annotations.NullMarked;
