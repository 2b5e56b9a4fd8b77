/*
 * IommuKit peer harness: the smallest set of kernel types and macros that lets Linux's
 * drivers/iommu/io-pgtable-arm.c (taken from Debian's linux-source package at build time, never stored in this
 * repository) compile as an ordinary user-space object. Written for IommuKit; not kernel code.
 *
 * Model: pages come from aligned_alloc and are zeroed (__GFP_ZERO); physical == virtual (virt_to_phys and __va are
 * identity casts); the walk is coherent, so no DMA API call is made; TLB maintenance is the caller's no-op ops.
 */
#ifndef IOMMUKIT_KSHIM_H
#define IOMMUKIT_KSHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;
typedef u64 phys_addr_t;
typedef u64 dma_addr_t;
typedef unsigned int gfp_t;

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define BITS_PER_LONG 64

#define SZ_4K 0x1000UL
#define SZ_16K 0x4000UL
#define SZ_64K 0x10000UL
#define SZ_2M 0x200000UL
#define SZ_32M 0x2000000UL
#define SZ_512M 0x20000000UL
#define SZ_1G 0x40000000UL

#define GFP_KERNEL 0u
#define GFP_ATOMIC 1u
#define __GFP_ZERO 2u
#define __GFP_HIGHMEM 4u
#define NUMA_NO_NODE (-1)

#define EINVAL 22
#define EEXIST 17
#define ENOMEM 12
#define ERANGE 34

#define BIT(n) (1UL << (n))
#define BIT_ULL(n) (1ULL << (n))
#define GENMASK_ULL(h, l) (((~0ULL) << (l)) & (~0ULL >> (63 - (h))))
#define GENMASK(h, l) ((unsigned long)GENMASK_ULL(h, l))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ilog2(n) ((int)(63 - __builtin_clzll((unsigned long long)(n))))
#define __ffs(x) ((unsigned long)__builtin_ctzl(x))
#define __fls(x) ((unsigned long)(63 - __builtin_clzl(x)))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __init
#define __initdata
#define __maybe_unused __attribute__((unused))
#define subsys_initcall(f)
#define fallthrough __attribute__((fallthrough))

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define wmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define dma_wmb() __atomic_signal_fence(__ATOMIC_SEQ_CST)

static inline u64 kshim_cmpxchg64(u64 *p, u64 old, u64 new_value)
{
    __atomic_compare_exchange_n(p, &old, new_value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return old;
}
#define cmpxchg64_relaxed(p, o, n) kshim_cmpxchg64((u64 *)(p), (o), (n))

#define WARN_ON(c) ({ int __c = !!(c); if (__c) fprintf(stderr, "WARN_ON(%s) at %s:%d\n", #c, __FILE__, __LINE__); __c; })
#define WARN(c, ...) ({ int __c = !!(c); if (__c) fprintf(stderr, __VA_ARGS__); __c; })
#define VM_BUG_ON(c) do { if (c) abort(); } while (0)
#define pr_err(...) fprintf(stderr, __VA_ARGS__)
#define pr_info(...) fprintf(stderr, __VA_ARGS__)
#define dev_err(d, ...) fprintf(stderr, __VA_ARGS__)

struct device { int unused; };
struct page;

static inline int dev_to_node(struct device *dev) { (void)dev; return NUMA_NO_NODE; }
static inline void set_dev_node(struct device *dev, int node) { (void)dev; (void)node; }

/* Pages: malloc-backed, identity-mapped ("physical" address == pointer). */
static inline int get_order(size_t size)
{
    int order = 0;
    while ((PAGE_SIZE << order) < size)
    {
        order++;
    }
    return order;
}

static inline struct page *alloc_pages_node(int node, gfp_t gfp, int order)
{
    (void)node;
    size_t bytes = PAGE_SIZE << order;
    void *p = aligned_alloc(PAGE_SIZE, bytes);
    if (p != NULL && (gfp & __GFP_ZERO))
    {
        memset(p, 0, bytes);
    }
    return (struct page *)p;
}

static inline void *page_address(struct page *p) { return (void *)p; }
static inline void __free_pages(struct page *p, int order) { (void)order; free(p); }
static inline void free_pages(unsigned long addr, int order) { (void)order; free((void *)addr); }
static inline phys_addr_t virt_to_phys(const void *p) { return (phys_addr_t)(uintptr_t)p; }
#define __pa(x) ((phys_addr_t)(uintptr_t)(x))
#define __va(x) ((void *)(uintptr_t)(x))

static inline void *kmalloc(size_t size, gfp_t gfp) { (void)gfp; return malloc(size); }
static inline void *kzalloc(size_t size, gfp_t gfp) { (void)gfp; return calloc(1, size); }
static inline void kfree(const void *p) { free((void *)p); }

/* The DMA API is never reached with coherent_walk = true; these keep the non-coherent branches compiling. */
enum dma_data_direction { DMA_TO_DEVICE = 1 };
static inline dma_addr_t dma_map_single(struct device *d, void *p, size_t s, enum dma_data_direction dir)
{
    (void)d; (void)s; (void)dir;
    return (dma_addr_t)(uintptr_t)p;
}
static inline int dma_mapping_error(struct device *d, dma_addr_t a) { (void)d; (void)a; return 0; }
static inline void dma_unmap_single(struct device *d, dma_addr_t a, size_t s, enum dma_data_direction dir)
{
    (void)d; (void)a; (void)s; (void)dir;
}
static inline void dma_sync_single_for_device(struct device *d, dma_addr_t a, size_t s, enum dma_data_direction dir)
{
    (void)d; (void)a; (void)s; (void)dir;
}

#define for_each_set_bit(bit, addr, size) \
    for ((bit) = 0; (bit) < (size); (bit)++) \
        if (*(addr) & (1UL << (bit)))

/* The bits of linux/iommu.h that io-pgtable.h and io-pgtable-arm.c use. */
#define IOMMU_READ (1 << 0)
#define IOMMU_WRITE (1 << 1)
#define IOMMU_CACHE (1 << 2)
#define IOMMU_NOEXEC (1 << 3)
#define IOMMU_MMIO (1 << 4)
#define IOMMU_PRIV (1 << 5)

struct iommu_iotlb_gather
{
    unsigned long start;
    unsigned long end;
    size_t pgsize;
    bool queued;
};

static inline bool iommu_iotlb_gather_queued(struct iommu_iotlb_gather *gather)
{
    return gather && gather->queued;
}

#endif
