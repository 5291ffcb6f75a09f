// hiredis in braid coroutines against a real redis-server: SET/GET round trips done one
// after another, then spread over many coroutines, each with its own connection; every
// value read back is checked.
//
//   redis_setget --port P [--host 127.0.0.1] [--api blocking|adapter] [--clients 100]
//                [--pairs 10000]
//
// --api blocking: hiredis' own blocking API (redisConnect, redisCommand), unmodified. In
//   the redis_setget_hooked build braid_hooks is linked in and those calls park only
//   their coroutine; in the plain redis_setget build they block the thread, so the
//   concurrent pass is no faster (the control).
// --api adapter: braid_redis.hpp (a non-blocking redisContext and braid waits): concurrent
//   without hooks.
#include "../cli.hpp"
#include "braid_redis.hpp"
#include "hooked.hpp"

#include <braid/coro.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// One client's connection, as "SET key value, then GET key: what came back".
using SetGet = std::function<std::string(const std::string& key, const std::string& value)>;

std::string reply_text(const redisReply* r, const char* what) {
  if (r == nullptr) throw std::runtime_error(std::string(what) + ": no reply (connection lost?)");
  if (r->type == REDIS_REPLY_ERROR) throw std::runtime_error(std::string(what) + ": " + r->str);
  return r->type == REDIS_REPLY_NIL ? "(nil)" : std::string(r->str, r->len);
}

// hiredis' blocking API, exactly as a program that never heard of braid would use it.
SetGet open_blocking(const std::string& host, int port) {
  redisContext* c = redisConnect(host.c_str(), port);
  if (c == nullptr || c->err != 0) {
    const std::string why = c != nullptr ? c->errstr : "out of memory";
    redisFree(c);
    throw std::runtime_error("redisConnect " + host + ":" + std::to_string(port) + ": " + why);
  }
  std::shared_ptr<redisContext> ctx(c, redisFree);
  return [ctx](const std::string& key, const std::string& value) {
    auto* set =
        static_cast<redisReply*>(redisCommand(ctx.get(), "SET %s %s", key.c_str(), value.c_str()));
    const std::string ok = reply_text(set, "SET");
    freeReplyObject(set);
    if (ok != "OK") throw std::runtime_error("SET " + key + ": " + ok);
    auto* get = static_cast<redisReply*>(redisCommand(ctx.get(), "GET %s", key.c_str()));
    std::string got = reply_text(get, "GET");
    freeReplyObject(get);
    return got;
  };
}

SetGet open_adapter(const std::string& host, int port) {
  auto conn =
      std::make_shared<braid_redis::Connection>(braid_redis::Connection::connect(host, port, 5s));
  conn->set_timeout(10s);
  return [conn](const std::string& key, const std::string& value) {
    const std::string ok =
        reply_text(conn->command("SET %s %s", key.c_str(), value.c_str()).get(), "SET");
    if (ok != "OK") throw std::runtime_error("SET " + key + ": " + ok);
    return reply_text(conn->command("GET %s", key.c_str()).get(), "GET");
  };
}

struct Pass {
  int checked = 0, wrong = 0;
  double seconds = 0;
};

// `pairs` SET/GET round trips over `clients` coroutines (client k takes pairs k, k +
// clients, ...), each on its own connection from `open`.
Pass run(const std::function<SetGet()>& open, int clients, int pairs, const std::string& tag) {
  Pass p;
  const auto t0 = Clock::now();
  std::vector<braid::Task<void>> tasks;
  for (int k = 0; k < clients; ++k) {
    tasks.push_back(braid::spawn([&, k] {
      const SetGet set_get = open();
      for (int i = k; i < pairs; i += clients) {
        const std::string key = "braid:setget:" + std::to_string(i);
        const std::string value = tag + ":" + std::to_string(i) + ":" + std::string(i % 32, 'v');
        const std::string got = set_get(key, value);
        ++p.checked;
        if (got != value) {
          if (++p.wrong <= 5) std::printf("WRONG %s: %s\n", key.c_str(), got.c_str());
        }
      }
    }));
  }
  braid::joinall(tasks);
  for (auto& t : tasks) t.get();  // rethrow the first failure, if any
  p.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", api = "blocking";
  int port = 0, clients = 100, pairs = 10000;
  namespace po = braid_cli::po;
  po::options_description opts("options");
  opts.add_options()("port", po::value(&port)->required(), "the Redis server's port")(
      "host", po::value(&host)->default_value(host), "its address")(
      "api", po::value(&api)->default_value(api), "blocking or adapter")(
      "clients", po::value(&clients)->default_value(clients), "concurrent clients")(
      "pairs", po::value(&pairs)->default_value(pairs), "SET/GET pairs per client");
  const char* usage = "--port P [--host H] [--api blocking|adapter] [--clients N] [--pairs N]";
  braid_cli::parse(argc, argv, usage, opts);
  if (port <= 0 || clients < 1 || pairs < 1 || (api != "blocking" && api != "adapter"))
    braid_cli::fail(argv[0], usage, "a value is out of range");
  try {
    const std::function<SetGet()> open = [&] {
      return api == "blocking" ? open_blocking(host, port) : open_adapter(host, port);
    };
    std::printf("api: %s, braid_hooks: %s\n", api.c_str(), braid_clients::kHooksState);
    const Pass seq = run(open, 1, pairs, "seq");
    std::printf("sequential: 1 client, %d SET/GET pairs, %d values checked, %d wrong, in %.3f s\n",
                pairs, seq.checked, seq.wrong, seq.seconds);
    const Pass conc = run(open, clients, pairs, "conc");
    std::printf(
        "concurrent: %d clients, %d SET/GET pairs, %d values checked, %d wrong, in %.3f s\n",
        clients, pairs, conc.checked, conc.wrong, conc.seconds);
    std::printf("speed-up: %.1fx\n", conc.seconds > 0 ? seq.seconds / conc.seconds : 0.0);
    return seq.wrong + conc.wrong == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "redis_setget: %s\n", e.what());
    return 1;
  }
}
