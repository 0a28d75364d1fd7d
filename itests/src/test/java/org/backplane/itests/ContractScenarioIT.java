package org.backplane.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import javax.inject.Inject;
import org.backplane.api.ActiveBackend;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.PoisonStateService;
import org.backplane.api.StreamError;
import org.backplane.api.StreamEvents;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamState;
import org.backplane.api.StreamStateListener;
import org.backplane.api.StreamTransition;
import org.backplane.api.fault.FaultInjector;
import org.backplane.api.fault.FaultRule;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;

/**
 * The stream error contract through the OSGi services: a fault injected into one of four streams
 * on the active backend is seen by whiteboard listeners and as EventAdmin events, the other three
 * streams' results stay exact, the error is reported once and then refused, and the stream is
 * reset through the poison-state service and through the console command, then recovers.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ContractScenarioIT extends ItestSupport {
    @Inject
    private PoisonStateService poison;

    private final Recorder recorder = new Recorder();
    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Configuration
    public Option[] config() {
        return baseOptions();
    }

    private final CountDownLatch releaseBlockedListener = new CountDownLatch(1);

    @Before
    public void listen() {
        // A whiteboard listener that blocks and one that throws, registered before the recorder:
        // neither may delay a stream or the other listeners.
        registrations.add(context.registerService(
                StreamStateListener.class,
                t -> {
                    try {
                        releaseBlockedListener.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                null));
        registrations.add(context.registerService(
                StreamStateListener.class,
                t -> {
                    throw new IllegalStateException("a broken host listener");
                },
                null));
        registrations.add(context.registerService(StreamStateListener.class, recorder, null));
        Dictionary<String, Object> topics = new Hashtable<>();
        topics.put(
                EventConstants.EVENT_TOPIC,
                new String[] {StreamEvents.TOPIC_ALL_STREAMS, StreamEvents.TOPIC_DEVICE_LOST});
        registrations.add(context.registerService(EventHandler.class, recorder, topics));
    }

    @After
    public void stopListening() {
        releaseBlockedListener.countDown();
        registrations.forEach(ServiceRegistration::unregister);
    }

    @Test
    public void aFaultOnOneOfFourStreamsIsIsolatedReportedOnceRefusedAndResetTwoWays() throws Exception {
        ActiveBackend active = activeCpuWithFaultInjection();

        List<float[]> reference = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            try (ComputeStream s = active.openStream("reference-" + i)) {
                reference.add(workload(s, i));
            }
        }
        List<ComputeStream> streams = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            streams.add(active.openStream("scenario-" + i));
        }
        ComputeStream faulty = streams.get(1);
        FaultInjector.of(active)
                .orElseThrow()
                .schedule(FaultRule.atOp(faulty.id().toString(), 5, ErrorKind.PAGE_FAULT)
                        .withNativeCode(3));

        StreamFailedException report = null;
        for (int i = 0; i < 4; i++) {
            try {
                float[] result = workload(streams.get(i), i);
                assertThat(Arrays.equals(result, reference.get(i)))
                        .as("stream %d bit-identical to the fault-free run", i)
                        .isTrue();
            } catch (StreamFailedException e) {
                assertThat(i).as("only the faulty stream fails").isEqualTo(1);
                report = e;
            }
        }
        assertThat(report).as("the faulty stream reported its error").isNotNull();
        StreamError error = report.error();
        assertThat(error.kind()).isEqualTo(ErrorKind.PAGE_FAULT);
        assertThat(error.sequence()).isEqualTo(5);
        assertThatThrownBy(faulty::synchronize).isInstanceOf(StreamPoisonedException.class);

        // Listeners and events: FAILED then POISONED for the faulty stream only.
        StreamTransition failed = recorder.awaitTransition(
                t -> t.stream().equals(faulty.id()) && t.type() == StreamTransition.Type.FAILED);
        assertThat(failed.error()).isEqualTo(error);
        recorder.awaitTransition(t -> t.stream().equals(faulty.id()) && t.type() == StreamTransition.Type.POISONED);
        recorder.awaitEvent(e -> e.getTopic().equals(StreamEvents.TOPIC_FAILED)
                && faulty.id().toString().equals(e.getProperty("stream.id"))
                && "PAGE_FAULT".equals(e.getProperty(StreamEvents.PROP_ERROR_KIND))
                && Long.valueOf(3).equals(e.getProperty(StreamEvents.PROP_ERROR_CODE)));
        recorder.awaitEvent(e -> e.getTopic().equals(StreamEvents.TOPIC_POISONED)
                && faulty.id().toString().equals(e.getProperty("stream.id")));
        for (ComputeStream other : List.of(streams.get(0), streams.get(2), streams.get(3))) {
            assertThat(recorder.transitions)
                    .noneMatch(t -> t.stream().equals(other.id()) && t.type() == StreamTransition.Type.FAILED);
            assertThat(other.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        }
        assertThat(poison.poisoned()).extracting(s -> s.id()).containsExactly(faulty.id());

        // Reset through the poison-state service.
        assertThat(poison.reset(faulty.id()).generation()).isEqualTo(2);
        recorder.awaitTransition(t -> t.stream().equals(faulty.id()) && t.type() == StreamTransition.Type.RESET);
        recorder.awaitEvent(e -> e.getTopic().equals(StreamEvents.TOPIC_RESET)
                && faulty.id().toString().equals(e.getProperty("stream.id")));
        assertThat(Arrays.equals(workload(faulty, 1), reference.get(1)))
                .as("recovered after the service reset")
                .isTrue();

        // Fail it again, and reset through the console command this time.
        FaultInjector.of(active).orElseThrow().raise(faulty.id(), ErrorKind.TIMEOUT, 2, "second fault");
        assertThatThrownBy(faulty::synchronize).isInstanceOf(StreamFailedException.class);
        String output = gogo("backplane:reset " + faulty.id());
        assertThat(output).contains("reset " + faulty.id()).contains("ACTIVE").contains("generation 3");
        assertThat(Arrays.equals(workload(faulty, 1), reference.get(1)))
                .as("recovered after the command reset")
                .isTrue();

        streams.forEach(ComputeStream::close);
        recorder.awaitEvent(e -> e.getTopic().equals(StreamEvents.TOPIC_CLOSED)
                && faulty.id().toString().equals(e.getProperty("stream.id")));
        for (org.osgi.service.event.Event e : recorder.events) {
            for (String name : e.getPropertyNames()) {
                Object v = e.getProperty(name);
                assertThat(v instanceof String || v instanceof Number || v instanceof Boolean)
                        .as("event property %s is a String or primitive, not %s", name, v.getClass())
                        .isTrue();
            }
        }
    }

    static float[] workload(ComputeStream s, int seed) {
        Random r = new Random(seed);
        float[] w = new float[64 * 64];
        float[] x = new float[64 * 64];
        for (int i = 0; i < w.length; i++) {
            w[i] = (r.nextFloat() - 0.5f) / 8;
            x[i] = r.nextFloat() - 0.5f;
        }
        DeviceArray wd = s.upload(w, 64, 64);
        DeviceArray xd = s.upload(x, 64, 64);
        for (int step = 0; step < 8; step++) {
            xd = s.tanh(s.matmul(xd, wd));
        }
        return s.sum(xd, 1).download();
    }
}
