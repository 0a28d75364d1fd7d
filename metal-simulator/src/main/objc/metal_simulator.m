// A small Metal simulator for Linux, so that the Metal backend's real code (message sends through
// the Objective-C runtime, blocks whose invoke function is a JVM upcall, completion handlers on
// threads the JVM does not own, the stream error contract) runs where there is no Mac.
//
// It defines NSObject, NSString, NSError, MTLCompileOptions and the subset of MTLDevice,
// MTLCommandQueue, MTLCommandBuffer, MTLComputeCommandEncoder, MTLBuffer, MTLLibrary, MTLFunction
// and MTLComputePipelineState that the backend uses, with Metal's rules where they matter:
// new/alloc/copy return owned objects, other getters return autoreleased ones (a per-thread
// autorelease pool, objc_autoreleasePoolPush/Pop, which the GCC runtime lacks); command buffers
// retain what their encoders reference; a queue runs its command buffers in enqueue order on its
// own thread; completion handlers are Block_copy'd and run on another thread after the work;
// every command buffer behind a failed one on the same queue fails too.
//
// MSL is compiled for real: newLibraryWithSource:options:error: hands the source to bpsim_msl.c,
// which preprocesses it, finds its kernels, appends a generated adapter and compiles it as C++17
// with clang++ against the shim msl_shim.h (Metal's types, math, atomics and barriers on a CPU,
// IEEE float, no fast math), caches the shared library by the source's SHA-256 and loads it; a
// compile error is an NSError with clang's diagnostics, named "program_source" like Metal's. A
// dispatch records its bindings; when the command buffer runs, bpsim_exec.c runs its threadgroups in
// parallel (the queue's executor thread and a shared pool of nproc-1 helpers), the threads of a
// group as fibers on one OS thread so that threadgroup_barrier is faithful; the dispatches of a
// command buffer run one after another. Faults are injected through bpsim_control.h. Built with
// clang -fobjc-runtime=gcc -fblocks (build.sh).

#include <objc/objc.h>
#include <objc/runtime.h>
#include <objc/message.h>
#include <Block.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpsim_control.h"
#include "bpsim_exec.h"
#include "bpsim_msl.h"

// Sequentially consistent atomics on plain integers (clang's builtins; no <stdatomic.h>, whose GCC
// copy sits beside the Objective-C headers).
#define atomic_fetch_add_seq(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define atomic_fetch_sub_seq(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_SEQ_CST)
#define atomic_load_seq(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define atomic_store_seq(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

typedef unsigned long NSUInteger;
typedef long NSInteger;
typedef struct {
    NSUInteger width, height, depth;
} MTLSize;

enum { STATUS_NOT_ENQUEUED, STATUS_ENQUEUED, STATUS_COMMITTED, STATUS_SCHEDULED, STATUS_COMPLETED, STATUS_ERROR };

#define MAX_BINDINGS 31 // Metal's buffer argument table
#define DEFAULT_MEMORY_LIMIT (4L << 30)

// ------------------------------------------------------------------ call log

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static long calls_total;
#define LABELS 512
static struct {
    char label[64];
    long count;
} label_counts[LABELS];
#define RING 2048
static char ring[RING][96];
static long ring_next;

static void sim_log(const char *label, SEL cmd) {
    const char *what = sel_getName(cmd);
    atomic_fetch_add_seq(&calls_total, 1);
    pthread_mutex_lock(&log_lock);
    snprintf(ring[ring_next % RING], sizeof ring[0], "%s %s", label, what);
    ring_next++;
    for (int i = 0; i < LABELS; i++) {
        if (label_counts[i].label[0] == 0) {
            snprintf(label_counts[i].label, sizeof label_counts[i].label, "%s", label);
            label_counts[i].count = 1;
            break;
        }
        if (strcmp(label_counts[i].label, label) == 0) {
            label_counts[i].count++;
            break;
        }
    }
    pthread_mutex_unlock(&log_lock);
}

#define LOG_CALL(label) sim_log((label), _cmd)

long bpsim_calls_total(void) {
    return atomic_load_seq(&calls_total);
}

long bpsim_calls_for(const char *label) {
    long n = 0;
    pthread_mutex_lock(&log_lock);
    for (int i = 0; i < LABELS && label_counts[i].label[0]; i++) {
        if (strcmp(label_counts[i].label, label) == 0) {
            n = label_counts[i].count;
        }
    }
    pthread_mutex_unlock(&log_lock);
    return n;
}

