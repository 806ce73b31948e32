package zohosim

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// COQL subset (reference §6):
//
//	select f1, f2 from {module} [where …] [order by f [asc|desc], …]
//	       [limit n | limit offset, n] [offset m]
//
// Keywords are case-insensitive. Comparators: = != <> > < >= <=, like and
// not like ('x%', '%x', '%x%'; % anywhere), in (…) and not in (…) (at most
// 100 values), is null, is not null, between x and y; conditions combine with
// and / or, pairwise in parentheses when there are more than two
// (((A and B) or C)), at most 25 of them. String
// literals are single-quoted; a quote inside is written \' or ''. Lookups may
// be compared by id (Owner = '…') or through dot notation: Owner.id,
// Owner.name, Owner.email, and for a lookup to a module its id or any of
// that module's plain fields (Account_Name.id, Account_Name.Industry,
// Parent_Account.Account_Name: a join). A lookup to several modules
// (What_Id, Parent_Id) takes only .id. The module name in FROM is
// case-insensitive.
//
// Choices where the reference is silent: text comparisons are
// case-insensitive; a null field fails every comparison except is null (SQL
// semantics); nulls sort first ascending; ties keep ascending id; result rows
// always carry id; a selected lookup comes back as {"id"} ({"id","name"} for
// owner lookups) and a dotted column under its dotted name. Aggregates,
// GROUP BY and custom views in FROM are not supported (INVALID_QUERY).

const (
	coqlDefaultLimit = 200
	coqlMaxLimit     = 2000
	coqlMaxRows      = 100_000
	coqlMaxConds     = 25
	coqlMaxIn        = 100
	coqlMaxOrderBy   = 10
	coqlSyntaxMsg    = "error occured while parsing the query"
)

// coqlQuery is a parsed COQL query.
type coqlQuery struct {
	module  *Module // FROM
	join    *coqlJoin
	columns []coqlColumn
	where   coqlExpr // nil: every record
	order   []coqlOrder
	lim     int
	offset  int
	minID   int64 // records with a smaller id cannot match (0: no bound)
}

type coqlOrder struct {
	col  coqlColumn
	desc bool
}

// coqlKind is how a column's values compare.
type coqlKind int

const (
	ckText  coqlKind = iota // case-insensitive strings
	ckPick                  // picklist: like text
	ckInt                   // ids, integers, bigints (and lookups by id)
	ckFloat                 // currency, decimal
	ckTime                  // datetimes
	ckDate                  // dates
	ckBool
)

// coqlColumn is a resolved column: a field, or a lookup's sub-field.
type coqlColumn struct {
	name   string // as written: "Account_Name", "Owner.id"
	field  *Field
	sub    string  // "" or the lookup sub-field: id, name, email, or a field of target
	target *Module // the module a dotted lookup column points at (nil for owners)
	kind   coqlKind
	lookup bool      // a bare lookup column (compared by id)
	join   *coqlJoin // reads the target record of a joined column
}

// coqlJoin reads the records a query's joined columns need, once each.
type coqlJoin struct {
	fetch func(module, id string) (Record, bool) // nil: joined columns are null
	cache map[string]Record
}

func (j *coqlJoin) get(module, id string) Record {
	if j == nil || j.fetch == nil {
		return nil
	}
	if r, ok := j.cache[id]; ok {
		return r
	}
	r, _ := j.fetch(module, id)
	if j.cache == nil {
		j.cache = map[string]Record{}
	}
	j.cache[id] = r
	return r
}

// value returns the column's comparable raw value in r (nil when null).
func (c coqlColumn) value(r Record) any {
	v := r[c.field.APIName]
	if c.sub == "" && !c.lookup {
		return v
	}
	m := lookupMap(v)
	if m == nil {
		return nil
	}
	switch {
	case c.sub == "" || c.sub == "id":
		return m["id"]
	case c.target == nil: // owner: name or email
		return m[c.sub]
	case c.sub == c.target.NameField:
		return m["name"]
	}
	id, _ := m["id"].(string)
	return c.join.get(c.target.APIName, id)[c.sub]
}

