// Recursive-descent parser for the Jinja subset; precedence follows Jinja2's
// parser (condexpr < or < and < not < compare < + - < ~ < * / // % < ** <
// unary < filters/tests/calls < postfix < primary).
#include <algorithm>
#include <set>

#include "jinja_ast.h"

namespace r1::engine::jinja::detail {
namespace {

class expr_parser {
 public:
  expr_parser(std::vector<token> toks, int line, std::size_t max_depth)
      : toks_(std::move(toks)), line_(line), max_depth_(max_depth) {}

  result<expr_ptr> expression() { return condexpr(); }
  // For-loop iterables: a trailing "if" belongs to the loop, not to the expression.
  result<expr_ptr> expression_no_cond_if() { return or_expr(); }
  bool at_end() const { return peek().kind == token_kind::end; }
  const token& peek(std::size_t ahead = 0) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  bool is_name(std::string_view n, std::size_t ahead = 0) const {
    return peek(ahead).kind == token_kind::name && peek(ahead).text == n;
  }
  bool is_op(std::string_view o, std::size_t ahead = 0) const {
    return peek(ahead).kind == token_kind::op && peek(ahead).text == o;
  }
  token next() { return toks_[std::min(pos_++, toks_.size() - 1)]; }
  status error(const std::string& msg) const {
    const token& t = peek();
    const std::string near = t.kind == token_kind::end ? "end of tag" : "'" + t.text + "'";
    return invalid_argument("template line " + std::to_string(line_) + ": " + msg + " (at " + near + ")");
  }
  status expect_op(std::string_view o) {
    if (!is_op(o)) return error("expected '" + std::string(o) + "'");
    ++pos_;
    return ok_status();
  }
  result<std::string> expect_name() {
    if (peek().kind != token_kind::name) return error("expected a name");
    return next().text;
  }
  status expect_end() { return at_end() ? ok_status() : error("unexpected token"); }

 private:
  expr_ptr make(expr_kind k) {
    auto e = std::make_unique<expr>();
    e->kind = k;
    e->line = line_;
    return e;
  }
  struct depth_guard {
    expr_parser& p;
    explicit depth_guard(expr_parser& parser) : p(parser) { ++p.depth_; }
    ~depth_guard() { --p.depth_; }
  };
  status check_depth() const {
    if (depth_ > max_depth_) return resource_exhausted("template line " + std::to_string(line_) + ": expression nested too deeply");
    return ok_status();
  }

  result<expr_ptr> condexpr() {
    depth_guard g(*this);
    R1_RETURN_IF_ERROR(check_depth());
    R1_ASSIGN_OR_RETURN(expr_ptr e, or_expr());
    while (is_name("if")) {
      ++pos_;
      auto c = make(expr_kind::cond);
      R1_ASSIGN_OR_RETURN(expr_ptr test, or_expr());
      c->kids.push_back(std::move(test));
      c->kids.push_back(std::move(e));
      if (is_name("else")) {
        ++pos_;
        R1_ASSIGN_OR_RETURN(expr_ptr alt, condexpr());
        c->kids.push_back(std::move(alt));
      } else {
        c->kids.push_back(nullptr);
      }
      R1_ASSIGN_OR_RETURN(e, sealed(std::move(c)));
    }
    return e;
  }

  result<expr_ptr> or_expr() {
    R1_ASSIGN_OR_RETURN(expr_ptr e, and_expr());
    while (is_name("or")) {
      ++pos_;
      R1_ASSIGN_OR_RETURN(expr_ptr r, and_expr());
      R1_ASSIGN_OR_RETURN(e, binary(expr_kind::or_, "or", std::move(e), std::move(r)));
    }
    return e;
  }

  result<expr_ptr> and_expr() {
    R1_ASSIGN_OR_RETURN(expr_ptr e, not_expr());
    while (is_name("and")) {
      ++pos_;
      R1_ASSIGN_OR_RETURN(expr_ptr r, not_expr());
      R1_ASSIGN_OR_RETURN(e, binary(expr_kind::and_, "and", std::move(e), std::move(r)));
    }
    return e;
  }