long bpsim_log_tail(char *buffer, long capacity) {
    long written = 0;
    pthread_mutex_lock(&log_lock);
    long first = ring_next > 64 ? ring_next - 64 : 0;
    for (long i = first; i < ring_next; i++) {
        int n = snprintf(buffer + written, capacity - written, "%s\n", ring[i % RING]);
        if (n < 0 || written + n >= capacity) {
            break;
        }
        written += n;
    }
    pthread_mutex_unlock(&log_lock);
    return written;
}

// ------------------------------------------------------------------ fault injection state

static pthread_mutex_t faults_lock = PTHREAD_MUTEX_INITIALIZER;
#define RULES 64
typedef struct {
    int used;
    char label[64];
    long skip;
    long code;
    int victim;
    int invalid_status;
} FailRule;
static FailRule rules[RULES];
typedef struct {
    char label[64];
    long millis;
} Delay;
static Delay delays[RULES];
static long failing_allocations;
static char compile_failure[512];
static int device_removed;
static long memory_limit = DEFAULT_MEMORY_LIMIT;
static long allocated;
static long pending_handlers;

static int label_matches(const char *pattern, const char *label) {
    return strcmp(pattern, "*") == 0 || strcmp(pattern, label) == 0;
}

void bpsim_reset(void) {
    pthread_mutex_lock(&faults_lock);
    memset(rules, 0, sizeof rules);
    memset(delays, 0, sizeof delays);
    failing_allocations = 0;
    compile_failure[0] = 0;
    device_removed = 0;
    memory_limit = DEFAULT_MEMORY_LIMIT;
    pthread_mutex_unlock(&faults_lock);
    pthread_mutex_lock(&log_lock);
    memset(label_counts, 0, sizeof label_counts);
    ring_next = 0;
    pthread_mutex_unlock(&log_lock);
    atomic_store_seq(&calls_total, 0);
}

static void add_rule(const char *label, long skip, long code, int victim, int invalid) {
    pthread_mutex_lock(&faults_lock);
    for (int i = 0; i < RULES; i++) {
        if (!rules[i].used) {
            rules[i] = (FailRule) {1, "", skip, code, victim, invalid};
            snprintf(rules[i].label, sizeof rules[i].label, "%s", label);
            break;
        }
    }
    pthread_mutex_unlock(&faults_lock);
}

void bpsim_fail_command_buffer(const char *label, long skip, long code) {
    add_rule(label, skip, code, 0, 0);
}

void bpsim_innocent_victim(const char *label, long skip) {
    add_rule(label, skip, 1, 1, 0);
}

void bpsim_invalid_status(const char *label) {
    add_rule(label, 0, 0, 0, 1);
}

void bpsim_fail_allocations(long count) {
    pthread_mutex_lock(&faults_lock);
    failing_allocations = count;
    pthread_mutex_unlock(&faults_lock);
}

void bpsim_fail_next_compile(const char *message) {
    pthread_mutex_lock(&faults_lock);
    snprintf(compile_failure, sizeof compile_failure, "%s", message);
    pthread_mutex_unlock(&faults_lock);
}

void bpsim_delay_handlers(const char *label, long millis) {
    pthread_mutex_lock(&faults_lock);
    int slot = -1;
    for (int i = 0; i < RULES; i++) {
        if (strcmp(delays[i].label, label) == 0 || (slot < 0 && delays[i].label[0] == 0)) {
            slot = i;
            if (strcmp(delays[i].label, label) == 0) {
                break;
            }
        }
    }
    if (slot >= 0) {
        snprintf(delays[slot].label, sizeof delays[slot].label, "%s", label);
        delays[slot].millis = millis;
    }
    pthread_mutex_unlock(&faults_lock);
}

void bpsim_set_memory_limit(long bytes) {
    pthread_mutex_lock(&faults_lock);
    memory_limit = bytes;
    pthread_mutex_unlock(&faults_lock);
}

long bpsim_allocated_bytes(void) {
    return atomic_load_seq(&allocated);
}

long bpsim_pending_handlers(void) {
    return atomic_load_seq(&pending_handlers);
}

