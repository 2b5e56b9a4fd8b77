// SPDX-License-Identifier: MIT
/*
 * vfiotest: run IommuKit conformance step files against a real Linux kernel's
 * VFIO type1 container, its iommufd VFIO-compat layer, or a native iommufd IOAS,
 * and print one result line per step.
 *
 * Written for IommuKit (not derived from kernel code). Built statically with the
 * kernel's UAPI headers <linux/vfio.h> and <linux/iommufd.h>, copied at build
 * time into a scratch include dir, and -D__user= .
 *
 * Usage:
 *   vfiotest [-g GROUP] [-d BDF] [-c CDEV] FILE...   run the step files
 *   vfiotest -n FILE...                              parse only (no ioctls)
 *
 * The step-line and result-line formats are documented in ../README.md
 * ("Step files" and "Result lines"). Summary of the output:
 *   F <file>                    start of a file (fresh container/IOAS)
 *   F <file> skip=<reason>      the whole file was skipped
 *   R <line> ret=<int> errno=<NAME|0> [key=value]... | <step text>
 *   P <file> <line> <message>   parse error (the step is not run)
 *   E <file> steps=<n>          end of a file
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define PAGE 0x1000ULL
#define BUF_VA 0x100000000ULL /* 1024 read-write pages */
#define BUF_PAGES 1024ULL
#define RO_VA 0x180000000ULL /* 16 read-only pages */
#define RO_PAGES 16ULL
#define MAX_RANGES 64

/* ---------------------------------------------------------------- state */

enum backend_kind { BK_NONE, BK_TYPE1V2, BK_TYPE1V1, BK_COMPAT, BK_COMPAT_NODEV, BK_IOAS, BK_IOAS_DEV };

static const char *group_path; /* /dev/vfio/N */
static const char *bdf;        /* 0000:00:03.0 */
static const char *cdev_path;  /* /dev/vfio/devices/vfio0 */
static int parse_only;
static int parse_errors;

static enum backend_kind bk = BK_NONE;
static int group_fd = -1;     /* legacy group */
static int container_fd = -1; /* /dev/vfio/vfio, or /dev/iommu for compat/ioas */
static int device_fd = -1;    /* from GROUP_GET_DEVICE_FD or the cdev */
static unsigned int ioas_id;  /* ioas/ioas-dev, and compat once known */
static int group_attached;    /* GROUP_SET_CONTAINER succeeded */

/* One step's result line is built here. */
static char out[8192];
static size_t outlen;

