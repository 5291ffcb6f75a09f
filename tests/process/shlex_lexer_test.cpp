// braid::shlex::Shlex, Python's shlex.shlex class: cases ported from CPython's
// Lib/test/test_shlex.py (its two data tables and its punctuation tests), plus the
// C++ surface (optional tokens, iteration, errors).
#include <braid/process/shlex.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace shlex = braid::shlex;
using Words = std::vector<std::string>;

namespace {

// CPython's tables, in their own format: "input|token|token|" (the input's "\n" is a
// newline). kCompat is the legacy-mode lexer's output token by token; kPosix is
// shlex.split(input, comments=True).
constexpr const char* kCompat = R"TABLE(
x|x|
foo bar|foo|bar|
 foo bar|foo|bar|
 foo bar |foo|bar|
foo   bar    bla     fasel|foo|bar|bla|fasel|
x y  z              xxxx|x|y|z|xxxx|
\x bar|\|x|bar|
\ x bar|\|x|bar|
\ bar|\|bar|
foo \x bar|foo|\|x|bar|
foo \ x bar|foo|\|x|bar|
foo \ bar|foo|\|bar|
foo "bar" bla|foo|"bar"|bla|
"foo" "bar" "bla"|"foo"|"bar"|"bla"|
"foo" bar "bla"|"foo"|bar|"bla"|
"foo" bar bla|"foo"|bar|bla|
foo 'bar' bla|foo|'bar'|bla|
'foo' 'bar' 'bla'|'foo'|'bar'|'bla'|
'foo' bar 'bla'|'foo'|bar|'bla'|
'foo' bar bla|'foo'|bar|bla|
blurb foo"bar"bar"fasel" baz|blurb|foo"bar"bar"fasel"|baz|
blurb foo'bar'bar'fasel' baz|blurb|foo'bar'bar'fasel'|baz|
""|""|
''|''|
foo "" bar|foo|""|bar|
foo '' bar|foo|''|bar|
foo "" "" "" bar|foo|""|""|""|bar|
foo '' '' '' bar|foo|''|''|''|bar|
\""|\|""|
"\"|"\"|
"foo\ bar"|"foo\ bar"|
"foo\\ bar"|"foo\\ bar"|
"foo\\ bar\"|"foo\\ bar\"|
"foo\\" bar\""|"foo\\"|bar|\|""|
"foo\\ bar\" dfadf"|"foo\\ bar\"|dfadf"|
"foo\\\ bar\" dfadf"|"foo\\\ bar\"|dfadf"|
"foo\\\x bar\" dfadf"|"foo\\\x bar\"|dfadf"|
"foo\x bar\" dfadf"|"foo\x bar\"|dfadf"|
\''|\|''|
'foo\ bar'|'foo\ bar'|
'foo\\ bar'|'foo\\ bar'|
"foo\\\x bar\" df'a\ 'df'|"foo\\\x bar\"|df'a|\|'df'|
\"foo"|\|"foo"|
\"foo"\x|\|"foo"|\|x|
"foo\x"|"foo\x"|
"foo\ "|"foo\ "|
foo\ xx|foo|\|xx|
foo\ x\x|foo|\|x|\|x|
foo\ x\x\""|foo|\|x|\|x|\|""|
"foo\ x\x"|"foo\ x\x"|
"foo\ x\x\\"|"foo\ x\x\\"|
"foo\ x\x\\""foobar"|"foo\ x\x\\"|"foobar"|
"foo\ x\x\\"\''"foobar"|"foo\ x\x\\"|\|''|"foobar"|
"foo\ x\x\\"\'"fo'obar"|"foo\ x\x\\"|\|'"fo'|obar"|
"foo\ x\x\\"\'"fo'obar" 'don'\''t'|"foo\ x\x\\"|\|'"fo'|obar"|'don'|\|''|t'|
'foo\ bar'|'foo\ bar'|
'foo\\ bar'|'foo\\ bar'|
foo\ bar|foo|\|bar|
foo#bar\nbaz|foobaz|
:-) ;-)|:|-|)|;|-|)|
áéíóú|á|é|í|ó|ú|
)TABLE";

constexpr const char* kPosix = R"TABLE(
x|x|
foo bar|foo|bar|
 foo bar|foo|bar|
 foo bar |foo|bar|