static long handler_delay(const char *label) {
    long millis = 0;
    pthread_mutex_lock(&faults_lock);
    for (int i = 0; i < RULES; i++) {
        if (delays[i].label[0] && label_matches(delays[i].label, label)) {
            millis = delays[i].millis > millis ? delays[i].millis : millis;
        }
    }
    pthread_mutex_unlock(&faults_lock);
    return millis;
}

// Whether a rule holds the handlers of queues labelled `label` (a negative delay) right now.
static int handlers_held(const char *label) {
    int held = 0;
    pthread_mutex_lock(&faults_lock);
    for (int i = 0; i < RULES; i++) {
        if (delays[i].label[0] && delays[i].millis < 0 && label_matches(delays[i].label, label)) {
            held = 1;
        }
    }
    pthread_mutex_unlock(&faults_lock);
    return held;
}

// The rule that fails this command buffer, if any (consumed); skips count down.
static int take_rule(const char *label, FailRule *out) {
    int found = 0;
    pthread_mutex_lock(&faults_lock);
    for (int i = 0; i < RULES; i++) {
        if (!rules[i].used || !label_matches(rules[i].label, label)) {
            continue;
        }
        if (rules[i].skip > 0) {
            rules[i].skip--;
            continue;
        }
        if (!found) {
            *out = rules[i];
            rules[i].used = 0;
            found = 1;
        }
    }
    pthread_mutex_unlock(&faults_lock);
    return found;
}

// ------------------------------------------------------------------ autorelease pools (per thread)

static __thread id *pool_items;
static __thread long pool_size;
static __thread long pool_capacity;
static __thread long pool_depth;

// ------------------------------------------------------------------ NSObject

__attribute__((objc_root_class))
@interface NSObject {
    Class isa;
    int bp_refs;
}
+ (id)alloc;
+ (id)new;
- (id)init;
- (id)retain;
- (void)release;
- (id)autorelease;
- (void)dealloc;
- (const char *)bp_label;
@end

@implementation NSObject
+ (id)alloc {
    NSObject *o = class_createInstance(self, 0);
    atomic_store_seq(&o->bp_refs, 1);
    return o;
}

+ (id)new {
    return [[self alloc] init];
}

- (id)init {
    return self;
}

- (const char *)bp_label {
    return "objects";
}

- (id)retain {
    atomic_fetch_add_seq(&bp_refs, 1);
    return self;
}

- (void)release {
    if (atomic_fetch_sub_seq(&bp_refs, 1) == 1) {
        [self dealloc];
    }
}

- (id)autorelease {
    if (pool_depth == 0) {
        fprintf(stderr, "metal simulator: %s autoreleased with no pool in place; leaking it\n", class_getName(object_getClass(self)));
        return self;
    }
    if (pool_size == pool_capacity) {
        pool_capacity = pool_capacity ? pool_capacity * 2 : 64;
        pool_items = realloc(pool_items, pool_capacity * sizeof(id));
    }
    pool_items[pool_size++] = self;
    return self;
}

- (void)dealloc {
    object_dispose(self);
}
@end

void *objc_autoreleasePoolPush(void) {
    pool_depth++;
    return (void *) (intptr_t) (pool_size + 1);
}

void objc_autoreleasePoolPop(void *marker) {
    long keep = (long) (intptr_t) marker - 1;
    while (pool_size > keep) {
        id o = pool_items[--pool_size];
        [o release];
    }
    pool_depth--;
}

// ------------------------------------------------------------------ NSString, NSError

@interface NSString : NSObject {
    char *utf8;
}
+ (id)stringWithUTF8String:(const char *)s;
- (id)initWithUTF8String:(const char *)s;
- (const char *)UTF8String;
- (NSUInteger)length;
@end

@implementation NSString
+ (id)stringWithUTF8String:(const char *)s {
    return [[[self alloc] initWithUTF8String:s] autorelease];
}

- (id)initWithUTF8String:(const char *)s {
    LOG_CALL("foundation");
    if (s == NULL) {
        [self release];
        return nil;
    }
    utf8 = strdup(s);
    return self;
}

- (const char *)UTF8String {
    LOG_CALL("foundation");
    return utf8;
}

- (NSUInteger)length {
    return strlen(utf8);
}

- (void)dealloc {
    free(utf8);
    [super dealloc];
}
@end

@interface NSError : NSObject {
@public
    NSString *domain;
    NSInteger code;
    NSString *description;
    const char *owner;
}
- (NSInteger)code;
- (NSString *)domain;
- (NSString *)localizedDescription;
@end