// project returns the column's value as a COQL result row carries it.
func (c coqlColumn) project(r Record) any {
	if c.sub != "" {
		return c.value(r)
	}
	v := r[c.field.APIName]
	if c.field.Type != TypeLookup && c.field.Type != TypeOwnerLookup {
		return v
	}
	m := lookupMap(v)
	if m == nil {
		return nil
	}
	out := map[string]any{"id": m["id"]}
	if c.field.Type == TypeOwnerLookup {
		out["name"] = m["name"]
	}
	return out
}

func lookupMap(v any) map[string]any {
	switch m := v.(type) {
	case Record:
		return m
	case map[string]any:
		return m
	}
	return nil
}

func kindOfField(t FieldType) coqlKind {
	switch t {
	case TypeID, TypeInteger, TypeBigint, TypeLookup, TypeOwnerLookup:
		return ckInt
	case TypeCurrency, TypeDecimal, TypeDouble, TypePercent:
		return ckFloat
	case TypeDatetime:
		return ckTime
	case TypeDate:
		return ckDate
	case TypeBoolean:
		return ckBool
	case TypePicklist:
		return ckPick
	}
	return ckText
}

func coqlErr(code, message string, details map[string]any) *zohoError {
	e := newError(code, message, details)
	return &e
}

func unsupportedColumn(name string) *zohoError {
	return coqlErr("INVALID_QUERY", "unsupported column", map[string]any{"column_name": name})
}

// resolveColumn resolves a (possibly dotted) column name of module m.
func resolveColumn(m *Module, name string) (coqlColumn, *zohoError) {
	base, sub, dotted := strings.Cut(name, ".")
	f, ok := m.Field(base)
	if !ok {
		return coqlColumn{}, unsupportedColumn(name)
	}
	c := coqlColumn{name: name, field: f, kind: kindOfField(f.Type)}
	if f.Type == TypeMultiSelect {
		c.kind = ckText
	}
	if !dotted {
		c.lookup = f.isLookup()
		return c, nil
	}
	if !f.isLookup() {
		return coqlColumn{}, unsupportedColumn(name)
	}
	switch {
	case sub == "id":
		c.kind = ckInt
	case f.Type == TypeOwnerLookup && (sub == "name" || sub == "email"):
		c.kind = ckText
	case f.Type == TypeLookup && f.Lookup != "":
		c.target = registry[f.Lookup]
		tf, ok := c.target.Field(sub)
		if !ok || tf.isLookup() || sub == "id" {
			return coqlColumn{}, unsupportedColumn(name)
		}
		c.kind = kindOfField(tf.Type)
		if tf.Type == TypeMultiSelect {
			c.kind = ckText
		}
	default:
		return coqlColumn{}, unsupportedColumn(name)
	}
	c.sub = sub
	return c, nil
}

// resolveOnce resolves column name like resolveColumn, and answers
// DUPLICATE_DATA with message dup when seen already holds name (a clause
// names each column once); otherwise it adds name to seen.
func (p *coqlParser) resolveOnce(name string, seen map[string]bool, dup string) (coqlColumn, *zohoError) {
	col, zerr := p.resolve(name)
	if zerr != nil {
		return col, zerr
	}
	if seen[name] {
		return col, coqlErr("DUPLICATE_DATA", dup, map[string]any{"column_name": name})
	}
	seen[name] = true
	return col, nil
}

// ---- lexer ----

type coqlTokKind int

const (
	tokEOF coqlTokKind = iota
	tokIdent
	tokNumber
	tokString
	tokOp // = != <> < > <= >=
	tokComma
	tokLParen
	tokRParen
	tokStar
	tokSemicolon
)

type coqlTok struct {
	kind coqlTokKind
	text string // identifiers and operators as written; strings unescaped
	pos  int    // byte offset in the query
}

func (t coqlTok) is(kw string) bool { return t.kind == tokIdent && strings.EqualFold(t.text, kw) }

func (t coqlTok) near() string {
	if t.kind == tokEOF {
		return "<end of query>"
	}
	if t.kind == tokString {
		return "'" + t.text + "'"
	}
	return t.text
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') || c == '.' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func syntaxErrorAt(q string, pos int, near string) *zohoError {
	return coqlErr("SYNTAX_ERROR", coqlSyntaxMsg, map[string]any{"line": 1, "column": pos + 1, "near": near})
}

