// Compiles MSL at run time, as Metal's newLibraryWithSource:options:error: does.
//
// 1. The source is looked up in memory, then on disk: $BPSIM_CACHE_DIR, else
//    ${TMPDIR:-/tmp}/backplane-metal-sim-<uid>/<sha256>.so, the key covering the source, the shim,
//    the compiler and this simulator build.
// 2. On a miss it is preprocessed by `clang++ -E` (BPSIM_CXX overrides clang++; <metal_stdlib> and
//    friends are empty headers) so that kernels stamped out by macros are seen, named
//    "program_source" in every diagnostic like Metal's compiler does.
// 3. The preprocessed text is scanned for kernels: `kernel void NAME(params) {` and explicit
//    instantiations `template [[host_name("NAME")]] kernel void F<T>(params);`. Each parameter
//    must be a device/constant pointer or reference with [[buffer(n)]], or a uint/ushort (2, 3)
//    with a thread-position attribute; anything else fails the compile, naming kernel and
//    parameter. `threadgroup` is blanked where it qualifies a pointer or reference (declarations
//    keep it: the shim makes them static thread_local), 1.5h literals become 1.5_h.
// 4. An adapter is appended: per kernel an extern "C" group loop and a one-thread entry that
//    unpack the bindings (buffer pointer + offset, setBytes copies) and thread positions and call
//    the kernel, and a table of them (bpsim_kernels).
// 5. That is compiled with `clang++ -std=c++17 -O2 -shared -fPIC -include msl_shim.h` (no fast
//    math, -ffp-contract=off, -fno-strict-aliasing, -fwrapv, float literals single precision) and
//    dlopen'ed; the shim's barrier calls back into bpsim_exec.c.
#define _GNU_SOURCE
#include "bpsim_msl.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

// The shim, embedded at build time (build.sh passes its path), so that the library needs no file
// beside it wherever Maven copies it.
#ifndef BPSIM_SHIM_PATH
#error "build with -DBPSIM_SHIM_PATH=\"/path/to/msl_shim.h\" (build.sh)"
#endif
#ifndef BPSIM_BUILD_ID
#error "build with -DBPSIM_BUILD_ID=\"hash of the simulator's sources\" (build.sh)"
#endif
__asm__(".section .rodata\n"
        ".globl bpsim_shim_text\n"
        ".hidden bpsim_shim_text\n"
        "bpsim_shim_text:\n"
        ".incbin \"" BPSIM_SHIM_PATH "\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char bpsim_shim_text[];

#define GENERATOR "bpsim-msl-1"
#define MAX_PARAMS 64
#define MAX_BUFFERS 31

// ------------------------------------------------------------------ SHA-256

typedef struct {
    uint32_t h[8];
    unsigned char buf[64];
    uint64_t total;
    size_t used;
} Sha256;

static const uint32_t K256[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
        0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
        0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
        0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
        0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
        0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(Sha256 *s, const unsigned char *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 | (uint32_t) p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
    s->h[5] += f;
    s->h[6] += g;
    s->h[7] += h;
}

static void sha_init(Sha256 *s) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->total = 0;
    s->used = 0;
}

static void sha_update(Sha256 *s, const void *data, size_t len) {
    const unsigned char *p = data;
    s->total += len;
    while (len > 0) {
        size_t n = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->buf + s->used, p, n);
        s->used += n;
        p += n;
        len -= n;
        if (s->used == 64) {
            sha_block(s, s->buf);
            s->used = 0;
        }
    }
}

static void sha_final(Sha256 *s, unsigned char out[32]) {
    uint64_t bits = s->total * 8;
    unsigned char pad = 0x80;
    sha_update(s, &pad, 1);
    unsigned char zero = 0;
    while (s->used != 56) sha_update(s, &zero, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char) (bits >> (56 - 8 * i));
    sha_update(s, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char) (s->h[i] >> 24);
        out[4 * i + 1] = (unsigned char) (s->h[i] >> 16);
        out[4 * i + 2] = (unsigned char) (s->h[i] >> 8);
        out[4 * i + 3] = (unsigned char) s->h[i];
    }
}

void bpsim_sha256(const void *data, size_t len, unsigned char out[32]) {
    Sha256 s;
    sha_init(&s);
    sha_update(&s, data, len);
    sha_final(&s, out);
}

static void hex(const unsigned char *key, int bytes, char *out) {
    for (int i = 0; i < bytes; i++) sprintf(out + 2 * i, "%02x", key[i]);
}

// ------------------------------------------------------------------ strings

typedef struct {
    char *s;
    size_t len, cap;
} Str;

static void str_addn(Str *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (p == NULL) {
            fprintf(stderr, "metal simulator: out of memory\n");
            abort();
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void str_add(Str *b, const char *s) {
    str_addn(b, s, strlen(s));
}

static void str_addf(Str *b, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < (int) sizeof small) {
        str_addn(b, small, (size_t) n);
        return;
    }
    char *big = malloc((size_t) n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t) n + 1, fmt, ap);
    va_end(ap);
    str_addn(b, big, (size_t) n);
    free(big);
}

static char *str_take(Str *b) {
    if (b->s == NULL) str_add(b, "");
    char *s = b->s;
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

// ------------------------------------------------------------------ tokens

enum { TK_ID, TK_NUM, TK_PUNCT, TK_STRING };

typedef struct {
    int kind;
    int pos, len;
    int line, col; // in program_source
    int in_source; // from program_source (not from a header)
} Tok;

typedef struct {
    Tok *v;
    int n, cap;
} Toks;

static void tok_push(Toks *t, Tok k) {
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->v = realloc(t->v, sizeof(Tok) * (size_t) t->cap);
        if (t->v == NULL) {
            fprintf(stderr, "metal simulator: out of memory\n");
            abort();
        }
    }
    t->v[t->n++] = k;
}

