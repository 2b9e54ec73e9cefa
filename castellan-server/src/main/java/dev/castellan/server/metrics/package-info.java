/**
 * What a node tells its operators: the Prometheus metrics ({@link
 * dev.castellan.server.metrics.ServerMetrics}), index and database gauges read at scrape time,
 * readiness, and the access log.
 */
@NullMarked
package dev.castellan.server.metrics;

import org.jspecify.annotations.NullMarked;