// punctKind is the token kind of each one-character token that stands for
// itself; tokEOF (the zero kind) for every other byte.
var punctKind = [256]coqlTokKind{',': tokComma, '(': tokLParen, ')': tokRParen, '*': tokStar, ';': tokSemicolon}

func lexCOQL(q string) ([]coqlTok, *zohoError) {
	var toks []coqlTok
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(q) && isIdentChar(q[j]) {
				j++
			}
			toks = append(toks, coqlTok{kind: tokIdent, text: q[i:j], pos: i})
			i = j
		case isDigit(c) || (c == '-' && i+1 < len(q) && isDigit(q[i+1]) && !valueBefore(toks)):
			j := i + 1
			for j < len(q) && (isDigit(q[j]) || q[j] == '.') {
				j++
			}
			if j < len(q) && isIdentStart(q[j]) {
				return nil, syntaxErrorAt(q, i, q[i:min(j+1, len(q))])
			}
			toks = append(toks, coqlTok{kind: tokNumber, text: q[i:j], pos: i})
			i = j
		case c == '\'':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(q) {
				switch {
				case q[j] == '\\' && j+1 < len(q) && (q[j+1] == '\'' || q[j+1] == '\\'):
					b.WriteByte(q[j+1])
					j += 2
				case q[j] == '\'' && j+1 < len(q) && q[j+1] == '\'':
					b.WriteByte('\'')
					j += 2
				case q[j] == '\'':
					closed = true
					j++
				default:
					b.WriteByte(q[j])
					j++
				}
				if closed {
					break
				}
			}
			if !closed {
				return nil, coqlErr("SYNTAX_ERROR", coqlSyntaxMsg, map[string]any{"line": 1, "column": i + 1, "near": q[i:min(i+20, len(q))], "reason": "unterminated string literal"})
			}
			toks = append(toks, coqlTok{kind: tokString, text: b.String(), pos: i})
			i = j
		case c == '=':
			toks = append(toks, coqlTok{kind: tokOp, text: "=", pos: i})
			i++
		case c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(q) && (q[j] == '=' || (c == '<' && q[j] == '>')) {
				j++
			}
			op := q[i:j]
			if op == "!" {
				return nil, syntaxErrorAt(q, i, op)
			}
			if op == "<>" {
				op = "!="
			}
			toks = append(toks, coqlTok{kind: tokOp, text: op, pos: i})
			i = j
		case punctKind[c] != tokEOF:
			toks = append(toks, coqlTok{kind: punctKind[c], text: q[i : i+1], pos: i})
			i++
		default:
			end := i + 1
			for end < len(q) && q[end]&0xC0 == 0x80 { // whole UTF-8 sequence
				end++
			}
			return nil, syntaxErrorAt(q, i, q[i:end])
		}
	}
	toks = append(toks, coqlTok{kind: tokEOF, pos: len(q)})
	return toks, nil
}

// valueBefore reports whether the previous token ends a value, so that a
// following '-' is an operator (which COQL lacks) rather than a sign.
func valueBefore(toks []coqlTok) bool {
	if len(toks) == 0 {
		return false
	}
	switch toks[len(toks)-1].kind {
	case tokNumber, tokString, tokRParen:
		return true
	case tokIdent:
		t := toks[len(toks)-1]
		return !(t.is("and") || t.is("or") || t.is("in") || t.is("between") || t.is("limit") || t.is("offset"))
	}
	return false
}

// ---- parser ----

type coqlParser struct {
	q     string
	toks  []coqlTok
	i     int
	conds int
	m     *Module   // FROM
	join  *coqlJoin // the query's, given to its joined columns
}

// resolve resolves a column of the query's module.
func (p *coqlParser) resolve(name string) (coqlColumn, *zohoError) {
	col, zerr := resolveColumn(p.m, name)
	col.join = p.join
	return col, zerr
}

func (p *coqlParser) peek() coqlTok { return p.toks[p.i] }

func (p *coqlParser) next() coqlTok {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *coqlParser) syntax(t coqlTok) *zohoError { return syntaxErrorAt(p.q, t.pos, t.near()) }

func (p *coqlParser) expectKeyword(kw string) *zohoError {
	t := p.next()
	if !t.is(kw) {
		return p.syntax(t)
	}
	return nil
}

