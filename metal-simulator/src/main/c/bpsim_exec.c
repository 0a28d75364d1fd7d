// Runs dispatches of compiled MSL kernels.
//
// A dispatch's threadgroups run in parallel: the calling thread (a queue's executor) takes groups
// one at a time, and so do the pool's helper threads (nproc - 1 of them, shared by every queue,
// started once; BPSIM_THREADS caps the total). One threadgroup always runs on one OS thread, one
// group at a time, so `threadgroup` variables (static thread_local) are shared by exactly the
// threads of one group.
//
// A group starts in "loop mode": one fiber runs the generated group function, which calls the
// kernel for every thread in turn. Kernels without barriers finish that way (two context switches
// per group). The first threadgroup_barrier turns the group into one fiber per thread: the running
// thread (index k) keeps the loop's fiber, threads k+1.. get fibers of their own, threads 0..k-1
// have already returned (a returned thread counts as having reached every barrier). From then on
// each thread runs to its next barrier (or its end) and switches straight to the next thread; when
// the last one got there all are released: a barrier suspends a thread until every thread of its
// group that has not returned reached one.
//
// Fibers have 64 KiB stacks (with a canary checked after every group), allocated per OS thread in
// chunks and reused across groups and dispatches; they are freed when the thread ends. On x86-64
// the context switch is a few instructions (callee-saved registers and the stack pointer);
// elsewhere it falls back to ucontext.
#define _GNU_SOURCE
#include "bpsim_exec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__) && !defined(BPSIM_UCONTEXT)
#define BPSIM_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

#define STACK_BYTES (64 * 1024)
#define COLOR_BYTES (16 * 1024) // stack tops are staggered, so that fibers do not all share cache sets
#define SLOT_BYTES (STACK_BYTES + COLOR_BYTES)
#define CHUNK_FIBERS 16
#define CANARY 0x5eb1a5c0ffee1234ULL
#define CANARY_WORDS 2

enum { JOB_LOOP, JOB_THREAD };
enum { F_READY, F_WAITING, F_DONE };
enum { MODE_LOOP, MODE_FIBERS };

typedef struct Fiber {
    void *sp;
#ifndef BPSIM_ASM_SWITCH
    ucontext_t uc;
#endif
    struct Runner *runner;
    int job;
    int state;
    uint32_t index;
    uint64_t *canary;
    struct Fiber *next_free;
} Fiber;

typedef struct Chunk {
    void *base;
    size_t len;
    Fiber *fibers;
    struct Chunk *next;
} Chunk;

// Per OS thread: its fibers and the group it is running.
typedef struct Runner {
    void *sched_sp;
#ifndef BPSIM_ASM_SWITCH
    ucontext_t sched_uc;
#endif
    Fiber *current;
    Fiber *free_list;
    Chunk *chunks;
    Fiber **slots;     // fiber mode: the fiber of each thread index (from `first`)
    uint32_t *order;   // fiber mode: the live threads, in index order
    uint32_t count;    // ... how many
    uint32_t pos;      // ... which one runs
    uint32_t slot_capacity;
    const BPSimKernel *kernel;
    void *const *bindings;
    bpsim_group g;
    uint32_t n;
    uint32_t first;
    int mode;
} Runner;

// ------------------------------------------------------------------ context switch

#ifdef BPSIM_ASM_SWITCH
// void bpsim_switch(void **save_sp, void *load_sp): saves the callee-saved registers on the current
// stack, stores the stack pointer, loads the other one, restores its registers and returns on it.
// A new fiber's stack holds r12 = its Fiber *, r13 = fiber_main and the trampoline as return address.
void bpsim_switch(void **save_sp, void *load_sp);
void bpsim_fiber_trampoline(void);
__asm__(".text\n"
        ".globl bpsim_switch\n"
        ".hidden bpsim_switch\n"
        ".type bpsim_switch,@function\n"
        "bpsim_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size bpsim_switch, .-bpsim_switch\n"
        ".globl bpsim_fiber_trampoline\n"
        ".hidden bpsim_fiber_trampoline\n"
        ".type bpsim_fiber_trampoline,@function\n"
        "bpsim_fiber_trampoline:\n"
        "    movq %r12, %rdi\n"
        "    callq *%r13\n"
        "    ud2\n"
        ".size bpsim_fiber_trampoline, .-bpsim_fiber_trampoline\n");

static void to_fiber(Runner *r, Fiber *f) {
    bpsim_switch(&r->sched_sp, f->sp);
}

