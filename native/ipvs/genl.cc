#include "genl.h"

#include "codec.h"

#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace svcproxy::ipvs {
namespace {

// Messages per window and bytes per sendmsg. Each error ack is its own skb
// in the receive queue (~1 KiB truesize), so the window is bounded by rcvbuf.
constexpr size_t kWindowMessages = 1024;
constexpr size_t kWindowBytes = 256 * 1024;
constexpr int kSocketBuffer = 8 * 1024 * 1024;

void GrowBuffers(struct mnl_socket* s) {
  int fd = mnl_socket_get_fd(s);
  int size = kSocketBuffer;
  // FORCE needs CAP_NET_ADMIN (we have it to program IPVS); fall back otherwise.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  int one = 1;
  // Acks without a copy of the request: smaller replies, bigger windows.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
}

}  // namespace

NetlinkSocket::NetlinkSocket(int protocol, NativeError* err) {
  sock_ = mnl_socket_open(protocol);
  if (sock_ == nullptr) {
    err->SetErrno("ipvs.socket", errno, protocol == NETLINK_GENERIC ? "netlink generic" : "netlink route");
    return;
  }
  if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
    err->SetErrno("ipvs.socket", errno, "bind");
    return;
  }
  portid_ = mnl_socket_get_portid(sock_);
  GrowBuffers(sock_);
}

NetlinkSocket::~NetlinkSocket() {
  if (sock_) mnl_socket_close(sock_);
}

GenlSocket::GenlSocket(NativeError* err) : NetlinkSocket(NETLINK_GENERIC, err) {
  if (bound()) Resolve(err);
}

struct nlmsghdr* GenlSocket::Begin(char* buf, uint8_t cmd, uint16_t flags) {
  struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = family_;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = seq_++;
  auto* genl = static_cast<struct genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr)));
  genl->cmd = cmd;
  genl->version = IPVS_GENL_VERSION;
  return nlh;
}

// CTRL_CMD_GETFAMILY "IPVS" -> family id. ENOENT from the controller means
// the kernel has no IPVS (not built, or ip_vs not loaded).
bool GenlSocket::Resolve(NativeError* err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = GENL_ID_CTRL;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq_++;
  auto* genl = static_cast<struct genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr)));
  genl->cmd = CTRL_CMD_GETFAMILY;
  genl->version = 1;
  mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME);
  Message req(buf, buf + nlh->nlmsg_len);
  uint16_t id = 0;
  NativeError dump_err;
  Dump(req, [&](const struct nlmsghdr* reply) {
    ForEachAttr(reply, [&](const struct nlattr* a) {
      if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID) id = mnl_attr_get_u16(a);
    });
  }, &dump_err);
  if (id == 0) {
    if (dump_err.errnum == ENOENT || !dump_err.failed()) {
      err->Set("ENOIPVS", "ipvs.resolve",
               "this kernel has no IPVS: the generic netlink family \"IPVS\" does not resolve "
               "(needs CONFIG_IP_VS, or modprobe ip_vs)");
    } else {
      *err = dump_err;
    }
    return false;
  }
  family_ = id;
  return true;
}

bool NetlinkSocket::Batch(const std::vector<Message>& msgs, std::vector<Ack>* acks, NativeError* err) {
  acks->assign(msgs.size(), Ack{});
  std::vector<char> out;
  std::vector<char> in(MNL_SOCKET_BUFFER_SIZE * 4);
  size_t next = 0;
  while (next < msgs.size()) {
    // Fill a window: renumber sequence numbers so acks map back to indexes.
    out.clear();
    size_t first = next;
    uint32_t base = seq_;
    size_t last_at = 0;
    while (next < msgs.size() && next - first < kWindowMessages &&
           (out.empty() || out.size() + msgs[next].size() <= kWindowBytes)) {
      last_at = out.size();
      out.insert(out.end(), msgs[next].begin(), msgs[next].end());
      auto* nlh = reinterpret_cast<struct nlmsghdr*>(out.data() + last_at);
      // The kernel acks every failure regardless; a success is acked only when asked. Only the
      // window's last message asks: one receive per window, not one per message (a syscall each,
      // ~36 us inside UML, 150k of them in a 30k-service IPVS sync).
      nlh->nlmsg_flags &= ~NLM_F_ACK;
      nlh->nlmsg_seq = base + static_cast<uint32_t>(next - first);
      next++;
    }
    reinterpret_cast<struct nlmsghdr*>(out.data() + last_at)->nlmsg_flags |= NLM_F_ACK;
    size_t count = next - first;
    seq_ = base + static_cast<uint32_t>(count);
    if (mnl_socket_sendto(sock_, out.data(), out.size()) < 0) {
      broken_ = true;
      err->SetErrno("ipvs.send", errno);
      return false;
    }
    // Messages are handled in order, so the last one's ack ends the window.
    bool done = false;
    while (!done) {
      ssize_t n = mnl_socket_recvfrom(sock_, in.data(), in.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        broken_ = true;
        err->SetErrno("ipvs.recv", errno, "acks");
        return false;
      }
      int left = static_cast<int>(n);
      for (auto* nlh = reinterpret_cast<struct nlmsghdr*>(in.data()); mnl_nlmsg_ok(nlh, left);
           nlh = mnl_nlmsg_next(nlh, &left)) {
        if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != portid_) continue;
        uint32_t idx = nlh->nlmsg_seq - base;
        if (idx >= count) continue;
        auto* e = static_cast<struct nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        (*acks)[first + idx].err = -e->error;
        if (idx == count - 1) done = true;
      }
    }
  }
  return true;
}

bool NetlinkSocket::Dump(const Message& req, const std::function<void(const struct nlmsghdr*)>& cb, NativeError* err) {
  Message msg = req;
  auto* hdr = reinterpret_cast<struct nlmsghdr*>(msg.data());
  hdr->nlmsg_seq = seq_++;
  hdr->nlmsg_flags |= NLM_F_ACK;
  uint32_t seq = hdr->nlmsg_seq;
  if (mnl_socket_sendto(sock_, msg.data(), msg.size()) < 0) {
    broken_ = true;
    err->SetErrno("ipvs.send", errno);
    return false;
  }
  std::vector<char> in(MNL_SOCKET_BUFFER_SIZE * 8);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_, in.data(), in.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      broken_ = true;
      err->SetErrno("ipvs.recv", errno, "dump");
      return false;
    }
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<struct nlmsghdr*>(in.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid_) continue;
      if (nlh->nlmsg_type == NLMSG_DONE) return true;
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        int e = -static_cast<struct nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
        if (e == 0) return true;  // the ack of a non-dump get
        err->SetErrno("ipvs.dump", e);
        return false;
      }
      cb(nlh);
    }
  }
}

}  // namespace svcproxy::ipvs