  result<expr_ptr> not_expr() {
    if (is_name("not")) {
      ++pos_;
      depth_guard g(*this);
      R1_RETURN_IF_ERROR(check_depth());
      auto n = make(expr_kind::not_);
      R1_ASSIGN_OR_RETURN(expr_ptr operand, not_expr());
      n->kids.push_back(std::move(operand));
      return sealed(std::move(n));
    }
    return compare();
  }

  result<expr_ptr> compare() {
    R1_ASSIGN_OR_RETURN(expr_ptr first, math1());
    expr_ptr c;
    static const std::set<std::string> cmp_ops = {"==", "!=", "<", "<=", ">", ">="};
    while (true) {
      std::string op;
      if (peek().kind == token_kind::op && cmp_ops.count(peek().text)) {
        op = next().text;
      } else if (is_name("in")) {
        ++pos_;
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        pos_ += 2;
        op = "notin";
      } else {
        break;
      }
      if (!c) {
        c = make(expr_kind::compare);
        c->kids.push_back(std::move(first));
      }
      R1_ASSIGN_OR_RETURN(expr_ptr r, math1());
      c->ops.push_back(op);
      c->kids.push_back(std::move(r));
    }
    if (c) return sealed(std::move(c));
    return first;
  }

  result<expr_ptr> math1() {
    R1_ASSIGN_OR_RETURN(expr_ptr e, concat());
    while (is_op("+") || is_op("-")) {
      const std::string op = next().text;
      R1_ASSIGN_OR_RETURN(expr_ptr r, concat());
      R1_ASSIGN_OR_RETURN(e, binary(expr_kind::binary, op, std::move(e), std::move(r)));
    }
    return e;
  }

  result<expr_ptr> concat() {
    R1_ASSIGN_OR_RETURN(expr_ptr e, math2());
    while (is_op("~")) {
      ++pos_;
      R1_ASSIGN_OR_RETURN(expr_ptr r, math2());
      R1_ASSIGN_OR_RETURN(e, binary(expr_kind::binary, "~", std::move(e), std::move(r)));
    }
    return e;
  }

  result<expr_ptr> math2() {
    R1_ASSIGN_OR_RETURN(expr_ptr e, pow_expr());
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string op = next().text;
      R1_ASSIGN_OR_RETURN(expr_ptr r, pow_expr());
      R1_ASSIGN_OR_RETURN(e, binary(expr_kind::binary, op, std::move(e), std::move(r)));
    }
    return e;
  }

  result<expr_ptr> pow_expr() {
    R1_ASSIGN_OR_RETURN(expr_ptr e, unary(true));
    while (is_op("**")) {
      ++pos_;
      R1_ASSIGN_OR_RETURN(expr_ptr r, unary(true));
      R1_ASSIGN_OR_RETURN(e, binary(expr_kind::binary, "**", std::move(e), std::move(r)));
    }
    return e;
  }

  result<expr_ptr> unary(bool with_filter) {
    depth_guard g(*this);
    R1_RETURN_IF_ERROR(check_depth());
    expr_ptr e;
    if (is_op("-") || is_op("+")) {
      const bool neg = next().text == "-";
      e = make(neg ? expr_kind::neg : expr_kind::pos);
      R1_ASSIGN_OR_RETURN(expr_ptr operand, unary(false));
      e->kids.push_back(std::move(operand));
      R1_ASSIGN_OR_RETURN(e, sealed(std::move(e)));
    } else {
      R1_ASSIGN_OR_RETURN(e, primary());
      R1_ASSIGN_OR_RETURN(e, postfix(std::move(e)));
    }
    if (with_filter) return filter_chain(std::move(e));
    return e;
  }

  result<expr_ptr> binary(expr_kind k, const std::string& op, expr_ptr l, expr_ptr r) {
    auto e = make(k);
    e->name = op;
    e->kids.push_back(std::move(l));
    e->kids.push_back(std::move(r));
    return sealed(std::move(e));
  }

  // Records the height of a new node; long left-deep chains (a+a+a+...,
  // x|f|f|f...) would otherwise make evaluation and destruction recurse
  // without bound.
  result<expr_ptr> sealed(expr_ptr e) {
    std::size_t h = 0;
    for (const auto& k : e->kids) {
      if (k) h = std::max(h, k->depth);
    }
    for (const auto& [name, k] : e->kwargs) h = std::max(h, k->depth);
    e->depth = h + 1;
    if (e->depth > max_depth_) {
      return resource_exhausted("template line " + std::to_string(line_) + ": expression nested too deeply");
    }
    return e;
  }