@implementation NSError
- (const char *)bp_label {
    return owner ? owner : "foundation";
}

- (NSInteger)code {
    LOG_CALL([self bp_label]);
    return code;
}

- (NSString *)domain {
    LOG_CALL([self bp_label]);
    return domain;
}

- (NSString *)localizedDescription {
    LOG_CALL([self bp_label]);
    return description;
}

- (void)dealloc {
    [domain release];
    [description release];
    [super dealloc];
}
@end

static NSError *make_error(const char *domain, NSInteger code, const char *text, const char *owner) {
    NSError *e = [NSError alloc];
    e->domain = [[NSString alloc] initWithUTF8String:domain];
    e->description = [[NSString alloc] initWithUTF8String:text];
    e->code = code;
    e->owner = owner;
    return e;
}

@interface MTLCompileOptions : NSObject {
    unsigned char fastMath;
}
- (void)setFastMathEnabled:(unsigned char)on;
- (unsigned char)fastMathEnabled;
@end

@implementation MTLCompileOptions
- (id)init {
    fastMath = 1; // Metal's default
    return self;
}

- (void)setFastMathEnabled:(unsigned char)on {
    LOG_CALL("device");
    fastMath = on;
}

- (unsigned char)fastMathEnabled {
    return fastMath;
}
@end

// ------------------------------------------------------------------ buffers, libraries, pipelines

@interface BPSimBuffer : NSObject {
@public
    void *memory;
    NSUInteger size;
}
- (void *)contents;
- (NSUInteger)length;
@end

@implementation BPSimBuffer
- (const char *)bp_label {
    return "device";
}

- (void *)contents {
    LOG_CALL("device");
    return memory;
}

- (NSUInteger)length {
    LOG_CALL("device");
    return size;
}

- (void)dealloc {
    free(memory);
    atomic_fetch_sub_seq(&allocated, (long) size);
    [super dealloc];
}
@end

@interface BPSimFunction : NSObject {
@public
    NSString *name;
    const BPSimKernel *kernel;
}
- (NSString *)name;
@end

@implementation BPSimFunction
- (NSString *)name {
    LOG_CALL("device");
    return name;
}

- (void)dealloc {
    [name release];
    [super dealloc];
}
@end

@interface BPSimLibrary : NSObject {
@public
    const BPSimProgram *program;
}
- (id)newFunctionWithName:(NSString *)name;
@end

@implementation BPSimLibrary
- (id)newFunctionWithName:(NSString *)name {
    LOG_CALL("device");
    const BPSimKernel *k = bpsim_msl_kernel(program, [name UTF8String]);
    if (k == NULL) {
        return nil;
    }
    BPSimFunction *f = [BPSimFunction new];
    f->name = [name retain];
    f->kernel = k;
    return f;
}
@end

@interface BPSimPipeline : NSObject {
@public
    const BPSimKernel *kernel;
}
- (NSUInteger)maxTotalThreadsPerThreadgroup;
- (NSUInteger)threadExecutionWidth;
@end

@implementation BPSimPipeline
- (NSUInteger)maxTotalThreadsPerThreadgroup {
    LOG_CALL("device");
    return kernel->max_threads; // 1024 unless [[max_total_threads_per_threadgroup(n)]] says less
}

- (NSUInteger)threadExecutionWidth {
    LOG_CALL("device");
    return 32;
}
@end

// ------------------------------------------------------------------ command queues and buffers

@class BPSimCommandBuffer;

// A dispatch, with a snapshot of the encoder's bindings (setBytes copied).
typedef struct Dispatch {
    const BPSimKernel *kernel;
    void *args[MAX_BINDINGS];
    void *bytes[MAX_BINDINGS];
    unsigned long grid[3];  // threads (dispatchThreads) or threadgroups (dispatchThreadgroups)
    unsigned long group[3]; // threads per threadgroup
    int uniform;            // dispatchThreadgroups: no partial groups
    struct Dispatch *next;
} Dispatch;

// The command buffer's work: its dispatches, one after another (Metal's serial compute encoder).
static void run_dispatches(Dispatch *first) {
    for (Dispatch *d = first; d; d = d->next) bpsim_exec_dispatch(d->kernel, d->args, d->grid, d->group, d->uniform);
}

