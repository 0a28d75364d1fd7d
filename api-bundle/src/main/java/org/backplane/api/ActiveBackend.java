package org.backplane.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The backend currently selected for hosts (by the configuration {@code org.backplane.backend}).
 * Registered by the runtime with the selected backend's {@value ExecutionBackend#BACKEND_ID}.
 * When the selection changes, the runtime registers the new one before unregistering the old one,
 * so a host with a dynamic, greedy reference rebinds without restarting. Streams already opened
 * keep running on the backend that opened them until they are closed.
 *
 * <pre>
 * &#64;Reference(policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
 * volatile ActiveBackend backend;
 * </pre>
 */
@ProviderType
public interface ActiveBackend extends ExecutionBackend {
    /** Service property set to true on every {@code ActiveBackend} registration. */
    String ACTIVE = "backplane.active";
}