  result<expr_ptr> primary() {
    const token t = peek();
    switch (t.kind) {
      case token_kind::name: {
        ++pos_;
        auto e = make(expr_kind::literal);
        if (t.text == "true" || t.text == "True") e->lit = value::boolean(true);
        else if (t.text == "false" || t.text == "False") e->lit = value::boolean(false);
        else if (t.text == "none" || t.text == "None") e->lit = value::none();
        else {
          e->kind = expr_kind::name;
          e->name = t.text;
        }
        return e;
      }
      case token_kind::string: {
        std::string s;
        while (peek().kind == token_kind::string) s += next().text;
        auto e = make(expr_kind::literal);
        e->lit = value::string(std::move(s));
        return e;
      }
      case token_kind::integer:
      case token_kind::floating: {
        ++pos_;
        auto e = make(expr_kind::literal);
        e->lit = t.kind == token_kind::integer ? value::integer(t.i) : value::floating(t.f);
        return e;
      }
      case token_kind::op:
        if (t.text == "(") return paren();
        if (t.text == "[") return list_literal();
        if (t.text == "{") return dict_literal();
        break;
      case token_kind::end: break;
    }
    return error("expected an expression");
  }

  result<expr_ptr> paren() {
    ++pos_;
    auto tup = make(expr_kind::tuple);
    if (is_op(")")) {
      ++pos_;
      return tup;
    }
    R1_ASSIGN_OR_RETURN(expr_ptr first, expression());
    if (!is_op(",")) {
      R1_RETURN_IF_ERROR(expect_op(")"));
      return first;
    }
    tup->kids.push_back(std::move(first));
    while (is_op(",")) {
      ++pos_;
      if (is_op(")")) break;
      R1_ASSIGN_OR_RETURN(expr_ptr item, expression());
      tup->kids.push_back(std::move(item));
    }
    R1_RETURN_IF_ERROR(expect_op(")"));
    return sealed(std::move(tup));
  }

  result<expr_ptr> list_literal() {
    ++pos_;
    auto list = make(expr_kind::list);
    while (!is_op("]")) {
      R1_ASSIGN_OR_RETURN(expr_ptr item, expression());
      list->kids.push_back(std::move(item));
      if (!is_op(",")) break;
      ++pos_;
    }
    R1_RETURN_IF_ERROR(expect_op("]"));
    return sealed(std::move(list));
  }

  result<expr_ptr> dict_literal() {
    ++pos_;
    auto dict = make(expr_kind::dict);
    while (!is_op("}")) {
      R1_ASSIGN_OR_RETURN(expr_ptr key, expression());
      R1_RETURN_IF_ERROR(expect_op(":"));
      R1_ASSIGN_OR_RETURN(expr_ptr val, expression());
      dict->kids.push_back(std::move(key));
      dict->kids.push_back(std::move(val));
      if (!is_op(",")) break;
      ++pos_;
    }
    R1_RETURN_IF_ERROR(expect_op("}"));
    return sealed(std::move(dict));
  }

  result<expr_ptr> postfix(expr_ptr e) {
    while (true) {
      if (is_op(".")) {
        ++pos_;
        if (peek().kind == token_kind::integer) {
          auto g = make(expr_kind::getitem);
          auto idx = make(expr_kind::literal);
          idx->lit = value::integer(next().i);
          g->kids.push_back(std::move(e));
          g->kids.push_back(std::move(idx));
          R1_ASSIGN_OR_RETURN(e, sealed(std::move(g)));
          continue;
        }
        R1_ASSIGN_OR_RETURN(std::string attr, expect_name());
        auto g = make(expr_kind::getattr);
        g->name = attr;
        g->kids.push_back(std::move(e));
        R1_ASSIGN_OR_RETURN(e, sealed(std::move(g)));
      } else if (is_op("[")) {
        R1_ASSIGN_OR_RETURN(e, subscript(std::move(e)));
      } else if (is_op("(")) {
        R1_ASSIGN_OR_RETURN(e, call(std::move(e)));
      } else {
        return e;
      }
    }
  }

