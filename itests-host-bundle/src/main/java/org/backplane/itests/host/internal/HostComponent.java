package org.backplane.itests.host.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.ActiveBackend;
import org.backplane.api.BackplaneException;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.itests.host.HostProbe;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** A host that holds the active backend the way the API documentation recommends. */
@Component(immediate = true)
public final class HostComponent implements HostProbe {
    private static final AtomicInteger ACTIVATIONS = new AtomicInteger(); // test bookkeeping only: counts restarts

    private final List<String> bindings = new CopyOnWriteArrayList<>();
    private final AtomicLong submitted = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failedClearly = new AtomicLong();
    private final AtomicLong wrong = new AtomicLong();
    private final List<String> unexplained = new CopyOnWriteArrayList<>();
    private final List<String> backendsUsed = new CopyOnWriteArrayList<>();
    private volatile ActiveBackend backend;
    private volatile boolean working;
    private Thread worker;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindBackend(ActiveBackend b) {
        bindings.add("bind " + b.id());
        backend = b;
    }

    void unbindBackend(ActiveBackend b) {
        bindings.add("unbind " + b.id());
        if (backend == b) {
            backend = null;
        }
    }

    @Activate
    void activate() {
        ACTIVATIONS.incrementAndGet();
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        if (working) {
            stopWork();
        }
    }

    @Override
    public List<String> bindings() {
        return List.copyOf(bindings);
    }

    @Override
    public String currentBackend() {
        ActiveBackend b = backend;
        return b == null ? null : b.id();
    }

    @Override
    public int activations() {
        return ACTIVATIONS.get();
    }

    @Override
    public synchronized void startWork() {
        working = true;
        worker = Thread.ofPlatform().name("itests-host-work").start(this::work);
    }

    private void work() {
        float v = 1;
        while (working) {
            ActiveBackend b = backend;
            if (b == null) {
                Thread.onSpinWait();
                continue;
            }
            if (!backendsUsed.contains(b.id())) {
                backendsUsed.add(b.id());
            }
            ComputeStream s;
            try {
                s = b.openStream("host-work");
            } catch (BackplaneException e) {
                continue; // the backend went away between the read and the call; the next loop sees the new one
            }
            try {
                for (int i = 0; i < 20 && working; i++, v++) {
                    submitted.incrementAndGet();
                    try {
                        DeviceArray x = s.upload(new float[] {v, 2 * v}, 2);
                        float[] y = s.add(s.mul(x, x), x).download();
                        if (y[0] == v * v + v && y[1] == 4 * v * v + 2 * v) {
                            completed.incrementAndGet();
                        } else {
                            wrong.incrementAndGet();
                        }
                    } catch (BackplaneException e) {
                        failedClearly.incrementAndGet(); // for example: the backend stopped under this stream
                        break;
                    } catch (RuntimeException e) {
                        unexplained.add(e.toString());
                        break;
                    }
                }
            } finally {
                s.close();
            }
        }
    }

    @Override
    public synchronized WorkReport stopWork() throws InterruptedException {
        working = false;
        if (worker != null) {
            worker.join();
            worker = null;
        }
        return new WorkReport(submitted.get(), completed.get(), failedClearly.get(), wrong.get(), List.copyOf(unexplained),
                new ArrayList<>(backendsUsed));
    }
}
