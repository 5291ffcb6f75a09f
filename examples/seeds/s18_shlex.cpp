// S18 (seed 003, the subprocess section): splitting a command line with shlex, with and
// without comments and POSIX rules. The Python it ports:
//
//   >>> shlex.split('echo "Hello World"')
//   ['echo', 'Hello World']
//   >>> shlex.split('D:/test/1.py # test')                 # comments are off by default
//   ['D:/test/1.py', '#', 'test']
//   >>> shlex.split('D:/test/1.py # test', comments=True)
//   ['D:/test/1.py']
//   >>> shlex.split(r'D:\test\1.py')                      # POSIX: \ escapes, so it is lost
//   ['D:test1.py']
//   >>> shlex.split(r'D:\test\1.py', posix=False)         # Windows paths need posix=False
//   ['D:\\test\\1.py']
//   >>> shlex.split(r'D:\test\1.py', posix=os.name=='posix')
//
// The last line prints ['D:\\test\\1.py'] on Windows, where the seed was written, and
// ['D:test1.py'] on a POSIX system, which is what this program (like Python here) prints.
// Each result is printed the way Python prints a list of str.
#include <braid/process/shlex.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

// braid runs on POSIX systems only, so Python's `os.name == 'posix'` is always true.
constexpr bool kOsNameIsPosix = true;

// Python's repr() of a str: single quotes unless the text has a ' and no ", backslash
// escapes for \, the quote, \t, \n, \r and other control characters. Bytes from 0x80 up
// are passed through, as Python shows printable non-ASCII text from valid UTF-8.
std::string py_repr(std::string_view s) {
  const char q = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos)
                     ? '"'
                     : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\' || c == q) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + q;
}

// Python's print() of a list of str: ['a', 'b'].
void print_list(const std::vector<std::string>& words) {
  std::string line = "[";
  for (std::size_t i = 0; i < words.size(); ++i) line += (i ? ", " : "") + py_repr(words[i]);
  std::puts((line + "]").c_str());
}

}  // namespace

int main() {
  namespace shlex = braid::shlex;
  print_list(shlex::split(R"(echo "Hello World")"));
  print_list(shlex::split("D:/test/1.py # test"));
  print_list(shlex::split("D:/test/1.py # test", /*comments=*/true));
  print_list(shlex::split(R"(D:\test\1.py)"));
  print_list(shlex::split(R"(D:\test\1.py)", /*comments=*/false, /*posix=*/false));
  print_list(shlex::split(R"(D:\test\1.py)", /*comments=*/false, /*posix=*/kOsNameIsPosix));
  return 0;
}