  result<expr_ptr> subscript(expr_ptr target) {
    ++pos_;  // [
    expr_ptr parts[3];
    int part = 0;
    bool is_slice = false;
    while (true) {
      if (is_op(":")) {
        ++pos_;
        is_slice = true;
        if (++part > 2) return error("too many ':' in a slice");
        continue;
      }
      if (is_op("]")) break;
      if (parts[part]) return error("expected ':' or ']'");
      R1_ASSIGN_OR_RETURN(parts[part], expression());
    }
    ++pos_;  // ]
    if (!is_slice) {
      if (!parts[0]) return error("empty subscript");
      auto g = make(expr_kind::getitem);
      g->kids.push_back(std::move(target));
      g->kids.push_back(std::move(parts[0]));
      return sealed(std::move(g));
    }
    auto s = make(expr_kind::slice);
    s->kids.push_back(std::move(target));
    for (auto& p : parts) s->kids.push_back(std::move(p));
    return sealed(std::move(s));
  }

  status call_args(expr& node) {
    R1_RETURN_IF_ERROR(expect_op("("));
    while (!is_op(")")) {
      if (peek().kind == token_kind::name && is_op("=", 1)) {
        const std::string key = next().text;
        ++pos_;
        R1_ASSIGN_OR_RETURN(expr_ptr v, expression());
        node.kwargs.emplace_back(key, std::move(v));
      } else {
        if (!node.kwargs.empty()) return error("positional argument after keyword argument");
        R1_ASSIGN_OR_RETURN(expr_ptr v, expression());
        node.kids.push_back(std::move(v));
      }
      if (!is_op(",")) break;
      ++pos_;
    }
    return expect_op(")");
  }

  result<expr_ptr> call(expr_ptr callee) {
    auto c = make(expr_kind::call);
    c->kids.push_back(std::move(callee));
    R1_RETURN_IF_ERROR(call_args(*c));
    return sealed(std::move(c));
  }

  bool starts_test_argument() const {
    const token& t = peek();
    if (t.kind == token_kind::name) return t.text != "else" && t.text != "or" && t.text != "and" && t.text != "is";
    return t.kind == token_kind::string || t.kind == token_kind::integer || t.kind == token_kind::floating ||
           is_op("(") || is_op("[") || is_op("{");
  }

  result<expr_ptr> filter_chain(expr_ptr e) {
    while (true) {
      if (is_op("|")) {
        ++pos_;
        auto f = make(expr_kind::filter);
        R1_ASSIGN_OR_RETURN(f->name, expect_name());
        while (is_op(".") && peek(1).kind == token_kind::name) {
          pos_ += 1;
          f->name.append(1, '.').append(next().text);
        }
        f->kids.push_back(std::move(e));
        if (is_op("(")) R1_RETURN_IF_ERROR(call_args(*f));
        R1_ASSIGN_OR_RETURN(e, sealed(std::move(f)));
      } else if (is_name("is")) {
        ++pos_;
        auto t = make(expr_kind::test);
        if (is_name("not")) {
          ++pos_;
          t->negated = true;
        }
        R1_ASSIGN_OR_RETURN(t->name, expect_name());
        t->kids.push_back(std::move(e));
        if (is_op("(")) {
          R1_RETURN_IF_ERROR(call_args(*t));
        } else if (starts_test_argument()) {
          R1_ASSIGN_OR_RETURN(expr_ptr arg, primary());
          R1_ASSIGN_OR_RETURN(arg, postfix(std::move(arg)));
          t->kids.push_back(std::move(arg));
        }
        R1_ASSIGN_OR_RETURN(e, sealed(std::move(t)));
      } else if (is_op("(")) {
        R1_ASSIGN_OR_RETURN(e, call(std::move(e)));
      } else {
        return e;
      }
    }
  }

  std::vector<token> toks_;
  std::size_t pos_ = 0;
  int line_;
  std::size_t max_depth_;
  std::size_t depth_ = 0;
};

class template_parser {
 public:
  template_parser(std::vector<segment> segs, const options& opts) : segs_(std::move(segs)), opts_(opts) {}

