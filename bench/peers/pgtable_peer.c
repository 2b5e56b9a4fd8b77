/*
 * IommuKit peer harness for Linux's io-pgtable-arm (ARM LPAE stage 1, 4K granule, 48-bit IOVA, 4 levels), built
 * against shim/kshim.h by run.sh. Same workloads as IommuKit's PageTableBenchmarks (4K leaves only):
 *   map4k_seq      1M pages mapped one call each, ascending         (map_pages, pgcount 1)
 *   map4k_random   the same 1M pages in a fixed shuffled order
 *   unmap4k_seq    1M pages unmapped one call each, ascending       (unmap_pages, pgcount 1)
 *   walk4k         iova_to_phys of 1024 mapped pages in turn (tables in cache)
 *   map256         one map_pages of 256 x 4K into each of 64 empty 2 MiB regions (unmapped, untimed, in between)
 *   unmap256       one unmap_pages of 256 x 4K from each of those 64 regions (mapped, untimed, in between)
 *   mapunmap256    one map_pages of 256 x 4K plus one unmap_pages of them
 * Times are process CPU time (CLOCK_PROCESS_CPUTIME_ID) divided by operations, best of three rounds, as IommuKit's
 * --peers mode measures (map256 / unmap256: the clock read around each 64-call body, summed over 300 bodies, less the
 * clock's own cost, as IommuKit's side does). Output: one "name ns_per_op" line per workload.
 */
#include <linux/io-pgtable.h>
#include <time.h>

#define PAGES (1u << 20)
#define WALK_PAGES 1024u
#define WALK_ROUNDS 20000u
#define BATCH_PAGES 256u
#define BATCH_ROUNDS 20000u
#define BATCH_REGIONS 64u   /* 256 x 4K batches per timed body, one per 2 MiB region */
#define BATCH_BODIES 300u
#define REGION_STRIDE 0x200000UL
#define ROUNDS 3
#define BASE 0x1000000000UL /* 64 GiB, as the C# benchmark */
#define PA 0x400000000000UL /* any 4K-aligned "physical" address below 2^48: the pages themselves are never touched */

static void noop_flush_all(void *cookie) { (void)cookie; }
static void noop_flush_walk(unsigned long iova, size_t size, size_t granule, void *cookie)
{
    (void)iova; (void)size; (void)granule; (void)cookie;
}
static void noop_add_page(struct iommu_iotlb_gather *g, unsigned long iova, size_t granule, void *cookie)
{
    (void)g; (void)iova; (void)granule; (void)cookie;
}

static const struct iommu_flush_ops noop_tlb = {
    .tlb_flush_all = noop_flush_all,
    .tlb_flush_walk = noop_flush_walk,
    .tlb_add_page = noop_add_page,
};

static struct device dev;

static struct io_pgtable_ops *new_table(void)
{
    struct io_pgtable_cfg cfg = {
        .pgsize_bitmap = SZ_4K, /* 4K leaves only, like the C# benchmark's PageSizes.Only4K */
        .ias = 48,
        .oas = 48,
        .coherent_walk = true,
        .tlb = &noop_tlb,
        .iommu_dev = &dev,
    };
    struct io_pgtable *iop = io_pgtable_arm_64_lpae_s1_init_fns.alloc(&cfg, NULL);
    if (iop == NULL)
    {
        fprintf(stderr, "io-pgtable-arm alloc failed\n");
        exit(1);
    }

    /* What alloc_io_pgtable_ops does after the format's alloc. */
    iop->fmt = ARM_64_LPAE_S1;
    iop->cookie = NULL;
    iop->cfg = cfg;
    return &iop->ops;
}