// Tokenizes preprocessed text; line markers (# 12 "program_source") give the source's lines.
static void tokenize(const char *s, Toks *t) {
    int i = 0, line = 1, line_start = 0, at_line_start = 1, in_source = 0;
    while (s[i]) {
        char c = s[i];
        if (c == '\n') {
            i++;
            line++;
            line_start = i;
            at_line_start = 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            i++;
            continue;
        }
        if (c == '/' && s[i + 1] == '/') {
            while (s[i] && s[i] != '\n') i++;
            continue;
        }
        if (c == '/' && s[i + 1] == '*') {
            i += 2;
            while (s[i] && !(s[i] == '*' && s[i + 1] == '/')) {
                if (s[i] == '\n') {
                    line++;
                    line_start = i + 1;
                }
                i++;
            }
            if (s[i]) i += 2;
            continue;
        }
        if (c == '#' && at_line_start) {
            int j = i + 1;
            while (s[j] == ' ' || s[j] == '\t') j++;
            if (isdigit((unsigned char) s[j])) {
                int n = atoi(s + j);
                while (isdigit((unsigned char) s[j])) j++;
                while (s[j] == ' ') j++;
                if (s[j] == '"') {
                    const char *name = s + j + 1;
                    in_source = strncmp(name, "program_source\"", 15) == 0;
                }
                while (s[i] && s[i] != '\n') i++;
                if (s[i]) i++;
                line = n;
                line_start = i;
                continue;
            }
            while (s[i] && s[i] != '\n') {
                if (s[i] == '\\' && s[i + 1] == '\n') {
                    i++;
                    line++;
                }
                i++;
            }
            continue;
        }
        at_line_start = 0;
        Tok k = {TK_PUNCT, i, 1, line, i - line_start + 1, in_source};
        if (isalpha((unsigned char) c) || c == '_') {
            k.kind = TK_ID;
            while (isalnum((unsigned char) s[i]) || s[i] == '_') i++;
        } else if (isdigit((unsigned char) c) || (c == '.' && isdigit((unsigned char) s[i + 1]))) {
            k.kind = TK_NUM;
            i++;
            while (isalnum((unsigned char) s[i]) || s[i] == '_' || s[i] == '.' || (s[i] == '\'' && isalnum((unsigned char) s[i + 1]))
                   || ((s[i] == '+' || s[i] == '-') && strchr("eEpP", s[i - 1]))) {
                i++;
            }
        } else if (c == '"' || c == '\'') {
            k.kind = TK_STRING;
            i++;
            while (s[i] && s[i] != c && s[i] != '\n') {
                if (s[i] == '\\' && s[i + 1]) i++;
                i++;
            }
            if (s[i] == c) i++;
        } else if (c == ':' && s[i + 1] == ':') {
            i += 2;
        } else {
            i++;
        }
        k.len = i - k.pos;
        tok_push(t, k);
    }
}

// ------------------------------------------------------------------ kernels and their parameters

enum { P_POINTER, P_REFERENCE, P_POSITION };

typedef struct {
    int kind;
    int index;       // buffer index
    char *type;      // the declared type, as written
    char *name;
    char *value;     // P_POSITION: the expression passed
} Param;

typedef struct {
    char *name;      // the function's name for newFunctionWithName:
    char *callee;    // F or F<T>
    char *ns_open;   // "namespace A { " for kernels inside namespaces
    char *ns_close;
    Param params[MAX_PARAMS];
    int nparams;
    unsigned max_threads;
} Kernel;

typedef struct {
    const char *text;
    Toks toks;
    Kernel *kernels;
    int nkernels, capkernels;
    Str error;
    // rewrites of the preprocessed text, in increasing position
    struct Rewrite {
        int pos, len;
        char *with;
    } *rewrites;
    int nrewrites, caprewrites;
} Scan;

static int is(const Scan *sc, int i, const char *s) {
    if (i < 0 || i >= sc->toks.n) return 0;
    const Tok *t = &sc->toks.v[i];
    return (int) strlen(s) == t->len && strncmp(sc->text + t->pos, s, (size_t) t->len) == 0;
}

static int is_id(const Scan *sc, int i) {
    return i >= 0 && i < sc->toks.n && sc->toks.v[i].kind == TK_ID;
}

static char *tok_text(const Scan *sc, int i) {
    return strndup(sc->text + sc->toks.v[i].pos, (size_t) sc->toks.v[i].len);
}

// Tokens [a, b) as source text, single spaces between identifiers and numbers.
static char *span_text(const Scan *sc, int a, int b) {
    Str s = {0};
    for (int i = a; i < b; i++) {
        int word = sc->toks.v[i].kind == TK_ID || sc->toks.v[i].kind == TK_NUM;
        int prev = i > a && (sc->toks.v[i - 1].kind == TK_ID || sc->toks.v[i - 1].kind == TK_NUM);
        if (word && prev) str_add(&s, " ");
        str_addn(&s, sc->text + sc->toks.v[i].pos, (size_t) sc->toks.v[i].len);
    }
    return str_take(&s);
}

static void fail(Scan *sc, int tok, const char *fmt, ...) {
    if (sc->error.len) return; // the first error is enough
    const Tok *t = tok >= 0 && tok < sc->toks.n ? &sc->toks.v[tok] : NULL;
    str_addf(&sc->error, "program_source:%d:%d: error: ", t ? t->line : 1, t ? t->col : 1);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    str_add(&sc->error, msg);
    str_add(&sc->error, "\n");
}

static void rewrite(Scan *sc, int pos, int len, const char *with) {
    if (sc->nrewrites == sc->caprewrites) {
        sc->caprewrites = sc->caprewrites ? sc->caprewrites * 2 : 64;
        sc->rewrites = realloc(sc->rewrites, sizeof(struct Rewrite) * (size_t) sc->caprewrites);
    }
    sc->rewrites[sc->nrewrites++] = (struct Rewrite) {pos, len, strdup(with)};
}

// Blanks text (keeping line breaks, so that line numbers stay).
static void blank(Scan *sc, int from, int to) {
    char *with = strndup(sc->text + from, (size_t) (to - from));
    for (char *p = with; *p; p++) {
        if (*p != '\n') *p = ' ';
    }
    rewrite(sc, from, to - from, with);
    free(with);
}

static int matching(const Scan *sc, int open, const char *o, const char *c) {
    int depth = 0;
    for (int i = open; i < sc->toks.n; i++) {
        if (is(sc, i, o)) depth++;
        if (is(sc, i, c) && --depth == 0) return i;
    }
    return -1;
}

typedef struct {
    const char *name;
    const char *var; // a uint3 of the generated entry points, or NULL for scalars
    const char *scalar;
} Position;

