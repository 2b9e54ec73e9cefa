package dev.castellan.examples.workflows;

import dev.castellan.client.CastellanClient;
import io.javalin.Javalin;
import java.time.Duration;

/**
 * Starts the workflow API. Settings from arguments or the environment:
 *
 * <pre>
 * --castellan-url URL   CASTELLAN_URL   Castellan's address (default http://localhost:8080)
 * --port N              PORT            the app's port (default 8000)
 * --host H              HOST            the address to listen on (default 127.0.0.1)
 * </pre>
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    String url = setting(args, "--castellan-url", "CASTELLAN_URL", "http://localhost:8080");
    String host = setting(args, "--host", "HOST", "127.0.0.1");
    int port;
    try {
      port = Integer.parseInt(setting(args, "--port", "PORT", "8000"));
    } catch (NumberFormatException e) {
      System.err.println("error: --port (or PORT) must be a number");
      System.exit(2);
      return;
    }
    CastellanClient client =
        CastellanClient.builder()
            .baseUrl(url)
            // A just-started Castellan's first answers are slower (class loading, JIT); past this
            // the request is refused with 503 rather than left waiting.
            .requestTimeout(Duration.ofSeconds(5))
            // Repeated calls with the same token within a second are answered locally; a policy
            // edit reaches the app within Castellan's 2 s reload plus this second.
            .cache(Duration.ofSeconds(1))
            .build();
    Javalin app = WorkflowApi.create(client, host, port).start();
    System.out.println(
        "workflow API on http://" + host + ":" + app.port() + ", asking Castellan at " + url);
  }

  private static String setting(String[] args, String flag, String env, String fallback) {
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals(flag) && i + 1 < args.length) {
        return args[i + 1];
      }
      if (args[i].startsWith(flag + "=")) {
        return args[i].substring(flag.length() + 1);
      }
    }
    String value = System.getenv(env);
    return value == null || value.isBlank() ? fallback : value;
  }
}