static void outf(const char *fmt, ...)
{
    va_list ap;
    if (outlen >= sizeof(out) - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(out + outlen, sizeof(out) - outlen, fmt, ap);
    va_end(ap);
    if (n > 0)
        outlen += (size_t)n < sizeof(out) - outlen ? (size_t)n : sizeof(out) - outlen - 1;
}

static const char *errname(int e)
{
    if (e == 0)
        return "0";
    const char *n = strerrorname_np(e);
    static char buf[32];
    if (n)
        return n;
    snprintf(buf, sizeof(buf), "E%d", e);
    return buf;
}

/* ------------------------------------------------------------- parsing */

#define MAX_ARGS 16
struct step {
    const char *file;
    int line;
    char text[512];       /* the step as written, comment and outer spaces removed */
    char op[64];
    int nargs;
    char key[MAX_ARGS][32];
    char val[MAX_ARGS][256];
    int used[MAX_ARGS];
};

static void perr(const struct step *s, const char *fmt, ...)
{
    va_list ap;
    printf("P %s %d ", s->file, s->line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    parse_errors++;
}

static int find_arg(struct step *s, const char *k)
{
    for (int i = 0; i < s->nargs; i++)
        if (!strcmp(s->key[i], k)) {
            s->used[i] = 1;
            return i;
        }
    return -1;
}

/* Number: decimal, 0x hex, "max" (U64_MAX), or 2^N (N < 64). */
static int parse_u64(const char *str, uint64_t *v)
{
    char *end;
    if (!strcmp(str, "max")) {
        *v = UINT64_MAX;
        return 0;
    }
    if (!strncmp(str, "2^", 2)) {
        errno = 0;
        unsigned long long n = strtoull(str + 2, &end, 10);
        if (errno || *end || end == str + 2 || n > 63)
            return -1;
        *v = 1ULL << n;
        return 0;
    }
    if (str[0] == '-' || str[0] == '\0')
        return -1;
    errno = 0;
    unsigned long long n = strtoull(str, &end, 0);
    if (errno || *end)
        return -1;
    *v = n;
    return 0;
}

static int get_num(struct step *s, const char *k, uint64_t def, uint64_t *v, int required)
{
    int i = find_arg(s, k);
    if (i < 0) {
        if (required) {
            perr(s, "missing %s=", k);
            return -1;
        }
        *v = def;
        return 0;
    }
    if (parse_u64(s->val[i], v)) {
        perr(s, "bad number %s=%s", k, s->val[i]);
        return -1;
    }
    return 0;
}

/* User VA: buf, buf+N, ro, ro+N, or a number. */
static int get_va(struct step *s, const char *k, uint64_t *v)
{
    int i = find_arg(s, k);
    const char *str = i < 0 ? "buf" : s->val[i];
    uint64_t base = 0, off = 0;
    const char *rest = NULL;
    if (!strncmp(str, "buf", 3)) {
        base = BUF_VA;
        rest = str + 3;
    } else if (!strncmp(str, "ro", 2)) {
        base = RO_VA;
        rest = str + 2;
    }
    if (rest) {
        if (*rest == '+') {
            if (parse_u64(rest + 1, &off))
                goto bad;
        } else if (*rest) {
            goto bad;
        }
        *v = base + off;
        return 0;
    }
    if (parse_u64(str, v))
        goto bad;
    return 0;
bad:
    perr(s, "bad address %s=%s", k, str);
    return -1;
}

struct flagname {
    const char *name;
    uint32_t bits;
};

static const struct flagname map_flags[] = {
    { "rw", VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE },
    { "r", VFIO_DMA_MAP_FLAG_READ },
    { "w", VFIO_DMA_MAP_FLAG_WRITE },
    { "vaddr", VFIO_DMA_MAP_FLAG_VADDR },
    { "none", 0 },
    { NULL, 0 },
};

static const struct flagname unmap_flags[] = {
    { "dirty", VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP },
    { "all", VFIO_DMA_UNMAP_FLAG_ALL },
    { "vaddr", VFIO_DMA_UNMAP_FLAG_VADDR },
    { "none", 0 },
    { NULL, 0 },
};

static const struct flagname ioas_flags[] = {
    { "rw", IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE },
    { "r", IOMMU_IOAS_MAP_READABLE },
    { "w", IOMMU_IOAS_MAP_WRITEABLE },
    { "fixed", IOMMU_IOAS_MAP_FIXED_IOVA },
    { "none", 0 },
    { NULL, 0 },
};

/* Flags: names from the table joined by ',' or '|', or numbers; ORed together. */
static int get_flags(struct step *s, const char *k, const struct flagname *tab, uint32_t def, uint32_t *v,
                     int *given)
{
    int i = find_arg(s, k);
    *given = i >= 0;
    if (i < 0) {
        *v = def;
        return 0;
    }
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", s->val[i]);
    uint32_t bits = 0;
    for (char *save = NULL, *tok = strtok_r(tmp, ",|", &save); tok; tok = strtok_r(NULL, ",|", &save)) {
        const struct flagname *f;
        for (f = tab; f->name; f++)
            if (!strcmp(f->name, tok))
                break;
        if (f->name) {
            bits |= f->bits;
            continue;
        }
        uint64_t n;
        if (parse_u64(tok, &n) || n > UINT32_MAX) {
            perr(s, "bad flag %s in %s=", tok, k);
            return -1;
        }
        bits |= (uint32_t)n;
    }
    *v = bits;
    return 0;
}

/* Ranges: START-LAST[,START-LAST]... (inclusive), or empty. */
static int get_ranges(struct step *s, const char *k, struct iommu_iova_range *r, unsigned int *n)
{
    int i = find_arg(s, k);
    *n = 0;
    if (i < 0 || !s->val[i][0])
        return 0;
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", s->val[i]);
    for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(tok, '-');
        uint64_t a, b;
        if (!dash || *n >= MAX_RANGES)
            goto bad;
        *dash = 0;
        if (parse_u64(tok, &a) || parse_u64(dash + 1, &b))
            goto bad;
        r[*n].start = a;
        r[*n].last = b;
        (*n)++;
    }
    return 0;
bad:
    perr(s, "bad ranges %s=%s", k, s->val[i]);
    return -1;
}

/* Split "op k=v k=v # comment" into s. Returns 0 for a step, 1 for blank/comment, -1 on error. */
static int parse_line(char *line, struct step *s)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = 0;
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        line[--len] = 0;
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return 1;
    snprintf(s->text, sizeof(s->text), "%s", p);
    s->nargs = 0;
    memset(s->used, 0, sizeof(s->used));
    char *save = NULL;
    char *tok = strtok_r(p, " \t", &save);
    snprintf(s->op, sizeof(s->op), "%s", tok);
    while ((tok = strtok_r(NULL, " \t", &save))) {
        char *eq = strchr(tok, '=');
        if (s->nargs >= MAX_ARGS) {
            perr(s, "too many arguments");
            return -1;
        }
        if (!eq) {
            /* a bare word: used by "backend KIND" */
            snprintf(s->key[s->nargs], sizeof(s->key[0]), "%s", "");
            snprintf(s->val[s->nargs], sizeof(s->val[0]), "%s", tok);
        } else {
            *eq = 0;
            snprintf(s->key[s->nargs], sizeof(s->key[0]), "%s", tok);
            snprintf(s->val[s->nargs], sizeof(s->val[0]), "%s", eq + 1);
        }
        s->nargs++;
    }
    return 0;
}