static const Position positions[] = {
        {"thread_position_in_grid", "bpsim_gid", NULL},
        {"threads_per_grid", "bpsim_tpg", NULL},
        {"thread_position_in_threadgroup", "bpsim_lid", NULL},
        {"threadgroup_position_in_grid", "bpsim_tgid", NULL},
        {"threads_per_threadgroup", "bpsim_tptg", NULL},
        {"dispatch_threads_per_threadgroup", "bpsim_dtptg", NULL},
        {"threadgroups_per_grid", "bpsim_ntg", NULL},
        {"thread_index_in_threadgroup", NULL, "bpsim_l"},
        {"thread_execution_width", NULL, "32u"},
        {"threads_per_simdgroup", NULL, "32u"},
        {"thread_index_in_simdgroup", NULL, "(bpsim_l % 32u)"},
        {"simdgroup_index_in_threadgroup", NULL, "(bpsim_l / 32u)"},
        {"simdgroups_per_threadgroup", NULL, "((bpsim_n + 31u) / 32u)"},
        {"dispatch_simdgroups_per_threadgroup", NULL, "((bpsim_g->dsize[0] * bpsim_g->dsize[1] * bpsim_g->dsize[2] + 31u) / 32u)"},
};

// One parameter, tokens [a, b).
static void parse_param(Scan *sc, Kernel *k, int a, int b) {
    if (k->nparams == MAX_PARAMS) {
        fail(sc, a, "kernel '%s' has more than %d parameters", k->name, MAX_PARAMS);
        return;
    }
    int attr_open = -1, attr_close = -1, attrs = 0;
    int keep[256], nkeep = 0;
    for (int i = a; i < b; i++) {
        if (is(sc, i, "[") && is(sc, i + 1, "[")) {
            int close = i + 2;
            while (close + 1 < b && !(is(sc, close, "]") && is(sc, close + 1, "]"))) close++;
            if (close + 1 >= b) {
                fail(sc, i, "kernel '%s': unbalanced attribute", k->name);
                return;
            }
            attrs++;
            attr_open = i;
            attr_close = close;
            i = close + 1;
            continue;
        }
        if (nkeep == 256) {
            fail(sc, i, "kernel '%s': parameter too long", k->name);
            return;
        }
        keep[nkeep++] = i;
    }
    if (nkeep < 2 || !is_id(sc, keep[nkeep - 1])) {
        fail(sc, a, "kernel '%s': cannot read parameter %d (the Metal simulator expects 'type name [[attribute]]')", k->name,
             k->nparams);
        return;
    }
    char *name = tok_text(sc, keep[nkeep - 1]);
    for (int i = 0; i < nkeep - 1; i++) {
        if (is(sc, keep[i], "[") || is(sc, keep[i], "(")) {
            fail(sc, keep[i], "kernel '%s' parameter '%s': array and function parameters are not supported by the Metal simulator",
                 k->name, name);
            free(name);
            return;
        }
    }
    if (attrs != 1) {
        fail(sc, a, "kernel '%s' parameter '%s': %s (the Metal simulator needs exactly one [[buffer(n)]] or thread-position attribute)",
             k->name, name, attrs ? "more than one attribute" : "no attribute");
        free(name);
        return;
    }
    char *attr = span_text(sc, attr_open + 2, attr_close);
    Param *p = &k->params[k->nparams];
    memset(p, 0, sizeof *p);
    p->name = name;
    // type: the kept tokens but the name
    Str type = {0};
    int space = 0, pointer = 0, reference = 0;
    for (int i = 0; i < nkeep - 1; i++) {
        if (i > 0) str_add(&type, " ");
        str_addn(&type, sc->text + sc->toks.v[keep[i]].pos, (size_t) sc->toks.v[keep[i]].len);
        if (is(sc, keep[i], "device") || is(sc, keep[i], "constant")) space = 1;
        if (is(sc, keep[i], "threadgroup") || is(sc, keep[i], "thread") || is(sc, keep[i], "threadgroup_imageblock")) space = -1;
    }
    int last = nkeep - 2; // the declarator's * or & (before a const, volatile or restrict of the pointer itself)
    while (last > 0 && (is(sc, keep[last], "const") || is(sc, keep[last], "volatile") || is(sc, keep[last], "restrict")
                        || is(sc, keep[last], "__restrict"))) {
        last--;
    }
    pointer = is(sc, keep[last], "*");
    reference = is(sc, keep[last], "&") && last == nkeep - 2;
    p->type = str_take(&type);

    int at = attr_open + 2;
    if (is(sc, at, "buffer")) {
        if (!(is(sc, at + 1, "(") && sc->toks.v[at + 2].kind == TK_NUM && is(sc, at + 3, ")") && at + 4 == attr_close)) {
            fail(sc, at, "kernel '%s' parameter '%s': [[%s]]: the Metal simulator needs a literal buffer index", k->name, name, attr);
        } else if (space != 1 || !(pointer || reference)) {
            fail(sc, at, "kernel '%s' parameter '%s': a [[buffer(n)]] parameter must be a device or constant pointer or reference in the Metal simulator (it is '%s')",
                 k->name, name, p->type);
        } else {
            p->kind = pointer ? P_POINTER : P_REFERENCE;
            p->index = (int) strtol(sc->text + sc->toks.v[at + 2].pos, NULL, 0);
            if (p->index < 0 || p->index >= MAX_BUFFERS) {
                fail(sc, at, "kernel '%s' parameter '%s': buffer index %d out of range (0..%d)", k->name, name, p->index, MAX_BUFFERS - 1);
            }
            for (int i = 0; i < k->nparams; i++) {
                if (k->params[i].kind != P_POSITION && k->params[i].index == p->index) {
                    fail(sc, at, "kernel '%s' parameter '%s': buffer index %d is used twice", k->name, name, p->index);
                }
            }
        }
    } else {
        const Position *pos = NULL;
        for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
            if (is(sc, at, positions[i].name) && at + 1 == attr_close) pos = &positions[i];
        }
        if (pos == NULL) {
            fail(sc, at, "kernel '%s' parameter '%s': attribute [[%s]] is not supported by the Metal simulator (it runs [[buffer(n)]] pointers and references and the thread-position attributes)",
                 k->name, name, attr);
        } else {
            // the type: one of uint, ushort (2, 3), maybe const
            int type_tok = -1, count = 0;
            for (int i = 0; i < nkeep - 1; i++) {
                if (is(sc, keep[i], "const")) continue;
                type_tok = keep[i];
                count++;
            }
            const char *t = count == 1 ? sc->text + sc->toks.v[type_tok].pos : "";
            int tl = count == 1 ? sc->toks.v[type_tok].len : 0;
            int width = 0, shorts = 0;
            static const struct {
                const char *name;
                int width, shorts;
            } types[] = {{"uint", 1, 0},   {"uint32_t", 1, 0}, {"uint2", 2, 0},   {"uint3", 3, 0},
                         {"ushort", 1, 1}, {"uint16_t", 1, 1}, {"ushort2", 2, 1}, {"ushort3", 3, 1}};
            for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
                if ((int) strlen(types[i].name) == tl && strncmp(t, types[i].name, (size_t) tl) == 0) {
                    width = types[i].width;
                    shorts = types[i].shorts;
                }
            }
            if (width == 0 || (pos->var == NULL && width != 1)) {
                fail(sc, at, "kernel '%s' parameter '%s': [[%s]] must be %s in the Metal simulator (it is '%s')", k->name, name, attr,
                     pos->var ? "uint, uint2, uint3, ushort, ushort2 or ushort3" : "uint or ushort", p->type);
            } else {
                Str v = {0};
                if (pos->var == NULL) {
                    str_addf(&v, shorts ? "(::ushort) %s" : "(::uint) %s", pos->scalar);
                } else if (width == 1) {
                    str_addf(&v, shorts ? "(::ushort) %s.x" : "%s.x", pos->var);
                } else if (width == 2) {
                    str_addf(&v, shorts ? "__builtin_convertvector(%s.xy, ::ushort2)" : "%s.xy", pos->var);
                } else {
                    str_addf(&v, shorts ? "__builtin_convertvector(%s, ::ushort3)" : "%s", pos->var);
                }
                p->kind = P_POSITION;
                p->value = str_take(&v);
            }
        }
    }
    free(attr);
    k->nparams++;
}

