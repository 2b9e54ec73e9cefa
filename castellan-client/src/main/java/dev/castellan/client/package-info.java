/**
 * In-app enforcement against a Castellan server: {@link dev.castellan.client.CastellanClient} asks
 * whether a token's holder may do something (with an optional decision cache), {@link
 * dev.castellan.client.CastellanFilter} and {@link dev.castellan.client.CastellanJavalin} enforce a
 * route table in a servlet container or a Javalin app, and {@link
 * dev.castellan.client.CastellanClientException} is the one exception family. No argument and no
 * result of the API is null.
 */
@NullMarked
package dev.castellan.client;

import org.jspecify.annotations.NullMarked;