// parseCOQL parses a select_query. Its errors are Zoho's HTTP 400 envelopes.
func parseCOQL(q string) (*coqlQuery, *zohoError) {
	toks, zerr := lexCOQL(q)
	if zerr != nil {
		return nil, zerr
	}
	query := &coqlQuery{lim: coqlDefaultLimit, join: &coqlJoin{}}
	p := &coqlParser{q: q, toks: toks, join: query.join}
	if zerr := p.expectKeyword("select"); zerr != nil {
		return nil, zerr
	}
	// The columns are resolved once FROM names the module.
	var names []string
	for {
		t := p.next()
		switch {
		case t.kind == tokStar:
			return nil, p.syntax(t)
		case t.kind != tokIdent || isCOQLKeyword(t.text):
			return nil, p.syntax(t)
		}
		if p.peek().kind == tokLParen {
			return nil, coqlErr("INVALID_QUERY", "Invalid query formed",
				map[string]any{"reason": "aggregate functions are not supported by the emulator", "near": t.text})
		}
		names = append(names, t.text)
		if p.peek().kind != tokComma {
			break
		}
		p.next()
	}
	if zerr := p.expectKeyword("from"); zerr != nil {
		return nil, zerr
	}
	mod := p.next()
	if mod.kind != tokIdent && mod.kind != tokNumber {
		return nil, p.syntax(mod)
	}
	for _, m := range moduleDefs {
		if m.hasRecords() && strings.EqualFold(mod.text, m.APIName) {
			query.module = m
		}
	}
	if query.module == nil {
		return nil, coqlErr("INVALID_MODULE", "the module name given seems to be invalid", map[string]any{"module": mod.text})
	}
	p.m = query.module
	seen := map[string]bool{}
	for _, name := range names {
		col, zerr := p.resolveOnce(name, seen, "duplicate column found")
		if zerr != nil {
			return nil, zerr
		}
		query.columns = append(query.columns, col)
	}
	if p.peek().is("where") {
		p.next()
		e, zerr := p.parseOr()
		if zerr != nil {
			return nil, zerr
		}
		query.where = e
		query.minID = minIDBound(e)
	}
	if p.peek().is("group") {
		return nil, coqlErr("INVALID_QUERY", "Invalid query formed",
			map[string]any{"reason": "group by is not supported by the emulator", "clause": "group by"})
	}
	if p.peek().is("order") {
		p.next()
		if zerr := p.expectKeyword("by"); zerr != nil {
			return nil, zerr
		}
		seenOrder := map[string]bool{}
		for {
			t := p.next()
			if t.kind != tokIdent || isCOQLKeyword(t.text) {
				return nil, p.syntax(t)
			}
			col, zerr := p.resolveOnce(t.text, seenOrder, "duplicate order by field found")
			if zerr != nil {
				return nil, zerr
			}
			o := coqlOrder{col: col}
			if p.peek().is("asc") {
				p.next()
			} else if p.peek().is("desc") {
				p.next()
				o.desc = true
			}
			query.order = append(query.order, o)
			if len(query.order) > coqlMaxOrderBy {
				return nil, coqlErr("LIMIT_EXCEEDED", "maximum number of order by fields exceeded", map[string]any{"limit": coqlMaxOrderBy, "clause": "order by"})
			}
			if p.peek().kind != tokComma {
				break
			}
			p.next()
		}
	}
	if p.peek().is("limit") {
		p.next()
		first, zerr := p.number("limit")
		if zerr != nil {
			return nil, zerr
		}
		if p.peek().kind == tokComma {
			p.next()
			n, zerr := p.number("limit")
			if zerr != nil {
				return nil, zerr
			}
			query.offset, query.lim = first, n
			if query.offset < 0 {
				return nil, coqlErr("INVALID_QUERY", "offset should not be negative", map[string]any{"offset": query.offset})
			}
			if p.peek().is("offset") {
				return nil, p.syntax(p.peek())
			}
		} else {
			query.lim = first
		}
		if query.lim <= 0 {
			return nil, coqlErr("INVALID_DATA", "limit should be greater than 0", map[string]any{"limit": query.lim})
		}
	}
	if p.peek().is("offset") {
		p.next()
		n, zerr := p.number("offset")
		if zerr != nil {
			return nil, zerr
		}
		if n < 0 {
			return nil, coqlErr("INVALID_QUERY", "offset should not be negative", map[string]any{"offset": n})
		}
		query.offset = n
	}
	if p.peek().kind == tokSemicolon {
		p.next()
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.syntax(t)
	}
	if query.lim > coqlMaxLimit {
		return nil, coqlErr("LIMIT_EXCEEDED", "the limit should not exceed 2000", map[string]any{"limit": coqlMaxLimit, "clause": "limit"})
	}
	if query.offset+query.lim > coqlMaxRows {
		return nil, coqlErr("LIMIT_EXCEEDED", "offset and limit together should not exceed 100000; paginate with id > last id",
			map[string]any{"limit": coqlMaxRows, "clause": "offset"})
	}
	return query, nil
}

