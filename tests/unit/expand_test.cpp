// $VAR expansion and the shell-like word splitting of jobspec/expand.hpp.
#include "jobspec/expand.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "agent/job/job_environment.hpp"

namespace batchai {
namespace {

using Words = std::vector<std::string>;

// A lookup over a fixed map that says which name was missing.
VarLookup map_lookup(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> Result<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return err("$" + name + " is not defined");
    return it->second;
  };
}

const VarLookup kVars = map_lookup({{"X", "ex"},
                                    {"Xy", "long"},
                                    {"SPACED", "a b  c"},
                                    {"EMPTY", ""},
                                    {"_under9", "u"},
                                    {"QUOTE", "it's \"q\""}});

std::string expand_ok(const std::string& text) {
  auto r = expand_vars(text, kVars);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : "<error>";
}

std::string expand_error(const std::string& text) {
  auto r = expand_vars(text, kVars);
  EXPECT_FALSE(r.ok()) << text << " expanded to " << (r.ok() ? r.value() : "");
  return r.ok() ? "" : r.error().message;
}

Words split_ok(const std::string& text) {
  auto r = split_command_words(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : Words{"<error>"};
}

std::string split_error(const std::string& text) {
  auto r = split_command_words(text);
  EXPECT_FALSE(r.ok()) << text << " split without error";
  return r.ok() ? "" : r.error().message;
}

Words expand_words_ok(const std::string& text, const VarLookup& lookup = kVars) {
  auto r = expand_command_words(text, lookup);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : Words{"<error>"};
}

TEST(ExpandVars, PlainTextIsUnchanged) {
  EXPECT_EQ(expand_ok(""), "");
  EXPECT_EQ(expand_ok("/a/b c/'d'\"e\"\\f"), "/a/b c/'d'\"e\"\\f");
}

TEST(ExpandVars, DollarName) {
  EXPECT_EQ(expand_ok("$X"), "ex");
  EXPECT_EQ(expand_ok("/root/$X/dir"), "/root/ex/dir");
  EXPECT_EQ(expand_ok("$_under9"), "u");
  // The name runs as long as name characters follow: $Xy is Xy, not X then "y".
  EXPECT_EQ(expand_ok("$Xy"), "long");
  EXPECT_EQ(expand_ok("$X.$X"), "ex.ex");
  EXPECT_EQ(expand_ok("$X$X"), "exex");
}

TEST(ExpandVars, BracedName) {
  EXPECT_EQ(expand_ok("${X}"), "ex");
  EXPECT_EQ(expand_ok("${X}y"), "exy");
  EXPECT_EQ(expand_ok("a${Xy}b"), "alongb");
}

TEST(ExpandVars, ValuesAreInsertedVerbatim) {
  // No re-expansion, no quote processing, no splitting of the value.
  EXPECT_EQ(expand_ok("[$SPACED]"), "[a b  c]");
  EXPECT_EQ(expand_ok("$QUOTE"), "it's \"q\"");
  EXPECT_EQ(expand_ok("<$EMPTY>"), "<>");
}

TEST(ExpandVars, LoneDollarIsKept) {
  EXPECT_EQ(expand_ok("$"), "$");
  EXPECT_EQ(expand_ok("a $ b"), "a $ b");
  EXPECT_EQ(expand_ok("cost: 5$"), "cost: 5$");
  EXPECT_EQ(expand_ok("$-x"), "$-x");
  EXPECT_EQ(expand_ok("$$"), "$$");
}

TEST(ExpandVars, DollarDigitIsKept) {
  EXPECT_EQ(expand_ok("$1"), "$1");
  EXPECT_EQ(expand_ok("awk '{print $1}'"), "awk '{print $1}'");
}

TEST(ExpandVars, UndefinedVariableIsAnErrorNamingIt) {
  EXPECT_EQ(expand_error("/data/$NOPE/x"), "$NOPE is not defined");
  EXPECT_EQ(expand_error("${ALSO_NOPE}"), "$ALSO_NOPE is not defined");
  // The first undefined name is the one reported.
  EXPECT_EQ(expand_error("$X/$FIRST/$SECOND"), "$FIRST is not defined");
}

TEST(ExpandVars, UnterminatedBraceIsAnError) {
  EXPECT_EQ(expand_error("${X"), "\"${\" without a closing \"}\"");
  EXPECT_EQ(expand_error("abc ${"), "\"${\" without a closing \"}\"");
}

TEST(ExpandVars, InvalidBracedNameIsAnError) {
  EXPECT_EQ(expand_error("${1x}"), "\"${1x}\" is not a valid variable reference");
  EXPECT_EQ(expand_error("${}"), "\"${}\" is not a valid variable reference");
  EXPECT_EQ(expand_error("${A-B}"), "\"${A-B}\" is not a valid variable reference");
  EXPECT_EQ(expand_error("${X:-default}"), "\"${X:-default}\" is not a valid variable reference");
}

TEST(SplitCommandWords, BlanksSeparateWords) {
  EXPECT_EQ(split_ok(""), Words{});
  EXPECT_EQ(split_ok("   \t\n "), Words{});
  EXPECT_EQ(split_ok("a"), Words{"a"});
  EXPECT_EQ(split_ok("  a   b\tc\nd\r\ne  "), (Words{"a", "b", "c", "d", "e"}));
}

TEST(SplitCommandWords, SingleQuotesAreLiteral) {
  EXPECT_EQ(split_ok("'a b'"), Words{"a b"});
  EXPECT_EQ(split_ok("'$X ${Y} \\n \"'"), Words{"$X ${Y} \\n \""});
  EXPECT_EQ(split_ok("pre'mid dle'post"), Words{"premid dlepost"});
  EXPECT_EQ(split_ok("''"), Words{""});
  EXPECT_EQ(split_ok("a '' b"), (Words{"a", "", "b"}));
}

TEST(SplitCommandWords, DoubleQuotesGroupAndEscape) {
  EXPECT_EQ(split_ok("\"a b\" c"), (Words{"a b", "c"}));
  EXPECT_EQ(split_ok("\"\""), Words{""});
  // Inside double quotes a backslash escapes only \ " $ `; before anything else it stays.
  EXPECT_EQ(split_ok(R"("a\"b")"), Words{"a\"b"});
  EXPECT_EQ(split_ok(R"("a\\b")"), Words{"a\\b"});
  EXPECT_EQ(split_ok(R"("\$X")"), Words{"$X"});
  EXPECT_EQ(split_ok(R"("\`")"), Words{"`"});
  EXPECT_EQ(split_ok(R"("a\nb")"), Words{"a\\nb"});
  EXPECT_EQ(split_ok(R"("it's")"), Words{"it's"});
}

TEST(SplitCommandWords, BackslashOutsideQuotesEscapesTheNextCharacter) {
  EXPECT_EQ(split_ok(R"(a\ b)"), Words{"a b"});
  EXPECT_EQ(split_ok(R"(\'x\')"), Words{"'x'"});
  EXPECT_EQ(split_ok(R"(\"x)"), Words{"\"x"});
  EXPECT_EQ(split_ok(R"(a\\b)"), Words{"a\\b"});
  EXPECT_EQ(split_ok(R"(\n)"), Words{"n"});
}

TEST(SplitCommandWords, KeepsReferencesVerbatim) {
  EXPECT_EQ(split_ok("mount --bind $DEMO_DIR/scripts"),
            (Words{"mount", "--bind", "$DEMO_DIR/scripts"}));
  EXPECT_EQ(split_ok("${UNDEFINED} \"$X y\""), (Words{"${UNDEFINED}", "$X y"}));
  // No lookup happens, so even a malformed reference is left for later.
  EXPECT_EQ(split_ok("$1 $"), (Words{"$1", "$"}));
}

TEST(SplitCommandWords, UnterminatedQuotesAreErrors) {
  EXPECT_EQ(split_error("echo 'abc"), "unterminated single quote");
  EXPECT_EQ(split_error("echo \"abc"), "unterminated double quote");
  EXPECT_EQ(split_error("echo \"abc\\\""), "unterminated double quote");
  EXPECT_EQ(split_error("echo abc\\"), "a backslash at the end");
}

TEST(ExpandCommandWords, ExpandsOutsideSingleQuotes) {
  EXPECT_EQ(expand_words_ok("$X ${X}y '$X' \"$X\" \\$X"), (Words{"ex", "exy", "$X", "ex", "$X"}));
  EXPECT_EQ(expand_words_ok("--out=$X/model"), Words{"--out=ex/model"});
}

TEST(ExpandCommandWords, AnExpandedValueWithSpacesStaysOneWord) {
  EXPECT_EQ(expand_words_ok("run $SPACED end"), (Words{"run", "a b  c", "end"}));
  EXPECT_EQ(expand_words_ok("\"$SPACED\""), Words{"a b  c"});
  EXPECT_EQ(expand_words_ok("pre$SPACED"), Words{"prea b  c"});
  // Quotes inside a value are data, not syntax.
  EXPECT_EQ(expand_words_ok("$QUOTE"), Words{"it's \"q\""});
}

TEST(ExpandCommandWords, AnEmptyUnquotedValueMakesNoArgumentButQuotesDo) {
  // As in a shell: `prog $EMPTY x` has one argument, `prog "$EMPTY" x` and `prog '' x` two.
  EXPECT_EQ(expand_words_ok("$EMPTY x"), (Words{"x"}));
  EXPECT_EQ(expand_words_ok("\"$EMPTY\" x"), (Words{"", "x"}));
  EXPECT_EQ(expand_words_ok("'' x"), (Words{"", "x"}));
  EXPECT_EQ(expand_words_ok("a$EMPTY x"), (Words{"a", "x"}));
}

TEST(ExpandCommandWords, UndefinedVariableIsAnError) {
  auto r = expand_command_words("a \"$NOPE\"", kVars);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "$NOPE is not defined");
  // Inside single quotes the name is never looked up.
  EXPECT_EQ(expand_words_ok("'$NOPE'"), Words{"$NOPE"});
}

TEST(ExpandCommandWords, QuoteErrorsAreReported) {
  auto r = expand_command_words("a '$X", kVars);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "unterminated single quote");
  auto r2 = expand_command_words("a \"${X\"", kVars);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().message, "\"${\" without a closing \"}\"");
}

TEST(ExpandCommandWords, SecretsAreRefusedWithoutRevealingThem) {
  const std::string value = "s3cr3t-V4lue-9c1f";
  JobEnvironment env;
  env.set("PLAIN", "visible");
  env.set("STORAGE_KEY", value, /*secret=*/true);

  for (const std::string text :
       {"--key $STORAGE_KEY", "--key=\"${STORAGE_KEY}\"", "x$STORAGE_KEY"}) {
    SCOPED_TRACE(text);
    auto r = expand_command_words(text, env.lookup(false));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("$STORAGE_KEY"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("secret"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find(value), std::string::npos) << r.error().message;
  }
  auto path = expand_vars("/data/$STORAGE_KEY", env.lookup(false));
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.error().message.find("secret"), std::string::npos);
  EXPECT_EQ(path.error().message.find(value), std::string::npos);

  // Single quotes never look the name up; other variables still expand.
  EXPECT_EQ(expand_words_ok("'$STORAGE_KEY' $PLAIN", env.lookup(false)),
            (Words{"$STORAGE_KEY", "visible"}));
  // With secrets allowed (the process environment) the value is available.
  EXPECT_EQ(expand_words_ok("$STORAGE_KEY", env.lookup(true)), Words{value});
}

TEST(JobEnvironmentLookup, SetReplacesInPlaceAndUndefinedIsAnError) {
  JobEnvironment env;
  env.set("A", "1");
  env.set("B", "2");
  env.set("A", "3", true);
  EXPECT_EQ(env.to_envp(), (Words{"A=3", "B=2"}));
  EXPECT_EQ(env.names(), (Words{"A", "B"}));
  EXPECT_TRUE(env.has("B"));
  EXPECT_FALSE(env.has("C"));
  auto r = env.lookup(true)("C");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "$C is not defined");
  EXPECT_FALSE(env.lookup(false)("A").ok());  // now a secret
  EXPECT_EQ(env.lookup(false)("B").value(), "2");
}

}  // namespace
}  // namespace batchai