  result<body> parse_root() {
    std::string ended;
    R1_ASSIGN_OR_RETURN(body b, parse_body({}, &ended));
    return b;
  }

 private:
  status error(int line, const std::string& msg) const {
    return invalid_argument("template line " + std::to_string(line) + ": " + msg);
  }

  // Parses statements until a block tag whose keyword is in `until` (its
  // parser is left in term_ for the caller) or the end of the template.
  result<body> parse_body(const std::set<std::string>& until, std::string* ended) {
    if (++depth_ > opts_.max_depth) return resource_exhausted("template: blocks nested too deeply");
    body out;
    while (si_ < segs_.size()) {
      const segment& seg = segs_[si_++];
      if (seg.kind == segment_kind::text) {
        auto s = std::make_unique<stmt>();
        s->kind = stmt_kind::text;
        s->line = seg.line;
        s->text = seg.content;
        out.push_back(std::move(s));
        continue;
      }
      R1_ASSIGN_OR_RETURN(std::vector<token> toks, lex_expression(seg.content, seg.line));
      auto p = std::make_unique<expr_parser>(std::move(toks), seg.line, opts_.max_depth);
      if (seg.kind == segment_kind::variable) {
        auto s = std::make_unique<stmt>();
        s->kind = stmt_kind::output;
        s->line = seg.line;
        R1_ASSIGN_OR_RETURN(s->e, p->expression());
        R1_RETURN_IF_ERROR(p->expect_end());
        out.push_back(std::move(s));
        continue;
      }
      if (p->peek().kind != token_kind::name) return error(seg.line, "expected a tag name");
      const std::string keyword = p->next().text;
      if (until.count(keyword)) {
        *ended = keyword;
        term_ = std::move(p);
        --depth_;
        return out;
      }
      R1_ASSIGN_OR_RETURN(stmt_ptr s, parse_statement(keyword, *p, seg.line));
      out.push_back(std::move(s));
    }
    if (!until.empty()) {
      return invalid_argument("template: unexpected end of template, expected one of: " + join(until));
    }
    --depth_;
    *ended = "";
    return out;
  }

  static std::string join(const std::set<std::string>& words) {
    std::string s;
    for (const auto& w : words) s += (s.empty() ? "" : ", ") + w;
    return s;
  }

  result<stmt_ptr> parse_statement(const std::string& keyword, expr_parser& p, int line) {
    auto s = std::make_unique<stmt>();
    s->line = line;
    if (keyword == "if") return parse_if(std::move(s), p);
    if (keyword == "for") return parse_for(std::move(s), p);
    if (keyword == "set") return parse_set(std::move(s), p);
    if (keyword == "macro") return parse_macro(std::move(s), p);
    if (keyword == "break" || keyword == "continue") {
      s->kind = keyword == "break" ? stmt_kind::break_ : stmt_kind::continue_;
      R1_RETURN_IF_ERROR(p.expect_end());
      return s;
    }
    if (keyword == "generation") {
      s->kind = stmt_kind::scope;
      std::string ended;
      R1_ASSIGN_OR_RETURN(s->main, parse_body({"endgeneration"}, &ended));
      return s;
    }
    return error(line, "unsupported tag '" + keyword + "'");
  }

  result<stmt_ptr> parse_if(stmt_ptr s, expr_parser& p) {
    s->kind = stmt_kind::if_;
    R1_ASSIGN_OR_RETURN(expr_ptr cond, p.expression());
    R1_RETURN_IF_ERROR(p.expect_end());
    while (true) {
      std::string ended;
      R1_ASSIGN_OR_RETURN(body b, parse_body({"elif", "else", "endif"}, &ended));
      s->branches.emplace_back(std::move(cond), std::move(b));
      if (ended == "endif") return s;
      if (ended == "else") {
        R1_RETURN_IF_ERROR(term_->expect_end());
        R1_ASSIGN_OR_RETURN(body alt, parse_body({"endif"}, &ended));
        s->branches.emplace_back(nullptr, std::move(alt));
        return s;
      }
      auto elif = std::move(term_);
      R1_ASSIGN_OR_RETURN(cond, elif->expression());
      R1_RETURN_IF_ERROR(elif->expect_end());
    }
  }

