package phonemigratetest

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// The subset of Lucene query syntax GET /api/v2/logs accepts in q:
//
//	type:fn                         exact (case-insensitive) match
//	type:"gd_send_sms"              quoted: the same, spaces allowed
//	type:gd_send_*                  trailing * matches a prefix
//	type:("fn" OR "gd_send_sms_failure")
//	date:[2026-01-01T00:00:00Z TO *]  inclusive range, {} exclusive, * open
//	details.to:"+15550001"          dotted paths reach nested fields
//	a AND b, a OR b, NOT a, -a, (a OR b) AND c; juxtaposition means AND
//
// Ranges compare as times when both ends (or the field) are dates, else as
// strings.

type logMatcher func(LogEvent) bool

var errQuery = errors.New("invalid query")

type luceneParser struct {
	s   string
	pos int
}

func parseLucene(q string) (logMatcher, error) {
	if strings.TrimSpace(q) == "" {
		return func(LogEvent) bool { return true }, nil
	}
	p := &luceneParser{s: q}
	m, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.s) {
		return nil, fmt.Errorf("%w: unexpected %q at %d", errQuery, p.s[p.pos:], p.pos)
	}
	return m, nil
}

func (p *luceneParser) skipSpace() {
	for p.pos < len(p.s) && unicode.IsSpace(rune(p.s[p.pos])) {
		p.pos++
	}
}

// keyword consumes kw (AND, OR, NOT, TO) followed by a space or "(".
func (p *luceneParser) keyword(kw string) bool {
	p.skipSpace()
	if !strings.HasPrefix(p.s[p.pos:], kw) {
		return false
	}
	rest := p.s[p.pos+len(kw):]
	if rest != "" && !unicode.IsSpace(rune(rest[0])) && rest[0] != '(' {
		return false
	}
	p.pos += len(kw)
	return true
}

func (p *luceneParser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return 0
	}
	return p.s[p.pos]
}

func (p *luceneParser) orExpr() (logMatcher, error) {
	left, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		right, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(e LogEvent) bool { return l(e) || right(e) }
	}
	return left, nil
}

func (p *luceneParser) andExpr() (logMatcher, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		save := p.pos
		if p.keyword("OR") {
			p.pos = save
			return left, nil
		}
		p.keyword("AND")
		if c := p.peek(); c == 0 || c == ')' {
			return left, nil
		}
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(e LogEvent) bool { return l(e) && right(e) }
	}
}

func (p *luceneParser) unary() (logMatcher, error) {
	neg := false
	if p.keyword("NOT") {
		neg = true
	} else if p.peek() == '-' {
		p.pos++
		neg = true
	}
	m, err := p.primary()
	if err != nil {
		return nil, err
	}
	if neg {
		return func(e LogEvent) bool { return !m(e) }, nil
	}
	return m, nil
}

func (p *luceneParser) primary() (logMatcher, error) {
	if p.peek() == '(' {
		p.pos++
		m, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		if p.peek() != ')' {
			return nil, fmt.Errorf("%w: missing )", errQuery)
		}
		p.pos++
		return m, nil
	}
	start := p.pos
	for p.pos < len(p.s) && (isFieldChar(p.s[p.pos])) {
		p.pos++
	}
	field := p.s[start:p.pos]
	if field == "" || p.pos >= len(p.s) || p.s[p.pos] != ':' {
		return nil, fmt.Errorf("%w: expected field:value at %d", errQuery, start)
	}
	p.pos++
	return p.value(field)
}

func isFieldChar(c byte) bool {
	return c == '_' || c == '.' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// value parses what follows "field:".
func (p *luceneParser) value(field string) (logMatcher, error) {
	switch p.peek() {
	case '(':
		p.pos++
		var alts []logMatcher
		for {
			m, err := p.value(field)
			if err != nil {
				return nil, err
			}
			alts = append(alts, m)
			p.keyword("OR")
			if p.peek() == ')' {
				p.pos++
				break
			}
			if p.peek() == 0 {
				return nil, fmt.Errorf("%w: missing )", errQuery)
			}
		}
		return func(e LogEvent) bool {
			for _, m := range alts {
				if m(e) {
					return true
				}
			}
			return false
		}, nil
	case '[', '{':
		return p.rangeValue(field)
	case '"':
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		return func(e LogEvent) bool {
			v, ok := lookup(e, field)
			return ok && strings.EqualFold(v, s)
		}, nil
	case 0:
		return nil, fmt.Errorf("%w: %s has no value", errQuery, field)
	}
	s := p.bare()
	if s == "" {
		return nil, fmt.Errorf("%w: %s has no value", errQuery, field)
	}
	if prefix, ok := strings.CutSuffix(s, "*"); ok {
		return func(e LogEvent) bool {
			v, ok := lookup(e, field)
			return ok && strings.HasPrefix(strings.ToLower(v), strings.ToLower(prefix))
		}, nil
	}
	return func(e LogEvent) bool {
		v, ok := lookup(e, field)
		return ok && strings.EqualFold(v, s)
	}, nil
}

func (p *luceneParser) quoted() (string, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '\\':
			if p.pos < len(p.s) {
				b.WriteByte(p.s[p.pos])
				p.pos++
			}
		case '"':
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("%w: unterminated quote", errQuery)
}

func (p *luceneParser) bare() string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if unicode.IsSpace(rune(c)) || c == ')' || c == '(' || c == ']' || c == '}' {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *luceneParser) rangeValue(field string) (logMatcher, error) {
	incLo := p.s[p.pos] == '['
	p.pos++
	p.skipSpace()
	lo := p.bare()
	if !p.keyword("TO") {
		return nil, fmt.Errorf("%w: range of %s needs TO", errQuery, field)
	}
	p.skipSpace()
	hi := p.bare()
	if p.pos >= len(p.s) || (p.s[p.pos] != ']' && p.s[p.pos] != '}') {
		return nil, fmt.Errorf("%w: unterminated range", errQuery)
	}
	incHi := p.s[p.pos] == ']'
	p.pos++
	if lo == "" || hi == "" {
		return nil, fmt.Errorf("%w: empty range bound", errQuery)
	}
	loT, loTime := parseLogTime(lo)
	hiT, hiTime := parseLogTime(hi)
	if (lo != "*" && !loTime) || (hi != "*" && !hiTime) {
		if field == "date" {
			return nil, fmt.Errorf("%w: date range bounds must be ISO 8601 dates or *", errQuery)
		}
		// String range.
		return func(e LogEvent) bool {
			v, ok := lookup(e, field)
			if !ok {
				return false
			}
			if lo != "*" && (v < lo || (!incLo && v == lo)) {
				return false
			}
			if hi != "*" && (v > hi || (!incHi && v == hi)) {
				return false
			}
			return true
		}, nil
	}
	return func(e LogEvent) bool {
		v, ok := lookup(e, field)
		if !ok {
			return false
		}
		t, ok := parseLogTime(v)
		if !ok {
			return false
		}
		if lo != "*" && (t.Before(loT) || (!incLo && t.Equal(loT))) {
			return false
		}
		if hi != "*" && (t.After(hiT) || (!incHi && t.Equal(hiT))) {
			return false
		}
		return true
	}, nil
}

func parseLogTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// lookup returns the field (a dotted path) of e as a string.
func lookup(e LogEvent, path string) (string, bool) {
	var cur any = map[string]any(e)
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[part]; !ok {
			return "", false
		}
	}
	switch v := cur.(type) {
	case string:
		return v, true
	case nil, map[string]any, []any:
		return "", false
	default:
		return fmt.Sprint(v), true
	}
}
