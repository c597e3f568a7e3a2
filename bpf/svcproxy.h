/*
 * Map layouts shared by the BPF programs (sock_lb.bpf.c), the native loader
 * (native/bpf/) and the TypeScript encoder (src/dataplanes/bpf/layout.ts).
 * test/unit/bpf.layout.test.ts compiles this header and compares every size
 * and offset with the TypeScript layout: change both together.
 *
 * Addresses: __u32[4] in network byte order; IPv4 uses addr[0], rest zero.
 * Ports: network byte order.
 */
#ifndef SVCPROXY_BPF_H
#define SVCPROXY_BPF_H

#include <linux/types.h>

/* Map capacities (entries). Hash maps are BPF_F_NO_PREALLOC: memory is used
 * only for what is stored. */
#define SVP_MAX_FRONTENDS 262144  /* services map: VIP/node-port/external IP entries */
#define SVP_MAX_BACKEND_PAGES 524288 /* backends map: (group, page) entries */
#define SVP_PAGE_SLOTS 8          /* backends per page: a 4-endpoint service is one element, not four */
#define SVP_MAX_META 131072       /* service ports (meta ids) */
#define SVP_MAX_NODE_ADDRS 1024   /* local addresses that accept node ports */
#define SVP_MAX_REVNAT 262144     /* LRU: socket -> VIP for recvmsg/getpeername */
#define SVP_MAX_AFFINITY 262144   /* LRU: ClientIP affinity */

#define SVP_KEY_LEN 192           /* "namespace/name:port/PROTO@4", NUL padded */

/* svp_service_value.flags: which frontend of the service port this entry is */
#define SVP_F_CLUSTER_IP 0x1
#define SVP_F_NODE_PORT 0x2
#define SVP_F_EXTERNAL_IP 0x4
#define SVP_F_LB_IP 0x8
/* not a frontend kind: with count 0, the service has endpoints but none for
 * this traffic (a Local policy without local ones): kube-proxy drops, here
 * connect()/sendmsg() fail with ETIMEDOUT instead of ECONNREFUSED */
#define SVP_F_DROP 0x10

/* svp_meta.flags */
#define SVP_M_HAS_ENDPOINTS 0x1
#define SVP_M_EXTERNAL_LOCAL 0x2
#define SVP_M_AFFINITY 0x4

/* services: frontend -> backend group. A node-port entry has addr all zero and
 * is consulted only when the destination is a node address (node_addrs). */
struct svp_service_key {
  __u32 addr[4];
  __u16 port;
  __u8 proto;  /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
  __u8 family; /* 4 or 6 */
};

struct svp_service_value {
  __u32 group;        /* backend group: meta_id * 4 + gen * 2 + external */
  __u32 count;        /* backends in the group; 0 = reject (or drop: SVP_F_DROP) */
  __u32 meta_id;
  __u32 affinity_sec; /* ClientIP affinity timeout, 0 = none */
  __u32 flags;        /* SVP_F_* */
};

/* backends: (group, page) -> SVP_PAGE_SLOTS endpoints; slot s (< count) is
 * be[s % SVP_PAGE_SLOTS] of page s / SVP_PAGE_SLOTS. Pages, not one element
 * per endpoint: a map element costs about the same to write whatever its
 * size, and a full sync writes every one. */
struct svp_backend_key {
  __u32 group;
  __u32 page;
};

struct svp_backend {
  __u32 addr[4];
  __u16 port;
  __u16 pad;
};

struct svp_backend_page {
  struct svp_backend be[SVP_PAGE_SLOTS]; /* slots past count are zero */
};

/* meta: what read() needs to rebuild the ServicePortState; not used by BPF */
struct svp_meta {
  char key[SVP_KEY_LEN];
  __u32 gen;            /* live group pair: groups meta_id*4 + gen*2 + {0,1} */
  __u32 flags;          /* SVP_M_* */
  __u32 affinity_sec;
  __u16 port;           /* host byte order (readability in bpftool dumps) */
  __u16 node_port;      /* host byte order, 0 = none */
  __u32 internal_count;
  __u32 external_count;
  __u32 external_group; /* group external frontends use (== internal one when lists equal) */
};

/* node_addrs: local address -> 1 */
struct svp_addr_key {
  __u32 addr[4];
  __u32 family;
};

/* revnat: (socket, backend) -> frontend, so replies and getpeername show the VIP */
struct svp_revnat_key {
  __u64 cookie;   /* bpf_get_socket_cookie */
  __u32 addr[4];  /* backend */
  __u16 port;
  __u16 family;
  __u32 pad;      /* explicit: keys are compared bytewise */
};

struct svp_revnat_value {
  __u32 addr[4];  /* frontend */
  __u16 port;
  __u16 pad;
};

/* affinity: (client netns, service group) -> chosen backend */
struct svp_affinity_key {
  __u64 netns_cookie; /* the "client IP" of a socket-level LB: its netns */
  __u32 meta_id;
  __u32 external;
};

struct svp_affinity_value {
  __u64 last_ns;      /* bpf_ktime_get_ns of the last use */
  struct svp_backend backend;
  __u32 pad;
};

/* counters (array indexed by meta_id, atomic adds). Not per-CPU: a per-CPU
 * array of SVP_MAX_META entries costs ~0.1 s to create and to free, and a
 * shared cache line per service is nothing next to a connect() syscall. */
struct svp_counters {
  __u64 translated;   /* connects/sendmsgs rewritten to a backend */
  __u64 rejected;     /* refused (ECONNREFUSED): no endpoints */
  __u64 dropped;      /* failed (ETIMEDOUT): endpoints, but none for this traffic */
};

#endif /* SVCPROXY_BPF_H */
