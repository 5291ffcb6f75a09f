// echo_loadgen: the load generator for braid's echo benchmark.
//
// Single-threaded and epoll-driven, so that one pinned CPU drives every
// connection and the server's CPU is the only one under test. Each of C
// connections plays ping-pong: send an S-byte message, read exactly S bytes
// back, verify every byte, repeat. Message content is a pseudo-random function
// of (connection, sequence number), so a server that mixes up connections or
// replays stale data is caught.
//
// Streaming (--pipeline N, N > 1): each connection keeps up to N messages in
// flight instead of one. Whenever the window has room it writes the next
// messages in one write(2), and it reads the echo stream as it comes, verifying
// it byte by byte against the messages sent, in order. The server always finds
// data waiting, so it never idles between messages (the fairness benchmark
// needs a saturated server). Latency is from a message's write to the end of
// its echo. --pipeline 1 (the default) is the ping-pong above, by its own code.
//
// Timeline: connect (in batches) -> warm-up W s -> measured window D s.
// stdout gets {"phase":"measure"} when the window opens, {"phase":"end"} when
// it closes (connections still open, no new messages sent), then one result
// line. A driver can sample the server's CPU time and RSS at those two lines.
// Exits 1 on any mismatch or connection error (the result line then carries
// "errors" and "error"), 2 on bad usage.
//
// Usage: echo_loadgen --port P [--host 127.0.0.1] [--connections C] [--size S]
//                     [--duration D] [--warmup W] [--batch B] [--connect-timeout T]
//                     [--pipeline N]
#include "cli.hpp"

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

struct Options {
    std::string host = "127.0.0.1";
    int port = -1;
    int connections = 1;
    std::size_t size = 64;
    double duration = 10.0;
    double warmup = 2.0;
    int batch = 100;             // connections opened at a time
    double connect_timeout = 30.0;
    int pipeline = 1;            // messages in flight per connection
};

Options parse_options(int argc, char** argv)
{
    const char* usage = "--port P [--host H] [--connections C] [--size S] [--duration D]\n"
                        "          [--warmup W] [--batch B] [--connect-timeout T] [--pipeline N]";
    Options o;
    namespace po = braid_cli::po;
    po::options_description opts("options");
    opts.add_options()
        ("port", po::value(&o.port)->required(), "server port on --host (1-65535)")
        ("host", po::value(&o.host)->default_value(o.host), "numeric IPv4 address")
        ("connections", po::value(&o.connections)->default_value(o.connections), "connections (>= 1)")
        ("size", po::value(&o.size)->default_value(o.size), "message bytes (>= 1)")
        ("duration", po::value(&o.duration)->default_value(o.duration), "measured seconds (> 0)")
        ("warmup", po::value(&o.warmup)->default_value(o.warmup), "seconds before measuring (>= 0)")
        ("batch", po::value(&o.batch)->default_value(o.batch), "connections opened at a time (>= 1)")
        ("connect-timeout", po::value(&o.connect_timeout)->default_value(o.connect_timeout),
         "seconds to open every connection (> 0)")
        ("pipeline", po::value(&o.pipeline)->default_value(o.pipeline),
         "messages in flight per connection (1-4096)");
    braid_cli::parse(argc, argv, usage, opts);
    if (o.port <= 0 || o.port > 65535 || o.connections < 1 || o.size < 1 || o.duration <= 0 ||
        o.warmup < 0 || o.batch < 1 || o.connect_timeout <= 0 || o.pipeline < 1 || o.pipeline > 4096)
        braid_cli::fail(argv[0], usage, "a value is out of range (see --help)");
    return o;
}

std::uint64_t now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

std::uint64_t seconds_to_ns(double s) { return std::uint64_t(s * 1e9); }

double cpu_seconds()
{
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    auto sec = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
    return sec(ru.ru_utime) + sec(ru.ru_stime);
}

std::uint64_t mix(std::uint64_t x) // splitmix64
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

