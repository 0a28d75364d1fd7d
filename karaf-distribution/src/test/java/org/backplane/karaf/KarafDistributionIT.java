package org.backplane.karaf;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The distribution as its users meet it: started on JDK 25, driven over SSH on loopback by an
 * admin and by a viewer, Backplane installed from its features repository, the demo run, backends
 * switched through Config Admin, the command ACLs enforced, and a clean stop.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KarafDistributionIT {
    private static final String ADMIN = "karaf";
    private static final String VIEWER = "viewer";
    private static final Duration SETTLE = Duration.ofSeconds(30);

    private KarafInstance karaf;

    @BeforeAll
    void start() throws Exception {
        karaf = KarafInstance.start("it-karaf", "");
    }

    @AfterAll
    void close() throws Exception {
        if (karaf != null) {
            karaf.close();
        }
    }

    private KarafInstance.Exec as(String user, String command) throws Exception {
        return karaf.exec(user, user, command);
    }

    /** Runs {@code command} until its output satisfies {@code done} (Config Admin updates are asynchronous). */
    private KarafInstance.Exec until(String user, String command, Predicate<String> done) throws Exception {
        return karaf.until(user, user, command, done, SETTLE);
    }

    private static void assertRefused(KarafInstance.Exec exec) {
        assertThat(exec.status())
                .as("exit status of a refused command: %s", exec)
                .isNotZero();
        assertThat(exec.all()).as("why it was refused").containsAnyOf("Insufficient credentials", "Command not found");
    }

    @Test
    @Order(1)
    void runsOnJdk25AndBothUsersLogInWithTheirRoles() throws Exception {
        assertThat(as(ADMIN, "system:property java.specification.version").out().strip())
                .isEqualTo(Runtime.version().feature() + "");
        assertThat(as(ADMIN, "jaas:whoami -r").out()).contains("admin").contains("viewer");
        String viewerRoles = as(VIEWER, "jaas:whoami -r").out();
        assertThat(viewerRoles).contains("viewer").doesNotContain("admin").doesNotContain("manager");
    }

    @Test
    @Order(2)
    void installsTheFeaturesFromTheRepository() throws Exception {
        String repo = "mvn:org.backplane/karaf-features/" + System.getProperty("backplane.version") + "/xml/features";
        KarafInstance.Exec add = as(ADMIN, "feature:repo-add " + repo);
        assertThat(add.status()).as("%s", add).isZero();
        KarafInstance.Exec install = as(ADMIN, "feature:install backplane backplane-cuda backplane-metal");
        assertThat(install.status()).as("%s", install).isZero();
        String bundles = until(
                        ADMIN,
                        "bundle:list -s -t 0",
                        out -> out.lines()
                                        .filter(l -> l.contains("org.backplane.") && l.contains("Active"))
                                        .count()
                                >= 3)
                .out();
        for (String bsn : new String[] {"org.backplane.api", "org.backplane.cpu", "org.backplane.runtime"}) {
            assertThat(bundles.lines().filter(l -> l.endsWith("| " + bsn)))
                    .as("bundle %s in%n%s", bsn, bundles)
                    .singleElement()
                    .asString()
                    .contains("Active");
        }
        // Without a GPU, Karaf shows the CUDA bundle as Waiting: started, its component waiting for the backplane.cuda
        // condition.
        boolean gpu = java.nio.file.Files.exists(java.nio.file.Path.of("/dev/nvidiactl"));
        assertThat(bundles.lines().filter(l -> l.endsWith("| org.backplane.cuda-backend")))
                .as("%s", bundles)
                .singleElement()
                .asString()
                .contains(gpu ? "Active" : "Waiting");
        // Off a Mac the Metal bundle waits the same way, for the backplane.metal condition.
        assertThat(bundles.lines().filter(l -> l.endsWith("| org.backplane.metal-backend")))
                .as("%s", bundles)
                .singleElement()
                .asString()
                .contains("Waiting");
        assertThat(as(ADMIN, "feature:list -i").out())
                .contains("backplane ")
                .contains("backplane-cuda")
                .contains("backplane-metal");
    }

    @Test
    @Order(3)
    void theDemoRunsOnceFaultInjectionIsTurnedOn() throws Exception {
        KarafInstance.Exec refused = as(ADMIN, "backplane:matmuldemo");
        assertThat(refused.status()).isNotZero();
        assertThat(refused.all()).contains("fault injection is off");
        assertThat(as(ADMIN, "config:property-set -p org.backplane.backend.cpu faultInjection.enabled true")
                        .status())
                .isZero();
        KarafInstance.Exec demo = until(ADMIN, "backplane:matmuldemo", out -> out.contains("Demo passed"));
        assertThat(demo.status()).as("%s", demo).isZero();
        assertThat(demo.out()).contains("Backplane demo on backend 'cpu'").contains("Demo passed");
    }

    @Test
    @Order(4)
    void theEmbeddingsFeatureRunsTheRealWorkload() throws Exception {
        KarafInstance.Exec install = as(ADMIN, "feature:install backplane-embeddings");
        assertThat(install.status()).as("%s", install).isZero();
        KarafInstance.Exec embed = until(
                VIEWER,
                "backplane:embed \"A cat sits on the mat.\" \"A kitten is sitting on a rug.\" \"The stock market fell.\"",
                out -> out.contains("384 dimensions"));
        assertThat(embed.status()).as("%s", embed).isZero();
        List<String> pairs = embed.out().lines().filter(l -> l.contains("~")).toList();
        assertThat(pairs).as("%s", embed).hasSize(3);
        double catKitten = Double.parseDouble(pairs.get(0).trim().split("\\s+", 2)[0]);
        double catMarket = Double.parseDouble(pairs.get(1).trim().split("\\s+", 2)[0]);
        assertThat(catKitten).as("%s", embed).isGreaterThan(catMarket + 0.3);
        KarafInstance.Exec demo = until(ADMIN, "backplane:demo", out -> out.contains("Demo passed"));
        assertThat(demo.status()).as("%s", demo).isZero();
        assertThat(demo.out()).contains("model all-minilm-l6-v2.onnx").contains("recovered by a reset");
    }

    @Test
    @Order(5)
    void backendsSwitchThroughConfigPropertySet() throws Exception {
        boolean gpu = java.nio.file.Files.exists(java.nio.file.Path.of("/dev/nvidiactl"));
        assertThat(as(ADMIN, "config:property-set -p org.backplane.backend backend cuda,cpu")
                        .status())
                .isZero();
        String status = until(ADMIN, "backplane:backend", out -> out.contains("preference cuda,cpu"))
                .out();
        assertThat(status).contains("preference cuda,cpu");
        if (gpu) {
            assertThat(status).contains("active     cuda");
        } else {
            assertThat(status).contains("active     cpu").contains("inactive   cuda: libcuda.so.1 could not be loaded");
        }
        if (System.getProperty("os.name", "").equals("Linux")) {
            assertThat(status).contains("inactive   metal: Metal is Apple-only");
        }
        assertThat(as(ADMIN, "config:property-set -p org.backplane.backend backend cpu")
                        .status())
                .isZero();
        assertThat(until(ADMIN, "backplane:backend", out -> out.contains("preference cpu ("))
                        .out())
                .contains("preference cpu (")
                .contains("active     cpu");
    }

    @Test
    @Order(6)
    void theViewerSeesStreamsBackendsAndHealth() throws Exception {
        assertThat(as(VIEWER, "backplane:streams").status()).isZero();
        assertThat(as(VIEWER, "backplane:backend").out()).contains("active     cpu");
        assertThat(as(VIEWER, "backplane:verify").out()).contains("result checking is off");
        assertThat(as(VIEWER, "hc:exec -v backplane | grep Backplane").out())
                .contains("Backplane streams")
                .contains("OK");
    }

    @Test
    @Order(7)
    void theViewerIsRefusedEverythingThatChangesState() throws Exception {
        assertRefused(as(VIEWER, "backplane:reset cpu:1"));
        assertRefused(as(VIEWER, "backplane:resetall"));
        assertRefused(as(VIEWER, "backplane:matmuldemo"));
        assertRefused(as(VIEWER, "backplane:backend cuda"));
        assertRefused(as(VIEWER, "backplane:verify on"));
        assertRefused(as(VIEWER, "config:property-set -p org.backplane.backend backend cuda"));
        assertRefused(as(VIEWER, "config:edit org.backplane.backend.cpu"));
        assertRefused(as(VIEWER, "feature:uninstall backplane"));
        // and none of it took effect
        assertThat(as(ADMIN, "backplane:backend").out())
                .contains("preference cpu (")
                .contains("active     cpu");
        assertThat(as(ADMIN, "backplane:verify").out()).contains("result checking is off");
    }

    @Test
    @Order(8)
    void theAdminResetsAndTogglesResultChecking() throws Exception {
        assertThat(as(ADMIN, "backplane:resetall").out()).contains("stream(s)");
        assertThat(as(ADMIN, "backplane:verify on").out()).contains("result checking is on");
        assertThat(as(ADMIN, "backplane:verify off").out()).contains("result checking is off");
        assertThat(as(ADMIN, "backplane:backend cpu").out()).contains("active     cpu");
    }

    @Test
    @Order(9)
    void stopsCleanlyWithNoSubjectErrorsLogged() throws Exception {
        String log = karaf.log();
        assertThat(log).doesNotContain("getSubject is not supported").doesNotContain("UnsupportedOperationException");
        assertThat(karaf.stop()).isZero();
    }
}