static Kernel *new_kernel(Scan *sc, int at, char *name) {
    for (int i = 0; i < sc->nkernels; i++) {
        if (strcmp(sc->kernels[i].name, name) == 0) {
            fail(sc, at, "kernel '%s' is defined twice", name);
        }
    }
    if (sc->nkernels == sc->capkernels) {
        sc->capkernels = sc->capkernels ? sc->capkernels * 2 : 32;
        sc->kernels = realloc(sc->kernels, sizeof(Kernel) * (size_t) sc->capkernels);
    }
    Kernel *k = &sc->kernels[sc->nkernels++];
    memset(k, 0, sizeof *k);
    k->name = name;
    k->max_threads = 1024;
    return k;
}

typedef struct {
    int is_namespace;
    char *name;
} Scope;

// Finds the kernels and the rewrites.
static void scan(Scan *sc) {
    Scope scopes[256];
    int depth = 0;
    const Toks *t = &sc->toks;
    for (int i = 0; i < t->n && !sc->error.len; i++) {
        if (is(sc, i, "namespace")) {
            int j = i + 1;
            Str name = {0};
            for (; j < t->n && (is_id(sc, j) || is(sc, j, "::")); j++) str_addn(&name, sc->text + t->v[j].pos, (size_t) t->v[j].len);
            if (is(sc, j, "{") && depth < 256) {
                scopes[depth++] = (Scope) {1, str_take(&name)};
                i = j;
                continue;
            }
            free(name.s);
            continue;
        }
        if (is(sc, i, "{")) {
            if (depth < 256) scopes[depth] = (Scope) {0, NULL};
            depth++;
            continue;
        }
        if (is(sc, i, "}")) {
            if (depth > 0) {
                depth--;
                if (depth < 256) free(scopes[depth].name);
            }
            continue;
        }
        if (is(sc, i, "threadgroup")) {
            // A qualifier of a pointer or reference (threadgroup float *p) is blanked; a declaration
            // (threadgroup float tmp[256];) keeps it for the shim's static thread_local.
            int j = i + 1, angle = 0;
            while (j < t->n) {
                if (is(sc, j, "<")) angle++;
                else if (is(sc, j, ">")) angle--;
                else if (!(is_id(sc, j) || is(sc, j, "::") || angle > 0)) break;
                j++;
            }
            if (is(sc, j, "*") || is(sc, j, "&")) blank(sc, t->v[i].pos, t->v[i].pos + t->v[i].len);
            continue;
        }
        if (t->v[i].kind == TK_NUM) {
            const char *s = sc->text + t->v[i].pos;
            int len = t->v[i].len;
            char last = s[len - 1];
            if ((last == 'h' || last == 'H') && !(len > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
                char with[256];
                snprintf(with, sizeof with, "%.*s_%c", len - 1, s, last);
                rewrite(sc, t->v[i].pos, len, with);
            }
            continue;
        }
        if (!(is(sc, i, "kernel") && is(sc, i + 1, "void") && is_id(sc, i + 2))) continue;
        int at_namespace_scope = 1;
        for (int d = 0; d < depth && d < 256; d++) at_namespace_scope &= scopes[d].is_namespace;
        if (!at_namespace_scope) continue;

        // Attributes just before `kernel`: [[host_name("x")]] of an explicit instantiation, or
        // [[max_total_threads_per_threadgroup(n)]].
        int first = i, instantiation = 0;
        char *host_name = NULL;
        unsigned max_threads = 1024;
        while (is(sc, first - 1, "]") && is(sc, first - 2, "]")) {
            int open = first - 3;
            while (open > 0 && !(is(sc, open, "[") && is(sc, open - 1, "["))) open--;
            if (open <= 0) break;
            int a = open + 1;
            if (is(sc, a, "host_name") && is(sc, a + 1, "(") && t->v[a + 2].kind == TK_STRING && is(sc, a + 3, ")")) {
                free(host_name);
                host_name = strndup(sc->text + t->v[a + 2].pos + 1, (size_t) t->v[a + 2].len - 2);
            } else if (is(sc, a, "max_total_threads_per_threadgroup") && is(sc, a + 1, "(") && t->v[a + 2].kind == TK_NUM) {
                max_threads = (unsigned) strtoul(sc->text + t->v[a + 2].pos, NULL, 0);
            }
            first = open - 1;
        }
        if (is(sc, first - 1, "template")) {
            instantiation = 1;
            first--;
        } else if (is(sc, first - 1, ">")) {
            continue; // a template's definition: its instantiations are the kernels
        }
        char *fname = tok_text(sc, i + 2);
        int j = i + 3;
        char *callee;
        if (instantiation) {
            if (!is(sc, j, "<") || host_name == NULL) {
                fail(sc, i, "explicit instantiation of kernel '%s': the Metal simulator expects template [[host_name(\"name\")]] kernel void %s<...>(...);",
                     fname, fname);
                free(fname);
                free(host_name);
                break;
            }
            int close = matching(sc, j, "<", ">");
            if (close < 0) {
                fail(sc, j, "kernel '%s': unbalanced template arguments", fname);
                free(fname);
                free(host_name);
                break;
            }
            Str c = {0};
            str_add(&c, fname);
            for (int q = j; q <= close; q++) {
                str_add(&c, " ");
                str_addn(&c, sc->text + t->v[q].pos, (size_t) t->v[q].len);
            }
            callee = str_take(&c);
            j = close + 1;
        } else {
            callee = strdup(fname);
        }
        if (!is(sc, j, "(")) {
            free(fname);
            free(callee);
            free(host_name);
            continue;
        }
        int close = matching(sc, j, "(", ")");
        if (close < 0) {
            fail(sc, j, "kernel '%s': unbalanced parentheses", fname);
            free(fname);
            free(callee);
            free(host_name);
            break;
        }
        int definition = is(sc, close + 1, "{");
        if (!instantiation && !definition) { // a declaration; the definition follows
            free(fname);
            free(callee);
            free(host_name);
            i = close;
            continue;
        }
        Kernel *k = new_kernel(sc, i + 2, instantiation ? host_name : strdup(fname));
        if (!instantiation) free(host_name);
        free(fname);
        k->callee = callee;
        k->max_threads = max_threads > 0 && max_threads < 1024 ? max_threads : 1024;
        Str open = {0}, shut = {0};
        for (int d = 0; d < depth && d < 256; d++) {
            if (scopes[d].name == NULL || scopes[d].name[0] == 0) {
                fail(sc, i, "kernel '%s' is in an unnamed namespace, which the Metal simulator does not support", k->name);
            }
            str_addf(&open, "namespace %s { ", scopes[d].name ? scopes[d].name : "");
            str_add(&shut, "} ");
        }
        k->ns_open = str_take(&open);
        k->ns_close = str_take(&shut);
        // parameters: split at top-level commas
        if (!(close == j + 1 || (close == j + 2 && is(sc, j + 1, "void")))) {
            int a = j + 1, paren = 0, angle = 0, bracket = 0;
            for (int q = j + 1; q <= close && !sc->error.len; q++) {
                if (q == close || (is(sc, q, ",") && paren == 0 && angle == 0 && bracket == 0)) {
                    parse_param(sc, k, a, q);
                    a = q + 1;
                    continue;
                }
                if (is(sc, q, "(")) paren++;
                if (is(sc, q, ")")) paren--;
                if (is(sc, q, "[")) bracket++;
                if (is(sc, q, "]")) bracket--;
                if (is(sc, q, "<")) angle++;
                if (is(sc, q, ">") && angle > 0) angle--;
            }
        }
        if (instantiation) {
            // The adapter's call instantiates the template; the explicit instantiation (whose
            // `kernel` would read `inline`) goes.
            int semi = close + 1;
            if (!is(sc, semi, ";")) {
                fail(sc, close, "explicit instantiation of kernel '%s' must end with ';'", k->name);
                break;
            }
            blank(sc, t->v[first].pos, t->v[semi].pos + 1);
            i = semi;
        } else {
            i = close;
        }
    }
    for (int d = 0; d < depth && d < 256; d++) free(scopes[d].name);
}

static void adapter_args(Str *out, const Kernel *k) {
    for (int p = 0; p < k->nparams; p++) {
        const Param *q = &k->params[p];
        if (p > 0) str_add(out, ", ");
        if (q->kind == P_POINTER) {
            str_addf(out, "(%s) (bpsim_b[%d])", q->type, q->index);
        } else if (q->kind == P_REFERENCE) {
            // T & -> *(T *)
            size_t n = strlen(q->type);
            str_addf(out, "*(%.*s*) (bpsim_b[%d])", (int) (n - 1), q->type, q->index);
        } else {
            str_add(out, q->value);
        }
    }
}

static char *generate_adapter(const Scan *sc) {
    Str a = {0};
    str_add(&a, "\n#line 1 \"bpsim_adapter\"\n");
    str_add(&a, "extern \"C\" __attribute__((visibility(\"hidden\"))) const struct bpsim_host_api *bpsim_host = 0;\n");
    str_add(&a, "extern \"C\" __attribute__((visibility(\"default\"))) const unsigned bpsim_abi_version = 1;\n");
    str_add(&a, "extern \"C\" __attribute__((visibility(\"default\"))) void bpsim_init(const struct bpsim_host_api *h) { bpsim_host = h; }\n");
    str_add(&a, "static_assert(sizeof(bpsim_group) == 68, \"bpsim_group layout\");\n");
    str_add(&a, "static_assert(sizeof(0.5) == sizeof(float), \"the Metal simulator needs single-precision float literals "
                "(clang's -cl-single-precision-constant), as in MSL\");\n");
    const char *prologue =
            "    const ::uint3 bpsim_tgid = {bpsim_g->tgid[0], bpsim_g->tgid[1], bpsim_g->tgid[2]};\n"
            "    const ::uint3 bpsim_tptg = {bpsim_g->size[0], bpsim_g->size[1], bpsim_g->size[2]};\n"
            "    const ::uint3 bpsim_dtptg = {bpsim_g->dsize[0], bpsim_g->dsize[1], bpsim_g->dsize[2]};\n"
            "    const ::uint3 bpsim_tpg = {bpsim_g->tpg[0], bpsim_g->tpg[1], bpsim_g->tpg[2]};\n"
            "    const ::uint3 bpsim_ntg = {bpsim_g->ntg[0], bpsim_g->ntg[1], bpsim_g->ntg[2]};\n"
            "    const ::uint bpsim_n = bpsim_g->size[0] * bpsim_g->size[1] * bpsim_g->size[2];\n"
            "    (void) bpsim_tgid; (void) bpsim_tptg; (void) bpsim_dtptg; (void) bpsim_tpg; (void) bpsim_ntg; (void) bpsim_n;\n";
    for (int i = 0; i < sc->nkernels; i++) {
        const Kernel *k = &sc->kernels[i];
        Str args = {0};
        adapter_args(&args, k);
        str_addf(&a, "%s\n", k->ns_open);
        // every thread of one group, in a loop; returns early once a barrier made the group fibers
        str_addf(&a, "extern \"C\" __attribute__((visibility(\"default\"))) void bpsim_k%d_group(void *const *bpsim_b, bpsim_group *bpsim_g) {\n", i);
        str_add(&a, prologue);
        str_add(&a, "    ::uint bpsim_l = 0;\n"
                    "    for (::uint bpsim_z = 0; bpsim_z < bpsim_g->size[2]; bpsim_z++)\n"
                    "    for (::uint bpsim_y = 0; bpsim_y < bpsim_g->size[1]; bpsim_y++)\n"
                    "    for (::uint bpsim_x = 0; bpsim_x < bpsim_g->size[0]; bpsim_x++, bpsim_l++) {\n"
                    "        bpsim_g->cur = bpsim_l;\n"
                    "        const ::uint3 bpsim_lid = {bpsim_x, bpsim_y, bpsim_z};\n"
                    "        const ::uint3 bpsim_gid = bpsim_tgid * bpsim_dtptg + bpsim_lid;\n"
                    "        (void) bpsim_lid; (void) bpsim_gid;\n");
        str_addf(&a, "        %s(%s);\n", k->callee, args.s ? args.s : "");
        str_add(&a, "        if (bpsim_g->stop) return;\n"
                    "    }\n"
                    "}\n");
        // one thread
        str_addf(&a, "extern \"C\" __attribute__((visibility(\"default\"))) void bpsim_k%d_thread(void *const *bpsim_b, bpsim_group *bpsim_g, ::uint bpsim_l) {\n",
                 i);
        str_add(&a, prologue);
        str_add(&a, "    const ::uint3 bpsim_lid = {bpsim_l % bpsim_g->size[0], (bpsim_l / bpsim_g->size[0]) % bpsim_g->size[1], bpsim_l / (bpsim_g->size[0] * bpsim_g->size[1])};\n"
                    "    const ::uint3 bpsim_gid = bpsim_tgid * bpsim_dtptg + bpsim_lid;\n"
                    "    (void) bpsim_lid; (void) bpsim_gid;\n");
        str_addf(&a, "    %s(%s);\n}\n", k->callee, args.s ? args.s : "");
        str_addf(&a, "%s\n", k->ns_close);
        free(args.s);
    }
    str_add(&a, "struct bpsim_kernel_info { const char *name; void (*group)(void *const *, bpsim_group *); "
                "void (*one)(void *const *, bpsim_group *, ::uint); unsigned max_threads; };\n");
    for (int i = 0; i < sc->nkernels; i++) { // the entry points of kernels in namespaces, seen from here
        str_addf(&a, "extern \"C\" void bpsim_k%d_group(void *const *, bpsim_group *);\n", i);
        str_addf(&a, "extern \"C\" void bpsim_k%d_thread(void *const *, bpsim_group *, ::uint);\n", i);
    }
    str_addf(&a, "extern \"C\" __attribute__((visibility(\"default\"))) const unsigned bpsim_kernel_count = %d;\n", sc->nkernels);
    str_add(&a, "extern \"C\" __attribute__((visibility(\"default\"))) const bpsim_kernel_info bpsim_kernels[] = {\n");
    for (int i = 0; i < sc->nkernels; i++) {
        const Kernel *k = &sc->kernels[i];
        str_addf(&a, "    {\"%s\", &bpsim_k%d_group, &bpsim_k%d_thread, %u},\n", k->name, i, i, k->max_threads);
    }
    if (sc->nkernels == 0) str_add(&a, "    {\"\", 0, 0, 0},\n");
    str_add(&a, "};\n");
    return str_take(&a);
}

static void scan_free(Scan *sc) {
    for (int i = 0; i < sc->nkernels; i++) {
        Kernel *k = &sc->kernels[i];
        free(k->name);
        free(k->callee);
        free(k->ns_open);
        free(k->ns_close);
        for (int p = 0; p < k->nparams; p++) {
            free(k->params[p].type);
            free(k->params[p].name);
            free(k->params[p].value);
        }
    }
    free(sc->kernels);
    for (int i = 0; i < sc->nrewrites; i++) free(sc->rewrites[i].with);
    free(sc->rewrites);
    free(sc->toks.v);
    free(sc->error.s);
}

// ------------------------------------------------------------------ files and processes

static int write_file(const char *path, const char *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return -1;
        }
        done += (size_t) n;
    }
    return close(fd);
}