  result<stmt_ptr> parse_for(stmt_ptr s, expr_parser& p) {
    s->kind = stmt_kind::for_;
    const bool paren = p.is_op("(");
    if (paren) p.next();
    while (true) {
      R1_ASSIGN_OR_RETURN(std::string target, p.expect_name());
      s->targets.push_back(target);
      if (!p.is_op(",")) break;
      p.next();
    }
    if (paren) R1_RETURN_IF_ERROR(p.expect_op(")"));
    if (!p.is_name("in")) return p.error("expected 'in' in for loop");
    p.next();
    R1_ASSIGN_OR_RETURN(s->e, p.expression_no_cond_if());
    if (p.is_name("if")) {
      p.next();
      R1_ASSIGN_OR_RETURN(s->loop_filter, p.expression());
    }
    if (p.is_name("recursive")) return p.error("recursive loops are not supported");
    R1_RETURN_IF_ERROR(p.expect_end());
    std::string ended;
    R1_ASSIGN_OR_RETURN(s->main, parse_body({"else", "endfor"}, &ended));
    if (ended == "else") {
      R1_RETURN_IF_ERROR(term_->expect_end());
      R1_ASSIGN_OR_RETURN(s->alt, parse_body({"endfor"}, &ended));
    }
    return s;
  }

  result<stmt_ptr> parse_set(stmt_ptr s, expr_parser& p) {
    R1_ASSIGN_OR_RETURN(std::string first, p.expect_name());
    s->targets.push_back(first);
    if (p.is_op(".")) {
      p.next();
      R1_ASSIGN_OR_RETURN(std::string attr, p.expect_name());
      s->targets.push_back(attr);
      s->attr_target = true;
    } else {
      while (p.is_op(",")) {
        p.next();
        R1_ASSIGN_OR_RETURN(std::string more, p.expect_name());
        s->targets.push_back(more);
      }
    }
    if (p.is_op("=")) {
      p.next();
      s->kind = stmt_kind::set;
      R1_ASSIGN_OR_RETURN(s->e, p.expression());
      R1_RETURN_IF_ERROR(p.expect_end());
      return s;
    }
    if (s->targets.size() != 1 || s->attr_target) return p.error("block set takes a single name");
    R1_RETURN_IF_ERROR(p.expect_end());
    s->kind = stmt_kind::set_block;
    std::string ended;
    R1_ASSIGN_OR_RETURN(s->main, parse_body({"endset"}, &ended));
    return s;
  }

  result<stmt_ptr> parse_macro(stmt_ptr s, expr_parser& p) {
    s->kind = stmt_kind::macro;
    R1_ASSIGN_OR_RETURN(s->name, p.expect_name());
    R1_RETURN_IF_ERROR(p.expect_op("("));
    while (!p.is_op(")")) {
      R1_ASSIGN_OR_RETURN(std::string param, p.expect_name());
      s->params.push_back(param);
      if (p.is_op("=")) {
        p.next();
        R1_ASSIGN_OR_RETURN(expr_ptr def, p.expression());
        s->defaults.push_back(std::move(def));
      } else {
        s->defaults.push_back(nullptr);
      }
      if (!p.is_op(",")) break;
      p.next();
    }
    R1_RETURN_IF_ERROR(p.expect_op(")"));
    R1_RETURN_IF_ERROR(p.expect_end());
    std::string ended;
    R1_ASSIGN_OR_RETURN(s->main, parse_body({"endmacro"}, &ended));
    return s;
  }

  std::vector<segment> segs_;
  options opts_;
  std::size_t si_ = 0;
  std::size_t depth_ = 0;
  std::unique_ptr<expr_parser> term_;
};

}  // namespace

result<std::shared_ptr<program>> parse_program(std::string_view source, const options& opts) {
  R1_ASSIGN_OR_RETURN(std::vector<segment> segs, lex_template(source, opts));
  template_parser parser(std::move(segs), opts);
  auto prog = std::make_shared<program>();
  prog->opts = opts;
  R1_ASSIGN_OR_RETURN(prog->root, parser.parse_root());
  return prog;
}

}  // namespace r1::engine::jinja::detail