static void to_scheduler(Runner *r, Fiber *f) {
    bpsim_switch(&f->sp, r->sched_sp);
}

static void fiber_to_fiber(Fiber *from, Fiber *to) {
    bpsim_switch(&from->sp, to->sp);
}
#else
static void to_fiber(Runner *r, Fiber *f) {
    swapcontext(&r->sched_uc, &f->uc);
}

static void to_scheduler(Runner *r, Fiber *f) {
    swapcontext(&f->uc, &r->sched_uc);
}

static void fiber_to_fiber(Fiber *from, Fiber *to) {
    swapcontext(&from->uc, &to->uc);
}
#endif

// ------------------------------------------------------------------ fibers

static pthread_key_t runner_key;
static pthread_once_t runner_once = PTHREAD_ONCE_INIT;
static __thread Runner *tls_runner __attribute__((tls_model("initial-exec")));

static void runner_free(void *p) {
    Runner *r = p;
    for (Chunk *c = r->chunks; c;) {
        Chunk *next = c->next;
        munmap(c->base, c->len);
        free(c->fibers);
        free(c);
        c = next;
    }
    free(r->slots);
    free(r->order);
    free(r);
}

static void make_runner_key(void) {
    pthread_key_create(&runner_key, runner_free);
}

static Runner *runner_get(void) {
    if (tls_runner == NULL) {
        pthread_once(&runner_once, make_runner_key);
        tls_runner = calloc(1, sizeof(Runner));
        if (tls_runner == NULL) {
            fprintf(stderr, "metal simulator: out of memory\n");
            abort();
        }
        pthread_setspecific(runner_key, tls_runner);
    }
    return tls_runner;
}

static void next_thread(Runner *r, Fiber *f);

// A fiber's life: run what it is given (the group loop or one thread), report, wait for the next.
static void fiber_main(Fiber *f) {
    Runner *r = f->runner;
    for (;;) {
        if (f->job == JOB_LOOP) {
            r->kernel->group(r->bindings, &r->g);
        } else {
            r->kernel->thread(r->bindings, &r->g, f->index);
        }
        f->state = F_DONE;
        if (r->mode == MODE_LOOP) {
            to_scheduler(r, f);
        } else {
            next_thread(r, f);
        }
    }
}

#ifndef BPSIM_ASM_SWITCH
static void fiber_start(unsigned hi, unsigned lo) {
    fiber_main((Fiber *) (((uintptr_t) hi << 32) | (uintptr_t) lo));
}
#endif

static void add_chunk(Runner *r) {
    size_t page = (size_t) sysconf(_SC_PAGESIZE);
    size_t len = page + (size_t) CHUNK_FIBERS * SLOT_BYTES;
    char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    Chunk *c = calloc(1, sizeof(Chunk));
    Fiber *fs = calloc(CHUNK_FIBERS, sizeof(Fiber));
    if (base == MAP_FAILED || c == NULL || fs == NULL) {
        fprintf(stderr, "metal simulator: cannot allocate fiber stacks\n");
        abort();
    }
    mprotect(base, page, PROT_NONE); // below the lowest stack
    c->base = base;
    c->len = len;
    c->fibers = fs;
    c->next = r->chunks;
    r->chunks = c;
    static unsigned colors;
    for (int i = 0; i < CHUNK_FIBERS; i++) {
        Fiber *f = &fs[i];
        unsigned color = __atomic_fetch_add(&colors, 1, __ATOMIC_RELAXED);
        size_t offset = (size_t) ((color * 67) % 64) * 64 + (size_t) ((color / 64) % 4) * 4096;
        char *lo = base + page + (size_t) i * SLOT_BYTES + offset;
        f->runner = r;
        f->canary = (uint64_t *) lo;
        for (int w = 0; w < CANARY_WORDS; w++) f->canary[w] = CANARY;
#ifdef BPSIM_ASM_SWITCH
        uint64_t *top = (uint64_t *) (lo + STACK_BYTES);
        top[-1] = (uint64_t) (uintptr_t) bpsim_fiber_trampoline; // return address of the first switch
        top[-2] = 0;                                              // rbp
        top[-3] = 0;                                              // rbx
        top[-4] = (uint64_t) (uintptr_t) f;                       // r12: the argument
        top[-5] = (uint64_t) (uintptr_t) fiber_main;              // r13: the function
        top[-6] = 0;                                              // r14
        top[-7] = 0;                                              // r15
        f->sp = &top[-7];
#else
        getcontext(&f->uc);
        f->uc.uc_stack.ss_sp = lo;
        f->uc.uc_stack.ss_size = STACK_BYTES;
        f->uc.uc_link = NULL;
        makecontext(&f->uc, (void (*)(void)) fiber_start, 2, (unsigned) ((uintptr_t) f >> 32), (unsigned) (uintptr_t) f);
#endif
        f->next_free = r->free_list;
        r->free_list = f;
    }
}

