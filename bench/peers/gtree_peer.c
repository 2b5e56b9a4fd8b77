/*
 * IommuKit peer harness: a range map on GLib's GTree with an overlap comparator (two ranges compare equal when they
 * overlap), the shape of QEMU's util/iova-tree.c, written here from that description. Records are 4K ranges
 * [iova, iova + size] with an inclusive size field, as QEMU's DMAMap. Workloads, at 1M records:
 *   gtree_insert    insert 1M records (every other page, ascending), each after an overlap lookup
 *   gtree_find      lookup of a mapped address, random probes (IommuKit: RangeMap.TryFind)
 *   gtree_remove    remove 1M records ascending, each found by an overlap lookup first
 *   gtree_firstfit  first-fit allocation of 4K among 1M dense records: an in-order traversal to the first hole
 *   gtree_reverse   reverse lookup (translated address -> record): an in-order traversal
 * Times are process CPU time per operation, best of three rounds. Output: one "name ns_per_op" line each.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define RECORDS (1u << 20)
#define LOOKUPS 4096u
#define LOOKUP_ROUNDS 200u
#define SLOW_OPS 5u
#define ROUNDS 3

typedef struct
{
    uint64_t iova;
    uint64_t translated;
    uint64_t size; /* inclusive: the range is [iova, iova + size] */
    int perm;
} Record;

static gint overlap_compare(gconstpointer a, gconstpointer b, gpointer data)
{
    (void)data;
    const Record *x = a;
    const Record *y = b;
    if (x->iova > y->iova + y->size)
    {
        return 1;
    }
    if (x->iova + x->size < y->iova)
    {
        return -1;
    }
    return 0;
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static GTree *new_tree(void) { return g_tree_new_full(overlap_compare, NULL, g_free, NULL); }

static gboolean insert(GTree *t, uint64_t iova, uint64_t size, uint64_t translated)
{
    Record key = { iova, 0, size - 1, 0 };
    if (g_tree_lookup(t, &key) != NULL)
    {
        return FALSE;
    }
    Record *r = g_new(Record, 1);
    *r = (Record){ iova, translated, size - 1, 3 };
    g_tree_insert(t, r, r);
    return TRUE;
}

typedef struct
{
    uint64_t begin, last, size; /* window [begin, last], wanted size */
    uint64_t cursor;           /* first address not yet known to be taken */
    gboolean found;
    uint64_t result;
} FitState;

static gboolean first_fit_step(gpointer key, gpointer value, gpointer data)
{
    (void)value;
    const Record *r = key;
    FitState *s = data;
    if (r->iova > s->cursor && r->iova - s->cursor >= s->size)
    {
        s->found = TRUE;
        s->result = s->cursor;
        return TRUE;
    }
    if (r->iova + r->size >= s->cursor)
    {
        s->cursor = r->iova + r->size + 1;
    }
    return FALSE;
}

static gboolean first_fit(GTree *t, uint64_t begin, uint64_t last, uint64_t size, uint64_t *iova)
{
    FitState s = { begin, last, size, begin, FALSE, 0 };
    g_tree_foreach(t, first_fit_step, &s);
    if (!s.found && s.cursor <= last && last - s.cursor + 1 >= size)
    {
        s.found = TRUE;
        s.result = s.cursor;
    }
    *iova = s.result;
    return s.found;
}

typedef struct
{
    uint64_t translated;
    const Record *hit;
} ReverseState;

static gboolean reverse_step(gpointer key, gpointer value, gpointer data)
{
    (void)value;
    const Record *r = key;
    ReverseState *s = data;
    if (s->translated >= r->translated && s->translated <= r->translated + r->size)
    {
        s->hit = r;
        return TRUE;
    }
    return FALSE;
}

static double keep_min(double a, double b) { return a == 0 || b < a ? b : a; }

int main(void)
{
    double ins = 0, find = 0, rem = 0, fit = 0, rev = 0;
    uint64_t *probes = g_new(uint64_t, LOOKUPS);
    GRand *rng = g_rand_new_with_seed(7);
    for (unsigned k = 0; k < LOOKUPS; k++)
    {
        probes[k] = ((uint64_t)g_rand_int_range(rng, 0, RECORDS) << 13) + 0x10;
    }

    uint64_t sink = 0;
    for (int round = 0; round < ROUNDS; round++)
    {
        GTree *t = new_tree();
        double t0 = cpu_ns();
        for (uint64_t i = 0; i < RECORDS; i++)
        {
            if (!insert(t, i << 13, 0x1000, 0x40000000000ULL + (i << 12)))
            {
                fprintf(stderr, "insert failed\n");
                return 1;
            }
        }
        ins = keep_min(ins, (cpu_ns() - t0) / RECORDS);

        t0 = cpu_ns();
        for (unsigned r = 0; r < LOOKUP_ROUNDS; r++)
        {
            for (unsigned k = 0; k < LOOKUPS; k++)
            {
                Record key = { probes[k], 0, 0, 0 };
                const Record *hit = g_tree_lookup(t, &key);
                sink += hit != NULL ? hit->translated : 1;
            }
        }
        find = keep_min(find, (cpu_ns() - t0) / ((double)LOOKUPS * LOOKUP_ROUNDS));

        t0 = cpu_ns();
        for (uint64_t i = 0; i < RECORDS; i++)
        {
            Record key = { i << 13, 0, 0xfff, 0 };
            gpointer hit = g_tree_lookup(t, &key);
            if (hit == NULL || !g_tree_remove(t, hit))
            {
                fprintf(stderr, "remove failed\n");
                return 1;
            }
        }
        rem = keep_min(rem, (cpu_ns() - t0) / RECORDS);
        g_tree_destroy(t);

        /* Dense records: the first 4K hole is above the last one, so first fit traverses them all. */
        t = new_tree();
        for (uint64_t i = 0; i < RECORDS; i++)
        {
            insert(t, i << 12, 0x1000, 0x40000000000ULL + (i << 12));
        }

        t0 = cpu_ns();
        for (unsigned k = 0; k < SLOW_OPS; k++)
        {
            uint64_t iova;
            if (!first_fit(t, 0, (1ULL << 48) - 1, 0x1000, &iova) || iova != (uint64_t)RECORDS << 12)
            {
                fprintf(stderr, "first fit failed\n");
                return 1;
            }
            sink += iova;
        }
        fit = keep_min(fit, (cpu_ns() - t0) / SLOW_OPS);

        t0 = cpu_ns();
        for (unsigned k = 0; k < SLOW_OPS; k++)
        {
            ReverseState s = { 0x40000000000ULL + (probes[k] >> 1), NULL };
            g_tree_foreach(t, reverse_step, &s);
            if (s.hit == NULL)
            {
                fprintf(stderr, "reverse lookup failed\n");
                return 1;
            }
            sink += s.hit->iova;
        }
        rev = keep_min(rev, (cpu_ns() - t0) / SLOW_OPS);
        g_tree_destroy(t);
    }

    printf("gtree_insert %.2f\n", ins);
    printf("gtree_find %.2f\n", find);
    printf("gtree_remove %.2f\n", rem);
    printf("gtree_firstfit %.2f\n", fit);
    printf("gtree_reverse %.2f\n", rev);
    g_rand_free(rng);
    g_free(probes);
    return (int)(sink & 0);
}