static char *read_file(const char *path, size_t limit) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    Str s = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0 && s.len < limit) str_addn(&s, buf, n);
    fclose(f);
    return str_take(&s);
}

// Runs argv with stdout and stderr into `log`; the exit status, or -1 (errno set) if it did not start.
static int run(char *const argv[], const char *log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return errno == ECHILD ? 0 : 128;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void replace_all(Str *s, const char *what, const char *with) {
    if (!what[0] || s->s == NULL) return;
    Str out = {0};
    const char *p = s->s, *hit;
    size_t wl = strlen(what);
    while ((hit = strstr(p, what)) != NULL) {
        str_addn(&out, p, (size_t) (hit - p));
        str_add(&out, with);
        p = hit + wl;
    }
    str_add(&out, p);
    free(s->s);
    *s = out;
}

// The cache directory, created private to this user.
static int cache_dir(char *out, size_t cap, char **message) {
    const char *env = getenv("BPSIM_CACHE_DIR");
    if (env && env[0]) {
        snprintf(out, cap, "%s", env);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(out, cap, "%s/backplane-metal-sim-%lu", tmp && tmp[0] ? tmp : "/tmp", (unsigned long) getuid());
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        Str m = {0};
        str_addf(&m, "program_source:1:1: error: the Metal simulator cannot create its compile cache %s: %s\n", out, strerror(errno));
        *message = str_take(&m);
        return -1;
    }
    struct stat st;
    if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022) != 0) {
        Str m = {0};
        str_addf(&m, "program_source:1:1: error: the Metal simulator's compile cache %s is not a directory private to this user\n", out);
        *message = str_take(&m);
        return -1;
    }
    return 0;
}