foo   bar    bla     fasel|foo|bar|bla|fasel|
x y  z              xxxx|x|y|z|xxxx|
\x bar|x|bar|
\ x bar| x|bar|
\ bar| bar|
foo \x bar|foo|x|bar|
foo \ x bar|foo| x|bar|
foo \ bar|foo| bar|
foo "bar" bla|foo|bar|bla|
"foo" "bar" "bla"|foo|bar|bla|
"foo" bar "bla"|foo|bar|bla|
"foo" bar bla|foo|bar|bla|
foo 'bar' bla|foo|bar|bla|
'foo' 'bar' 'bla'|foo|bar|bla|
'foo' bar 'bla'|foo|bar|bla|
'foo' bar bla|foo|bar|bla|
blurb foo"bar"bar"fasel" baz|blurb|foobarbarfasel|baz|
blurb foo'bar'bar'fasel' baz|blurb|foobarbarfasel|baz|
""||
''||
foo "" bar|foo||bar|
foo '' bar|foo||bar|
foo "" "" "" bar|foo||||bar|
foo '' '' '' bar|foo||||bar|
\"|"|
"\""|"|
"foo\ bar"|foo\ bar|
"foo\\ bar"|foo\ bar|
"foo\\ bar\""|foo\ bar"|
"foo\\" bar\"|foo\|bar"|
"foo\\ bar\" dfadf"|foo\ bar" dfadf|
"foo\\\ bar\" dfadf"|foo\\ bar" dfadf|
"foo\\\x bar\" dfadf"|foo\\x bar" dfadf|
"foo\x bar\" dfadf"|foo\x bar" dfadf|
\'|'|
'foo\ bar'|foo\ bar|
'foo\\ bar'|foo\\ bar|
"foo\\\x bar\" df'a\ 'df"|foo\\x bar" df'a\ 'df|
\"foo|"foo|
\"foo\x|"foox|
"foo\x"|foo\x|
"foo\ "|foo\ |
foo\ xx|foo xx|
foo\ x\x|foo xx|
foo\ x\x\"|foo xx"|
"foo\ x\x"|foo\ x\x|
"foo\ x\x\\"|foo\ x\x\|
"foo\ x\x\\""foobar"|foo\ x\x\foobar|
"foo\ x\x\\"\'"foobar"|foo\ x\x\'foobar|
"foo\ x\x\\"\'"fo'obar"|foo\ x\x\'fo'obar|
"foo\ x\x\\"\'"fo'obar" 'don'\''t'|foo\ x\x\'fo'obar|don't|
"foo\ x\x\\"\'"fo'obar" 'don'\''t' \\|foo\ x\x\'fo'obar|don't|\|
'foo\ bar'|foo\ bar|
'foo\\ bar'|foo\\ bar|
foo\ bar|foo bar|
foo#bar\nbaz|foo|baz|
:-) ;-)|:-)|;-)|
áéíóú|áéíóú|
)TABLE";

struct Row {
  std::string input;
  Words tokens;
};