// Message bodies are slices of one random pool, at an offset hashed from
// (connection, sequence number), with that pair stamped over the first bytes:
// every message differs from its predecessor and from other connections'
// messages, yet making one costs a memcpy rather than generating S random
// bytes, which at 4 KiB would be a tenth of the load generator's time.
class MessagePool {
public:
    explicit MessagePool(std::size_t msg_size) : bytes_(kSpan + msg_size)
    {
        std::uint64_t state = 0x62726169640a; // fixed seed: runs are reproducible
        for (std::size_t i = 0; i < bytes_.size(); i += 8) {
            state = mix(state);
            std::memcpy(&bytes_[i], &state, std::min<std::size_t>(8, bytes_.size() - i));
        }
    }

    void fill(std::vector<unsigned char>& msg, std::uint32_t conn_id, std::uint64_t seq) const
    {
        std::uint64_t stamp = (std::uint64_t(conn_id) << 40) ^ seq;
        std::size_t offset = mix(stamp) % kSpan;
        std::memcpy(msg.data(), &bytes_[offset], msg.size());
        std::memcpy(msg.data(), &stamp, std::min(sizeof stamp, msg.size()));
    }

private:
    static constexpr std::size_t kSpan = 64 * 1024; // distinct starting offsets
    std::vector<unsigned char> bytes_;
};

// A streaming connection's state. Messages are sent in sequence order; the echo
// of message `echo_seq` is being verified, `received` bytes of it so far.
struct Stream {
    std::uint64_t next_seq = 0;           // next message to queue for sending
    std::uint64_t echo_seq = 0;           // oldest message not fully echoed
    std::size_t received = 0;             // bytes of it verified
    std::vector<unsigned char> out;       // queued messages, written from out_off on
    std::size_t out_off = 0;
    std::vector<unsigned char> expect;    // message echo_seq, as sent
    std::vector<std::uint64_t> queued_ns; // per message, by seq % pipeline
};

struct Conn {
    int fd = -1;
    std::uint32_t id = 0;
    bool connected = false;
    bool echoed_once = false;       // proves the server accepted it
    std::uint64_t seq = 0;          // current message number
    std::size_t sent = 0;           // bytes of the current message written
    std::size_t received = 0;       // bytes of its echo read and verified
    std::uint64_t started_ns = 0;   // when the current message was first written
    std::vector<unsigned char> msg; // the current message = the expected echo
};

enum class Phase { Setup, Warmup, Measure, Done };

class LoadGen {
public:
    explicit LoadGen(const Options& o)
        : opt_(o), conns_(std::size_t(o.connections)), scratch_(o.size), pool_(o.size) {}

    int run();

private:
    void fail(const char* what, const Conn* c, int err = 0);
    void open_next_batch();
    void open_conn(Conn& c);
    // Instantiated once per mode, so ping-pong runs the same code as before streaming existed.
    template <bool Streaming>
    void on_event(Conn& c, std::uint32_t events);
    void on_connected(Conn& c);
    void start_message(Conn& c);
    void send_some(Conn& c);
    void write_from(Conn& c, const unsigned char* data, std::size_t size, std::size_t& done);
    void receive_some(Conn& c);
    void complete_round_trip(Conn& c);
    void note_echoed(Conn& c);
    void stream_send(Conn& c);
    void stream_receive(Conn& c);
    void stream_verify(Conn& c, const unsigned char* data, std::size_t n);
    void advance_phase(std::uint64_t now);
    int timeout_ms(std::uint64_t now) const;
    void print_result(std::uint64_t window_ns);

    Options opt_;
    std::vector<Conn> conns_;
    std::vector<Stream> streams_;        // --pipeline > 1: one per connection, by id
    std::vector<unsigned char> scratch_; // receive buffer, shared: one thread
    MessagePool pool_;
    sockaddr_in addr_{};
    int epfd_ = -1;

    Phase phase_ = Phase::Setup;
    std::uint64_t deadline_ns_ = 0;  // end of the current phase
    std::uint64_t window_start_ns_ = 0;
    std::uint64_t window_end_ns_ = 0;
    double window_cpu_start_ = 0;
    double window_cpu_s_ = 0;
    std::size_t next_to_open_ = 0;
    std::size_t batch_unproven_ = 0; // batch members yet to complete one echo

    std::uint64_t messages_ = 0;     // in the measured window
    std::uint64_t total_verified_ = 0;
    std::vector<std::uint32_t> latencies_ns_;
    std::string error_;
};

