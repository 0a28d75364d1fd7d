package org.backplane.api;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Observes every stream of every registered {@link ExecutionBackend} and resets them at run time.
 * Hosts use it to see which streams are poisoned and why, and to bring them back without
 * restarting anything. Listeners are whiteboard {@link StreamStateListener} services; transitions
 * are also posted as events on the {@link StreamEvents} topics.
 */
@ProviderType
public interface PoisonStateService {
    /** Snapshots of all open streams of all backends. */
    List<StreamSnapshot> streams();

    /** Snapshot of one stream, if it is open. */
    Optional<StreamSnapshot> stream(StreamId id);

    /** Only the streams that are not {@link StreamState#ACTIVE}. */
    default List<StreamSnapshot> poisoned() {
        return streams().stream().filter(s -> !s.isHealthy()).toList();
    }

    /**
     * Resets one stream (S7) and returns its new snapshot.
     *
     * @throws IllegalArgumentException if no open stream has this id
     * @throws DeviceLostException if the stream's device is lost and cannot be recovered here
     */
    StreamSnapshot reset(StreamId id);

    /** Resets every failed or poisoned stream of every backend; returns how many were reset. */
    int resetAll();
}