// number reads an integer for LIMIT or OFFSET; anything else is
// INVALID_QUERY {clause: value}.
func (p *coqlParser) number(clause string) (int, *zohoError) {
	t := p.next()
	if t.kind == tokEOF {
		return 0, p.syntax(t)
	}
	n, err := strconv.Atoi(t.text)
	if t.kind != tokNumber || err != nil {
		if t.kind == tokNumber && strings.IndexByte(t.text, '.') < 0 {
			// Too many digits: beyond any cap.
			return coqlMaxRows + 1, nil
		}
		return 0, coqlErr("INVALID_QUERY", "Invalid query formed", map[string]any{clause: t.text})
	}
	return n, nil
}

var coqlKeywords = map[string]bool{"select": true, "from": true, "where": true, "order": true, "by": true,
	"asc": true, "desc": true, "limit": true, "offset": true, "and": true, "or": true, "not": true,
	"like": true, "in": true, "is": true, "null": true, "between": true, "group": true}

func isCOQLKeyword(s string) bool { return coqlKeywords[strings.ToLower(s)] }

// coqlExpr is a WHERE condition.
type coqlExpr interface{ eval(r Record) bool }

type coqlAnd []coqlExpr

func (a coqlAnd) eval(r Record) bool {
	for _, e := range a {
		if !e.eval(r) {
			return false
		}
	}
	return true
}

type coqlOr []coqlExpr

func (o coqlOr) eval(r Record) bool {
	for _, e := range o {
		if e.eval(r) {
			return true
		}
	}
	return false
}

// parseOr parses one level of the WHERE clause: a condition, or two joined
// by and / or. Zoho wants more than two conditions parenthesised pairwise,
// ((A and B) and C), so a second joiner at the same level is a syntax error.
func (p *coqlParser) parseOr() (coqlExpr, *zohoError) {
	left, zerr := p.parsePrimary()
	if zerr != nil {
		return nil, zerr
	}
	op := p.peek()
	if !op.is("and") && !op.is("or") {
		return left, nil
	}
	p.next()
	right, zerr := p.parsePrimary()
	if zerr != nil {
		return nil, zerr
	}
	if t := p.peek(); t.is("and") || t.is("or") {
		return nil, coqlErr("SYNTAX_ERROR", coqlSyntaxMsg, map[string]any{"line": 1, "column": t.pos + 1, "near": t.text,
			"reason": "more than two conditions must be parenthesised pairwise: ((A and B) and C)"})
	}
	if op.is("and") {
		return coqlAnd{left, right}, nil
	}
	return coqlOr{left, right}, nil
}

func (p *coqlParser) parsePrimary() (coqlExpr, *zohoError) {
	if p.peek().kind == tokLParen {
		p.next()
		e, zerr := p.parseOr()
		if zerr != nil {
			return nil, zerr
		}
		if t := p.next(); t.kind != tokRParen {
			return nil, p.syntax(t)
		}
		return e, nil
	}
	return p.parseCondition()
}

// coqlCond is one comparison.
type coqlCond struct {
	col  coqlColumn
	op   string // = != > < >= <= like notlike in notin null notnull between
	vals []coqlValue
	like []string // like pattern split on %, lower-cased
}

// coqlValue is a literal converted to its column's kind.
type coqlValue struct {
	i int64
	f float64
	s string // lower-cased text
	t time.Time
	b bool
}