// The first error ends the run: a benchmark over a faulty server means nothing.
void LoadGen::fail(const char* what, const Conn* c, int err)
{
    if (!error_.empty())
        return;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s%s%s (connection %u, message %" PRIu64 ")", what, err ? ": " : "",
                  err ? std::strerror(err) : "", c ? c->id : 0u, c ? c->seq : 0);
    error_ = buf;
    phase_ = Phase::Done;
}

void LoadGen::open_conn(Conn& c)
{
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0)
        return fail("socket", &c, errno);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Registered once, edge-triggered: EPOLLOUT reports both connect completion
    // and room after a short write, so the mask never needs changing.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = &c;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) < 0)
        return fail("epoll_ctl", &c, errno);
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) < 0 && errno != EINPROGRESS)
        return fail("connect", &c, errno);
}

// Opening the next batch only once every connection of the previous one has
// been echoed keeps at most `batch` handshakes in the server's accept queue,
// so a slow acceptor never sees its backlog overrun (and SYNs retried after 1 s).
void LoadGen::open_next_batch()
{
    std::size_t end = std::min(conns_.size(), next_to_open_ + std::size_t(opt_.batch));
    batch_unproven_ = end - next_to_open_;
    for (; next_to_open_ < end && phase_ != Phase::Done; ++next_to_open_)
        open_conn(conns_[next_to_open_]);
}

void LoadGen::on_connected(Conn& c)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err)
        return fail("connect", &c, err);
    c.connected = true;
    if (!streams_.empty())
        return stream_send(c);
    start_message(c);
}

void LoadGen::start_message(Conn& c)
{
    pool_.fill(c.msg, c.id, c.seq);
    c.sent = 0;
    c.received = 0;
    c.started_ns = now_ns();
    send_some(c);
}

void LoadGen::send_some(Conn& c) { write_from(c, c.msg.data(), c.msg.size(), c.sent); }

// Writes data[done, size) until all is written or the socket is full.
void LoadGen::write_from(Conn& c, const unsigned char* data, std::size_t size, std::size_t& done)
{
    while (done < size) {
        ssize_t n = write(c.fd, data + done, size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                fail("write", &c, errno);
            return; // EAGAIN: EPOLLOUT resumes us
        }
        done += std::size_t(n);
    }
}

// Reads no more than the echo still owed, so a complete echo costs no extra
// read ending in EAGAIN: nothing else can arrive before the next message is
// sent, and edge-triggered epoll reports every new arrival anyway.
void LoadGen::receive_some(Conn& c)
{
    while (c.received < c.msg.size()) {
        ssize_t n = read(c.fd, scratch_.data(), c.msg.size() - c.received);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                fail("read", &c, errno);
            return;
        }
        if (n == 0)
            return fail("server closed the connection", &c);
        if (std::size_t(n) > c.sent - c.received)
            return fail("echo ahead of what was sent", &c);
        if (std::memcmp(scratch_.data(), c.msg.data() + c.received, std::size_t(n)) != 0)
            return fail("echoed bytes differ from the message sent", &c);
        c.received += std::size_t(n);
    }
    complete_round_trip(c);
}

void LoadGen::complete_round_trip(Conn& c)
{
    std::uint64_t now = now_ns();
    total_verified_ += c.msg.size();
    if (phase_ == Phase::Measure) {
        ++messages_;
        latencies_ns_.push_back(std::uint32_t(std::min<std::uint64_t>(now - c.started_ns, UINT32_MAX)));
    }
    note_echoed(c);
    if (phase_ == Phase::Done)
        return;
    ++c.seq;
    start_message(c);
}

void LoadGen::note_echoed(Conn& c)
{
    if (!c.echoed_once) {
        c.echoed_once = true;
        if (--batch_unproven_ == 0 && next_to_open_ < conns_.size())
            open_next_batch();
    }
}

