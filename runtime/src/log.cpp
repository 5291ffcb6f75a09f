#include <braid/runtime/log.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <memory>

namespace braid::detail {

spdlog::logger& log() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("braid", sink);
    l->set_pattern("[%H:%M:%S.%e] [braid] [%l] %v");
    const char* env = std::getenv("BRAID_LOG");
    l->set_level(env != nullptr ? spdlog::level::from_str(env) : spdlog::level::warn);
    // from_str maps unknown names to "off"; keep warnings for a typo instead.
    if (env != nullptr && l->level() == spdlog::level::off && std::string_view(env) != "off") {
      l->set_level(spdlog::level::warn);
    }
    return l;
  }();
  return *logger;
}

}  // namespace braid::detail