var coqlOpsByKind = map[coqlKind]string{
	ckText:  "= != like notlike in notin null notnull",
	ckPick:  "= != like notlike in notin null notnull",
	ckInt:   "= != > < >= <= between in notin null notnull",
	ckFloat: "= != > < >= <= between in notin null notnull",
	ckTime:  "= != > < >= <= between in notin null notnull",
	ckDate:  "= != > < >= <= between in notin null notnull",
	ckBool:  "= != null notnull",
}

const coqlLookupOps = "= != in notin null notnull"

// opName is how an operator is shown in error details.
var opName = map[string]string{"like": "like", "notlike": "not like", "in": "in", "notin": "not in",
	"null": "is null", "notnull": "is not null", "between": "between"}

func (p *coqlParser) parseCondition() (coqlExpr, *zohoError) {
	t := p.next()
	if t.kind != tokIdent || isCOQLKeyword(t.text) {
		return nil, p.syntax(t)
	}
	col, zerr := p.resolve(t.text)
	if zerr != nil {
		return nil, zerr
	}
	p.conds++
	if p.conds > coqlMaxConds {
		return nil, coqlErr("LIMIT_EXCEEDED", "maximum number of conditions in where clause exceeded",
			map[string]any{"limit": coqlMaxConds, "clause": "where"})
	}
	c := &coqlCond{col: col}
	opTok := p.next()
	switch {
	case opTok.kind == tokOp:
		c.op = opTok.text
	case opTok.is("is"):
		c.op = "null"
		if p.peek().is("not") {
			p.next()
			c.op = "notnull"
		}
		if nt := p.next(); !nt.is("null") {
			return nil, p.syntax(nt)
		}
	case opTok.is("not"):
		nt := p.next()
		switch {
		case nt.is("like"):
			c.op = "notlike"
		case nt.is("in"):
			c.op = "notin"
		default:
			return nil, p.syntax(nt)
		}
	case opTok.is("like"), opTok.is("in"), opTok.is("between"):
		c.op = strings.ToLower(opTok.text)
	default:
		return nil, p.syntax(opTok)
	}
	allowed := coqlOpsByKind[col.kind]
	if col.lookup {
		allowed = coqlLookupOps
	}
	if !containsWord(allowed, c.op) {
		name := opName[c.op]
		if name == "" {
			name = c.op
		}
		return nil, coqlErr("INVALID_QUERY", "Invalid query formed",
			map[string]any{"reason": "invalid operator found", "column_name": col.name, "operator": name})
	}
	switch c.op {
	case "null", "notnull":
		return c, nil
	case "in", "notin":
		if t := p.next(); t.kind != tokLParen {
			return nil, p.syntax(t)
		}
		for {
			v, zerr := p.literal(col)
			if zerr != nil {
				return nil, zerr
			}
			c.vals = append(c.vals, v)
			if len(c.vals) > coqlMaxIn {
				return nil, coqlErr("LIMIT_EXCEEDED", "maximum of 100 values allowed in the in clause",
					map[string]any{"limit": coqlMaxIn, "column_name": col.name, "operator": opName[c.op]})
			}
			t := p.next()
			if t.kind == tokRParen {
				break
			}
			if t.kind != tokComma {
				return nil, p.syntax(t)
			}
		}
	case "between":
		lo, zerr := p.literal(col)
		if zerr != nil {
			return nil, zerr
		}
		if zerr := p.expectKeyword("and"); zerr != nil {
			return nil, zerr
		}
		hi, zerr := p.literal(col)
		if zerr != nil {
			return nil, zerr
		}
		c.vals = []coqlValue{lo, hi}
	case "like", "notlike":
		t := p.next()
		if t.kind != tokString {
			return nil, p.syntax(t)
		}
		c.like = strings.Split(strings.ToLower(t.text), "%")
	default:
		v, zerr := p.literal(col)
		if zerr != nil {
			return nil, zerr
		}
		c.vals = []coqlValue{v}
	}
	return c, nil
}

func containsWord(list, w string) bool {
	for _, x := range strings.Fields(list) {
		if x == w {
			return true
		}
	}
	return false
}