static Fiber *fiber_get(Runner *r) {
    if (r->free_list == NULL) add_chunk(r);
    Fiber *f = r->free_list;
    r->free_list = f->next_free;
    return f;
}

static void fiber_put(Runner *r, Fiber *f) {
    f->next_free = r->free_list;
    r->free_list = f;
}

static void resume(Runner *r, Fiber *f) {
    r->current = f;
    to_fiber(r, f);
    r->current = NULL;
}

// After the group: a fiber that ran past the bottom of its stack stops the process.
static void check_stack(Runner *r, Fiber *f) {
    for (int w = 0; w < CANARY_WORDS; w++) {
        if (f->canary[w] != CANARY) {
            fprintf(stderr, "metal simulator: kernel %s overflowed its %d KiB fiber stack (large local arrays?)\n", r->kernel->name,
                    STACK_BYTES / 1024);
            abort();
        }
    }
}

// Fiber mode: the running thread (order[pos]) reached a barrier or returned; switch straight to the
// next live thread of this pass. At the end of a pass every live thread waits at a barrier: all are
// released and the next pass starts with the lowest index. When none is live the group is done.
static void next_thread(Runner *r, Fiber *f) {
    if (r->pos + 1 < r->count) {
        Fiber *t = r->slots[r->order[++r->pos]];
        r->current = t;
        fiber_to_fiber(f, t);
        return;
    }
    uint32_t m = 0;
    for (uint32_t i = 0; i < r->count; i++) {
        Fiber *s = r->slots[r->order[i]];
        if (s->state == F_WAITING) {
            s->state = F_READY;
            r->order[m++] = r->order[i];
        }
    }
    r->count = m;
    r->pos = 0;
    if (m == 0) {
        to_scheduler(r, f);
        return;
    }
    Fiber *t = r->slots[r->order[0]];
    if (t != f) {
        r->current = t;
        fiber_to_fiber(f, t);
    }
}

// threadgroup_barrier(): suspends the calling thread until the group's other threads got there.
static void host_barrier(void) {
    Runner *r = tls_runner;
    Fiber *f = r ? r->current : NULL;
    if (f == NULL) {
        fprintf(stderr, "metal simulator: threadgroup_barrier called outside a kernel\n");
        abort();
    }
    if (r->mode == MODE_LOOP) {
        // First barrier of this group: one fiber per thread from here on.
        uint32_t k = r->g.cur;
        r->mode = MODE_FIBERS;
        r->g.stop = 1;
        r->first = k;
        if (r->slot_capacity < r->n) {
            free(r->slots);
            free(r->order);
            r->slots = malloc(sizeof(Fiber *) * r->n);
            r->order = malloc(sizeof(uint32_t) * r->n);
            if (r->slots == NULL || r->order == NULL) {
                fprintf(stderr, "metal simulator: out of memory\n");
                abort();
            }
            r->slot_capacity = r->n;
        }
        f->index = k;
        r->slots[k] = f;
        for (uint32_t i = k + 1; i < r->n; i++) {
            Fiber *s = fiber_get(r);
            s->job = JOB_THREAD;
            s->index = i;
            s->state = F_READY;
            r->slots[i] = s;
        }
        for (uint32_t i = k; i < r->n; i++) r->order[i - k] = i;
        r->count = r->n - k;
        r->pos = 0;
    }
    f->state = F_WAITING;
    next_thread(r, f);
}

const bpsim_host_api bpsim_host_callbacks = {BPSIM_ABI_VERSION, host_barrier};

static void run_group(Runner *r) {
    r->n = r->g.size[0] * r->g.size[1] * r->g.size[2];
    r->mode = MODE_LOOP;
    r->g.cur = 0;
    r->g.stop = 0;
    Fiber *f = fiber_get(r);
    f->job = JOB_LOOP;
    f->state = F_READY;
    resume(r, f); // back when the group is done
    if (r->mode == MODE_LOOP) {
        check_stack(r, f);
        fiber_put(r, f);
        return;
    }
    for (uint32_t i = r->first; i < r->n; i++) {
        check_stack(r, r->slots[i]);
        fiber_put(r, r->slots[i]);
    }
    r->mode = MODE_LOOP;
}