@interface BPSimQueue : NSObject {
@public
    char label[64];
    pthread_mutex_t lock;
    pthread_cond_t changed;
    BPSimCommandBuffer *run_head, *run_tail;   // enqueued, in order
    BPSimCommandBuffer *done_head, *done_tail; // finished, handlers to run
    int broken;
    int stopping;
    int executor_done;
}
- (id)commandBuffer;
- (void)setLabel:(NSString *)label;
- (NSString *)label;
@end

@interface BPSimCommandBuffer : NSObject {
@public
    BPSimQueue *queue;
    int status;
    int committed;
    NSError *error;
    Dispatch *first, *last;
    void (^handlers[8])(id);
    int handler_count;
    id retained[256];
    int retained_count;
    id *more_retained;
    int more_count, more_capacity;
    long delay_millis;
    BPSimCommandBuffer *next_run, *next_done;
    pthread_cond_t completed;
}
@end

@interface BPSimEncoder : NSObject {
@public
    BPSimCommandBuffer *buffer;
    BPSimPipeline *pipeline;
    void *args[MAX_BINDINGS];
    void *bytes[MAX_BINDINGS];
    NSUInteger byte_lengths[MAX_BINDINGS];
    int ended;
}
@end

static void hold(BPSimCommandBuffer *cb, id object) {
    if (object == nil) return;
    [object retain];
    if (cb->retained_count < 256) {
        cb->retained[cb->retained_count++] = object;
        return;
    }
    if (cb->more_count == cb->more_capacity) {
        cb->more_capacity = cb->more_capacity ? cb->more_capacity * 2 : 256;
        cb->more_retained = realloc(cb->more_retained, cb->more_capacity * sizeof(id));
    }
    cb->more_retained[cb->more_count++] = object;
}

static void sleep_millis(long millis) {
    struct timespec t = {millis / 1000, (millis % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {
    }
}

static const char *error_text(long code) {
    switch (code) {
        case 1: return "Internal Error (0000000e:Internal Error)";
        case 2: return "Caused GPU Timeout Error (00000002:kIOGPUCommandBufferCallbackErrorTimeout)";
        case 3: return "Caused GPU Address Fault Error (0000000b:kIOGPUCommandBufferCallbackErrorPageFault)";
        case 4: return "Caused GPU Access Revoked Error (00000004:kIOGPUCommandBufferCallbackErrorAccessRevoked)";
        case 7: return "Ignored (for causing prior/excessive GPU errors) (00000004:kIOGPUCommandBufferCallbackErrorSubmissionsIgnored)";
        case 8: return "Insufficient Memory (00000008:kIOGPUCommandBufferCallbackErrorOutOfMemory)";
        case 9: return "Invalid Resource (00000009:kIOGPUCommandBufferCallbackErrorInvalidResource)";
        case 11: return "GPU Device Removed (0000000d:kIOGPUCommandBufferCallbackErrorDeviceRemoved)";
        case 12: return "Stack Overflow (0000000c:kIOGPUCommandBufferCallbackErrorStackOverflow)";
        default: return "GPU error";
    }
}

static void fail_buffer(BPSimCommandBuffer *cb, long code, const char *text) {
    cb->error = make_error("MTLCommandBufferErrorDomain", code, text, cb->queue->label);
    cb->status = STATUS_ERROR;
}

// The queue's executor: runs command buffers in enqueue order, each once it is committed.
static void *executor_main(void *arg) {
    BPSimQueue *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!(q->run_head && q->run_head->committed) && !q->stopping) {
            pthread_cond_wait(&q->changed, &q->lock);
        }
        if (!(q->run_head && q->run_head->committed)) {
            break;
        }
        BPSimCommandBuffer *cb = q->run_head;
        q->run_head = cb->next_run;
        if (!q->run_head) q->run_tail = NULL;
        int broken = q->broken;
        pthread_mutex_unlock(&q->lock);

        cb->status = STATUS_SCHEDULED;
        FailRule rule;
        pthread_mutex_lock(&faults_lock);
        int removed = device_removed;
        pthread_mutex_unlock(&faults_lock);
        if (removed) {
            fail_buffer(cb, 11, error_text(11));
        } else if (broken) {
            fail_buffer(cb, 7, error_text(7));
        } else if (take_rule(q->label, &rule)) {
            if (rule.invalid_status) {
                run_dispatches(cb->first);
                cb->status = 42;
            } else if (rule.victim) {
                fail_buffer(cb, 1, "Discarded (victim of GPU error/recovery) (00000005:kIOGPUCommandBufferCallbackErrorInnocentVictim)");
            } else {
                fail_buffer(cb, rule.code, error_text(rule.code));
                if (rule.code == 11) {
                    pthread_mutex_lock(&faults_lock);
                    device_removed = 1;
                    pthread_mutex_unlock(&faults_lock);
                }
            }
        } else {
            run_dispatches(cb->first);
            cb->status = STATUS_COMPLETED;
        }
        cb->delay_millis = handler_delay(q->label);

        pthread_mutex_lock(&q->lock);
        if (cb->status != STATUS_COMPLETED) {
            q->broken = 1; // every command buffer behind a failed one fails too; recovery needs a new queue
        }
        if (q->done_tail) q->done_tail->next_done = cb; else q->done_head = cb;
        q->done_tail = cb;
        pthread_cond_broadcast(&q->changed);
        pthread_cond_broadcast(&cb->completed);
    }
    q->executor_done = 1;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

// The queue's handler thread: like Metal's, completion handlers run on a thread of their own,
// after the work; a delay makes them arrive late (and out of order across queues).
static void *handler_main(void *arg) {
    BPSimQueue *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->done_head && !(q->stopping && q->executor_done)) {
            pthread_cond_wait(&q->changed, &q->lock);
        }
        if (!q->done_head) {
            break;
        }
        BPSimCommandBuffer *cb = q->done_head;
        q->done_head = cb->next_done;
        if (!q->done_head) q->done_tail = NULL;
        pthread_mutex_unlock(&q->lock);
        if (cb->delay_millis > 0) sleep_millis(cb->delay_millis);
        while (handlers_held(q->label)) sleep_millis(1);
        int handlers = cb->handler_count;
        for (int i = 0; i < handlers; i++) {
            cb->handlers[i](cb);
            Block_release(cb->handlers[i]);
        }
        cb->handler_count = 0;
        [cb release]; // the reference commit took; may release the queue
        // Counted down only now: once none is pending, no handler thread sends another message.
        atomic_fetch_sub_seq(&pending_handlers, handlers);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->changed);
    object_dispose(q);
    return NULL;
}

