#include <braid/coro/group.hpp>

#include <algorithm>
#include <stdexcept>

namespace braid {

Group::~Group() {
  for (auto& m : members_) {
    m->done_hook = nullptr;
    m->done_hook_arg = nullptr;
  }
}

void Group::add(std::shared_ptr<detail::TaskBase> t) {
  if (t->finished()) return;
  if (t->done_hook != nullptr) {
    throw std::logic_error("Group.add: task '" + t->display_name() + "' already belongs to a group");
  }
  t->done_hook = &Group::member_done;
  t->done_hook_arg = this;
  members_.push_back(std::move(t));
}

void Group::member_done(void* group, detail::TaskBase* t) noexcept {
  auto* g = static_cast<Group*>(group);
  t->done_hook = nullptr;
  auto it = std::find_if(g->members_.begin(), g->members_.end(),
                         [t](const auto& m) { return m.get() == t; });
  if (it == g->members_.end()) return;
  // The task's own state may be freed with this reference only after it finished
  // switching away; members_ holds a shared_ptr, and so does the hub until then.
  std::swap(*it, g->members_.back());
  g->members_.pop_back();
  g->on_member_done();
  if (g->members_.empty()) g->emptied_.notify_all();
}

bool Group::join(std::optional<Duration> timeout) {
  const detail::CallDeadline until(timeout);
  while (!members_.empty()) {
    if (!emptied_.wait(until.remaining(), detail::WaitInfo{"Group.join"})) {
      return members_.empty();
    }
  }
  return true;
}

void Group::kill() {
  // Copy: members leave the vector as they finish.
  auto snapshot = members_;
  for (auto& m : snapshot) m->kill(false);
  for (auto& m : snapshot) m->join(std::nullopt);
}

Pool::Pool(std::size_t size) : capacity_(size) {
  if (size == 0) throw std::invalid_argument("braid::Pool: size must be at least 1");
}

std::size_t Pool::free_count() const noexcept {
  return size() >= capacity_ ? 0 : capacity_ - size();
}

bool Pool::wait_available(std::optional<Duration> timeout) {
  const detail::CallDeadline until(timeout);
  while (free_count() == 0) {
    if (!room_.wait(until.remaining(), detail::WaitInfo{"Pool.spawn"})) {
      return free_count() > 0;
    }
  }
  return true;
}

void Pool::wait_for_room() { wait_available(std::nullopt); }

// Wake all: a woken waiter that is killed before it spawns must not strand the rest.
void Pool::on_member_done() { room_.notify_all(); }

}  // namespace braid
