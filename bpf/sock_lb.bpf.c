// SPDX-License-Identifier: GPL-2.0
/*
 * Socket-level service load balancing (cgroup sock_addr hooks): connect and
 * sendmsg rewrite a service frontend to a backend; recvmsg and getpeername
 * rewrite the backend back to the frontend. Look up and rewrite only: all
 * policy (which backends, order of updates) is decided in user space.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/errno.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "svcproxy.h"

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, SVP_MAX_FRONTENDS);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct svp_service_key);
  __type(value, struct svp_service_value);
} svp_services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, SVP_MAX_BACKEND_PAGES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct svp_backend_key);
  __type(value, struct svp_backend_page);
} svp_backends SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, SVP_MAX_META);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, __u32);
  __type(value, struct svp_meta);
} svp_meta SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, SVP_MAX_NODE_ADDRS);
  __type(key, struct svp_addr_key);
  __type(value, __u32);
} svp_node_addrs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, SVP_MAX_REVNAT);
  __type(key, struct svp_revnat_key);
  __type(value, struct svp_revnat_value);
} svp_revnat SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, SVP_MAX_AFFINITY);
  __type(key, struct svp_affinity_key);
  __type(value, struct svp_affinity_value);
} svp_affinity SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, SVP_MAX_META);
  __type(key, __u32);
  __type(value, struct svp_counters);
} svp_counters SEC(".maps");

/* The destination of a socket operation, family-independent. */
struct dest {
  __u32 addr[4];
  __u16 port;
  __u16 family;
};

static __always_inline void read_dest(struct bpf_sock_addr *ctx, struct dest *d, int family) {
  d->family = family;
  d->port = (__u16)ctx->user_port;
  if (family == 4) {
    d->addr[0] = ctx->user_ip4;
  } else {
    d->addr[0] = ctx->user_ip6[0];
    d->addr[1] = ctx->user_ip6[1];
    d->addr[2] = ctx->user_ip6[2];
    d->addr[3] = ctx->user_ip6[3];
  }
}

static __always_inline void write_dest(struct bpf_sock_addr *ctx, const __u32 *addr, __u16 port, int family) {
  if (family == 4) {
    ctx->user_ip4 = addr[0];
  } else {
    ctx->user_ip6[0] = addr[0];
    ctx->user_ip6[1] = addr[1];
    ctx->user_ip6[2] = addr[2];
    ctx->user_ip6[3] = addr[3];
  }
  ctx->user_port = port;
}

static __always_inline int is_loopback(const struct dest *d) {
  if (d->family == 4) return (bpf_ntohl(d->addr[0]) >> 24) == 127;
  return d->addr[0] == 0 && d->addr[1] == 0 && d->addr[2] == 0 && d->addr[3] == bpf_htonl(1);
}

static __always_inline struct svp_service_value *find_service(const struct dest *d, __u8 proto) {
  struct svp_service_key key = {};
  __builtin_memcpy(key.addr, d->addr, sizeof(key.addr));
  key.port = d->port;
  key.proto = proto;
  key.family = d->family;
  struct svp_service_value *svc = bpf_map_lookup_elem(&svp_services, &key);
  if (svc) return svc;

  /* node port: the destination must be an address of this node */
  struct svp_addr_key ak = {};
  __builtin_memcpy(ak.addr, d->addr, sizeof(ak.addr));
  ak.family = d->family;
  if (!is_loopback(d) && !bpf_map_lookup_elem(&svp_node_addrs, &ak)) return 0;
  __builtin_memset(key.addr, 0, sizeof(key.addr));
  return bpf_map_lookup_elem(&svp_services, &key);
}

static __always_inline struct svp_backend *backend_at(__u32 group, __u32 slot) {
  struct svp_backend_key bk = {.group = group, .page = slot / SVP_PAGE_SLOTS};
  struct svp_backend_page *pg = bpf_map_lookup_elem(&svp_backends, &bk);
  if (!pg) return 0;
  return &pg->be[slot % SVP_PAGE_SLOTS];
}

static __always_inline struct svp_backend *pick_backend(struct bpf_sock_addr *ctx, struct svp_service_value *svc) {
  struct svp_affinity_key ak = {};
  __u32 slot;
  struct svp_affinity_value *aff = 0;
  __u64 now = 0;

  if (svc->affinity_sec) {
    ak.netns_cookie = bpf_get_netns_cookie(ctx);
    ak.meta_id = svc->meta_id;
    ak.external = svc->group & 1;
    now = bpf_ktime_get_ns();
    aff = bpf_map_lookup_elem(&svp_affinity, &ak);
    if (aff && now - aff->last_ns <= (__u64)svc->affinity_sec * 1000000000ULL) {
      /* still valid if the backend is still in the live group at its slot */
      slot = aff->backend.pad;
      struct svp_backend *be = slot < svc->count ? backend_at(svc->group, slot) : 0;
      if (be && be->port == aff->backend.port && be->addr[0] == aff->backend.addr[0] &&
          be->addr[1] == aff->backend.addr[1] && be->addr[2] == aff->backend.addr[2] &&
          be->addr[3] == aff->backend.addr[3]) {
        aff->last_ns = now;
        return be;
      }
    }
  }

  slot = bpf_get_prandom_u32() % svc->count;
  struct svp_backend *be = backend_at(svc->group, slot);
  if (be && svc->affinity_sec) {
    struct svp_affinity_value v = {.last_ns = now, .backend = *be};
    v.backend.pad = slot; /* remembered slot, see above */
    bpf_map_update_elem(&svp_affinity, &ak, &v, BPF_ANY);
  }
  return be;
}