static void free_table(struct io_pgtable_ops *ops)
{
    io_pgtable_arm_64_lpae_s1_init_fns.free(io_pgtable_ops_to_pgtable(ops));
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void map_one(struct io_pgtable_ops *ops, unsigned long i)
{
    size_t mapped = 0;
    if (ops->map_pages(ops, BASE + (i << 12), PA + (i << 12), SZ_4K, 1, IOMMU_READ | IOMMU_WRITE, GFP_KERNEL, &mapped) != 0
        || mapped != SZ_4K)
    {
        fprintf(stderr, "map of page %lu failed\n", i);
        exit(1);
    }
}

static unsigned long order[PAGES];

static void shuffle(unsigned long *a, unsigned n, uint64_t seed)
{
    for (unsigned i = 0; i < n; i++)
    {
        a[i] = i;
    }

    for (unsigned i = n - 1; i > 0; i--)
    {
        /* xorshift64*: a fixed, portable sequence (not .NET's Random(42): same shape, different permutation). */
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        unsigned j = (unsigned)((seed * 2685821657736338717ULL) % (i + 1));
        unsigned long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static void map_batch_regions(struct io_pgtable_ops *ops)
{
    for (unsigned long k = 0; k < BATCH_REGIONS; k++)
    {
        size_t mapped = 0;
        if (ops->map_pages(ops, BASE + k * REGION_STRIDE, PA, SZ_4K, BATCH_PAGES, IOMMU_READ | IOMMU_WRITE, GFP_KERNEL, &mapped) != 0
            || mapped != BATCH_PAGES * SZ_4K)
        {
            fprintf(stderr, "batch map of region %lu failed\n", k);
            exit(1);
        }
    }
}

static void unmap_batch_regions(struct io_pgtable_ops *ops, struct iommu_iotlb_gather *gather)
{
    for (unsigned long k = 0; k < BATCH_REGIONS; k++)
    {
        if (ops->unmap_pages(ops, BASE + k * REGION_STRIDE, SZ_4K, BATCH_PAGES, gather) != BATCH_PAGES * SZ_4K)
        {
            fprintf(stderr, "batch unmap of region %lu failed\n", k);
            exit(1);
        }
    }
}

static double best = 0;
static void report(const char *name, double ns)
{
    printf("%s %.2f\n", name, ns);
    fflush(stdout);
}

static double keep_min(double a, double b) { return a == 0 || b < a ? b : a; }

int main(void)
{
    shuffle(order, PAGES, 42);
    double seq = 0, rnd = 0, unmap = 0, walk = 0, batch = 0, batch_map = 0, batch_unmap = 0;
    struct iommu_iotlb_gather gather = { 0 };
    volatile phys_addr_t sink = 0;

    for (int round = 0; round < ROUNDS; round++)
    {
        struct io_pgtable_ops *ops = new_table();
        double t0 = cpu_ns();
        for (unsigned long i = 0; i < PAGES; i++)
        {
            map_one(ops, i);
        }
        seq = keep_min(seq, (cpu_ns() - t0) / PAGES);

        t0 = cpu_ns();
        for (unsigned long i = 0; i < PAGES; i++)
        {
            if (ops->unmap_pages(ops, BASE + (i << 12), SZ_4K, 1, &gather) != SZ_4K)
            {
                fprintf(stderr, "unmap of page %lu failed\n", i);
                return 1;
            }
        }
        unmap = keep_min(unmap, (cpu_ns() - t0) / PAGES);
        free_table(ops);

        ops = new_table();
        t0 = cpu_ns();
        for (unsigned long k = 0; k < PAGES; k++)
        {
            map_one(ops, order[k]);
        }
        rnd = keep_min(rnd, (cpu_ns() - t0) / PAGES);
        free_table(ops);

        ops = new_table();
        for (unsigned long i = 0; i < WALK_PAGES; i++)
        {
            map_one(ops, i);
        }
        t0 = cpu_ns();
        for (unsigned r = 0; r < WALK_ROUNDS; r++)
        {
            phys_addr_t sum = 0;
            for (unsigned long i = 0; i < WALK_PAGES; i++)
            {
                sum += ops->iova_to_phys(ops, BASE + (i << 12));
            }
            sink += sum;
        }
        walk = keep_min(walk, (cpu_ns() - t0) / ((double)WALK_PAGES * WALK_ROUNDS));
        if (ops->iova_to_phys(ops, BASE + 0x1000) != PA + 0x1000)
        {
            fprintf(stderr, "iova_to_phys is wrong\n");
            return 1;
        }
        free_table(ops);

        ops = new_table();
        t0 = cpu_ns();
        for (unsigned r = 0; r < BATCH_ROUNDS; r++)
        {
            size_t mapped = 0;
            if (ops->map_pages(ops, BASE, PA, SZ_4K, BATCH_PAGES, IOMMU_READ | IOMMU_WRITE, GFP_KERNEL, &mapped) != 0
                || mapped != BATCH_PAGES * SZ_4K
                || ops->unmap_pages(ops, BASE, SZ_4K, BATCH_PAGES, &gather) != BATCH_PAGES * SZ_4K)
            {
                fprintf(stderr, "batch map/unmap failed\n");
                return 1;
            }
        }
        batch = keep_min(batch, (cpu_ns() - t0) / BATCH_ROUNDS);
        free_table(ops);

        /* Separate batch map and unmap: 64 regions 2 MiB apart plus one page kept mapped past them (as IommuKit's
           benchmark; io-pgtable-arm keeps empty tables anyway, so only the first map allocates its leaf tables). */
        ops = new_table();
        map_one(ops, (BATCH_REGIONS * REGION_STRIDE) >> 12);
        map_batch_regions(ops);
        double clock = 1e18;
        for (int i = 0; i < 100; i++)
        {
            double a = cpu_ns();
            double b = cpu_ns();
            clock = b - a < clock ? b - a : clock;
        }
        double map_total = 0, unmap_total = 0;
        for (unsigned c = 0; c < BATCH_BODIES; c++)
        {
            t0 = cpu_ns();
            unmap_batch_regions(ops, &gather);
            unmap_total += cpu_ns() - t0 - clock;
            t0 = cpu_ns();
            map_batch_regions(ops);
            map_total += cpu_ns() - t0 - clock;
        }
        batch_map = keep_min(batch_map, map_total / ((double)BATCH_BODIES * BATCH_REGIONS));
        batch_unmap = keep_min(batch_unmap, unmap_total / ((double)BATCH_BODIES * BATCH_REGIONS));
        free_table(ops);
    }

    (void)best;
    report("map4k_seq", seq);
    report("map4k_random", rnd);
    report("unmap4k_seq", unmap);
    report("walk4k", walk);
    report("map256", batch_map);
    report("unmap256", batch_unmap);
    report("mapunmap256", batch);
    return (int)(sink & 0);
}