@implementation BPSimQueue
- (const char *)bp_label {
    return label;
}

- (id)initQueue {
    snprintf(label, sizeof label, "unlabelled");
    pthread_mutex_init(&lock, NULL);
    pthread_cond_init(&changed, NULL);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &attr, executor_main, self);
    pthread_create(&t, &attr, handler_main, self);
    pthread_attr_destroy(&attr);
    return self;
}

- (void)setLabel:(NSString *)l {
    snprintf(label, sizeof label, "%s", [l UTF8String]);
    LOG_CALL(label);
}

- (NSString *)label {
    LOG_CALL(label);
    return [NSString stringWithUTF8String:label];
}

- (id)commandBuffer {
    LOG_CALL(label);
    BPSimCommandBuffer *cb = [BPSimCommandBuffer alloc];
    cb->queue = [self retain];
    pthread_cond_init(&cb->completed, NULL);
    return [cb autorelease];
}

// The last reference went: the threads finish what they hold (nothing: every command buffer
// retains its queue) and the handler thread frees the queue.
- (void)dealloc {
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}
@end

@implementation BPSimCommandBuffer
- (const char *)bp_label {
    return queue->label;
}

- (id)computeCommandEncoder {
    LOG_CALL(queue->label);
    BPSimEncoder *e = [BPSimEncoder alloc];
    e->buffer = self;
    hold(self, e);
    return [e autorelease];
}

- (void)addCompletedHandler:(void (^)(id))block {
    LOG_CALL(queue->label);
    if (handler_count < 8) {
        handlers[handler_count++] = Block_copy(block);
    }
}

- (void)enqueue {
    LOG_CALL(queue->label);
    if (status != STATUS_NOT_ENQUEUED) return;
    status = STATUS_ENQUEUED;
    [self retain]; // released by the handler thread once the handlers ran
    pthread_mutex_lock(&queue->lock);
    if (queue->run_tail) queue->run_tail->next_run = self; else queue->run_head = self;
    queue->run_tail = self;
    pthread_mutex_unlock(&queue->lock);
}

