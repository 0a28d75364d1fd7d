// The Metal simulator's control interface: fault injection and the call log, for tests. Plain C
// functions, bound by the tests through FFM. Nothing here exists on a Mac; the Metal backend itself
// never calls it.
#ifndef BPSIM_CONTROL_H
#define BPSIM_CONTROL_H

// Clears every injection, the call log and the device-removed state; sets the memory limit back to
// its default (4 GiB).
void bpsim_reset(void);

// The command buffer committed on a queue labelled `label` ("*": any queue) after `skip` others
// completes with MTLCommandBufferStatusError and an NSError of MTLCommandBufferErrorDomain and
// `code`. Code 11 (device removed) also fails every later command buffer of the device.
void bpsim_fail_command_buffer(const char *label, long skip, long code);

// Like bpsim_fail_command_buffer, with the text IOGPU gives work discarded during another
// command buffer's recovery (kIOGPUCommandBufferCallbackErrorInnocentVictim), code 1.
void bpsim_innocent_victim(const char *label, long skip);

// The next command buffer on `label` reports a status outside MTLCommandBufferStatus (42): a
// driver bug the backend must survive without letting an exception escape its handler.
void bpsim_invalid_status(const char *label);

// The next `count` buffer allocations return nil.
void bpsim_fail_allocations(long count);

// The next newLibraryWithSource:options:error: fails with MTLLibraryErrorCompileFailure and `message`.
void bpsim_fail_next_compile(const char *message);

// Completion handlers of queues labelled `label` ("*": all) run `millis` later than the work ends
// (0: no delay), so that handlers complete out of order across streams. A negative `millis` holds
// them until the label's rule is set again (or the simulator is reset): out of order by construction.
void bpsim_delay_handlers(const char *label, long millis);

// Bytes the device may hold in buffers at once; allocations beyond return nil.
void bpsim_set_memory_limit(long bytes);
long bpsim_allocated_bytes(void);

// Completion handlers registered for committed command buffers whose handler thread is not done
// with them yet (the handlers returned and the command buffer released): 0 means the simulator will
// receive no more messages from a handler.
long bpsim_pending_handlers(void);

// The call log: every Objective-C message the simulator's objects received.
long bpsim_calls_total(void);
// Messages received by a queue labelled `label` and by its command buffers and encoders.
long bpsim_calls_for(const char *label);
// The last entries ("label selector", one per line), newest last; returns the bytes written.
long bpsim_log_tail(char *buffer, long capacity);

#endif