static int check_unused(struct step *s)
{
    for (int i = 0; i < s->nargs; i++)
        if (!s->used[i]) {
            perr(s, "unexpected argument '%s%s%s'", s->key[i], s->key[i][0] ? "=" : "", s->val[i]);
            return -1;
        }
    return 0;
}

/* ------------------------------------------------------------ backends */

static const char *backend_names[] = {
    [BK_TYPE1V2] = "type1v2", [BK_TYPE1V1] = "type1v1", [BK_COMPAT] = "compat",
    [BK_COMPAT_NODEV] = "compat-nodev", [BK_IOAS] = "ioas", [BK_IOAS_DEV] = "ioas-dev",
};

static int needs_iommufd(enum backend_kind k)
{
    return k == BK_COMPAT || k == BK_COMPAT_NODEV || k == BK_IOAS || k == BK_IOAS_DEV;
}

static void teardown(void)
{
    if (device_fd >= 0)
        close(device_fd);
    device_fd = -1;
    if (group_fd >= 0) {
        if (group_attached)
            ioctl(group_fd, VFIO_GROUP_UNSET_CONTAINER);
        close(group_fd);
    }
    group_fd = -1;
    group_attached = 0;
    if (container_fd >= 0) {
        if ((bk == BK_IOAS || bk == BK_IOAS_DEV) && ioas_id) {
            struct iommu_destroy d = { .size = sizeof(d), .id = ioas_id };
            ioctl(container_fd, IOMMU_DESTROY, &d);
        }
        close(container_fd);
    }
    container_fd = -1;
    ioas_id = 0;
    bk = BK_NONE;
}

/* Extensions 1..10 as "a,b,c,...". */
static void print_ext(const char *name, int fd)
{
    outf(" %s=", name);
    for (int e = 1; e <= 10; e++) {
        int r = ioctl(fd, VFIO_CHECK_EXTENSION, e);
        if (r < 0)
            outf("%s%s", e > 1 ? "," : "", errname(errno));
        else
            outf("%s%d", e > 1 ? "," : "", r);
    }
}

/* Each setup stage: on failure record the stage and errno and stop. */
#define STAGE(name, expr)                         \
    do {                                          \
        if ((expr) < 0) {                         \
            int e_ = errno;                       \
            outf(" stage=%s", name);              \
            return -e_;                           \
        }                                         \
    } while (0)

static int setup_group_container(int iommufd_container)
{
    struct vfio_group_status st = { .argsz = sizeof(st) };
    STAGE("open-group", group_fd = open(group_path, O_RDWR));
    STAGE("group-status", ioctl(group_fd, VFIO_GROUP_GET_STATUS, &st));
    outf(" group_flags=0x%x", st.flags);
    if (iommufd_container) {
        STAGE("open-iommufd", container_fd = open("/dev/iommu", O_RDWR));
    } else {
        STAGE("open-container", container_fd = open("/dev/vfio/vfio", O_RDWR));
        int api = ioctl(container_fd, VFIO_GET_API_VERSION);
        outf(" api=%d", api);
    }
    print_ext("ext_pre", container_fd);
    STAGE("group-set-container", ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd));
    group_attached = 1;
    return 0;
}