- (void)commit {
    LOG_CALL(queue->label);
    if (status == STATUS_NOT_ENQUEUED) {
        [self enqueue];
    }
    atomic_fetch_add_seq(&pending_handlers, handler_count);
    pthread_mutex_lock(&queue->lock);
    status = STATUS_COMMITTED;
    committed = 1;
    pthread_cond_broadcast(&queue->changed);
    pthread_mutex_unlock(&queue->lock);
}

- (NSUInteger)status {
    LOG_CALL(queue->label);
    return (NSUInteger) status;
}

- (NSError *)error {
    LOG_CALL(queue->label);
    return error;
}

- (void)waitUntilCompleted {
    LOG_CALL(queue->label);
    pthread_mutex_lock(&queue->lock);
    while (status < STATUS_COMPLETED) {
        pthread_cond_wait(&completed, &queue->lock);
    }
    pthread_mutex_unlock(&queue->lock);
}

- (void)dealloc {
    for (Dispatch *d = first; d;) {
        Dispatch *next = d->next;
        for (int i = 0; i < MAX_BINDINGS; i++) free(d->bytes[i]);
        free(d);
        d = next;
    }
    for (int i = 0; i < retained_count; i++) [retained[i] release];
    for (int i = 0; i < more_count; i++) [more_retained[i] release];
    free(more_retained);
    [error release];
    pthread_cond_destroy(&completed);
    BPSimQueue *q = queue;
    object_dispose(self);
    [q release];
}
@end

@implementation BPSimEncoder
- (const char *)bp_label {
    return buffer->queue->label;
}

- (void)setComputePipelineState:(BPSimPipeline *)p {
    LOG_CALL(buffer->queue->label);
    pipeline = p;
    hold(buffer, p);
}

- (void)setBuffer:(BPSimBuffer *)b offset:(NSUInteger)offset atIndex:(NSUInteger)index {
    LOG_CALL(buffer->queue->label);
    if (index >= MAX_BINDINGS) return;
    free(bytes[index]);
    bytes[index] = NULL;
    args[index] = b ? (char *) [b contents] + offset : NULL;
    hold(buffer, b);
}

- (void)setBytes:(const void *)data length:(NSUInteger)length atIndex:(NSUInteger)index {
    LOG_CALL(buffer->queue->label);
    if (index >= MAX_BINDINGS) return;
    free(bytes[index]);
    bytes[index] = malloc(length ? length : 1);
    byte_lengths[index] = length;
    memcpy(bytes[index], data, length);
    args[index] = bytes[index];
}

// Records a dispatch with a snapshot of the bindings; it runs when the command buffer does.
static void record(BPSimEncoder *e, MTLSize grid, MTLSize group, int uniform) {
    BPSimPipeline *pipeline = e->pipeline;
    if (pipeline == nil || group.width == 0 || group.height == 0 || group.depth == 0
            || group.width * group.height * group.depth > pipeline->kernel->max_threads) {
        fprintf(stderr, "metal simulator: invalid dispatch (pipeline %p, threadgroup %lu x %lu x %lu)\n", (void *) pipeline,
                group.width, group.height, group.depth);
        abort(); // Metal's validation layer stops the process the same way
    }
    Dispatch *d = calloc(1, sizeof(Dispatch));
    d->kernel = pipeline->kernel;
    d->grid[0] = grid.width;
    d->grid[1] = grid.height;
    d->grid[2] = grid.depth;
    d->group[0] = group.width;
    d->group[1] = group.height;
    d->group[2] = group.depth;
    d->uniform = uniform;
    for (int i = 0; i < MAX_BINDINGS; i++) {
        if (e->bytes[i]) {
            // setBytes copies at the call; each dispatch keeps its own copy
            size_t n = e->byte_lengths[i];
            d->bytes[i] = malloc(n ? n : 1);
            memcpy(d->bytes[i], e->bytes[i], n);
            d->args[i] = d->bytes[i];
        } else {
            d->args[i] = e->args[i];
        }
    }
    BPSimCommandBuffer *cb = e->buffer;
    if (cb->last) cb->last->next = d; else cb->first = d;
    cb->last = d;
}

- (void)dispatchThreads:(MTLSize)grid threadsPerThreadgroup:(MTLSize)group {
    LOG_CALL(buffer->queue->label);
    record(self, grid, group, 0);
}

