// asio_spawn_echo: the stackful-coroutine baseline for braid's echo benchmark.
//
// One io_context on one thread, one boost::asio::spawn coroutine per
// connection, written the way an Asio user would write it. Built on the
// Boost.Context-fiber implementation of spawn (Boost >= 1.80); the legacy
// Boost.Coroutine overloads are compiled out (BOOST_ASIO_DISABLE_BOOST_COROUTINE),
// so only Boost.Context is linked.
//
// Usage: asio_spawn_echo [--port P] [--stack-kib K]
//   P = 0 (default) picks an ephemeral port; K is each coroutine's stack size
//   (default 64 KiB; pages are only resident once touched).
// Prints "listening on PORT" once ready; exits 0 on SIGTERM or SIGINT.
// Binds 127.0.0.1 only: the benchmark runs over loopback.
#include "cli.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/context/fixedsize_stack.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

struct Options {
    unsigned short port = 0;
    std::size_t stack_bytes = 64 * 1024;
};

Options parse_options(int argc, char** argv)
{
    namespace po = braid_cli::po;
    Options opt;
    std::size_t stack_kib = opt.stack_bytes / 1024;
    po::options_description opts("options");
    opts.add_options()
        ("port", po::value(&opt.port)->default_value(opt.port), "0: any free port")
        ("stack-kib", po::value(&stack_kib)->default_value(stack_kib), "stack per connection (>= 16)");
    const char* usage = "[--port P] [--stack-kib K]";
    braid_cli::parse(argc, argv, usage, opts);
    if (stack_kib < 16)
        braid_cli::fail(argv[0], usage, "--stack-kib must be at least 16");
    opt.stack_bytes = stack_kib * 1024;
    return opt;
}

// Echoes until the peer closes or errors. Errors end just this connection,
// so they are taken as error codes rather than exceptions.
void echo_session(tcp::socket sock, asio::yield_context yield)
{
    boost::system::error_code ec;
    sock.set_option(tcp::no_delay(true), ec); // ping-pong: see epoll_echo.c
    // On the coroutine's own stack, as a per-connection buffer naturally is;
    // 4 KiB covers the benchmark's largest default message in one read.
    std::array<char, 4096> data;
    for (;;) {
        std::size_t n = sock.async_read_some(asio::buffer(data), yield[ec]);
        if (ec)
            return;
        asio::async_write(sock, asio::buffer(data.data(), n), yield[ec]);
        if (ec)
            return;
    }
}

void accept_loop(tcp::acceptor& acceptor, std::size_t stack_bytes, asio::yield_context yield)
{
    auto& ctx = static_cast<asio::io_context&>(acceptor.get_executor().context());
    asio::steady_timer backoff(ctx);
    for (;;) {
        boost::system::error_code ec;
        tcp::socket sock = acceptor.async_accept(yield[ec]);
        if (ec == asio::error::operation_aborted)
            return; // acceptor closed on shutdown
        if (ec) {
            // e.g. EMFILE: report, and back off rather than spin on it.
            std::cerr << "accept: " << ec.message() << '\n';
            backoff.expires_after(std::chrono::milliseconds(10));
            backoff.async_wait(yield[ec]);
            continue;
        }
        asio::spawn(
            ctx, std::allocator_arg, boost::context::fixedsize_stack(stack_bytes),
            [s = std::move(sock)](asio::yield_context y) mutable { echo_session(std::move(s), y); },
            asio::detached);
    }
}

} // namespace

int main(int argc, char** argv)
{
    Options opt = parse_options(argc, argv);
    asio::io_context ctx(1); // concurrency hint 1: a single thread, no locking

    tcp::acceptor acceptor(ctx);
    tcp::endpoint endpoint(asio::ip::address_v4::loopback(), opt.port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);

    asio::signal_set signals(ctx, SIGINT, SIGTERM);
    // Stopping the context abandons the sessions; process exit reclaims them.
    signals.async_wait([&](const boost::system::error_code&, int) { ctx.stop(); });

    asio::spawn(
        ctx, std::allocator_arg, boost::context::fixedsize_stack(opt.stack_bytes),
        [&](asio::yield_context yield) { accept_loop(acceptor, opt.stack_bytes, yield); },
        asio::detached);

    std::printf("listening on %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    ctx.run();
    return 0;
}
