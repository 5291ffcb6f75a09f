// braid::shlex: shell-like splitting and quoting with the semantics of Python 3.11's
// `shlex.split`, `shlex.quote` and `shlex.join`. Pure string functions: nothing here
// parks, switches coroutines or touches the hub, so they are safe to call anywhere.
//
// Strings are byte strings. Every character with a meaning (whitespace, quotes, `\`,
// `#`) is ASCII, so UTF-8 text splits exactly as Python splits the decoded text; other
// bytes, NUL included, are ordinary word characters.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace braid::shlex {

/// Thrown by split() for input a shell could not parse (Python raises ValueError).
///
/// The message names the failure and the byte offset it refers to, e.g.
/// `shlex::split: no closing quotation (quote ' opened at offset 4)`.
class ShlexError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Splits `s` into words the way a POSIX shell would, like Python's
/// `shlex.split(s, comments, posix)`.
///
/// Words are separated by runs of space, tab, CR and LF. In POSIX mode (the default)
/// quotes are removed: `'...'` keeps everything literally, `"..."` honours `\` only
/// before `"` or `\`, an unquoted `\` takes the next character literally, and `''`
/// yields an empty word. With `posix == false` quotes stay in the words, a quote opens
/// a quoted string only at the start of a word and its closing quote ends the word, and
/// `\` is an ordinary character. With `comments == true`, an unquoted `#` starts a
/// comment that runs to the end of the line and ends the word before it (in legacy
/// mode, as in Python, the word instead goes on after the comment's newline). There is
/// no variable expansion, globbing or operator handling: `$HOME`, `*` and `;` are
/// ordinary characters.
///
/// @param s         the command line; any bytes, NUL included.
/// @param comments  treat an unquoted `#` as the start of a comment.
/// @param posix     POSIX rules (quotes removed, `\` escapes) instead of the legacy mode.
/// @returns the words, in order; empty for an empty or all-blank string.
/// @throws ShlexError  a quote is never closed ("no closing quotation", with the offset
///                     of the opening quote), or the input ends right after an escaping
///                     `\` ("no escaped character", with the offset of the `\`).
/// @par Example
/// @code
///   braid::shlex::split(R"(echo "Hello World" # greet)", true);  // {"echo", "Hello World"}
///   braid::shlex::split(R"(D:\test\1.py)", false, false);        // {R"(D:\test\1.py)"}
/// @endcode
std::vector<std::string> split(std::string_view s, bool comments = false, bool posix = true);

/// Returns `s` quoted so that a POSIX shell reads it back as exactly one word, like
/// Python's `shlex.quote(s)`.
///
/// A non-empty string made only of `A-Za-z0-9@%+=:,./_-` is returned unchanged. The
/// empty string becomes `''`. Anything else is wrapped in single quotes, and each `'`
/// inside becomes `'"'"'` (close the quote, a double-quoted `'`, reopen). Never throws
/// except `std::bad_alloc`.
/// @par Example
/// @code
///   braid::shlex::quote("it's");   // 'it'"'"'s'
///   braid::shlex::quote("a.txt");  // a.txt
/// @endcode
std::string quote(std::string_view s);

/// Joins `words` into one command line, each word passed through quote() and separated
/// by one space, like Python's `shlex.join(words)`. `split(join(words)) == words` holds
/// for any words. Never throws except `std::bad_alloc`.
/// @par Example
/// @code
///   braid::shlex::join({"rm", "-f", "my file"});  // rm -f 'my file'
/// @endcode
std::string join(const std::vector<std::string>& words);

}  // namespace braid::shlex
