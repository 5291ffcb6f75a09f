// Group tracks coroutines spawned through it; Pool also bounds how many run at once
// (gevent.pool). A finished task leaves the group by itself.
#pragma once

#include <braid/coro/task.hpp>
#include <braid/runtime/detail/wait_queue.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace braid {

class Group {
 public:
  Group() = default;
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  /// Members keep running; they just stop reporting to this group.
  virtual ~Group();

  /// Spawns `f(args...)` as a member (Pool: parks first until there is room).
  template <class F, class... A>
    requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
  auto spawn(F&& f, A&&... args) -> Task<detail::SpawnResult<F, A...>> {
    wait_for_room();
    auto t = braid::spawn(std::forward<F>(f), std::forward<A>(args)...);
    add(t.state_ptr());
    return t;
  }
  /// Adds an already spawned task (or one made by make_task, started later).
  template <class T>
  void add(const Task<T>& t) {
    add(t.state_ptr());
  }
  /// gevent's Group.start: adds a task made by make_task() (Pool: parks first until
  /// there is room) and starts it.
  template <class T>
  void start(Task<T> t) {
    wait_for_room();
    add(t.state_ptr());
    t.start();
  }
  /// Parks until every member has finished (members spawned meanwhile included); false
  /// when `timeout` elapsed first.
  bool join(std::optional<Duration> timeout = {});
  /// Kills every member and waits for them to unwind.
  void kill();
  /// Members not yet finished.
  std::size_t size() const noexcept { return members_.size(); }

 protected:
  virtual void wait_for_room() {}
  virtual void on_member_done() {}

 private:
  void add(std::shared_ptr<detail::TaskBase> t);
  static void member_done(void* group, detail::TaskBase* t) noexcept;

  std::vector<std::shared_ptr<detail::TaskBase>> members_;
  detail::WaitQueue emptied_;  // join() waiters
};

class Pool : public Group {
 public:
  /// At most `size` members run at once; std::invalid_argument for 0.
  explicit Pool(std::size_t size);
  /// Room for this many more members right now.
  std::size_t free_count() const noexcept;
  /// Parks until a member could be added without waiting; false on timeout.
  bool wait_available(std::optional<Duration> timeout = {});

 protected:
  void wait_for_room() override;
  void on_member_done() override;

 private:
  std::size_t capacity_;
  detail::WaitQueue room_;
};

}  // namespace braid
