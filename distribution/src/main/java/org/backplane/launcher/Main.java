package org.backplane.launcher;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The command behind {@code ./backplane}: starts the embedded Backplane (Felix, Gogo and the CPU
 * backend as the default) and either opens the Gogo shell or runs one {@code backplane:} command and
 * exits with its status.
 *
 * <pre>
 * backplane                 interactive shell (try: backplane:streams, backplane:demo, lb)
 * backplane demo            run backplane:demo and exit (0 if the contract held)
 * backplane streams         any backplane: command, e.g. backend, verify on, stream cpu:1
 * </pre>
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help"))) {
            usage();
            System.exit(0);
        }
        quietLogging();
        Path bundles = Path.of(System.getProperty("backplane.bundles", "distribution/target/bundles"));
        Path storage = Files.createTempDirectory("backplane-felix-");
        boolean interactive = args.length == 0;
        Launcher launcher = Launcher.start(bundles, storage);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
            try {
                launcher.close();
            } catch (Exception e) {
                // already stopping
            }
        }));
        if (interactive) {
            System.out.println(
                    "Backplane is running on its CPU backend. Try: backplane:demo, backplane:embed \"a text\" "
                            + "\"another\", backplane:streams, backplane:backend, lb. Type 'stop 0' to exit.");
            launcher.startShell();
            launcher.awaitStop();
            System.exit(0);
        }
        String command = commandLine(args);
        int status;
        try {
            // Not System.out itself: Gogo redirects System.out to the session's stream, which would then be itself.
            launcher.execute(
                    command, new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8));
            status = 0;
        } catch (Exception e) {
            System.err.println(command + " failed: " + e.getMessage());
            status = 1;
        }
        launcher.close();
        System.exit(status);
    }

    /**
     * The Gogo command line for the arguments: the first names the command ({@code backplane:} is
     * implied), the others are quoted as needed, so {@code backplane embed "A cat." "A kitten."}
     * passes two texts.
     */
    static String commandLine(String[] args) {
        StringBuilder line = new StringBuilder(args[0].contains(":") ? args[0] : "backplane:" + args[0]);
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            boolean plain =
                    !a.isEmpty() && a.chars().allMatch(c -> Character.isLetterOrDigit(c) || "-_.:/=,".indexOf(c) >= 0);
            line.append(' ').append(plain ? a : "\"" + a.replace("\\", "\\\\").replace("\"", "\\\"") + "\"");
        }
        return line.toString();
    }

    /** Warnings and errors only on the console, unless -Dbackplane.log=INFO (or another level) asks for more. */
    private static void quietLogging() {
        java.util.logging.Level level = java.util.logging.Level.parse(System.getProperty("backplane.log", "WARNING"));
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.setLevel(level);
        for (java.util.logging.Handler h : root.getHandlers()) {
            h.setLevel(level);
        }
    }

    private static void usage() {
        System.out.println("""
                usage: backplane [command [args...]]
                  (no command)      start Backplane with an interactive Gogo shell
                  demo              four streams embedding sentences (all-MiniLM-L6-v2), a fault injected mid-model
                                    into one: isolation, report once, refusal, reset, recovery
                  embed <text>...   sentence embeddings: dimensions and first values, or pairwise similarities
                  similar <q> <c>.. candidates ranked by similarity to a query
                  streams           the open streams of every backend
                  stream <id>       one stream in detail, with its captured error
                  reset <id>        reset a stream; resetall resets every failed stream
                  backend [ids]     show the backend selection, or switch (e.g. backend metal,cuda,cpu)
                  verify [on|off]   result checking against the CPU reference
                Commands run in a fresh embedded framework that exits afterwards; use the shell to keep state.""");
    }
}