static const char *shim_headers[] = {"metal_stdlib", "metal_math", "metal_atomic", "metal_compute", "metal_common", "metal_integer",
                                     "metal_relational", "metal_geometric", "metal_numeric", "metal_limits", "metal_type_traits",
                                     "metal_pack", "metal_types", NULL};

// <base>/shim-<hash>/: msl_shim.h and the empty <metal_stdlib> etc.
static int shim_dir(const char *base, const unsigned char shim_key[32], char *out, size_t cap, char **message) {
    char h[17];
    hex(shim_key, 8, h);
    snprintf(out, cap, "%s/shim-%s", base, h);
    struct stat st;
    if (stat(out, &st) == 0) return 0;
    char tmp[4096];
    static int counter;
    snprintf(tmp, sizeof tmp, "%s/tmp-shim-%d-%d", base, (int) getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    char path[4200];
    int ok = mkdir(tmp, 0700) == 0;
    snprintf(path, sizeof path, "%s/msl_shim.h", tmp);
    ok = ok && write_file(path, bpsim_shim_text, strlen(bpsim_shim_text)) == 0;
    for (int i = 0; ok && shim_headers[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, shim_headers[i]);
        ok = write_file(path, "// The Metal simulator: everything is in msl_shim.h, included first.\n", 69) == 0;
    }
    if (ok && rename(tmp, out) != 0 && stat(out, &st) != 0) ok = 0;
    if (stat(tmp, &st) == 0) { // lost a race, or failed: clean up
        for (int i = 0; shim_headers[i]; i++) {
            snprintf(path, sizeof path, "%s/%s", tmp, shim_headers[i]);
            unlink(path);
        }
        snprintf(path, sizeof path, "%s/msl_shim.h", tmp);
        unlink(path);
        rmdir(tmp);
    }
    if (!ok) {
        Str m = {0};
        str_addf(&m, "program_source:1:1: error: the Metal simulator cannot write its shim into %s: %s\n", base, strerror(errno));
        *message = str_take(&m);
        return -1;
    }
    return 0;
}

static const char *compiler(void) {
    const char *cxx = getenv("BPSIM_CXX");
    return cxx && cxx[0] ? cxx : "clang++";
}

// ------------------------------------------------------------------ compile and load

static pthread_mutex_t programs_lock = PTHREAD_MUTEX_INITIALIZER;
static BPSimProgram *programs;

// The part of every key that does not depend on the source: this simulator's sources (build.sh
// passes their hash), the compiler and the shim.
static unsigned char base_key[32];
static pthread_once_t base_key_once = PTHREAD_ONCE_INIT;

static void make_base_key(void) {
    Sha256 s;
    sha_init(&s);
    sha_update(&s, GENERATOR, sizeof GENERATOR);
    sha_update(&s, BPSIM_BUILD_ID, sizeof BPSIM_BUILD_ID);
    const char *cxx = compiler();
    sha_update(&s, cxx, strlen(cxx) + 1);
    sha_update(&s, bpsim_shim_text, strlen(bpsim_shim_text));
    sha_final(&s, base_key);
}

static BPSimProgram *load(const char *so, const unsigned char key[32], char **message) {
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    Str m = {0};
    if (h == NULL) {
        str_addf(&m, "program_source:1:1: error: the Metal simulator cannot load the compiled library: %s\n", dlerror());
        *message = str_take(&m);
        return NULL;
    }
    const unsigned *abi = dlsym(h, "bpsim_abi_version");
    void (*init)(const bpsim_host_api *) = (void (*)(const bpsim_host_api *)) dlsym(h, "bpsim_init");
    const unsigned *count = dlsym(h, "bpsim_kernel_count");
    struct info {
        const char *name;
        bpsim_group_fn group;
        bpsim_thread_fn thread;
        unsigned max_threads;
    } const *table = dlsym(h, "bpsim_kernels");
    if (abi == NULL || *abi != BPSIM_ABI_VERSION || init == NULL || count == NULL || table == NULL) {
        str_addf(&m, "program_source:1:1: error: %s is not a library of this Metal simulator\n", so);
        *message = str_take(&m);
        return NULL; // left loaded: dlclose of code that may have run is not worth the risk
    }
    init(&bpsim_host_callbacks);
    BPSimProgram *p = calloc(1, sizeof(BPSimProgram));
    p->kernels = calloc(*count ? *count : 1, sizeof(BPSimKernel));
    memcpy(p->key, key, 32);
    p->handle = h;
    p->count = (int) *count;
    for (unsigned i = 0; i < *count; i++) {
        snprintf(p->kernels[i].name, sizeof p->kernels[i].name, "%s", table[i].name);
        p->kernels[i].group = table[i].group;
        p->kernels[i].thread = table[i].thread;
        p->kernels[i].max_threads = table[i].max_threads;
    }
    return p;
}

// Removes a compile's temporary directory.
static void remove_dir(const char *dir) {
    static const char *files[] = {"program_source.cpp", "preprocessed.ii", "program.cpp", "out.so", "log", NULL};
    char path[4200];
    for (int i = 0; files[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static BPSimProgram *compile(const char *source, const unsigned char key[32], const char *base, const char *shimdir, char **message) {
    static int counter;
    char keyhex[65], dir[4096], src[4200], pre[4200], prog[4200], out[4200], log[4200], final_so[4200], final_cpp[4200], shim[4200];
    hex(key, 32, keyhex);
    snprintf(dir, sizeof dir, "%s/tmp-%s-%d-%d", base, keyhex, (int) getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    snprintf(src, sizeof src, "%s/program_source.cpp", dir);
    snprintf(pre, sizeof pre, "%s/preprocessed.ii", dir);
    snprintf(prog, sizeof prog, "%s/program.cpp", dir);
    snprintf(out, sizeof out, "%s/out.so", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(final_so, sizeof final_so, "%s/%s.so", base, keyhex);
    snprintf(final_cpp, sizeof final_cpp, "%s/%s.cpp", base, keyhex);
    snprintf(shim, sizeof shim, "%s/msl_shim.h", shimdir);
    Str m = {0};
    if (mkdir(dir, 0700) != 0) {
        str_addf(&m, "program_source:1:1: error: the Metal simulator cannot create %s: %s\n", dir, strerror(errno));
        *message = str_take(&m);
        return NULL;
    }
    BPSimProgram *result = NULL;
    char *text = NULL, *adapter = NULL;
    Scan sc;
    memset(&sc, 0, sizeof sc);
    Str wrapped = {0};
    str_add(&wrapped, "#line 1 \"program_source\"\n");
    str_add(&wrapped, source);
    str_add(&wrapped, "\n");
    if (write_file(src, wrapped.s, wrapped.len) != 0) {
        str_addf(&m, "program_source:1:1: error: the Metal simulator cannot write %s: %s\n", src, strerror(errno));
        goto done;
    }
    // 1. preprocess
    const char *cxx = compiler();
    char *pre_argv[] = {(char *) cxx, "-E", "-x", "c++", "-std=c++17", "-D__METAL_VERSION__=310", "-D__HAVE_BFLOAT__=1",
                        "-fno-color-diagnostics", "-I", (char *) shimdir, src, "-o", pre, NULL};
    int rc = run(pre_argv, log);
    if (rc == 0) {
        // 2. find the kernels, 3. generate the adapter
        text = read_file(pre, (size_t) 1 << 30);
        sc.text = text ? text : "";
        tokenize(sc.text, &sc.toks);
        scan(&sc);
        if (sc.error.len) {
            str_add(&m, sc.error.s);
            goto done;
        }
        adapter = generate_adapter(&sc);
        Str program = {0};
        size_t at = 0;
        for (int i = 0; i < sc.nrewrites; i++) {
            str_addn(&program, sc.text + at, (size_t) sc.rewrites[i].pos - at);
            str_add(&program, sc.rewrites[i].with);
            at = (size_t) (sc.rewrites[i].pos + sc.rewrites[i].len);
        }
        str_add(&program, sc.text + at);
        str_add(&program, adapter);
        int written = write_file(prog, program.s, program.len);
        free(program.s);
        if (written != 0) {
            str_addf(&m, "program_source:1:1: error: the Metal simulator cannot write %s: %s\n", prog, strerror(errno));
            goto done;
        }
        // 4. compile
        char *cc_argv[] = {(char *) cxx, "-std=c++17", "-O2", "-shared", "-fPIC", "-fno-exceptions", "-fno-rtti", "-fno-math-errno",
                           "-ffp-contract=off", "-fno-strict-aliasing", "-fwrapv", "-fvisibility=hidden", "-cl-single-precision-constant",
                           "-w", "-ferror-limit=20", "-fno-color-diagnostics", "-I", (char *) shimdir, "-include", shim, "-x", "c++",
                           prog, "-o", out, "-lm", NULL};
        rc = run(cc_argv, log);
    }
    if (rc != 0) {
        if (rc < 0) {
            str_addf(&m, "program_source:1:1: error: the Metal simulator cannot run the C++ compiler '%s' (%s); install clang or set BPSIM_CXX\n",
                     cxx, strerror(errno));
        } else {
            Str diag = {0};
            char *d = read_file(log, 64 * 1024);
            str_add(&diag, d ? d : "");
            free(d);
            char prefix[4200];
            snprintf(prefix, sizeof prefix, "%s/", dir);
            replace_all(&diag, prefix, "");
            snprintf(prefix, sizeof prefix, "%s/", shimdir);
            replace_all(&diag, prefix, "");
            if (diag.len == 0) str_addf(&diag, "program_source:1:1: error: the C++ compiler '%s' failed (exit status %d)\n", cxx, rc);
            if (diag.len > 16000) {
                diag.s[16000] = 0;
                diag.len = 16000;
                str_add(&diag, "\n...\n");
            }
            str_add(&m, diag.s);
            free(diag.s);
        }
        goto done;
    }
    if (rename(out, final_so) != 0) {
        str_addf(&m, "program_source:1:1: error: the Metal simulator cannot write %s: %s\n", final_so, strerror(errno));
        goto done;
    }
    rename(prog, final_cpp); // kept for reading, not needed
    result = load(final_so, key, message);
done:
    if (m.len) *message = str_take(&m);
    free(m.s);
    free(wrapped.s);
    free(text);
    free(adapter);
    scan_free(&sc);
    remove_dir(dir);
    return result;
}

const BPSimProgram *bpsim_msl_compile(const char *source, char **message) {
    *message = NULL;
    pthread_once(&base_key_once, make_base_key);
    unsigned char key[32];
    Sha256 s;
    sha_init(&s);
    sha_update(&s, base_key, 32);
    sha_update(&s, source, strlen(source));
    sha_final(&s, key);

    pthread_mutex_lock(&programs_lock);
    for (BPSimProgram *p = programs; p; p = p->next) {
        if (memcmp(p->key, key, 32) == 0) {
            pthread_mutex_unlock(&programs_lock);
            return p;
        }
    }
    pthread_mutex_unlock(&programs_lock);

    char base[4096], shimdir[4200], so[4200], keyhex[65];
    unsigned char shim_key[32];
    bpsim_sha256(bpsim_shim_text, strlen(bpsim_shim_text), shim_key);
    if (cache_dir(base, sizeof base, message) != 0 || shim_dir(base, shim_key, shimdir, sizeof shimdir, message) != 0) return NULL;
    hex(key, 32, keyhex);
    snprintf(so, sizeof so, "%s/%s.so", base, keyhex);
    BPSimProgram *p = NULL;
    if (access(so, R_OK) == 0) {
        p = load(so, key, message);
        if (p == NULL) {
            free(*message);
            *message = NULL;
            unlink(so); // damaged: compile again
        }
    }
    if (p == NULL) p = compile(source, key, base, shimdir, message);
    if (p == NULL) return NULL;
    pthread_mutex_lock(&programs_lock);
    for (BPSimProgram *q = programs; q; q = q->next) {
        if (memcmp(q->key, key, 32) == 0) { // another thread was first
            pthread_mutex_unlock(&programs_lock);
            free(p->kernels);
            free(p);
            return q;
        }
    }
    p->next = programs;
    programs = p;
    pthread_mutex_unlock(&programs_lock);
    return p;
}

const BPSimKernel *bpsim_msl_kernel(const BPSimProgram *p, const char *name) {
    for (int i = 0; p && i < p->count; i++) {
        if (strcmp(p->kernels[i].name, name) == 0) return &p->kernels[i];
    }
    return NULL;
}