// ------------------------------------------------------------------ dispatches and the pool

typedef struct Job {
    const BPSimKernel *kernel;
    void *const *bindings;
    uint32_t ntg[3], dsize[3], tpg[3];
    unsigned long grid[3];
    int uniform;
    long groups;
    long next; // the next group to take (atomic)
    int helpers; // helpers working on it (pool_lock)
    struct Job *next_job;
} Job;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER;
static Job *jobs;
static int helper_count;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void work(Job *j) {
    Runner *r = runner_get();
    r->kernel = j->kernel;
    r->bindings = j->bindings;
    long gi;
    while ((gi = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->groups) {
        bpsim_group *g = &r->g;
        uint32_t x = (uint32_t) (gi % j->ntg[0]);
        uint32_t y = (uint32_t) ((gi / j->ntg[0]) % j->ntg[1]);
        uint32_t z = (uint32_t) (gi / ((long) j->ntg[0] * j->ntg[1]));
        uint32_t id[3] = {x, y, z};
        for (int d = 0; d < 3; d++) {
            g->tgid[d] = id[d];
            g->dsize[d] = j->dsize[d];
            g->tpg[d] = j->tpg[d];
            g->ntg[d] = j->ntg[d];
            unsigned long start = (unsigned long) id[d] * j->dsize[d];
            unsigned long left = j->grid[d] - start;
            g->size[d] = j->uniform || left >= j->dsize[d] ? j->dsize[d] : (uint32_t) left;
        }
        run_group(r);
    }
}

static void *helper_main(void *arg) {
    (void) arg;
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        Job *j = jobs;
        while (j && __atomic_load_n(&j->next, __ATOMIC_RELAXED) >= j->groups) j = j->next_job;
        if (j == NULL) {
            pthread_cond_wait(&pool_work, &pool_lock);
            continue;
        }
        j->helpers++;
        pthread_mutex_unlock(&pool_lock);
        work(j);
        pthread_mutex_lock(&pool_lock);
        if (--j->helpers == 0) pthread_cond_broadcast(&pool_done);
    }
    return NULL;
}

static void pool_start(void) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("BPSIM_THREADS");
    if (env && atol(env) > 0) cpus = atol(env);
    int n = cpus > 1 ? (int) (cpus - 1) : 0;
    if (n > 63) n = 63;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, helper_main, NULL) == 0) helper_count++;
    }
    pthread_attr_destroy(&attr);
}

void bpsim_exec_dispatch(const BPSimKernel *k, void *const *bindings, const unsigned long grid[3], const unsigned long group[3],
                         int uniform) {
    Job j;
    memset(&j, 0, sizeof j);
    j.kernel = k;
    j.bindings = bindings;
    j.uniform = uniform;
    j.groups = 1;
    for (int d = 0; d < 3; d++) {
        unsigned long groups = uniform ? grid[d] : (grid[d] + group[d] - 1) / group[d];
        j.ntg[d] = (uint32_t) groups;
        j.dsize[d] = (uint32_t) group[d];
        j.grid[d] = uniform ? grid[d] * group[d] : grid[d];
        j.tpg[d] = (uint32_t) j.grid[d];
        j.groups *= (long) groups;
    }
    if (j.groups == 0) return;
    pthread_once(&pool_once, pool_start);
    if (j.groups == 1 || helper_count == 0) {
        work(&j);
        return;
    }
    pthread_mutex_lock(&pool_lock);
    j.next_job = jobs;
    jobs = &j;
    if (j.groups - 1 >= helper_count) {
        pthread_cond_broadcast(&pool_work);
    } else {
        for (long i = 0; i < j.groups - 1; i++) pthread_cond_signal(&pool_work);
    }
    pthread_mutex_unlock(&pool_lock);
    work(&j);
    pthread_mutex_lock(&pool_lock);
    for (Job **p = &jobs; *p; p = &(*p)->next_job) {
        if (*p == &j) {
            *p = j.next_job;
            break;
        }
    }
    while (j.helpers > 0) pthread_cond_wait(&pool_done, &pool_lock);
    pthread_mutex_unlock(&pool_lock);
}
