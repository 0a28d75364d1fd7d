package org.backplane.isolation.internal.host;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Everything needed to start one worker: the JVM, its options and class path, the backend it runs
 * and its configuration, and where its socket and log go.
 */
record Launch(
        String backendId,
        Path java,
        List<String> jvmOptions,
        List<Path> classpath,
        String mainClass,
        String workerBackend,
        Map<String, String> configuration,
        PrivateDirectory directory,
        Duration startTimeout) {}
