#include <braid/coro/hub_thread.hpp>

namespace braid {

HubThread::HubThread() {
  std::promise<Hub*> started;
  auto ready = started.get_future();
  thread_ = std::thread([this, &started] {
    Hub& hub = Hub::current();
    keep_alive_.emplace(hub);
    started.set_value(&hub);
    hub.run();
    Hub::uninstall();  // unwinds what is still running, on this thread
  });
  hub_ = ready.get();
}

HubThread::~HubThread() { stop(); }

void HubThread::stop() {
  if (!thread_.joinable()) return;
  hub_->post([this] {
    keep_alive_.reset();
    hub_->stop();
  });
  thread_.join();
}

}  // namespace braid