static int do_backend(enum backend_kind k)
{
    bk = k;
    switch (k) {
    case BK_TYPE1V2:
    case BK_TYPE1V1:
    case BK_COMPAT:
    case BK_COMPAT_NODEV: {
        int r = setup_group_container(k == BK_COMPAT || k == BK_COMPAT_NODEV);
        if (r)
            return r;
        STAGE("set-iommu",
              ioctl(container_fd, VFIO_SET_IOMMU, k == BK_TYPE1V1 ? VFIO_TYPE1_IOMMU : VFIO_TYPE1v2_IOMMU));
        print_ext("ext_post", container_fd);
        if (k == BK_COMPAT || k == BK_COMPAT_NODEV) {
            struct iommu_vfio_ioas v = { .size = sizeof(v), .op = IOMMU_VFIO_IOAS_GET };
            if (ioctl(container_fd, IOMMU_VFIO_IOAS, &v) == 0)
                ioas_id = v.ioas_id;
            outf(" ioas=%u", ioas_id);
        }
        if (k != BK_COMPAT_NODEV)
            STAGE("get-device-fd", device_fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf));
        return 0;
    }
    case BK_IOAS:
    case BK_IOAS_DEV: {
        STAGE("open-iommufd", container_fd = open("/dev/iommu", O_RDWR));
        struct iommu_ioas_alloc a = { .size = sizeof(a) };
        STAGE("ioas-alloc", ioctl(container_fd, IOMMU_IOAS_ALLOC, &a));
        ioas_id = a.out_ioas_id;
        outf(" ioas=%u", ioas_id);
        if (k == BK_IOAS_DEV) {
            STAGE("open-cdev", device_fd = open(cdev_path, O_RDWR));
            struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = container_fd };
            STAGE("bind-iommufd", ioctl(device_fd, VFIO_DEVICE_BIND_IOMMUFD, &b));
            outf(" devid=%u", b.out_devid);
            struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = ioas_id };
            STAGE("attach-pt", ioctl(device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at));
            outf(" pt=%u", at.pt_id);
        }
        return 0;
    }
    default:
        return -EINVAL;
    }
}

/* --------------------------------------------------------------- steps */

/* Big zeroed argument buffer: an argsz larger than the struct never reads outside our memory. */
static union {
    struct vfio_iommu_type1_dma_map map;
    struct vfio_iommu_type1_dma_unmap unmap;
    struct vfio_iommu_type1_info info;
    unsigned char raw[4096];
} arg;

/* Appends to a bounded buffer; output past the end is dropped. */
static void app(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    if (*len >= cap - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = (size_t)n < cap - *len ? *len + (size_t)n : cap - 1;
}

static void print_type1_info(uint32_t passed)
{
    struct vfio_iommu_type1_info *in = &arg.info;
    outf(" argsz=%u flags=0x%x pgsizes=0x%llx cap_offset=0x%x", in->argsz, in->flags,
         (unsigned long long)in->iova_pgsizes, in->cap_offset);
    if (!(in->flags & VFIO_IOMMU_INFO_CAPS) || !in->cap_offset)
        return;
    outf(" caps=");
    char more[4096];
    size_t ml = 0;
    more[0] = 0;
    uint32_t off = in->cap_offset;
    uint32_t limit = passed < sizeof(arg.raw) ? passed : sizeof(arg.raw);
    for (int n = 0; off && n < 32; n++) {
        if (off < sizeof(*in) || off + sizeof(struct vfio_info_cap_header) > limit) {
            outf("%sbad@0x%x", n ? "," : "", off);
            break;
        }
        struct vfio_info_cap_header *h = (void *)(arg.raw + off);
        outf("%s%u.v%u", n ? "," : "", h->id, h->version);
        if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
            struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;
            app(more, sizeof(more), &ml, " ranges=");
            for (uint32_t i = 0; i < r->nr_iovas && off + sizeof(*r) + (i + 1) * sizeof(r->iova_ranges[0]) <= limit;
                 i++)
                app(more, sizeof(more), &ml, "%s0x%llx-0x%llx", i ? "," : "",
                    (unsigned long long)r->iova_ranges[i].start, (unsigned long long)r->iova_ranges[i].end);
        } else if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
            struct vfio_iommu_type1_info_cap_migration *m = (void *)h;
            app(more, sizeof(more), &ml, " mig_flags=0x%x mig_pgsizes=0x%llx mig_max_bitmap=0x%llx", m->flags,
                (unsigned long long)m->pgsize_bitmap, (unsigned long long)m->max_dirty_bitmap_size);
        } else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
            struct vfio_iommu_type1_info_dma_avail *d = (void *)h;
            app(more, sizeof(more), &ml, " avail=%u", d->avail);
        }
        off = h->next;
    }
    outf("%s", more);
}

