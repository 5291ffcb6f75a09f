// braid::shlex: shell-like splitting and quoting with the semantics of Python 3.11's
// `shlex.split`, `shlex.quote` and `shlex.join`, and its lexer class `shlex.shlex` (here
// `Shlex`). Pure string code: nothing here parks, switches coroutines or touches the
// hub, so it is safe to call anywhere.
//
// Strings are byte strings. Every character with a meaning (whitespace, quotes, `\`,
// `#`) is ASCII, so UTF-8 text splits exactly as Python splits the decoded text; other
// bytes, NUL included, are ordinary word characters.
#pragma once

#include <cstddef>
#include <deque>
#include <iterator>
#include <optional>
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

/// Python's `punctuation_chars=True`: the shell's operator characters.
inline constexpr std::string_view kShellPunctuation = "();<>|&";

/// A lexical analyser for shell-like syntaxes: Python's `shlex.shlex` class, token for
/// token. split() is `Shlex(s, posix)` with `whitespace_split = true` (and `commenters`
/// cleared unless `comments`); the class also does what split() cannot: splitting on
/// operators (`punctuation_chars`), words limited to `wordchars`, pushing tokens back.
///
/// Characters are UTF-8 code points (an invalid byte is a character of its own), so a
/// non-ASCII letter is one character, as in Python's str. The configuration members are
/// public, as Python's attributes are: set them before the first get_token().
///
/// Not ported: input streams and source inclusion (`instream`, `push_source`,
/// `pop_source`, `source`, `sourcehook`, `error_leader`): the input is one string.
/// @par Example
/// @code
///   braid::shlex::Shlex lex("a && b || c > out.txt", true, std::string(kShellPunctuation));
///   for (const std::string& tok : lex) ...;   // a, &&, b, ||, c, >, out.txt
/// @endcode
class Shlex {
 public:
  /// Lexes `input`. `posix`: POSIX rules (quotes removed, `\` escapes, Latin-1 letters
  /// in wordchars), else the legacy mode. `punctuation_chars`: characters that form
  /// tokens of their own (runs of them are one token); "" for none, kShellPunctuation for
  /// Python's True. Giving any adds `~-./*?=` to wordchars, minus the punctuation.
  explicit Shlex(std::string input, bool posix = false, std::string punctuation_chars = {});

  /// The next token: a pushed-back one first (last pushed, first returned), else one
  /// read from the input; nullopt at the end (Python's `eof`: None in POSIX mode, '' in
  /// legacy mode; nullopt in both here, so `while (auto t = lex.get_token())` works).
  /// In POSIX mode "" is a real token (from `''`).
  /// @throws ShlexError  "no closing quotation" or "no escaped character", with the line.
  std::optional<std::string> get_token();
  /// Pushes `token` back: the next get_token() returns it (Python's push_token).
  void push_token(std::string token);
  /// The tokens until the end, as `list(lex)` in Python.
  std::vector<std::string> tokens();

  /// The punctuation characters (read-only, as in Python).
  const std::string& punctuation_chars() const noexcept { return punctuation_; }
  bool posix() const noexcept { return posix_; }
  /// The current line: 1 plus the newlines read so far (a comment counts one).
  int lineno() const noexcept { return lineno_; }

  // ---- configuration: Python's attributes, with Python's defaults ----
  std::string commenters = "#";        ///< characters that start a comment to end of line
  std::string wordchars;               ///< characters that make up words (see the constructor)
  std::string whitespace = " \t\r\n";  ///< token separators
  /// Split only on whitespace (and punctuation_chars), not on every non-word character.
  bool whitespace_split = false;
  std::string quotes = "'\"";        ///< quote characters
  std::string escape = "\\";         ///< escape characters (POSIX mode only)
  std::string escapedquotes = "\"";  ///< quotes inside which `escape` works (POSIX only)

  /// Input iterator over the remaining tokens (Python's iteration protocol).
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string*;
    using reference = const std::string&;
    iterator() = default;
    explicit iterator(Shlex* lex) : lex_(lex) { ++*this; }
    reference operator*() const { return *tok_; }
    pointer operator->() const { return &*tok_; }
    iterator& operator++() {
      tok_ = lex_->get_token();
      if (!tok_) lex_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.lex_ == b.lex_;
    }

   private:
    Shlex* lex_ = nullptr;  // null at the end
    std::optional<std::string> tok_;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  enum class State { between, word, punct, quoted, escaped, done };
  std::optional<std::string> read_token();
  std::string next_char();  // "" at the end of the input
  void skip_comment();

  std::string input_;
  std::size_t pos_ = 0;
  bool posix_;
  std::string punctuation_;
  State state_ = State::between;
  std::string state_char_;  // the open quote (quoted) or the escape character (escaped)
  std::string token_;
  int lineno_ = 1;
  std::deque<std::string> pushback_;    // tokens, front first
  std::vector<std::string> char_back_;  // characters read ahead (punctuation), back first
};

}  // namespace braid::shlex