// Queues as many messages as the window has room for, then writes what is
// queued. New messages are queued only once the previous batch is fully
// written, so `out` never holds more than a window.
void LoadGen::stream_send(Conn& c)
{
    Stream& s = streams_[c.id];
    const auto window = std::uint64_t(opt_.pipeline);
    if (s.out_off == s.out.size() && phase_ != Phase::Done) {
        s.out.clear();
        s.out_off = 0;
        std::uint64_t now = now_ns();
        for (; s.next_seq - s.echo_seq < window; ++s.next_seq) {
            pool_.fill(c.msg, c.id, s.next_seq);
            s.out.insert(s.out.end(), c.msg.begin(), c.msg.end());
            s.queued_ns[s.next_seq % window] = now;
        }
    }
    std::size_t before = s.out_off;
    write_from(c, s.out.data(), s.out.size(), s.out_off);
    c.sent += s.out_off - before;
}

// Reads no more than was sent and not yet echoed, so no read ends in EAGAIN
// once everything owed has arrived (as in ping-pong mode); then refills the window.
void LoadGen::stream_receive(Conn& c)
{
    Stream& s = streams_[c.id];
    while (c.received < c.sent && phase_ != Phase::Done) {
        std::size_t owed = c.sent - c.received;
        ssize_t n = read(c.fd, scratch_.data(), std::min(owed, scratch_.size()));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                fail("read", &c, errno);
            break;
        }
        if (n == 0)
            return fail("server closed the connection", &c);
        stream_verify(c, scratch_.data(), std::size_t(n));
    }
    if (phase_ != Phase::Done && s.next_seq - s.echo_seq < std::uint64_t(opt_.pipeline))
        stream_send(c);
}

// Checks n echoed bytes against the messages sent, completing messages in order.
void LoadGen::stream_verify(Conn& c, const unsigned char* data, std::size_t n)
{
    Stream& s = streams_[c.id];
    const std::size_t size = c.msg.size();
    c.received += n;
    while (n > 0 && phase_ != Phase::Done) {
        if (s.received == 0)
            pool_.fill(s.expect, c.id, s.echo_seq);
        std::size_t take = std::min(n, size - s.received);
        if (std::memcmp(data, s.expect.data() + s.received, take) != 0)
            return fail("echoed bytes differ from the message sent", &c);
        data += take;
        n -= take;
        s.received += take;
        if (s.received < size)
            break;
        std::uint64_t now = now_ns();
        total_verified_ += size;
        if (phase_ == Phase::Measure) {
            ++messages_;
            std::uint64_t queued = s.queued_ns[s.echo_seq % std::uint64_t(opt_.pipeline)];
            latencies_ns_.push_back(std::uint32_t(std::min<std::uint64_t>(now - queued, UINT32_MAX)));
        }
        ++s.echo_seq;
        s.received = 0;
        note_echoed(c);
    }
}