static void print_ioas_ranges(struct iommu_ioas_iova_ranges *q, struct iommu_iova_range *r, uint32_t cap)
{
    outf(" num=%u align=0x%llx ranges=", q->num_iovas, (unsigned long long)q->out_iova_alignment);
    uint32_t n = q->num_iovas < cap ? q->num_iovas : cap;
    for (uint32_t i = 0; i < n; i++)
        outf("%s0x%llx-0x%llx", i ? "," : "", (unsigned long long)r[i].start, (unsigned long long)r[i].last);
}

/* Runs one step; returns the ioctl result (>= 0) or -errno; -EBADMSG+parse error means "not run". */
#define NOT_RUN 1000000
static int run_step(struct step *s)
{
    const char *op = s->op;
    uint64_t a, b, c;
    uint32_t fl;
    int given;

    if (!strcmp(op, "backend")) {
        if (s->nargs != 1 || s->key[0][0]) {
            perr(s, "backend takes one word");
            return NOT_RUN;
        }
        s->used[0] = 1;
        enum backend_kind k = BK_NONE;
        for (int i = BK_TYPE1V2; i <= BK_IOAS_DEV; i++)
            if (!strcmp(backend_names[i], s->val[0]))
                k = i;
        if (k == BK_NONE) {
            perr(s, "unknown backend %s", s->val[0]);
            return NOT_RUN;
        }
        if (parse_only)
            return 0;
        teardown();
        return do_backend(k);
    }
    if (!strcmp(op, "ext")) {
        if (check_unused(s))
            return NOT_RUN;
        if (!parse_only)
            print_ext("ext", container_fd);
        return 0;
    }
    if (!strcmp(op, "early-set-iommu")) {
        /* VFIO_SET_IOMMU on a fresh /dev/vfio/vfio with no group attached. */
        if (get_num(s, "type", VFIO_TYPE1v2_IOMMU, &a, 0) || check_unused(s))
            return NOT_RUN;
        if (parse_only)
            return 0;
        int fd = open("/dev/vfio/vfio", O_RDWR);
        if (fd < 0)
            return -errno;
        int r = ioctl(fd, VFIO_SET_IOMMU, (unsigned long)a);
        int e = errno;
        close(fd);
        return r < 0 ? -e : r;
    }
    if (!strcmp(op, "map")) {
        uint64_t argsz;
        if (get_num(s, "iova", 0, &a, 1) || get_num(s, "size", 0, &b, 1) || get_va(s, "va", &c) ||
            get_flags(s, "flags", map_flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, &fl, &given) ||
            get_num(s, "argsz", sizeof(arg.map), &argsz, 0) || check_unused(s))
            return NOT_RUN;
        if (parse_only)
            return 0;
        memset(&arg, 0, sizeof(arg));
        arg.map.argsz = (uint32_t)argsz;
        arg.map.flags = fl;
        arg.map.vaddr = c;
        arg.map.iova = a;
        arg.map.size = b;
        int r = ioctl(container_fd, VFIO_IOMMU_MAP_DMA, &arg.map);
        return r < 0 ? -errno : r;
    }
    if (!strcmp(op, "unmap")) {
        uint64_t argsz;
        if (get_num(s, "iova", 0, &a, 1) || get_num(s, "size", 0, &b, 1) ||
            get_flags(s, "flags", unmap_flags, 0, &fl, &given) ||
            get_num(s, "argsz", sizeof(arg.unmap), &argsz, 0) || check_unused(s))
            return NOT_RUN;
        if (parse_only)
            return 0;
        memset(&arg, 0, sizeof(arg));
        arg.unmap.argsz = (uint32_t)argsz;
        arg.unmap.flags = fl;
        arg.unmap.iova = a;
        arg.unmap.size = b;
        int r = ioctl(container_fd, VFIO_IOMMU_UNMAP_DMA, &arg.unmap);
        int e = errno;
        outf(" size=0x%llx", (unsigned long long)arg.unmap.size);
        return r < 0 ? -e : r;
    }
    if (!strcmp(op, "info") && (bk == BK_IOAS || bk == BK_IOAS_DEV)) {
        /* On native IOAS backends "info" is IOMMU_IOAS_IOVA_RANGES. */
        snprintf(s->op, sizeof(s->op), "ioas-iova-ranges");
        return run_step(s);
    }
    if (!strcmp(op, "info")) {
        uint64_t argsz;
        if (get_num(s, "argsz", sizeof(arg.raw), &argsz, 0) || check_unused(s))
            return NOT_RUN;
        if (argsz > sizeof(arg.raw)) {
            perr(s, "argsz above %zu", sizeof(arg.raw));
            return NOT_RUN;
        }
        if (parse_only)
            return 0;
        memset(&arg, 0, sizeof(arg));
        arg.info.argsz = (uint32_t)argsz;
        int r = ioctl(container_fd, VFIO_IOMMU_GET_INFO, &arg.info);
        int e = errno;
        if (r == 0)
            print_type1_info((uint32_t)argsz);
        return r < 0 ? -e : r;
    }
    if (!strcmp(op, "ioas-map")) {
        uint64_t alloc;
        if (get_num(s, "iova", 0, &a, 0) || get_num(s, "length", 0, &b, 1) || get_va(s, "va", &c) ||
            get_flags(s, "flags", ioas_flags, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE, &fl, &given) ||
            get_num(s, "alloc", 0, &alloc, 0) || check_unused(s))
            return NOT_RUN;
        if (parse_only)
            return 0;
        if (!alloc)
            fl |= IOMMU_IOAS_MAP_FIXED_IOVA;
        struct iommu_ioas_map m = {
            .size = sizeof(m), .flags = fl, .ioas_id = ioas_id, .user_va = c, .length = b, .iova = a,
        };
        int r = ioctl(container_fd, IOMMU_IOAS_MAP, &m);
        int e = errno;
        outf(" iova=0x%llx", (unsigned long long)m.iova);
        return r < 0 ? -e : r;
    }
    if (!strcmp(op, "ioas-unmap")) {
        if (get_num(s, "iova", 0, &a, 1) || get_num(s, "length", 0, &b, 1) || check_unused(s))
            return NOT_RUN;
        if (parse_only)
            return 0;
        struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas_id, .iova = a, .length = b };
        int r = ioctl(container_fd, IOMMU_IOAS_UNMAP, &u);
        int e = errno;
        outf(" length=0x%llx", (unsigned long long)u.length);
        return r < 0 ? -e : r;
    }
    if (!strcmp(op, "ioas-copy")) {
        uint64_t alloc;
        if (get_num(s, "src", 0, &a, 1) || get_num(s, "length", 0, &b, 1) || get_num(s, "dst", 0, &c, 0) ||
            get_flags(s, "flags", ioas_flags, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE, &fl, &given) ||
            get_num(s, "alloc", 0, &alloc, 0) || check_unused(s))
            return NOT_RUN;
        if (parse_only)
            return 0;
        if (!alloc)
            fl |= IOMMU_IOAS_MAP_FIXED_IOVA;
        struct iommu_ioas_copy cp = {
            .size = sizeof(cp), .flags = fl, .dst_ioas_id = ioas_id, .src_ioas_id = ioas_id,
            .length = b, .dst_iova = c, .src_iova = a,
        };
        int r = ioctl(container_fd, IOMMU_IOAS_COPY, &cp);
        int e = errno;
        outf(" dst=0x%llx", (unsigned long long)cp.dst_iova);
        return r < 0 ? -e : r;
    }
    if (!strcmp(op, "ioas-iova-ranges")) {
        uint64_t cap;
        if (get_num(s, "capacity", MAX_RANGES, &cap, 0) || check_unused(s))
            return NOT_RUN;
        if (cap > MAX_RANGES) {
            perr(s, "capacity above %d", MAX_RANGES);
            return NOT_RUN;
        }
        if (parse_only)
            return 0;
        static struct iommu_iova_range r[MAX_RANGES];
        memset(r, 0, sizeof(r));
        struct iommu_ioas_iova_ranges q = {
            .size = sizeof(q), .ioas_id = ioas_id, .num_iovas = (uint32_t)cap, .allowed_iovas = (uintptr_t)r,
        };
        int ret = ioctl(container_fd, IOMMU_IOAS_IOVA_RANGES, &q);
        int e = errno;
        if (ret == 0 || e == EMSGSIZE)
            print_ioas_ranges(&q, r, (uint32_t)cap);
        return ret < 0 ? -e : ret;
    }
    if (!strcmp(op, "ioas-allow-iovas")) {
        static struct iommu_iova_range r[MAX_RANGES];
        unsigned int n;
        if (get_ranges(s, "ranges", r, &n) || check_unused(s))
            return NOT_RUN;
        if (parse_only)
            return 0;
        struct iommu_ioas_allow_iovas q = {
            .size = sizeof(q), .ioas_id = ioas_id, .num_iovas = n, .allowed_iovas = (uintptr_t)r,
        };
        int ret = ioctl(container_fd, IOMMU_IOAS_ALLOW_IOVAS, &q);
        return ret < 0 ? -errno : ret;
    }
    perr(s, "unknown op %s", op);
    return NOT_RUN;
}