// literal reads one value and converts it to the column's kind.
func (p *coqlParser) literal(col coqlColumn) (coqlValue, *zohoError) {
	t := p.next()
	if t.kind != tokString && t.kind != tokNumber && !t.is("true") && !t.is("false") {
		return coqlValue{}, p.syntax(t)
	}
	bad := func() (coqlValue, *zohoError) {
		expected := string(col.field.Type)
		switch {
		case col.sub == "id" || col.lookup:
			expected = string(TypeID)
		case col.target != nil:
			tf, _ := col.target.Field(col.sub)
			expected = string(tf.Type)
		case col.sub != "":
			expected = string(TypeText)
		}
		return coqlValue{}, coqlErr("INVALID_QUERY", "Invalid query formed", map[string]any{
			"reason": "the given value seems to be invalid for the column", "column_name": col.name,
			"expected_data_type": expected, "value": t.text})
	}
	isWord := t.kind == tokIdent
	var v coqlValue
	switch col.kind {
	case ckInt:
		if isWord {
			return bad()
		}
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return bad()
		}
		v.i = n
	case ckFloat:
		if isWord {
			return bad()
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil || f != f {
			return bad()
		}
		v.f = f
	case ckTime, ckDate:
		if t.kind != tokString {
			return bad()
		}
		layout := time.RFC3339
		if col.kind == ckDate {
			layout = time.DateOnly
		}
		tm, err := time.Parse(layout, t.text)
		if err != nil {
			return bad()
		}
		v.t = tm
	case ckBool:
		switch strings.ToLower(t.text) {
		case "true":
			v.b = true
		case "false":
		default:
			return bad()
		}
	default:
		if t.kind != tokString {
			return bad()
		}
		v.s = strings.ToLower(t.text)
	}
	return v, nil
}

// eval evaluates the condition (SQL null semantics).
func (c *coqlCond) eval(r Record) bool {
	raw := c.col.value(r)
	if c.op == "null" || c.op == "notnull" {
		null := raw == nil
		if s, ok := raw.(string); ok && s == "" {
			null = true
		}
		return null == (c.op == "null")
	}
	if raw == nil {
		return false
	}
	switch c.op {
	case "like", "notlike":
		s, ok := raw.(string)
		if !ok {
			return false
		}
		return likeMatch(strings.ToLower(s), c.like) == (c.op == "like")
	}
	cmp, ok := c.comparer(raw)
	if !ok {
		return false
	}
	switch c.op {
	case "=":
		return cmp(0) == 0
	case "!=":
		return cmp(0) != 0
	case ">":
		return cmp(0) > 0
	case "<":
		return cmp(0) < 0
	case ">=":
		return cmp(0) >= 0
	case "<=":
		return cmp(0) <= 0
	case "between":
		return cmp(0) >= 0 && cmp(1) <= 0
	case "in", "notin":
		hit := false
		for i := range c.vals {
			if cmp(i) == 0 {
				hit = true
				break
			}
		}
		return hit == (c.op == "in")
	}
	return false
}

// comparer returns a function comparing the record value with vals[i].
func (c *coqlCond) comparer(raw any) (func(i int) int, bool) {
	switch c.col.kind {
	case ckInt:
		n, ok := toInt(raw)
		return func(i int) int { return compareNum(n, c.vals[i].i) }, ok
	case ckFloat:
		f, ok := toFloat(raw)
		return func(i int) int { return compareNum(f, c.vals[i].f) }, ok
	case ckTime, ckDate:
		s, _ := raw.(string)
		layout := time.RFC3339
		if c.col.kind == ckDate {
			layout = time.DateOnly
		}
		tm, err := time.Parse(layout, s)
		return func(i int) int { return tm.Compare(c.vals[i].t) }, err == nil
	case ckBool:
		b, ok := raw.(bool)
		return func(i int) int {
			if b == c.vals[i].b {
				return 0
			}
			return 1
		}, ok
	default:
		s, ok := raw.(string)
		ls := strings.ToLower(s)
		return func(i int) int { return strings.Compare(ls, c.vals[i].s) }, ok
	}
}

