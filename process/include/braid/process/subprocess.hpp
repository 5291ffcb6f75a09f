// braid::subprocess: running child programs from coroutines (Python's subprocess module).
//
// What may switch: Popen's constructor (when other coroutines are alive the blocking
// spawn runs on braid's thread pool), communicate, wait, run, check_output, getoutput,
// getstatusoutput, ScopedPopen's close() and destructor, and the stream calls
// write/read/read_some/readline. Each parks only the calling coroutine; in main (outside
// any coroutine) each runs the hub until it can return. poll, returncode, send_signal,
// terminate, kill and kill_group never park.
//
// Every descriptor braid opens for a child is close-on-exec in the parent; the child
// gets exactly the stdio it was asked for, plus (with close_fds = false) whatever the
// parent left inheritable. A program that cannot be started throws std::system_error
// in the parent, naming the program (and the cwd when that is what failed).
#pragma once

#include <braid/coro.hpp>
#include <braid/runtime/detail/unique_fd.hpp>

#include <sys/stat.h>

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace braid::subprocess {

/// Where a child's standard stream goes.
enum class Stdio {
  inherit,  ///< the parent's own descriptor (Python: None)
  pipe,     ///< a pipe to the parent, read or written through communicate() or the streams
  devnull,  ///< /dev/null
  stdout_,  ///< only for `err`: wherever stdout goes (Python: STDOUT)
};
inline constexpr Stdio INHERIT = Stdio::inherit, PIPE = Stdio::pipe, DEVNULL = Stdio::devnull,
                       STDOUT = Stdio::stdout_;

/// An open descriptor of the parent as a child's stream (Python: `stdout=f.fileno()`, or
/// a file object). Borrowed: the child gets a copy, the parent's stays open (closing it
/// is the caller's business). A descriptor that is not open is std::system_error (EBADF)
/// at Popen.
struct Fd {
  int fd = -1;
};

/// A file braid opens for the child and closes in the parent once the child has it
/// (Python: `stdout=open(path, 'w')`). As `in` it is read; as `out` or `err` it is
/// created (0666 less the umask) and truncated, or appended to with `append`.
struct File {
  std::string path;
  bool append = false;
};

/// Where a child's stream goes: a Stdio, an Fd or a File. Converts implicitly from each,
/// so `o.out = PIPE`, `o.out = Fd{3}` and `o.out = File{"log.txt"}` all read naturally.
class Redirect {
 public:
  Redirect(Stdio s = INHERIT) noexcept : stdio_(s) {}  // NOLINT: implicit on purpose
  Redirect(Fd f) noexcept : stdio_(INHERIT), fd_(f.fd), kind_(Kind::fd) {}       // NOLINT
  Redirect(File f) : stdio_(INHERIT), file_(std::move(f)), kind_(Kind::file) {}  // NOLINT

  /// The Stdio, when it is one (nullopt for an Fd or a File).
  std::optional<Stdio> stdio() const noexcept {
    return kind_ == Kind::stdio ? std::optional<Stdio>(stdio_) : std::nullopt;
  }
  /// Whether it is an Fd, and its descriptor (-1 for anything else).
  bool is_fd() const noexcept { return kind_ == Kind::fd; }
  int fd() const noexcept { return fd_; }
  /// The File, or nullptr.
  const File* file() const noexcept { return kind_ == Kind::file ? &file_ : nullptr; }

  friend bool operator==(const Redirect& r, Stdio s) noexcept {
    return r.kind_ == Kind::stdio && r.stdio_ == s;
  }

 private:
  enum class Kind { stdio, fd, file };
  Stdio stdio_;
  int fd_ = -1;
  File file_;
  Kind kind_ = Kind::stdio;
};

/// How to start a child (Python's Popen keyword arguments).
struct Options {
  Redirect in = INHERIT, out = INHERIT, err = INHERIT;
  bool shell = false;                                          ///< run through /bin/sh -c
  std::optional<std::string> cwd = {};                         ///< working directory of the child
  std::optional<std::map<std::string, std::string>> env = {};  ///< replaces the environment
  bool close_fds = true;  ///< only 0, 1, 2 (and pass_fds) reach the child
  /// Descriptors the child keeps, at the same numbers, inheritable (Python: pass_fds).
  /// Each must be open (std::system_error EBADF otherwise).
  std::vector<int> pass_fds = {};
  /// The program to run instead of args[0], which becomes only the child's argv[0]
  /// (searched in PATH like args[0]; with `shell`, replaces /bin/sh).
  std::optional<std::string> executable = {};
  bool start_new_session = false;  ///< setsid() in the child: a new session and group
  /// setpgid(0, n) in the child: 0 = a new group led by the child, else join group n.
  std::optional<pid_t> process_group = {};
  std::optional<mode_t> umask = {};  ///< the child's umask (Python: umask=-1 is nullopt)
  /// Run as this user / group: a name, or a number ("65534") when no name matches.
  /// Needs the privilege to switch (root). `extra_groups` sets the supplementary groups;
  /// without it they are left as they are (Python does the same).
  std::optional<std::string> user = {}, group = {};
  std::optional<std::vector<std::string>> extra_groups = {};
};

/// A timeout given to wait(), communicate() or run() expired. Carries the output read so
/// far (communicate, run). what(): "Command '['sleep', '10']' timed out after 0.5 seconds".
struct TimeoutExpired : braid::TimeoutError {
  using braid::TimeoutError::TimeoutError;
  TimeoutExpired(std::vector<std::string> cmd, Duration timeout, std::string output = {},
                 std::string errors = {});
  std::vector<std::string> cmd;  ///< the command, as Popen::args()
  Duration timeout{};            ///< the timeout that expired
  std::string output, errors;    ///< stdout and stderr read before it expired
};

/// run(check = true), check_output() or check_returncode() saw a non-zero exit status.
/// what(): "Command '['false']' returned non-zero exit status 1." or
/// "Command '['sleep', '9']' died with <Signals.SIGKILL: 9>."
struct CalledProcessError : std::runtime_error {
  using std::runtime_error::runtime_error;
  CalledProcessError(int returncode, std::vector<std::string> cmd, std::string output = {},
                     std::string errors = {});
  int returncode = 0;            ///< the exit code, or -N for signal N
  std::string output, errors;    ///< captured stdout and stderr (empty unless PIPE)
  std::vector<std::string> cmd;  ///< the command, as Popen::args()
};

/// The parent's end of a child's stdin pipe (Popen::stdin_stream()). Move-only.
class PipeWriter {
 public:
  PipeWriter() = default;
  explicit PipeWriter(int fd) noexcept : fd_(fd) {}
  PipeWriter(PipeWriter&& other) noexcept;
  PipeWriter& operator=(PipeWriter&& other) noexcept;
  PipeWriter(const PipeWriter&) = delete;
  PipeWriter& operator=(const PipeWriter&) = delete;
  ~PipeWriter() { close(); }

  /// Writes all of `data`, parking while the pipe is full.
  /// @throws std::system_error  EPIPE when the child closed its stdin (SIGPIPE is ignored).
  /// @throws TimeoutError       `timeout` (for the whole write) or an enclosing Timeout.
  /// @throws std::logic_error   the stream is closed.
  /// @par Example
  /// @code
  ///   p.stdin_stream().write("line\n");
  ///   p.stdin_stream().close();   // the child sees EOF
  /// @endcode
  void write(std::string_view data, std::optional<Duration> timeout = {});
  /// Closes the pipe, so the child reads EOF. Idempotent, never throws.
  void close() noexcept;
  bool closed() const noexcept { return !fd_; }
  /// The descriptor (non-blocking, close-on-exec), -1 when closed.
  int fileno() const noexcept { return fd_.get(); }

 private:
  braid::detail::UniqueFd fd_;  // parent's write end, O_NONBLOCK
};

/// The parent's end of a child's stdout or stderr pipe. Move-only. Reads are buffered:
/// what readline() read past the newline is returned by the next call.
class PipeReader {
 public:
  PipeReader() = default;
  explicit PipeReader(int fd) noexcept : fd_(fd) {}
  PipeReader(PipeReader&& other) noexcept;
  PipeReader& operator=(PipeReader&& other) noexcept;
  PipeReader(const PipeReader&) = delete;
  PipeReader& operator=(const PipeReader&) = delete;
  ~PipeReader() { close(); }

  /// Reads until EOF (the child closed its end, usually by exiting); parks meanwhile.
  /// @throws TimeoutError      `timeout` or an enclosing Timeout (nothing read is lost:
  ///                           a later call returns it).
  /// @throws std::logic_error  the stream is closed.
  std::string read(std::optional<Duration> timeout = {});
  /// Reads exactly `n` bytes, fewer only at EOF.
  std::string read(std::size_t n, std::optional<Duration> timeout = {});
  /// Returns what is available, parking until at least one byte is (at most `max`);
  /// "" means EOF.
  std::string read_some(std::size_t max = 65536, std::optional<Duration> timeout = {});
  /// Reads through the next '\n' (included), or to EOF; "" means EOF.
  /// @par Example
  /// @code
  ///   while (auto line = p.stdout_stream().readline(); !line.empty()) handle(line);
  /// @endcode
  std::string readline(std::optional<Duration> timeout = {});
  /// True once EOF was seen and everything buffered was returned.
  bool at_eof() const noexcept { return eof_ && buffer_.empty(); }
  /// Closes the pipe (a child still writing gets EPIPE). Idempotent, never throws.
  void close() noexcept;
  /// True once close() was called (communicate() closes the streams when it returns).
  bool closed() const noexcept { return user_closed_; }
  /// The descriptor (non-blocking, close-on-exec), -1 when closed or at EOF.
  int fileno() const noexcept { return fd_.get(); }

  // ---- for braid's own communicate(): never parks ----
  /// Reads into the buffer until the pipe is empty (false) or at EOF (true: then closes
  /// the descriptor). At most `limit` bytes per call, so one busy pipe cannot starve others.
  /// A switch point all the same: growing a big buffer yields to the hub as it copies.
  bool fill_available(std::size_t limit);
  /// Everything buffered so far, without consuming it.
  const std::string& buffered() const noexcept { return buffer_; }
  /// Takes everything buffered.
  std::string take_buffered() noexcept { return std::exchange(buffer_, {}); }

 private:
  void require_open(const char* what) const;
  bool fill_once(std::optional<Duration> timeout, const char* what);  // false at EOF

  braid::detail::UniqueFd fd_;  // parent's read end, O_NONBLOCK; none once closed or at EOF
  bool eof_ = false;            // the child's end is closed and everything was read
  bool user_closed_ = false;    // close() was called
  std::string buffer_;          // read from the pipe, not yet returned
};

namespace detail {
struct PopenState;  // the child, its pipes and communicate()'s progress
}

/// A running child program (Python's subprocess.Popen). Move-only. Destroying it closes
/// its pipes and, if the child still runs, leaves it running but reaps it in the
/// background when it exits: no zombie is ever left behind.
class Popen {
 public:
  /// Starts `args[0]` (searched in PATH, that of `o.env` when given) with `args`.
  /// With `o.shell`, runs /bin/sh -c args[0] args[1]... instead.
  /// @throws std::system_error      the program or cwd is missing, not executable, ...:
  ///                                "spawn 'nosuch': No such file or directory"
  /// @throws std::invalid_argument  empty args, or STDOUT used for in/out.
  /// @par Example
  /// @code
  ///   braid::subprocess::Popen p({"sort"}, {.in = PIPE, .out = PIPE});
  ///   auto [out, err] = p.communicate("b\na\n");   // out == "a\nb\n"
  /// @endcode
  explicit Popen(std::vector<std::string> args, Options o = {});
  explicit Popen(std::initializer_list<std::string> args, Options o = {});
  /// With `o.shell`: /bin/sh -c command. Without: `command` names the program (no
  /// arguments), as in Python.
  explicit Popen(std::string command, Options o = {});
  Popen(Popen&& other) noexcept;
  Popen& operator=(Popen&& other) noexcept;
  Popen(const Popen&) = delete;
  Popen& operator=(const Popen&) = delete;
  ~Popen();

  pid_t pid() const;
  /// The command as given: the args vector, or {command} for the string form.
  const std::vector<std::string>& args() const;

  /// Writes `input` to stdin (then closes it) while reading stdout and stderr to EOF,
  /// all concurrently, then waits for the child; returns {stdout, stderr} ("" for a
  /// stream that is not PIPE). Parks only the caller.
  ///
  /// After TimeoutExpired (which carries what was read so far) the child still runs and
  /// no output is lost: call it again, without input, to go on (e.g. after kill()).
  /// @throws TimeoutExpired    `timeout` elapsed.
  /// @throws std::logic_error  called again after it returned (the output was consumed),
  ///                           input given after communication started, or input given
  ///                           while stdin is not PIPE.
  /// @par Example
  /// @code
  ///   try { out = p.communicate(data, 10s).first; }
  ///   catch (const TimeoutExpired&) { p.kill(); out = p.communicate().first; }
  /// @endcode
  std::pair<std::string, std::string> communicate(std::optional<std::string> input = {},
                                                  std::optional<Duration> timeout = {});
  /// Waits for the child to exit and returns its returncode (-N: killed by signal N).
  /// Does not read pipes: a child blocked writing a full pipe never exits (use
  /// communicate()). @throws TimeoutExpired when `timeout` elapsed.
  int wait(std::optional<Duration> timeout = {});
  /// The returncode if the child has exited (reaping it), else nullopt. Never parks.
  std::optional<int> poll();
  /// The returncode once wait() or poll() saw the exit, else nullopt.
  std::optional<int> returncode() const;
  /// Sends `sig`; a no-op once the child has been reaped (its pid may be reused).
  void send_signal(int sig);
  void terminate();  ///< SIGTERM
  void kill();       ///< SIGKILL
  /// SIGKILL to the child's whole process group when it was started with
  /// `start_new_session` or `process_group` (Python: os.killpg(os.getpgid(p.pid), SIGKILL)),
  /// else to the child alone, as kill(). Never signals the caller's own group; a no-op
  /// once the child was reaped. run()'s timeout uses it.
  void kill_group();

  /// The pipe streams, for incremental I/O. std::logic_error unless that stream is PIPE.
  PipeWriter& stdin_stream();
  PipeReader& stdout_stream();
  PipeReader& stderr_stream();

 private:
  friend class ScopedPopen;
  static std::unique_ptr<detail::PopenState> start(std::vector<std::string> args, bool string_form,
                                                   const Options& o);
  detail::PopenState& impl() const;
  std::unique_ptr<detail::PopenState> impl_;  // null once moved from
};

/// Python's `with Popen(...) as p:`, made explicit. At scope exit (or close()) it closes
/// the pipes (stdin first, so the child sees EOF), then waits for the child, at most
/// `exit_wait`: a child still running then is killed (kill_group()) and reaped. Python
/// waits without a bound; here that takes an explicit `std::nullopt`. Not movable: it
/// is the scope.
/// @par Example
/// @code
///   {
///     sp::ScopedPopen p(sp::Popen({"sort"}, {.in = sp::PIPE}));
///     p->stdin_stream().write("b\na\n");
///   }  // stdin closed, sort prints "a\nb\n" and exits, reaped
/// @endcode
class ScopedPopen {
 public:
  static constexpr Duration kDefaultExitWait = std::chrono::seconds(30);
  explicit ScopedPopen(Popen p, std::optional<Duration> exit_wait = kDefaultExitWait);
  ScopedPopen(const ScopedPopen&) = delete;
  ScopedPopen& operator=(const ScopedPopen&) = delete;
  /// close(), if not done yet. Never throws while an exception is already unwinding the
  /// scope (the child is then killed if the wait is interrupted); otherwise a kill or an
  /// enclosing Timeout that interrupts the wait propagates, after the child was killed.
  ~ScopedPopen() noexcept(false);

  Popen& operator*() noexcept { return p_; }
  Popen* operator->() noexcept { return &p_; }
  Popen& get() noexcept { return p_; }

  /// What the scope's end does: close the pipes, wait at most `exit_wait`, kill and reap
  /// if need be. Returns the returncode (-9 when it had to kill). Idempotent.
  int close();
  /// True when close() had to kill the child.
  bool killed() const noexcept { return killed_; }

 private:
  Popen p_;
  std::optional<Duration> exit_wait_;
  int unwinding_ = 0;  // std::uncaught_exceptions() at construction
  bool pipes_closed_ = false, done_ = false, killed_ = false;
  int returncode_ = 0;  // close()'s result, once done_
};

/// Runs `command` through the shell with stderr merged into stdout and returns
/// {returncode, output without one trailing newline} (Python's getstatusoutput; a
/// non-zero status is returned, not raised). @throws TimeoutExpired past `timeout`.
std::pair<int, std::string> getstatusoutput(std::string command,
                                            std::optional<Duration> timeout = {});
/// getstatusoutput(command).second (Python's getoutput).
std::string getoutput(std::string command, std::optional<Duration> timeout = {});

/// What run() returns.
struct CompletedProcess {
  std::vector<std::string> args;
  int returncode = 0;
  std::string out, err;  ///< captured output ("" unless PIPE / capture_output)
  /// @throws CalledProcessError when returncode != 0.
  void check_returncode() const;
};

/// run()'s options: Popen's, plus these.
struct RunOptions : Options {
  std::optional<std::string> input = {};  ///< written to stdin (which becomes PIPE)
  std::optional<Duration> timeout = {};   ///< kill the child and throw TimeoutExpired after it
  bool check = false;                     ///< throw CalledProcessError on a non-zero exit
  bool capture_output = false;            ///< out = err = PIPE
};

/// Runs a command to completion, parking only the caller (Python's subprocess.run).
/// @throws TimeoutExpired      past `o.timeout`: the child is killed and reaped first;
///                             the exception carries the output read until then.
/// @throws CalledProcessError  with `o.check` and a non-zero returncode.
/// @throws std::invalid_argument  capture_output with out/err set, or input with `in` set.
/// @par Example
/// @code
///   braid::subprocess::RunOptions o;
///   o.capture_output = true;
///   std::cout << braid::subprocess::run({"ls", "-l"}, o).out;
/// @endcode
CompletedProcess run(std::vector<std::string> args, RunOptions o = {});
CompletedProcess run(std::initializer_list<std::string> args, RunOptions o = {});
/// The string form: with `o.shell`, a shell command line; without, a program name.
CompletedProcess run(std::string command, RunOptions o = {});

/// Runs the command and returns its stdout; throws CalledProcessError on a non-zero exit
/// (Python's check_output).
std::string check_output(std::vector<std::string> args, RunOptions o = {});
std::string check_output(std::initializer_list<std::string> args, RunOptions o = {});
std::string check_output(std::string command, RunOptions o = {});

}  // namespace braid::subprocess