/* ----------------------------------------------------------------- files */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The backend named by a file's first backend line (to skip iommufd files early). */
static enum backend_kind first_backend(FILE *f)
{
    char line[1024];
    enum backend_kind k = BK_NONE;
    while (fgets(line, sizeof(line), f)) {
        char w1[64], w2[64];
        if (sscanf(line, " %63s %63s", w1, w2) == 2 && !strcmp(w1, "backend")) {
            for (int i = BK_TYPE1V2; i <= BK_IOAS_DEV; i++)
                if (!strcmp(backend_names[i], w2))
                    k = i;
            if (needs_iommufd(k))
                break;
        }
    }
    rewind(f);
    return k;
}

static void run_file(const char *path)
{
    const char *name = base_name(path);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("F %s skip=open-%s\nE %s steps=0\n", name, errname(errno), name);
        return;
    }
    if (!parse_only && needs_iommufd(first_backend(f)) && access("/dev/iommu", F_OK) != 0) {
        printf("F %s skip=no-iommufd\nE %s steps=0\n", name, name);
        fclose(f);
        return;
    }
    printf("F %s\n", name);
    char line[1024];
    int lineno = 0, steps = 0;
    static struct step s;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        s.file = name;
        s.line = lineno;
        if (parse_line(line, &s))
            continue;
        outlen = 0;
        out[0] = 0;
        int r = run_step(&s);
        if (r == NOT_RUN)
            continue;
        steps++;
        if (!parse_only)
            printf("R %d ret=%d errno=%s%s | %s\n", lineno, r < 0 ? -1 : r, errname(r < 0 ? -r : 0), out, s.text);
        fflush(stdout);
    }
    fclose(f);
    if (!parse_only)
        teardown();
    printf("E %s steps=%d\n", name, steps);
    fflush(stdout);
}

