// Options::user / group / extra_groups to ids, looked up in the parent (the child of a
// vfork may not call getpwnam: it takes locks and may load NSS modules).
#include "subprocess_spawn.hpp"

#include <fmt/format.h>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace braid::subprocess::detail {
namespace {

// A decimal id with nothing else in it, or nullopt.
std::optional<unsigned long> as_number(const std::string& s) {
  unsigned long n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

// getpwnam_r / getgrnam_r with a buffer that grows on ERANGE.
template <class Entry, class Lookup>
bool lookup(const std::string& name, Entry& entry, std::vector<char>& buf, Lookup f) {
  buf.resize(1024);
  for (;;) {
    Entry* found = nullptr;
    const int e = f(name.c_str(), &entry, buf.data(), buf.size(), &found);
    if (e == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 4);
      continue;
    }
    if (e != 0 && e != ENOENT && e != ESRCH) {
      throw std::system_error(e, std::generic_category(), fmt::format("Popen: look up '{}'", name));
    }
    return found != nullptr;
  }
}

uid_t user_id(const std::string& name) {
  passwd pw{};
  std::vector<char> buf;
  if (lookup(name, pw, buf, ::getpwnam_r)) return pw.pw_uid;
  if (auto n = as_number(name)) return static_cast<uid_t>(*n);
  throw std::invalid_argument(fmt::format("Popen: user '{}' not found", name));
}

gid_t group_id(const std::string& name, const char* what) {
  group gr{};
  std::vector<char> buf;
  if (lookup(name, gr, buf, ::getgrnam_r)) return gr.gr_gid;
  if (auto n = as_number(name)) return static_cast<gid_t>(*n);
  throw std::invalid_argument(fmt::format("Popen: {} '{}' not found", what, name));
}

}  // namespace

void resolve_credentials(const Options& o, SpawnPlan& plan) {
  if (o.user) plan.uid = user_id(*o.user);
  if (o.group) plan.gid = group_id(*o.group, "group");
  if (o.extra_groups) {
    plan.groups.emplace();
    for (const auto& g : *o.extra_groups) plan.groups->push_back(group_id(g, "extra group"));
  }
}

}  // namespace braid::subprocess::detail