std::vector<Row> parse(const char* table) {
  std::vector<Row> rows;
  std::istringstream in(table);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    Words fields;
    std::size_t start = 0;
    for (std::size_t bar; (bar = line.find('|', start)) != std::string::npos; start = bar + 1) {
      fields.push_back(line.substr(start, bar - start));
    }
    Row r{fields.front(), Words(fields.begin() + 1, fields.end())};
    for (std::size_t at; (at = r.input.find("\\n")) != std::string::npos;) {
      r.input.replace(at, 2, "\n");
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

Words lex(const std::string& s, bool posix, const std::string& punctuation, bool ws_split) {
  shlex::Shlex l(s, posix, punctuation);
  l.whitespace_split = ws_split;
  return l.tokens();
}

const std::string kTrue(shlex::kShellPunctuation);  // Python's punctuation_chars=True

}  // namespace

TEST_CASE("Shlex: CPython's legacy-mode table, token by token", "[process][shlex]") {
  const auto rows = parse(kCompat);
  REQUIRE(rows.size() == 61);
  for (const Row& r : rows) {
    INFO("input: " << r.input);
    shlex::Shlex l(r.input);
    Words got;
    while (auto tok = l.get_token()) got.push_back(*tok);
    CHECK(got == r.tokens);
  }
}

TEST_CASE("Shlex: CPython's POSIX table, as split() with comments", "[process][shlex]") {
  const auto rows = parse(kPosix);
  REQUIRE(rows.size() == 62);
  for (const Row& r : rows) {
    INFO("input: " << r.input);
    shlex::Shlex l(r.input, true);
    l.whitespace_split = true;
    CHECK(l.tokens() == r.tokens);
    CHECK(shlex::split(r.input, true) == r.tokens);  // the free function agrees
  }
}

TEST_CASE("Shlex: join round-trips both tables", "[process][shlex]") {
  for (const char* table : {kCompat, kPosix}) {
    for (const Row& r : parse(table)) {
      INFO("tokens of: " << r.input);
      CHECK(shlex::split(shlex::join(r.tokens)) == r.tokens);
    }
  }
}

TEST_CASE("Shlex: punctuation_chars splits on & and |, with or without whitespace_split",
          "[process][shlex]") {
  for (const std::string d : {"&&", "&", "|&", ";&", ";;&", "||", "|", "&|", ";|", ";;|"}) {
    for (const std::string& src : {"echo hi " + d + " echo bye", "echo hi" + d + "echo bye"}) {
      for (bool ws : {false, true}) {
        INFO(src << " ws=" << ws);
        CHECK(lex(src, false, kTrue, ws) == Words{"echo", "hi", d, "echo", "bye"});
      }
    }
  }
  for (const std::string d : {";", ";;", ";&", ";;&"}) {
    for (const std::string& src :
         {"echo hi " + d + " echo bye", "echo hi" + d + " echo bye", "echo hi" + d + "echo bye"}) {
      for (bool ws : {false, true}) {
        INFO(src << " ws=" << ws);
        CHECK(lex(src, false, kTrue, ws) == Words{"echo", "hi", d, "echo", "bye"});
      }
    }
  }
  for (const std::string d : {"<", "|"}) {
    for (const std::string& src :
         {"echo hi " + d + " out", "echo hi" + d + " out", "echo hi" + d + "out"}) {
      CHECK(lex(src, false, kTrue, false) == Words{"echo", "hi", d, "out"});
    }
  }
  for (const std::string src : {"( echo hi )", "(echo hi)"}) {
    for (bool ws : {false, true})
      CHECK(lex(src, false, kTrue, ws) == Words{"(", "echo", "hi", ")"});
  }
}

TEST_CASE("Shlex: custom punctuation_chars, and punctuation is taken out of wordchars",
          "[process][shlex]") {
  const std::string ss = "~/a&&b-c --color=auto||d *.py?";
  CHECK(lex(ss, false, "|", false) ==
        Words{"~/a", "&", "&", "b-c", "--color=auto", "||", "d", "*.py?"});
  CHECK(lex(ss, false, "|", true) == Words{"~/a&&b-c", "--color=auto", "||", "d", "*.py?"});

  shlex::Shlex l("a_b__c", false, "_");
  CHECK(l.wordchars.find('_') == std::string::npos);
  CHECK(l.punctuation_chars() == "_");
  CHECK(l.tokens() == Words{"a", "_", "b", "__", "c"});

  CHECK(lex("a  && b  ||  c", false, "&", false) == Words{"a", "&&", "b", "|", "|", "c"});
  CHECK(lex("a  && b  ||  c", false, "&", true) == Words{"a", "&&", "b", "||", "c"});
}

TEST_CASE("Shlex: token types of a && b || c", "[process][shlex]") {
  shlex::Shlex l("a && b || c", false, kTrue);
  std::vector<std::pair<std::string, char>> seen;
  while (auto t = l.get_token()) {
    const bool punct = l.punctuation_chars().find(t->front()) != std::string::npos;
    seen.emplace_back(*t, punct ? 'c' : 'a');
  }
  CHECK(seen == std::vector<std::pair<std::string, char>>{
                    {"a", 'a'}, {"&&", 'c'}, {"b", 'a'}, {"||", 'c'}, {"c", 'a'}});
}

TEST_CASE("Shlex: punctuation with POSIX quoting, and empty strings", "[process][shlex]") {
  CHECK(lex("f >\"abc\"", true, kTrue, false) == Words{"f", ">", "abc"});
  CHECK(lex("f >\\\"abc\\\"", true, kTrue, false) == Words{"f", ">", "\"abc\""});
  for (const std::string punct : {"", "();<>|&"}) {
    CHECK(lex("'')abc", true, punct, false) == Words{"", ")", "abc"});
  }
  CHECK(lex("'')abc", false, kTrue, false) == Words{"''", ")", "abc"});
}

TEST_CASE("Shlex: non-ASCII characters are whole characters", "[process][shlex]") {
  const std::string ss = "\u2119\u01b4\u2602\u210c\u00f8\u1f24";
  CHECK(lex(ss, false, kTrue, true) == Words{ss});
  CHECK(lex(ss, false, kTrue, false) ==
        Words{"\u2119", "\u01b4", "\u2602", "\u210c", "\u00f8", "\u1f24"});
  // POSIX wordchars have Python's Latin-1 letters; legacy ones do not.
  CHECK(lex("caf\u00e9 ol\u00e9", true, "", false) == Words{"caf\u00e9", "ol\u00e9"});
  CHECK(lex("caf\u00e9", false, "", false) == Words{"caf", "\u00e9"});
  // Invalid UTF-8 bytes are characters of their own, never dropped.
  CHECK(lex("a\xff\xfe"
            "b",
            false, "", true) == Words{"a\xff\xfe"
                                      "b"});
  CHECK(lex("a\xff"
            "b",
            false, "", false) == Words{"a", "\xff", "b"});
}

TEST_CASE("Shlex: get_token, push_token, the end, iteration", "[process][shlex]") {
  shlex::Shlex l("one two");
  CHECK(l.get_token() == "one");
  l.push_token("pushed-1");
  l.push_token("pushed-2");  // last pushed, first returned
  CHECK(l.get_token() == "pushed-2");
  CHECK(l.get_token() == "pushed-1");
  CHECK(l.get_token() == "two");
  CHECK_FALSE(l.get_token().has_value());
  CHECK_FALSE(l.get_token().has_value());  // stays at the end
  l.push_token("again");
  CHECK(l.get_token() == "again");

  shlex::Shlex p("a '' b", true);
  Words words;
  for (const std::string& tok : p) words.push_back(tok);
  CHECK(words == Words{"a", "", "b"});  // "" is a token in POSIX mode, not the end
  CHECK(p.begin() == p.end());
  CHECK(p.posix());
}

TEST_CASE("Shlex: a non-word character is a token of its own unless whitespace_split",
          "[process][shlex]") {
  CHECK(lex("a;b c=d", false, "", false) == Words{"a", ";", "b", "c", "=", "d"});
  CHECK(lex("a;b c=d", false, "", true) == Words{"a;b", "c=d"});
  CHECK(lex("a;b c=d", true, "", false) == Words{"a", ";", "b", "c", "=", "d"});
}

TEST_CASE("Shlex: commenters, wordchars, whitespace and quotes are configurable",
          "[process][shlex]") {
  shlex::Shlex c("a # b\nc ; d", true);
  CHECK(c.tokens() == Words{"a", "c", ";", "d"});
  shlex::Shlex none("a # b", true);
  none.commenters = "";
  CHECK(none.tokens() == Words{"a", "#", "b"});
  shlex::Shlex semi("a ; b\nc", true);
  semi.commenters = ";";
  CHECK(semi.tokens() == Words{"a", "c"});

  shlex::Shlex w("path/to-file.txt next");
  CHECK(w.tokens() == Words{"path", "/", "to", "-", "file", ".", "txt", "next"});
  shlex::Shlex w2("path/to-file.txt next");
  w2.wordchars += "/-.";
  CHECK(w2.tokens() == Words{"path/to-file.txt", "next"});

  shlex::Shlex ws("a,b c", true);
  ws.whitespace = ",";
  ws.whitespace_split = true;
  CHECK(ws.tokens() == Words{"a", "b c"});

  shlex::Shlex q("|a b| c", true);
  q.quotes = "|";
  CHECK(q.tokens() == Words{"a b", "c"});
  shlex::Shlex e("a^ b", true);
  e.escape = "^";
  e.whitespace_split = true;
  CHECK(e.tokens() == Words{"a b"});
}

TEST_CASE("Shlex: errors name the failure and the line", "[process][shlex]") {
  shlex::Shlex q("a\n'open", true);
  CHECK(q.get_token() == "a");
  CHECK(q.lineno() == 2);
  CHECK_THROWS_AS(q.get_token(), shlex::ShlexError);
  shlex::Shlex q2("x\ny 'open");
  CHECK_THROWS_WITH(q2.tokens(), "shlex::Shlex: no closing quotation (line 2)");
  shlex::Shlex e("a\\", true);
  CHECK_THROWS_WITH(e.tokens(), Catch::Contains("no escaped character"));
  // Legacy mode has no escapes: a trailing backslash is a token.
  CHECK(lex("a\\", false, "", false) == Words{"a", "\\"});
}

TEST_CASE("Shlex: lineno counts newlines, a comment as one", "[process][shlex]") {
  shlex::Shlex l("a\nb # comment\nc\n");
  CHECK(l.get_token() == "a");
  CHECK(l.get_token() == "b");
  CHECK(l.lineno() == 2);
  CHECK(l.get_token() == "c");  // the comment (one line) and the newline ending c
  CHECK(l.lineno() == 4);
  CHECK_FALSE(l.get_token());
  CHECK(l.lineno() == 4);
}

TEST_CASE("Shlex: with split()'s settings it gives split()'s words on random input",
          "[process][shlex]") {
  std::mt19937 rng(14);
  const std::string alphabet = " \t\n'\"\\#ab;\xc3\xa9";
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const std::size_t len = rng() % 16;
    for (std::size_t k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    for (bool posix : {true, false}) {
      for (bool comments : {false, true}) {
        INFO("input: " << s << " posix=" << posix << " comments=" << comments);
        shlex::Shlex l(s, posix);
        l.whitespace_split = true;
        if (!comments) l.commenters.clear();
        Words a, b;
        bool a_threw = false, b_threw = false;
        try {
          a = shlex::split(s, comments, posix);
        } catch (const shlex::ShlexError&) {
          a_threw = true;
        }
        try {
          b = l.tokens();
        } catch (const shlex::ShlexError&) {
          b_threw = true;
        }
        REQUIRE(a_threw == b_threw);
        REQUIRE(a == b);
      }
    }
  }
}