static int map_fixed(uint64_t va, uint64_t pages, int prot)
{
    void *p = mmap((void *)(uintptr_t)va, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
                   MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED || (uintptr_t)p != va) {
        fprintf(stderr, "vfiotest: mmap 0x%llx failed: %s\n", (unsigned long long)va, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int opt;
    static char gpath[64];
    while ((opt = getopt(argc, argv, "g:d:c:n")) != -1) {
        switch (opt) {
        case 'g':
            snprintf(gpath, sizeof(gpath), "/dev/vfio/%s", optarg);
            group_path = gpath;
            break;
        case 'd':
            bdf = optarg;
            break;
        case 'c':
            cdev_path = optarg;
            break;
        case 'n':
            parse_only = 1;
            break;
        default:
            fprintf(stderr, "usage: vfiotest [-n] [-g GROUP -d BDF -c CDEV] FILE...\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!parse_only) {
        if (!group_path || !bdf) {
            fprintf(stderr, "vfiotest: -g and -d are needed unless -n\n");
            return 2;
        }
        if (!cdev_path)
            cdev_path = "/dev/vfio/devices/vfio0";
        if (map_fixed(BUF_VA, BUF_PAGES, PROT_READ | PROT_WRITE) || map_fixed(RO_VA, RO_PAGES, PROT_READ))
            return 1;
        for (uint64_t i = 0; i < BUF_PAGES; i++)
            ((volatile unsigned char *)(uintptr_t)BUF_VA)[i * PAGE] = (unsigned char)i;
    }
    for (int i = optind; i < argc; i++)
        run_file(argv[i]);
    return parse_errors ? 1 : 0;
}
