// run(), check_output(), CompletedProcess and the error types' messages, which follow
// Python's word for word so that ported programs print the same thing.
#include <braid/process/subprocess.hpp>

#include "subprocess_impl.hpp"

#include <fmt/format.h>

#include <string.h>

#include <chrono>
#include <stdexcept>

namespace braid::subprocess {
namespace detail {
namespace {

// Python's repr() of a str: single quotes unless the text has ' and no ", escapes for
// backslash, the quote and control characters; other bytes as they are (UTF-8 text).
std::string py_repr(const std::string& s) {
  const char quote =
      s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += quote;
  return out;
}

}  // namespace

std::string command_repr(const std::vector<std::string>& cmd, bool string_form) {
  if (string_form && cmd.size() == 1) return cmd[0];  // Python's %s of a str
  std::string out = "[";
  for (std::size_t i = 0; i < cmd.size(); ++i) {
    if (i > 0) out += ", ";
    out += py_repr(cmd[i]);
  }
  return out + "]";
}

std::string seconds_text(Duration d) {
  return fmt::format("{}", std::chrono::duration<double>(d).count());
}

CalledProcessError called_process_error(int returncode, const std::vector<std::string>& cmd,
                                        bool string_form, std::string output, std::string errors) {
  const std::string what = command_repr(cmd, string_form);
  std::string message;
  if (returncode < 0) {
    const char* abbrev = ::sigabbrev_np(-returncode);
    message =
        abbrev != nullptr
            ? fmt::format("Command '{}' died with <Signals.SIG{}: {}>.", what, abbrev, -returncode)
            : fmt::format("Command '{}' died with unknown signal {}.", what, -returncode);
  } else {
    message = fmt::format("Command '{}' returned non-zero exit status {}.", what, returncode);
  }
  CalledProcessError e(message);
  e.returncode = returncode;
  e.output = std::move(output);
  e.errors = std::move(errors);
  e.cmd = cmd;
  return e;
}

}  // namespace detail

TimeoutExpired::TimeoutExpired(std::vector<std::string> c, Duration t, std::string o, std::string e)
    : TimeoutError(fmt::format("Command '{}' timed out after {} seconds",
                               detail::command_repr(c, false), detail::seconds_text(t))),
      cmd(std::move(c)),
      timeout(t),
      output(std::move(o)),
      errors(std::move(e)) {}

CalledProcessError::CalledProcessError(int rc, std::vector<std::string> c, std::string o,
                                       std::string e)
    : CalledProcessError(detail::called_process_error(rc, c, false, std::move(o), std::move(e))) {}

void CompletedProcess::check_returncode() const {
  if (returncode != 0) throw CalledProcessError(returncode, args, out, err);
}

namespace {

// Python's run(): Popen, communicate (killing the child on any failure), check.
CompletedProcess run_command(std::vector<std::string> args, bool string_form, RunOptions o) {
  if (o.capture_output) {
    if (o.out != INHERIT || o.err != INHERIT) {
      throw std::invalid_argument("run: out and err may not be used with capture_output");
    }
    o.out = o.err = PIPE;
  }
  if (o.input) {
    if (o.in != INHERIT) throw std::invalid_argument("run: in and input may not both be used");
    o.in = PIPE;
  }
  Popen p = string_form ? Popen(std::move(args[0]), o) : Popen(std::move(args), o);
  std::pair<std::string, std::string> io;
  try {
    io = p.communicate(std::move(o.input), o.timeout);
  } catch (const TimeoutExpired&) {
    // The exception already carries the output read so far; reap before raising it.
    // Only the child is waited for (as CPython does on POSIX), never the pipes: a
    // descendant holding them cannot delay us, and with start_new_session or
    // process_group the whole group is killed, so none survives either.
    p.kill_group();
    p.wait();
    throw;
  } catch (...) {
    // A kill (GreenletExit), an enclosing Timeout or an I/O error: the child must not
    // outlive the call. Its Popen reaps it in the background.
    p.kill_group();
    throw;
  }
  CompletedProcess cp{p.args(), *p.returncode(), std::move(io.first), std::move(io.second)};
  if (o.check && cp.returncode != 0) {
    throw detail::called_process_error(cp.returncode, cp.args, string_form, std::move(cp.out),
                                       std::move(cp.err));
  }
  return cp;
}

RunOptions for_check_output(RunOptions o) {
  if (o.out != INHERIT) throw std::invalid_argument("check_output: out is set by check_output");
  o.out = PIPE;
  o.check = true;
  return o;
}

}  // namespace

CompletedProcess run(std::vector<std::string> args, RunOptions o) {
  return run_command(std::move(args), false, std::move(o));
}

CompletedProcess run(std::initializer_list<std::string> args, RunOptions o) {
  return run_command(std::vector<std::string>(args), false, std::move(o));
}

CompletedProcess run(std::string command, RunOptions o) {
  return run_command({std::move(command)}, true, std::move(o));
}

std::string check_output(std::vector<std::string> args, RunOptions o) {
  return run_command(std::move(args), false, for_check_output(std::move(o))).out;
}

std::string check_output(std::initializer_list<std::string> args, RunOptions o) {
  return run_command(std::vector<std::string>(args), false, for_check_output(std::move(o))).out;
}

std::string check_output(std::string command, RunOptions o) {
  return run_command({std::move(command)}, true, for_check_output(std::move(o))).out;
}

std::pair<int, std::string> getstatusoutput(std::string command, std::optional<Duration> timeout) {
  RunOptions o;
  o.shell = true;
  o.out = PIPE;
  o.err = STDOUT;
  o.timeout = timeout;
  CompletedProcess cp = run_command({std::move(command)}, true, std::move(o));
  if (!cp.out.empty() && cp.out.back() == '\n') cp.out.pop_back();  // one, as Python strips
  return {cp.returncode, std::move(cp.out)};
}

std::string getoutput(std::string command, std::optional<Duration> timeout) {
  return getstatusoutput(std::move(command), timeout).second;
}

}  // namespace braid::subprocess