- (void)dispatchThreadgroups:(MTLSize)groups threadsPerThreadgroup:(MTLSize)group {
    LOG_CALL(buffer->queue->label);
    record(self, groups, group, 1);
}

- (void)endEncoding {
    LOG_CALL(buffer->queue->label);
    ended = 1;
}

- (void)dealloc {
    for (int i = 0; i < MAX_BINDINGS; i++) free(bytes[i]);
    [super dealloc];
}
@end

// ------------------------------------------------------------------ the device

@interface BPSimDevice : NSObject
@end

@implementation BPSimDevice
- (const char *)bp_label {
    return "device";
}

- (NSString *)name {
    LOG_CALL("device");
    return [NSString stringWithUTF8String:"Backplane Metal simulator (CPU)"];
}

- (NSUInteger)recommendedMaxWorkingSetSize {
    LOG_CALL("device");
    pthread_mutex_lock(&faults_lock);
    long limit = memory_limit;
    pthread_mutex_unlock(&faults_lock);
    return (NSUInteger) limit;
}

- (NSUInteger)maxBufferLength {
    return [self recommendedMaxWorkingSetSize];
}

- (unsigned char)hasUnifiedMemory {
    LOG_CALL("device");
    return 1;
}

- (id)newCommandQueue {
    LOG_CALL("device");
    return [[BPSimQueue alloc] initQueue];
}

- (id)newBufferWithLength:(NSUInteger)length options:(NSUInteger)options {
    LOG_CALL("device");
    pthread_mutex_lock(&faults_lock);
    int fail = failing_allocations > 0 || device_removed || length == 0
            || atomic_load_seq(&allocated) + (long) length > memory_limit;
    if (failing_allocations > 0) failing_allocations--;
    pthread_mutex_unlock(&faults_lock);
    if (fail) {
        return nil;
    }
    void *memory = NULL;
    if (posix_memalign(&memory, 16384, length) != 0) {
        return nil;
    }
    memset(memory, 0, length);
    atomic_fetch_add_seq(&allocated, (long) length);
    BPSimBuffer *b = [BPSimBuffer alloc];
    b->memory = memory;
    b->size = length;
    return b;
}

// Compiles MSL (bpsim_msl.c): clang++ against the MSL shim, cached by the source's SHA-256. A
// failure is MTLLibraryErrorDomain code 3 (MTLLibraryErrorCompileFailure) with the diagnostics.
// fastMathEnabled changes nothing: the simulator never compiles with fast math.
- (id)newLibraryWithSource:(NSString *)source options:(MTLCompileOptions *)options error:(NSError **)error {
    LOG_CALL("device");
    (void) options;
    char injected[1024] = "";
    pthread_mutex_lock(&faults_lock);
    if (compile_failure[0]) {
        snprintf(injected, sizeof injected, "program_source:1:1: error: %s", compile_failure);
        compile_failure[0] = 0;
    }
    pthread_mutex_unlock(&faults_lock);
    const char *src = [source UTF8String];
    char *message = NULL;
    const BPSimProgram *program = NULL;
    if (injected[0]) {
        message = strdup(injected);
    } else if (src == NULL) {
        message = strdup("program_source:1:1: error: no source");
    } else {
        program = bpsim_msl_compile(src, &message);
    }
    if (program == NULL) {
        if (error) {
            *error = [make_error("MTLLibraryErrorDomain", 3, message ? message : "program_source:1:1: error: compilation failed", "device")
                    autorelease];
        }
        free(message);
        return nil;
    }
    BPSimLibrary *lib = [BPSimLibrary new];
    lib->program = program;
    return lib;
}

- (id)newComputePipelineStateWithFunction:(BPSimFunction *)function error:(NSError **)error {
    LOG_CALL("device");
    if (function == nil || function->kernel == NULL) {
        if (error) {
            *error = [make_error("MTLLibraryErrorDomain", 5, "function not found", "device") autorelease];
        }
        return nil;
    }
    BPSimPipeline *p = [BPSimPipeline new];
    p->kernel = function->kernel;
    return p;
}
@end

static BPSimDevice *the_device;
static pthread_once_t device_once = PTHREAD_ONCE_INIT;

static void make_device(void) {
    the_device = [BPSimDevice new];
}

// Metal's entry point; returns a +1 reference like the real one (a "Create" function).
id MTLCreateSystemDefaultDevice(void) {
    pthread_once(&device_once, make_device);
    return [the_device retain];
}