template <bool Streaming>
void LoadGen::on_event(Conn& c, std::uint32_t events)
{
    if (!c.connected) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            on_connected(c);
        return;
    }
    if (events & EPOLLERR) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        return fail("socket error", &c, err);
    }
    if constexpr (Streaming) {
        if (events & EPOLLOUT)
            stream_send(c);
        if (phase_ != Phase::Done && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
            stream_receive(c);
        return;
    }
    if (events & EPOLLOUT)
        send_some(c);
    // EPOLLHUP/EPOLLRDHUP surface as read() == 0 once the data before them is verified.
    if (phase_ != Phase::Done && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
        receive_some(c);
}

void LoadGen::advance_phase(std::uint64_t now)
{
    switch (phase_) {
    case Phase::Setup:
        if (next_to_open_ == conns_.size() && batch_unproven_ == 0) {
            phase_ = Phase::Warmup;
            deadline_ns_ = now + seconds_to_ns(opt_.warmup);
        } else if (now >= deadline_ns_) {
            fail("timed out opening connections (server not accepting?)", nullptr);
        }
        break;
    case Phase::Warmup:
        if (now >= deadline_ns_) {
            phase_ = Phase::Measure;
            window_start_ns_ = now;
            window_cpu_start_ = cpu_seconds();
            deadline_ns_ = now + seconds_to_ns(opt_.duration);
            std::printf("{\"phase\":\"measure\"}\n");
            std::fflush(stdout);
        }
        break;
    case Phase::Measure:
        if (now >= deadline_ns_) {
            phase_ = Phase::Done;
            window_end_ns_ = now;
            window_cpu_s_ = cpu_seconds() - window_cpu_start_;
            std::printf("{\"phase\":\"end\"}\n");
            std::fflush(stdout);
        }
        break;
    case Phase::Done:
        break;
    }
}

int LoadGen::timeout_ms(std::uint64_t now) const
{
    if (now >= deadline_ns_)
        return 0;
    return int((deadline_ns_ - now + 999999) / 1000000);
}

double percentile_us(std::vector<std::uint32_t>& v, double p)
{
    if (v.empty())
        return 0;
    auto k = std::size_t(p * double(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
    return v[k] / 1000.0;
}

void LoadGen::print_result(std::uint64_t window_ns)
{
    double secs = window_ns / 1e9;
    double p50 = percentile_us(latencies_ns_, 0.50);
    double p99 = percentile_us(latencies_ns_, 0.99);
    boost::json::object result{{"connections", opt_.connections},
                               {"size", opt_.size},
                               {"pipeline", opt_.pipeline},
                               {"duration", secs},
                               {"messages", messages_},
                               {"msgs_per_s", secs > 0 ? messages_ / secs : 0.0},
                               {"p50_us", p50},
                               {"p99_us", p99},
                               {"errors", error_.empty() ? 0 : 1},
                               {"verified_bytes", messages_ * opt_.size},
                               {"total_verified_bytes", total_verified_},
                               {"client_cpu_s", window_cpu_s_}};
    if (!error_.empty())
        result["error"] = error_;
    std::printf("%s\n", boost::json::serialize(result).c_str());
    std::fflush(stdout);
}

int LoadGen::run()
{
    if (inet_pton(AF_INET, opt_.host.c_str(), &addr_.sin_addr) != 1) {
        std::fprintf(stderr, "--host must be a numeric IPv4 address\n");
        return 2;
    }
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(std::uint16_t(opt_.port));
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
        std::perror("epoll_create1");
        return 1;
    }
    for (std::size_t i = 0; i < conns_.size(); ++i) {
        conns_[i].id = std::uint32_t(i);
        conns_[i].msg.resize(opt_.size);
    }
    if (opt_.pipeline > 1) {
        // The echoes of a whole window may arrive together: read them in one go.
        std::size_t window_bytes = std::min<std::size_t>(opt_.size * std::size_t(opt_.pipeline), 1 << 20);
        scratch_.resize(std::max(scratch_.size(), window_bytes));
        streams_.resize(conns_.size());
        for (std::size_t i = 0; i < conns_.size(); ++i) {
            streams_[i].expect.resize(opt_.size);
            streams_[i].queued_ns.resize(std::size_t(opt_.pipeline));
            streams_[i].out.reserve(window_bytes);
        }
    }
    latencies_ns_.reserve(1 << 20);
    deadline_ns_ = now_ns() + seconds_to_ns(opt_.connect_timeout);
    open_next_batch();

    std::vector<epoll_event> events(1024);
    while (phase_ != Phase::Done) {
        int n = epoll_wait(epfd_, events.data(), int(events.size()), timeout_ms(now_ns()));
        if (n < 0 && errno != EINTR) {
            fail("epoll_wait", nullptr, errno);
            break;
        }
        for (int i = 0; i < n && phase_ != Phase::Done; ++i) {
            Conn& c = *static_cast<Conn*>(events[std::size_t(i)].data.ptr);
            if (streams_.empty())
                on_event<false>(c, events[std::size_t(i)].events);
            else
                on_event<true>(c, events[std::size_t(i)].events);
        }
        advance_phase(now_ns());
    }
    if (!error_.empty())
        std::fprintf(stderr, "echo_loadgen: %s\n", error_.c_str());
    // A run that failed before the window closed reports an empty window.
    print_result(window_end_ns_ > window_start_ns_ ? window_end_ns_ - window_start_ns_ : 0);
    return error_.empty() ? 0 : 1;
}

// Each connection is a file descriptor; 1000 of them exceed the usual soft limit.
void raise_fd_limit(int connections)
{
    rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rlim_t(connections) + 16) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

} // namespace

int main(int argc, char** argv)
{
    Options opt = parse_options(argc, argv);
    raise_fd_limit(opt.connections);
    return LoadGen(opt).run();
}