enum verdict { V_TRANSLATED, V_REJECTED, V_DROPPED };

static __always_inline void count(__u32 meta_id, enum verdict v) {
  struct svp_counters *c = bpf_map_lookup_elem(&svp_counters, &meta_id);
  if (!c) return;
  if (v == V_TRANSLATED)
    __sync_fetch_and_add(&c->translated, 1);
  else if (v == V_REJECTED)
    __sync_fetch_and_add(&c->rejected, 1);
  else
    __sync_fetch_and_add(&c->dropped, 1);
}

/* connect/sendmsg: 1 = go on (maybe rewritten), 0 = refuse (EPERM). */
static __always_inline int translate(struct bpf_sock_addr *ctx, int family) {
  __u8 proto = ctx->protocol;
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP) return 1;
  struct dest d = {};
  read_dest(ctx, &d, family);
  struct svp_service_value *svc = find_service(&d, proto);
  if (!svc) return 1;
  if (svc->count == 0) {
    if (svc->flags & SVP_F_DROP) {
      /* kube-proxy drops: its client times out. Fail with that errno at
       * once (waiting helps nobody); letting the socket go untranslated
       * would send it wherever the VIP happens to route. */
      count(svc->meta_id, V_DROPPED);
      bpf_set_retval(-ETIMEDOUT);
      return 0;
    }
    count(svc->meta_id, V_REJECTED);
    /* reject at once, as kube-proxy's REJECT does: connect() fails with
     * ECONNREFUSED instead of the default EPERM */
    bpf_set_retval(-ECONNREFUSED);
    return 0;
  }
  struct svp_backend *be = pick_backend(ctx, svc);
  if (!be) return 1; /* publishing order makes this unreachable; do not break the socket */

  struct svp_revnat_key rk;
  __builtin_memset(&rk, 0, sizeof(rk));
  rk.cookie = bpf_get_socket_cookie(ctx);
  rk.port = be->port;
  rk.family = family;
  __builtin_memcpy(rk.addr, be->addr, sizeof(rk.addr));
  struct svp_revnat_value rv = {.port = d.port};
  __builtin_memcpy(rv.addr, d.addr, sizeof(rv.addr));
  bpf_map_update_elem(&svp_revnat, &rk, &rv, BPF_ANY);

  write_dest(ctx, be->addr, be->port, family);
  count(svc->meta_id, V_TRANSLATED);
  return 1;
}

/* recvmsg/getpeername: show the frontend instead of the backend. Always 1. */
static __always_inline int reverse(struct bpf_sock_addr *ctx, int family) {
  struct dest d = {};
  read_dest(ctx, &d, family);
  struct svp_revnat_key rk;
  __builtin_memset(&rk, 0, sizeof(rk));
  rk.cookie = bpf_get_socket_cookie(ctx);
  rk.port = d.port;
  rk.family = family;
  __builtin_memcpy(rk.addr, d.addr, sizeof(rk.addr));
  struct svp_revnat_value *rv = bpf_map_lookup_elem(&svp_revnat, &rk);
  if (rv) write_dest(ctx, rv->addr, rv->port, family);
  return 1;
}

SEC("cgroup/connect4")
int svp_connect4(struct bpf_sock_addr *ctx) { return translate(ctx, 4); }

SEC("cgroup/sendmsg4")
int svp_sendmsg4(struct bpf_sock_addr *ctx) { return translate(ctx, 4); }

SEC("cgroup/recvmsg4")
int svp_recvmsg4(struct bpf_sock_addr *ctx) { return reverse(ctx, 4); }

SEC("cgroup/getpeername4")
int svp_getpeername4(struct bpf_sock_addr *ctx) { return reverse(ctx, 4); }

SEC("cgroup/connect6")
int svp_connect6(struct bpf_sock_addr *ctx) { return translate(ctx, 6); }

SEC("cgroup/sendmsg6")
int svp_sendmsg6(struct bpf_sock_addr *ctx) { return translate(ctx, 6); }

SEC("cgroup/recvmsg6")
int svp_recvmsg6(struct bpf_sock_addr *ctx) { return reverse(ctx, 6); }

SEC("cgroup/getpeername6")
int svp_getpeername6(struct bpf_sock_addr *ctx) { return reverse(ctx, 6); }
