// S17 (seed 003, the subprocess section): running child programs with Popen — args as a
// list or a string, shell, cwd, env, PIPE/STDOUT/DEVNULL, communicate(input, timeout),
// TimeoutExpired then kill() + communicate(), wait(timeout), returncode, send_signal,
// kill. The Python it ports (run with `python3 -u`, so its prints and the children's
// output interleave as they happen):
//
//   p = subprocess.Popen('pwd', cwd='/'); p.wait()           # /   (the seed: no cwd)
//   p = subprocess.Popen(['echo', 'Hello']); p.wait()        # Hello
//   print(p.args); print(p.pid > 0)                          # ['echo', 'Hello']  True
//   print(p.communicate())                                   # (None, None)
//   print(p.wait(timeout=10)); print(p.returncode)           # 0  0
//   p.kill()                                                 # already reaped: nothing
//   p = subprocess.Popen(['sleep', '10'])
//   p.send_signal(sig=signal.SIGTERM); print(p.wait())       # -15
//   p = subprocess.Popen(['echo', 'Hello'], stdout=PIPE, stderr=STDOUT)
//   print(p.communicate())                                   # (b'Hello\n', None)
//   p.communicate()                                          # ValueError: read of closed file
//   with subprocess.Popen('cat', stdin=PIPE, stdout=PIPE, stderr=STDOUT) as p:
//       try: output = p.communicate(stdin, timeout=10)[0]
//       except subprocess.TimeoutExpired: p.kill(); output = p.communicate()[0]
//   ... the same pattern with a child that outlives its timeout, env_dict with test_id,
//   Popen('echo Hello') (no such program), shell=True, DEVNULL, wait(timeout), and
//   run(check=True).
//
// Each result is printed the way Python prints it (bytes as b'...', None for a stream
// that is not PIPE). Only the two exception lines differ: braid's errors are C++ types
// with their own messages.
#include <braid/process/subprocess.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

extern char** environ;

namespace sp = braid::subprocess;
using namespace std::chrono_literals;

namespace {

// Python's repr() of a str (quote = '\'') or of bytes (prefix "b").
std::string py_repr(const std::string& s, const char* prefix = "") {
  const bool dq = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char quote = dq ? '"' : '\'';
  std::string out = std::string(prefix) + quote;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return out + quote;
}

std::string py_list(const std::vector<std::string>& v, const char* prefix = "") {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + py_repr(v[i], prefix);
  return out + "]";
}

// communicate()'s result as Python prints it: bytes for a PIPE stream, else None.
std::string py_result(const std::pair<std::string, std::string>& r, bool out_pipe, bool err_pipe) {
  return "(" + (out_pipe ? py_repr(r.first, "b") : "None") + ", " +
         (err_pipe ? py_repr(r.second, "b") : "None") + ")";
}

// Prints a line at once, so it lands between the children's own output as in Python -u.
void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

sp::Options with(sp::Stdio in, sp::Stdio out, sp::Stdio err) {
  sp::Options o;
  o.in = in;
  o.out = out;
  o.err = err;
  return o;
}

}  // namespace

int main() {
  {  // p = subprocess.Popen('pwd'): a string names the program
    sp::Options o;
    o.cwd = "/";
    sp::Popen p(std::string("pwd"), o);
    p.wait();
  }
  sp::Popen p({"echo", "Hello"});  // a list: program and arguments
  p.wait();
  say(py_list(p.args()));
  say(p.pid() > 0 ? "True" : "False");
  say(py_result(p.communicate(), false, false));
  say(std::to_string(p.wait(10s)));
  say(std::to_string(*p.returncode()));
  p.kill();  // it has exited and been reaped: nothing is sent

  {  // p.send_signal(sig=signal.SIGTERM)
    sp::Popen s({"sleep", "10"});
    s.send_signal(SIGTERM);
    say(std::to_string(s.wait()));
  }

  {  // stdout=PIPE, stderr=STDOUT; a second communicate() is an error
    sp::Popen e({"echo", "Hello"}, with(sp::INHERIT, sp::PIPE, sp::STDOUT));
    say(py_result(e.communicate(), true, false));
    try {
      e.communicate();
    } catch (const std::logic_error& err) {
      say(std::string("std::logic_error: ") + err.what());
    }
  }

  {  // communicate(input, timeout), and the kill-then-communicate pattern
    const std::string stdin_data = "Hello World";
    sp::Popen c(std::string("cat"), with(sp::PIPE, sp::PIPE, sp::STDOUT));
    std::string output;
    try {
      output = c.communicate(stdin_data, 10s).first;
    } catch (const sp::TimeoutExpired&) {
      c.kill();
      output = c.communicate().first;
    }
    say(py_repr(output, "b"));
  }
  {  // ... and when the timeout does expire, nothing already read is lost
    sp::Popen c({"sh", "-c", "echo started; exec sleep 10"},
                with(sp::INHERIT, sp::PIPE, sp::INHERIT));
    std::string output;
    try {
      output = c.communicate(std::nullopt, 500ms).first;
    } catch (const sp::TimeoutExpired& e) {
      say(e.what());
      c.kill();
      output = c.communicate().first;
    }
    say(py_repr(output, "b") + " " + std::to_string(*c.returncode()));
  }

  {  // env_dict = os.environ.copy(); env_dict.update({'test_id': '1'})
    std::map<std::string, std::string> env_dict;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      const auto eq = kv.find('=');
      if (eq != std::string::npos) env_dict[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    env_dict["test_id"] = "1";
    sp::Options o;
    o.env = env_dict;
    o.out = sp::PIPE;
    sp::Popen v(std::string("env"), o);
    std::istringstream lines(v.communicate().first);
    std::vector<std::string> matches;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("test_id=", 0) == 0) matches.push_back(line);
    }
    say(py_list(matches, "b"));
  }

  try {  // without shell, 'echo Hello' is the name of a program that does not exist
    sp::Popen bad(std::string("echo Hello"));
  } catch (const std::system_error& e) {
    say(std::string("std::system_error: ") + e.what());
  }
  say(py_result(sp::Popen({"sh", "-c", "echo Hello"}).communicate(), false, false));
  {
    sp::Options o;
    o.shell = true;
    say(py_result(sp::Popen(std::string("echo Hello"), o).communicate(), false, false));
  }
  say(py_result(
      sp::Popen({"echo", "discarded"}, with(sp::INHERIT, sp::DEVNULL, sp::INHERIT)).communicate(),
      false, false));

  {  // wait(timeout), then kill()
    sp::Popen s({"sleep", "10"});
    try {
      s.wait(500ms);
    } catch (const sp::TimeoutExpired& e) {
      say(e.what());
    }
    s.kill();
    say(std::to_string(s.wait()));
  }

  try {  // run(check=True)
    sp::RunOptions o;
    o.check = true;
    sp::run({"sh", "-c", "exit 3"}, o);
  } catch (const sp::CalledProcessError& e) {
    say(e.what());
  }
  return 0;
}