// likeMatch matches s against a pattern split on '%'.
func likeMatch(s string, parts []string) bool {
	if len(parts) == 1 {
		return s == parts[0]
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

// minIDBound returns the smallest id a record matching e can have (0: no
// bound), from id conditions (>, >=, =, between, in) under and / or.
func minIDBound(e coqlExpr) int64 {
	switch x := e.(type) {
	case coqlAnd:
		var bound int64
		for _, part := range x {
			bound = max(bound, minIDBound(part))
		}
		return bound
	case coqlOr:
		bound := minIDBound(x[0])
		for _, part := range x[1:] {
			bound = min(bound, minIDBound(part))
		}
		return bound
	case *coqlCond:
		if x.col.field.APIName != "id" || x.col.sub != "" {
			return 0
		}
		switch x.op {
		case ">":
			if x.vals[0].i == 1<<63-1 {
				return x.vals[0].i
			}
			return max(0, x.vals[0].i+1)
		case ">=", "=", "between":
			return max(0, x.vals[0].i)
		case "in":
			bound := x.vals[0].i
			for _, v := range x.vals[1:] {
				bound = min(bound, v.i)
			}
			return max(0, bound)
		}
	}
	return 0
}

// ---- execution ----

// limit is the query's LIMIT (default 200), which decides its credit cost.
func (q *coqlQuery) limit() int { return q.lim }

// source returns an iterator over st's records in ascending id order that
// skips, without generating them, the records the WHERE clause's id lower
// bound (`id > X`, keyset pagination) rules out. Pass it to run.
func (q *coqlQuery) source(st *Store) func(yield func(Record) bool) {
	return func(yield func(Record) bool) {
		ids := st.IDs()
		start := 0
		if q.minID > 0 {
			start = sort.Search(len(ids), func(i int) bool {
				n, _ := ParseID(ids[i])
				return n >= q.minID
			})
		}
		for _, id := range ids[start:] {
			r, ok := st.Get(id)
			if ok && !yield(r) {
				return
			}
		}
	}
}

// run executes the query over each, which must yield records in ascending id
// order (Store.Each, or q.source(store) which is faster for keyset pages). It
// returns the page of projected rows and whether more rows follow it.
func (q *coqlQuery) run(each func(yield func(Record) bool)) (rows []Record, more bool, zerr *zohoError) {
	byID := len(q.order) == 0 || (len(q.order) == 1 && q.order[0].col.name == "id" && !q.order[0].desc)
	want := q.offset + q.lim
	var matches []Record
	skipped := 0
	each(func(r Record) bool {
		if q.where != nil && !q.where.eval(r) {
			return true
		}
		if byID {
			// Rows arrive in result order: keep only the page and one more.
			if skipped < q.offset {
				skipped++
				return true
			}
			matches = append(matches, r)
			return len(matches) <= q.lim
		}
		matches = append(matches, r)
		return true
	})
	if byID {
		more = len(matches) > q.lim
		if more {
			matches = matches[:q.lim]
		}
	} else {
		sort.SliceStable(matches, func(a, b int) bool { return q.less(matches[a], matches[b]) })
		more = len(matches) > want
		if q.offset >= len(matches) {
			matches = nil
		} else {
			matches = matches[q.offset:min(want, len(matches))]
		}
	}
	rows = make([]Record, 0, len(matches))
	for _, r := range matches {
		row := Record{"id": r["id"]}
		for _, c := range q.columns {
			row[c.name] = c.project(r)
		}
		rows = append(rows, row)
	}
	return rows, more, nil
}

// less orders two records by the ORDER BY list (nulls first ascending).
func (q *coqlQuery) less(a, b Record) bool {
	for _, o := range q.order {
		c := compareColumn(o.col, o.col.value(a), o.col.value(b))
		if c != 0 {
			if o.desc {
				return c > 0
			}
			return c < 0
		}
	}
	return false
}

func compareColumn(col coqlColumn, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch col.kind {
	case ckInt:
		x, _ := toInt(a)
		y, _ := toInt(b)
		return compareNum(x, y)
	case ckFloat:
		x, _ := toFloat(a)
		y, _ := toFloat(b)
		return compareNum(x, y)
	case ckTime:
		sa, _ := a.(string)
		sb, _ := b.(string)
		x, _ := time.Parse(time.RFC3339, sa)
		y, _ := time.Parse(time.RFC3339, sb)
		return x.Compare(y)
	case ckDate:
		sa, _ := a.(string)
		sb, _ := b.(string)
		return strings.Compare(sa, sb)
	case ckBool:
		x, _ := a.(bool)
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	sa, _ := a.(string)
	sb, _ := b.(string)
	return strings.Compare(strings.ToLower(sa), strings.ToLower(sb))
}
