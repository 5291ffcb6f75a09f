// braid::shlex::Shlex: Python's shlex.shlex lexer. The states and their order of tests
// are those of CPython 3.11's read_token(), so the two can be compared branch by branch
// (which test wins matters: a character in both `commenters` and `wordchars` starts a
// comment). Written for configurability rather than speed; split() has its own lexer.
#include <braid/process/shlex.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace braid::shlex {
namespace {

// Length of the UTF-8 sequence starting at s[i]; 1 for an invalid or truncated one, so
// every byte string is a sequence of "characters".
std::size_t char_length(std::string_view s, std::size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  const std::size_t n = lead < 0x80           ? 1
                        : (lead >> 5) == 0x6  ? 2
                        : (lead >> 4) == 0xe  ? 3
                        : (lead >> 3) == 0x1e ? 4
                                              : 1;
  if (i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 1;
  }
  return n;
}

// Python's `c in chars` for one character `c` (never empty here).
bool in(std::string_view c, std::string_view chars) {
  for (std::size_t i = 0; i < chars.size();) {
    const std::size_t n = char_length(chars, i);
    if (chars.substr(i, n) == c) return true;
    i += n;
  }
  return false;
}

// `chars` without any character of `remove`.
std::string without(std::string_view chars, std::string_view remove) {
  std::string out;
  for (std::size_t i = 0; i < chars.size();) {
    const std::size_t n = char_length(chars, i);
    if (!in(chars.substr(i, n), remove)) out += chars.substr(i, n);
    i += n;
  }
  return out;
}

}  // namespace

Shlex::Shlex(std::string input, bool posix, std::string punctuation_chars)
    : input_(std::move(input)), posix_(posix), punctuation_(std::move(punctuation_chars)) {
  wordchars = "abcdfeghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
  if (posix_) {
    // Python's Latin-1 letters, in UTF-8.
    wordchars +=
        "ßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ"
        "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ";
  }
  if (!punctuation_.empty()) {
    // Allowed in file names, options and globs, so they stay inside words.
    wordchars += "~-./*?=";
    wordchars = without(wordchars, punctuation_);
  }
}

void Shlex::push_token(std::string token) { pushback_.push_front(std::move(token)); }

std::optional<std::string> Shlex::get_token() {
  if (!pushback_.empty()) {
    std::string tok = std::move(pushback_.front());
    pushback_.pop_front();
    return tok;
  }
  return read_token();
}

std::vector<std::string> Shlex::tokens() {
  std::vector<std::string> out;
  while (auto tok = get_token()) out.push_back(std::move(*tok));
  return out;
}

std::string Shlex::next_char() {
  if (!punctuation_.empty() && !char_back_.empty()) {
    std::string c = std::move(char_back_.back());
    char_back_.pop_back();
    return c;
  }
  if (pos_ >= input_.size()) return {};
  const std::size_t n = char_length(input_, pos_);
  std::string c = input_.substr(pos_, n);
  pos_ += n;
  return c;
}

// Python's instream.readline(): through the next '\n' (included), or to the end.
void Shlex::skip_comment() {
  const std::size_t nl = input_.find('\n', pos_);
  pos_ = nl == std::string::npos ? input_.size() : nl + 1;
  ++lineno_;
}

std::optional<std::string> Shlex::read_token() {
  bool quoted = false;
  // Where an escape returns to: a word (Python's 'a') or the quote it was inside.
  State escaped_from = State::word;
  std::string escaped_quote;
  // Ends the token when it has something (or was quoted, in POSIX mode); else goes on.
  const auto have_token = [&] { return !token_.empty() || (posix_ && quoted); };
  for (;;) {
    const std::string c = next_char();
    if (c == "\n") ++lineno_;
    const bool end = c.empty();
    if (state_ == State::done) {
      token_.clear();
      break;
    }
    if (state_ == State::between) {
      if (end) {
        state_ = State::done;
        break;
      }
      if (in(c, whitespace)) {
        if (have_token()) break;
        continue;
      }
      if (in(c, commenters)) {
        skip_comment();
      } else if (posix_ && in(c, escape)) {
        escaped_from = State::word;
        state_ = State::escaped;
        state_char_ = c;
      } else if (in(c, wordchars)) {
        token_ = c;
        state_ = State::word;
      } else if (in(c, punctuation_)) {
        token_ = c;
        state_ = State::punct;
      } else if (in(c, quotes)) {
        if (!posix_) token_ = c;
        state_ = State::quoted;
        state_char_ = c;
      } else if (whitespace_split) {
        token_ = c;
        state_ = State::word;
      } else {
        token_ = c;  // a character of its own
        if (have_token()) break;
      }
    } else if (state_ == State::quoted) {
      quoted = true;
      if (end)
        throw ShlexError("shlex::Shlex: no closing quotation (line " + std::to_string(lineno_) +
                         ")");
      if (c == state_char_) {
        if (!posix_) {
          token_ += c;
          state_ = State::between;
          break;
        }
        state_ = State::word;
      } else if (posix_ && in(c, escape) && in(state_char_, escapedquotes)) {
        escaped_from = State::quoted;
        escaped_quote = state_char_;
        state_ = State::escaped;
        state_char_ = c;
      } else {
        token_ += c;
      }
    } else if (state_ == State::escaped) {
      if (end) {
        throw ShlexError("shlex::Shlex: no escaped character (line " + std::to_string(lineno_) +
                         ")");
      }
      // In POSIX shells only the quote itself or the escape character can be escaped
      // inside quotes; before anything else the escape character stays.
      if (escaped_from == State::quoted && c != state_char_ && c != escaped_quote) {
        token_ += state_char_;
      }
      token_ += c;
      state_ = escaped_from;
      if (escaped_from == State::quoted) state_char_ = escaped_quote;
    } else {  // word or punct
      if (end) {
        state_ = State::done;
        break;
      }
      if (in(c, whitespace)) {
        state_ = State::between;
        if (have_token()) break;
        continue;
      }
      if (in(c, commenters)) {
        skip_comment();
        if (posix_) {
          state_ = State::between;
          if (have_token()) break;
          continue;
        }
      } else if (state_ == State::punct) {
        if (in(c, punctuation_)) {
          token_ += c;
        } else {
          if (!in(c, whitespace)) char_back_.push_back(c);
          state_ = State::between;
          break;
        }
      } else if (posix_ && in(c, quotes)) {
        state_ = State::quoted;
        state_char_ = c;
      } else if (posix_ && in(c, escape)) {
        escaped_from = State::word;
        state_ = State::escaped;
        state_char_ = c;
      } else if (in(c, wordchars) || in(c, quotes) || (whitespace_split && !in(c, punctuation_))) {
        token_ += c;
      } else {
        // A character that cannot continue the word: it is read again next time (with
        // punctuation_chars, as a character; without, as a token of its own: Python).
        if (!punctuation_.empty()) {
          char_back_.push_back(c);
        } else {
          pushback_.push_front(c);
        }
        state_ = State::between;
        if (have_token()) break;
        continue;
      }
    }
  }
  std::string result = std::exchange(token_, {});
  if (result.empty() && !(posix_ && quoted)) return std::nullopt;  // the end
  return result;
}

}  // namespace braid::shlex
