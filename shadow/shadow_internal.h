/* SPDX-License-Identifier: MIT */
#ifndef NW_SHADOW_INTERNAL_H
#define NW_SHADOW_INTERNAL_H

/* The shadow MMU's private state. Not part of the public API. */

#include <nestwalk/shadow.h>
#include <nestwalk/walk.h>

/* ---- a map from 64-bit keys to 64-bit values (hash.c) ---- */

/* Open addressing with linear probing and backward-shift deletion. */
struct sh_map {
	uint64_t *keys;       /* SH_MAP_EMPTY where free */
	uint64_t *vals;
	uint64_t cap;         /* a power of two, or 0 */
	uint64_t n;
};

#define SH_MAP_EMPTY (~0ull)

/* The value at key: true and *val, or false. */
bool sh_map_get(const struct sh_map *m, uint64_t key, uint64_t *val);
/* Insert or replace: 0 or -ENOMEM (the map is unchanged). */
int sh_map_put(struct sh_map *m, uint64_t key, uint64_t val);
void sh_map_del(struct sh_map *m, uint64_t key);
void sh_map_free(struct sh_map *m);

/* ---- roles (role.c) ---- */

/*
 * What a shadow page's entries mean besides the guest frame they come
 * from, packed in a word so pages compare by (gfn, role) alone:
 *
 *   2:0   level of the page's entries (1..5)
 *   3     direct: the page maps a guest large page, not a guest table
 *   7:4   rights gathered above the page (NW_PROT_*); for a direct page,
 *         the rights of the whole guest translation
 *   8..11 CR0.WP, CR4.SMEP, CR4.SMAP, EFER.NXE
 *   15:12 direct only: protection key of the guest's large leaf
 *   18:16 direct only: its PAT index
 *   19    direct only: its global bit
 */
#define SH_ROLE_LEVEL(r) ((int)((r) & 7u))
#define SH_ROLE_DIRECT (1ull << 3)
#define SH_ROLE_ACCESS_SHIFT 4
#define SH_ROLE_ACCESS(r) ((uint32_t)(((r) >> SH_ROLE_ACCESS_SHIFT) & 0xfu))
#define SH_ROLE_WP (1ull << 8)
#define SH_ROLE_SMEP (1ull << 9)
#define SH_ROLE_SMAP (1ull << 10)
#define SH_ROLE_NXE (1ull << 11)
#define SH_ROLE_MODE_MASK (SH_ROLE_WP | SH_ROLE_SMEP | SH_ROLE_SMAP | SH_ROLE_NXE)
#define SH_ROLE_PKEY_SHIFT 12
#define SH_ROLE_MEMTYPE_SHIFT 16
#define SH_ROLE_GLOBAL (1ull << 19)

#define SH_ALL_RIGHTS (NW_PROT_RWX | NW_PROT_U)

uint64_t sh_role_mode(const struct nw_x86_mode *mode);
uint64_t sh_role(uint64_t mode_bits, int level, uint32_t access);
uint64_t sh_role_direct(uint64_t mode_bits, int level, uint32_t access,
			const struct nw_attr *attr);
/* The guest mode a page's role stands for, with PKE/PKRU/AC from `extra`. */
void sh_role_guest_mode(uint64_t role, const struct nw_x86_mode *extra,
			struct nw_x86_mode *out);
/* Attributes of the leaves of a direct page. */
void sh_role_attr(uint64_t role, struct nw_attr *out);

/* ---- shadow pages ---- */

struct sh_page {
	uint64_t hpa;          /* the shadow table frame */
	uint64_t gfn;          /* the guest table frame it shadows; direct: first frame mapped */
	uint64_t role;
	const uint64_t *spt;   /* the frame mapped, for scans (NULL: the backend maps nothing) */
	uint64_t *gfns;        /* levels 1 and 2: the guest frame each present leaf
				  maps (level 2: the first of a 2 MiB leaf's) */
	uint64_t *parents;     /* addresses of the shadow entries that link this page */
	uint32_t nparents, capparents;
	unsigned root_count;   /* references as a vCPU's current or previous root */
	unsigned flood;        /* emulated writes since the page was last used */
	bool unsync;           /* level 1, indirect: the guest table is not write-protected */
	struct sh_page *hash_next;             /* pages of the same gfn */
	struct sh_page *lru_prev, *lru_next;   /* every page, oldest first */
	struct sh_page *unsync_prev, *unsync_next;
};

static inline int sh_level(const struct sh_page *sp)
{
	return SH_ROLE_LEVEL(sp->role);
}

static inline bool sh_direct(const struct sh_page *sp)
{
	return sp->role & SH_ROLE_DIRECT;
}

/* A reverse map: the shadow leaves (by address) that map one guest frame. */
struct sh_rmap {
	uint32_t n, cap;
	uint64_t spte[];
};

