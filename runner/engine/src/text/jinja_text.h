// Python str semantics the template functions need, on UTF-8 strings.
// Case mapping is ASCII-only (templates only change the case of role names
// and keywords); everything else works on code points.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace r1::engine::jinja::detail::text {

// Python str.isspace() for one code point.
bool is_space(char32_t cp);
// str.strip/lstrip/rstrip; chars == nullptr strips whitespace.
std::string strip(const std::string& s, const std::string* chars, bool left, bool right);
// str.split(sep, maxsplit) / rsplit; sep must not be empty.
std::vector<std::string> split(const std::string& s, const std::string& sep, std::int64_t maxsplit, bool from_right);
// str.split() / rsplit() without a separator: runs of whitespace.
std::vector<std::string> split_whitespace(const std::string& s, std::int64_t maxsplit, bool from_right);
// str.replace(old, new, count); count < 0 replaces all.
std::string replace(const std::string& s, const std::string& from, const std::string& to, std::int64_t count);
std::string upper(const std::string& s);
std::string lower(const std::string& s);
std::string title(const std::string& s);
std::string capitalize(const std::string& s);
// isdigit, isalpha, isalnum, isspace, isupper, islower (ASCII classes).
bool char_class_test(const std::string& s, const std::string& method);
// Number of matches of \w+ (Unicode letters, numbers, underscore), as
// Jinja2's wordcount filter counts.
std::int64_t count_words(const std::string& s);
// Jinja2's escape filter: & < > " ' as HTML entities.
std::string html_escape(const std::string& s);

}  // namespace r1::engine::jinja::detail::text
