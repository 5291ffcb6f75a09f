#include <braid/process/shlex.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

namespace braid::shlex {
namespace {

// The lexer's states. They are the states of CPython 3.11's shlex.read_token() in the
// one configuration shlex.split() uses (whitespace_split=True, no punctuation_chars),
// so the two can be compared branch by branch. With whitespace_split every character
// that is not whitespace, a quote, `\` or a comment start is a word character, which
// is why Python's `wordchars` table has no counterpart here.
enum class State {
  kBetween,  // between words (Python's ' ')
  kWord,     // inside a word, outside quotes (Python's 'a')
  kQuoted,   // inside '...' or "..." (Python's state is the quote character)
  kEscaped,  // just after an escaping `\` (Python's state is the escape character)
};

// Python's shlex.whitespace. Vertical tab and form feed are deliberately not in it.
constexpr bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
constexpr bool is_quote(char c) { return c == '\'' || c == '"'; }

class Lexer {
 public:
  Lexer(std::string_view in, bool comments, bool posix)
      : in_(in), comments_(comments), posix_(posix) {}

  std::vector<std::string> run() {
    while (pos_ < in_.size()) step(in_[pos_++]);
    finish();
    return std::move(words_);
  }

 private:
  void step(char c) {
    switch (state_) {
      case State::kBetween:
        return between(c);
      case State::kWord:
        return word(c);
      case State::kQuoted:
        return quoted(c);
      case State::kEscaped:
        return escaped(c);
    }
  }

  void between(char c) {
    if (is_blank(c)) return;
    if (comments_ && c == '#') return skip_comment();
    if (posix_ && c == '\\') return start_escape(State::kWord);
    if (is_quote(c)) {
      if (!posix_) token_ += c;  // legacy mode keeps the quotes in the word
      return open_quote(c);
    }
    token_ += c;
    state_ = State::kWord;
  }

  void word(char c) {
    if (is_blank(c)) return end_word();
    if (comments_ && c == '#') {
      skip_comment();
      // Python ends the word only in POSIX mode; in legacy mode the word goes on with
      // whatever follows the comment's newline ("a#x\nb" is one word, "ab").
      if (posix_) end_word();
      return;
    }
    // Legacy mode treats quotes and `\` inside a word as ordinary characters.
    if (posix_ && is_quote(c)) return open_quote(c);
    if (posix_ && c == '\\') return start_escape(State::kWord);
    token_ += c;
  }

  void quoted(char c) {
    if (c == quote_) {
      if (posix_) {
        state_ = State::kWord;  // 'a'b is one word: the quotes only glue parts together
      } else {
        token_ += c;  // legacy mode: the closing quote ends the word ("a"b is 2 words)
        end_word();
      }
      return;
    }
    // Only double quotes honour `\`; inside single quotes it is literal.
    if (posix_ && c == '\\' && quote_ == '"') return start_escape(State::kQuoted);
    token_ += c;
  }

  void escaped(char c) {
    // Inside double quotes `\` escapes only `"` and `\` and otherwise stays in the word.
    // A POSIX shell would also let it escape `$`, a backquote and a newline; Python does
    // not, and neither do we.
    if (resume_ == State::kQuoted && c != '\\' && c != quote_) token_ += '\\';
    token_ += c;
    state_ = resume_;
  }

  // End of input: an open quote or a dangling `\` is an error, as in Python.
  void finish() {
    if (state_ == State::kQuoted) {
      throw ShlexError("shlex::split: no closing quotation (quote " + std::string(1, quote_) +
                       " opened at offset " + std::to_string(quote_at_) + ")");
    }
    if (state_ == State::kEscaped) {
      throw ShlexError("shlex::split: no escaped character (input ends after the \\ at offset " +
                       std::to_string(escape_at_) + ")");
    }
    if (state_ == State::kWord) end_word();
  }

  void open_quote(char q) {
    quote_ = q;
    quote_at_ = pos_ - 1;
    quoted_ = true;
    state_ = State::kQuoted;
  }

  void start_escape(State resume) {
    resume_ = resume;
    escape_at_ = pos_ - 1;
    state_ = State::kEscaped;
  }

  // Python's comment handling is readline(): it drops everything up to and including
  // the next '\n' (a lone '\r' does not end a comment).
  void skip_comment() {
    std::size_t nl = in_.find('\n', pos_);
    pos_ = nl == std::string_view::npos ? in_.size() : nl + 1;
  }

  void end_word() {
    // A word that had quotes is kept even when empty, so '' and "" yield "" (POSIX
    // only; in legacy mode the quotes themselves make the word non-empty).
    if (!token_.empty() || (posix_ && quoted_)) words_.push_back(std::move(token_));
    token_.clear();
    quoted_ = false;
    state_ = State::kBetween;
  }

  std::string_view in_;
  bool comments_;        // an unquoted '#' starts a comment
  bool posix_;           // POSIX rules rather than the legacy (non-POSIX) mode
  std::size_t pos_ = 0;  // next byte of in_ to read
  State state_ = State::kBetween;
  State resume_ = State::kWord;     // state to return to after an escaped character
  char quote_ = 0;                  // the open quote character while kQuoted
  std::size_t quote_at_ = 0;        // offset of that quote, for the error message
  std::size_t escape_at_ = 0;       // offset of the pending `\`, for the error message
  bool quoted_ = false;             // the current word contained quotes
  std::string token_;               // the word read so far
  std::vector<std::string> words_;  // the finished words
};

// Python's `[^\w@%+=:,./-]` with re.ASCII, inverted: the characters that need no quoting.
// Written out rather than std::isalnum(), which depends on the locale.
constexpr bool is_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("@%+=:,./_-").find(c) != std::string_view::npos;
}

}  // namespace

std::vector<std::string> split(std::string_view s, bool comments, bool posix) {
  return Lexer(s, comments, posix).run();
}

std::string quote(std::string_view s) {
  if (s.empty()) return "''";
  if (std::all_of(s.begin(), s.end(), is_safe)) return std::string(s);
  // Single quotes make every byte literal except `'` itself, which cannot appear inside
  // them at all: close the quote, add a double-quoted `'`, and reopen.
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  for (char c : s) {
    if (c == '\'') {
      out += "'\"'\"'";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += ' ';
    out += quote(w);
  }
  return out;
}

}  // namespace braid::shlex