struct sh_vcpu {
	struct sh_page *root;      /* current root, NULL before the first load */
	uint64_t gcr3;             /* the guest root table's GPA */
	struct nw_x86_mode mode;   /* the guest mode of the last load */
	struct sh_page *prev[NW_SHADOW_MAX_ROOT_CACHE]; /* most recent first */
	unsigned nprev;
};

#define SH_TOPUP 8 /* frames one fault may need: up to 4 tables and 2 direct pages */

struct nw_shadow {
	struct nw_shadow_cfg cfg;
	struct nw_acc acc;         /* host-physical accessor */
	struct nw_fmt sfmt;        /* shadow entries: x86-64 at the host's MAXPHYADDR */
	struct nw_fmt gfmt;        /* guest entries: x86-64 at the guest's MAXPHYADDR */
	struct sh_map by_gfn;      /* gfn -> first page of its chain */
	struct sh_map by_hpa;      /* frame -> page */
	struct sh_map rmaps;       /* gfn -> struct sh_rmap * */
	struct sh_page *lru_head, *lru_tail;
	struct sh_page *unsync_head;
	uint64_t frames[SH_TOPUP]; /* preallocated frames, so a fault cannot fail midway */
	unsigned nframes;
	struct sh_vcpu vcpus[NW_SHADOW_MAX_VCPUS];
	bool need_flush;           /* present entries changed since the last flush_tlb */
	bool guest_change;         /* the entries being changed follow the guest's own
				      stores: invalidating them is the guest's job */
	struct sh_map stale_w;     /* host frames a TLB may still map writable, unflushed */
	struct sh_map lpage_disallow; /* 2 MiB region (gfn >> 9) -> indirect pages shadowing
					 a frame in it: no 2 MiB shadow leaf there */
	unsigned bugs_left;
	int p2m_err;               /* a p2m failure other than -EFAULT, seen by a guest read */
	struct nw_shadow_stats st;
	char msg[256];             /* the checker's last failure */
};

/* ---- entries (spte.c) ---- */

uint64_t sh_spte_read(struct nw_shadow *sh, uint64_t hpa);
/*
 * Entry idx of a page, read through its mapping when the backend gives
 * one: scans of 512 entries (checker, zap, sync) would otherwise pay the
 * accessor per entry. Writes always go through the accessor.
 */
static inline uint64_t sh_entry(struct nw_shadow *sh, const struct sh_page *sp, unsigned idx)
{
	return sp->spt ? sp->spt[idx] : sh_spte_read(sh, sp->hpa + (uint64_t)idx * sizeof(uint64_t));
}
/* Write a shadow entry; asks for a TLB flush when a present one loses anything. */
void sh_spte_write(struct nw_shadow *sh, uint64_t hpa, uint64_t val);
static inline uint64_t sh_spte_addr(const struct sh_page *sp, unsigned idx)
{
	return sp->hpa + (uint64_t)idx * sizeof(uint64_t);
}
/* A shadow leaf (4 KiB) for hpa with rights prot and attributes attr. */
uint64_t sh_make_leaf(struct nw_shadow *sh, uint64_t hpa, uint32_t prot,
		      const struct nw_attr *attr);
/* A link to a child shadow page: grants everything, the leaf decides. */
uint64_t sh_make_link(struct nw_shadow *sh, const struct sh_page *child);
/* Rights a shadow leaf may give a guest translation (emulated dirty bit). */
uint32_t sh_leaf_prot(uint32_t guest_prot, uint64_t gleaf);
/*
 * Set the leaf at idx of a level-1 page to map guest frame gfn with prot
 * (write permission dropped when gfn is a protected guest table), or clear
 * it (gfn ignored) when prot is 0. Keeps the reverse maps. 0, -EFAULT (gfn
 * not RAM: the leaf is cleared) or another p2m error.
 */
int sh_set_leaf(struct nw_shadow *sh, struct sh_page *sp, unsigned idx, uint64_t gfn,
		uint32_t prot, const struct nw_attr *attr);
/* A level-2 entry that is a 2 MiB leaf, not a link. */
static inline bool sh_is_large(const struct sh_page *sp, uint64_t e)
{
	return SH_ROLE_LEVEL(sp->role) == 2 && (e & NW_PTE_P) && (e & NW_PTE_PS);
}
/* Reverse-map key of the 2 MiB leaves that map the 2 MiB region of gfn. */
#define SH_RMAP_LARGE (1ull << 62)
static inline uint64_t sh_large_key(uint64_t gfn)
{
	return (gfn & ~(uint64_t)(NW_ENTRIES_PER_TABLE - 1)) | SH_RMAP_LARGE;
}
/* Whether a 2 MiB shadow leaf may map the guest 2 MiB page at gpa: large
 * pages on, one aligned 2 MiB host page behind it, no shadowed table in it. */
