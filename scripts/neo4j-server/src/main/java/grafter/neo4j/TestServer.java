package grafter.neo4j;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * A Neo4j Community DBMS for grafter's tests, started by {@code scripts/neo4j}.
 *
 * <p>Usage: {@code TestServer DATA_DIR PORT}, with the {@code neo4j} user's password in the
 * environment variable {@code GRAFTER_NEO4J_PASSWORD} (not an argument: arguments show in
 * {@code ps}). Neo4j runs embedded in this process: the Bolt connector listens on 127.0.0.1:PORT,
 * HTTP and HTTPS are off, authentication is on, and everything the DBMS writes lives under
 * DATA_DIR. The process writes {@code DATA_DIR/server.pid} when it starts and
 * {@code DATA_DIR/ready} once the password is set (Bolt answers from then on), and shuts the
 * DBMS down cleanly on SIGTERM or SIGINT.
 *
 * <p>Community holds two databases, {@code neo4j} and {@code system}: {@code CREATE DATABASE}
 * is an Enterprise feature, so tests share {@code neo4j} and keep apart by their labels.
 */
public final class TestServer {
    private static final String PASSWORD_VARIABLE = "GRAFTER_NEO4J_PASSWORD";

    private TestServer() {}

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {
            // Neo4j's threads would keep a half-started process alive: exit (the shutdown hook,
            // once registered, stops the DBMS), so that scripts/neo4j sees the failure at once.
            System.err.println("grafter-neo4j: Neo4j did not start:");
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: TestServer DATA_DIR PORT (password in " + PASSWORD_VARIABLE + ")");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String password = System.getenv(PASSWORD_VARIABLE);
        if (password == null || password.length() < 8) {
            // Neo4j refuses passwords shorter than 8 characters.
            System.err.println(PASSWORD_VARIABLE + " must hold the neo4j user's password (8 characters or more)");
            System.exit(2);
        }
        Files.createDirectories(home);
        Path ready = home.resolve("ready");
        Files.deleteIfExists(ready);
        writeAtomically(home.resolve("server.pid"), ProcessHandle.current().pid() + "\n");

        Instant started = Instant.now();
        // Bolt's event loops wait 5 s for quiet, twice, before they stop: stop at once (every
        // connection is closed by then). An internal setting, so by name in a file: its type
        // changed (seconds in 5.26, a duration in 2025.x), and "0" reads as either.
        Path internalSettings = home.resolve("grafter-internal.conf");
        Files.writeString(internalSettings, "internal.dbms.bolt.netty_server_shutdown_quiet_period=0\n",
                StandardCharsets.UTF_8);
        DatabaseManagementService service = new DatabaseManagementServiceBuilder(home)
                .loadPropertiesFromFile(internalSettings)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                // The machine is shared with builds: a small page cache (the heap is set by -Xmx).
                .setConfig(GraphDatabaseSettings.pagecache_memory, 512L * 1024 * 1024)
                // Test data in a temporary directory: no 250 MB preallocated transaction logs,
                // and only the newest log file kept.
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "false")
                // A test server sends no usage data.
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("grafter-neo4j: shutting down");
            service.shutdown();
            try {
                Files.deleteIfExists(ready);
                Files.deleteIfExists(home.resolve("server.pid"));
            } catch (IOException e) {
                System.err.println("grafter-neo4j: " + e);
            }
            System.out.println("grafter-neo4j: stopped");
            stopped.countDown();
        }, "grafter-neo4j-shutdown"));

        // The embedded DBMS runs without the authentication a server's `neo4j-admin dbms
        // set-initial-password` would have prepared; set it here, through the system database
        // (a parameter: the password is never part of the statement's text).
        // Started again on its data (NEO4J_KEEP_DATA), the user already has that password,
        // which Neo4j refuses to set twice.
        try {
            service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        } catch (RuntimeException e) {
            if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
                throw e;
            }
        }

        writeAtomically(ready, "bolt://127.0.0.1:" + port + "\n");
        System.out.printf("grafter-neo4j: Neo4j %s ready on bolt://127.0.0.1:%d in %d ms (data: %s)%n",
                neo4jVersion(), port, Duration.between(started, Instant.now()).toMillis(), home);
        stopped.await();
    }

    /** Writes a file that scripts poll: they see it whole or not at all, never empty. */
    private static void writeAtomically(Path file, String text) throws IOException {
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        Files.writeString(partial, text, StandardCharsets.UTF_8);
        Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String neo4jVersion() {
        Package neo4j = DatabaseManagementService.class.getPackage();
        String version = neo4j == null ? null : neo4j.getImplementationVersion();
        return version == null ? "(version unknown)" : version;
    }
}
