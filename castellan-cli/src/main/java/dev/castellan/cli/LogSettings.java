package dev.castellan.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import dev.castellan.server.metrics.RequestLog;
import java.net.URL;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.LoggerFactory;

/**
 * How the process logs: human-readable lines (the default, for a terminal) or one JSON object per
 * line for a log pipeline, and whether each request gets an access-log line. Both formats carry the
 * request id ({@code request_id} in JSON, {@code [id]} in text) on every line logged while serving
 * a request.
 *
 * <p>Logback is the distribution's choice (the CLI, its shaded jar and the image): the server
 * library logs through SLF4J only, so an embedding application keeps its own backend.
 *
 * @param format text or JSON
 * @param accessLog one line per request on the {@value RequestLog#LOGGER} logger (method, path,
 *     route, status, duration, caller, request id; never credentials)
 */
record LogSettings(Format format, boolean accessLog) {
  static final LogSettings DEFAULT = new LogSettings(Format.TEXT, false);

  public LogSettings {
    Objects.requireNonNull(format, "format");
  }

  enum Format {
    TEXT,
    JSON;

    /** {@code text} or {@code json}, in any case. */
    static Format parse(String value) {
      return switch (value.trim().toLowerCase(Locale.ROOT)) {
        case "text" -> TEXT;
        case "json" -> JSON;
        default ->
            throw new IllegalArgumentException(
                "log format must be 'text' or 'json', was '" + value + "'");
      };
    }
  }

  /**
   * Reconfigures logback for this process: {@code logback-json.xml} from the classpath for JSON
   * (the same loggers and levels as {@code logback.xml}), and the access logger's level.
   */
  void apply() {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return; // another SLF4J backend: its own configuration decides
    }
    if (format == Format.JSON) {
      URL config = LogSettings.class.getResource("/logback-json.xml");
      if (config == null) {
        throw new IllegalStateException("logback-json.xml is missing from the classpath");
      }
      JoranConfigurator configurator = new JoranConfigurator();
      configurator.setContext(context);
      context.reset();
      try {
        configurator.doConfigure(config);
      } catch (JoranException e) {
        throw new IllegalStateException("logback-json.xml is invalid: " + e.getMessage(), e);
      }
    }
    context.getLogger(RequestLog.LOGGER).setLevel(accessLog ? Level.INFO : Level.OFF);
  }
}