bool sh_large_ok(struct nw_shadow *sh, uint64_t gpa);
/*
 * Set entry idx of an indirect level-2 page to a 2 MiB leaf for the guest
 * 2 MiB page at gfn (aligned) with prot, replacing a link or leaf there.
 * 0 or a p2m error / -ENOMEM (the entry is then clear).
 */
int sh_set_large(struct nw_shadow *sh, struct sh_page *sp, unsigned idx, uint64_t gfn,
		 uint32_t prot, const struct nw_attr *attr);
/* Zap every 2 MiB leaf over the 2 MiB region of gfn. */
void sh_zap_large(struct nw_shadow *sh, uint64_t gfn);

/* Recompute leaf idx of an indirect level-1 page from the guest's entry. */
void sh_sync_leaf(struct nw_shadow *sh, struct sh_page *sp, unsigned idx);

/* ---- the page cache (page.c) ---- */

struct sh_page *sh_page_by_hpa(const struct nw_shadow *sh, uint64_t hpa);
struct sh_page *sh_page_first(const struct nw_shadow *sh, uint64_t gfn);
/* Reserve frames for `need` new pages (zapping old ones for room): 0 or -ENOMEM. */
int sh_topup(struct nw_shadow *sh, unsigned need);
/* The page for (gfn, role), made if absent (from the topped-up frames). */
int sh_page_get(struct nw_shadow *sh, uint64_t gfn, uint64_t role, struct sh_page **out);
/* Make the entry at idx of sp a link to child (replacing whatever was there). */
int sh_link(struct nw_shadow *sh, struct sh_page *sp, unsigned idx, struct sh_page *child);
/* Clear the entry at idx of sp: a leaf leaves its reverse map, a link its child. */
void sh_zap_entry(struct nw_shadow *sh, struct sh_page *sp, unsigned idx);
/* Unlink and free a page (never a page in use as a root). */
void sh_page_zap(struct nw_shadow *sh, struct sh_page *sp);
/* Mark a page used by a fault: resets its flood count. */
static inline void sh_page_touch(struct sh_page *sp)
{
	sp->flood = 0;
}
/* Some indirect page shadows gfn and is in sync: the frame is write-protected. */
bool sh_gfn_protected(const struct nw_shadow *sh, uint64_t gfn);
void sh_page_free_all(struct nw_shadow *sh);

/* ---- reverse maps (rmap.c) ---- */

int sh_rmap_add(struct nw_shadow *sh, uint64_t gfn, uint64_t spte_hpa);
void sh_rmap_del(struct nw_shadow *sh, uint64_t gfn, uint64_t spte_hpa);
const struct sh_rmap *sh_rmap_get(const struct nw_shadow *sh, uint64_t gfn);
/* Clear W in every shadow leaf that maps gfn. */
void sh_write_protect(struct nw_shadow *sh, uint64_t gfn);
void sh_rmap_free_all(struct nw_shadow *sh);

/* ---- guest memory and the guest walk (gwalk.c) ---- */

/* One guest walk, as the shadow MMU needs it. */
struct sh_gwalk {
	struct nw_walk w;                 /* nw_walk_x86's outcome */
	int n;                            /* guest entries on the path, root first */
	int level[NW_MAX_LEVELS];
	uint64_t gpte[NW_MAX_LEVELS];     /* their values, after the walk's A/D updates */
	uint32_t above[NW_MAX_LEVELS];    /* rights gathered above each of them */
};

/* Guest-physical accessor over the p2m: unbacked reads return all ones. */
void sh_gacc(struct nw_shadow *sh, struct nw_acc *out);
uint64_t sh_guest_read(struct nw_shadow *sh, uint64_t gpa);
int sh_gpa_to_hpa(struct nw_shadow *sh, uint64_t gpa, uint64_t *hpa);
/* Walk the guest's tables from gcr3 for an access: 0 or a p2m error. */
int sh_guest_walk(struct nw_shadow *sh, uint64_t gcr3, const struct nw_x86_mode *mode,
		  uint64_t gva, unsigned access, struct sh_gwalk *gw);
unsigned sh_error_to_access(uint64_t error);

/* ---- unsync and resync (sync.c) ---- */

/* Let a write make gfn's tables unsync: true when every page that shadows it
 * is an indirect level-1 page (or already unsync) and unsync is on. */
bool sh_try_unsync(struct nw_shadow *sh, uint64_t gfn);
/* Bring an unsync page back in sync and write-protect its frame again. */
void sh_sync_page(struct nw_shadow *sh, struct sh_page *sp);
void sh_sync_all(struct nw_shadow *sh);
void sh_unsync_list_del(struct nw_shadow *sh, struct sh_page *sp);

/* ---- roots (root.c) ---- */

void sh_root_put(struct nw_shadow *sh, struct sh_page *sp);

/* ---- common tail of every operation (shadow.c) ---- */

/* Flush if entries changed, run the checker when configured; returns rc or -EUCLEAN. */
int sh_finish(struct nw_shadow *sh, int rc);

#endif
