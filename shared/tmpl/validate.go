package tmpl

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/render"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Problem is one thing wrong with content.
type Problem struct {
	Field   string `json:"field"`          // the content field, e.g. content.email.subject
	Line    int    `json:"line,omitempty"` // 1-based line in that field
	Message string `json:"message"`        // the reason, with a suggestion when there is one
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", p.Field, p.Line, p.Message)
	}
	return p.Field + ": " + p.Message
}

// Problems is a validation failure: every problem found, in source order.
// It is apperr.Invalid naming the first field.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

// Unwrap classifies the failure for the HTTP layer (400 naming the field).
func (ps Problems) Unwrap() error {
	field := ""
	if len(ps) > 0 {
		field = ps[0].Field
	}
	return &apperr.Error{Kind: apperr.Invalid, Field: field, Message: ps.Error()}
}

// maxProblems bounds what one validation reports.
const maxProblems = 20

// Validate checks content: Liquid syntax (with the line of the error),
// variables against the catalog (an unknown one comes with the nearest
// known name), filter names, {% include %} (not available), and the
// loop limits (ranges of literal numbers at most MaxRange wide, loops
// nested at most MaxLoopDepth deep). It returns nil or Problems.
func (e *Engine) Validate(field, src string) error {
	if len(src) > MaxSource {
		return Problems{{Field: field, Message: fmt.Sprintf("the content is %d bytes; at most %d", len(src), MaxSource)}}
	}
	t, serr := e.e.ParseTemplateLocation([]byte(src), "", 1)
	if serr != nil {
		return Problems{problemOf(field, serr)}
	}
	v := &validator{field: field, locals: map[string]bool{}}
	v.declare(t)
	v.walk(t.GetRoot(), map[string]string{}, 0)
	if len(v.problems) == 0 {
		return nil
	}
	sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Line < v.problems[j].Line })
	return v.problems
}

// problemOf turns a Liquid parse error into a Problem with its line.
func problemOf(field string, err liquid.SourceError) Problem {
	msg := err.Error()
	if c := err.Cause(); c != nil {
		msg = c.Error()
	}
	// Liquid prefixes "Liquid error (line N): "; the line is reported apart.
	if i := strings.Index(msg, "): "); strings.HasPrefix(msg, "Liquid error") && i > 0 {
		msg = msg[i+3:]
	}
	return Problem{Field: field, Line: err.LineNumber(), Message: "invalid Liquid: " + msg}
}

type validator struct {
	field  string
	locals map[string]bool // names assigned or captured anywhere (Liquid's assign is template-wide)
	// capturing > 0 inside a {% capture %} body, which may neither loop
	// nor read assigned variables: a capture that feeds on itself would
	// grow without bound, and capture is the one builder without a cap.
	capturing int
	problems  Problems
}

func (v *validator) add(line int, format string, args ...any) {
	if len(v.problems) < maxProblems {
		v.problems = append(v.problems, Problem{Field: v.field, Line: line, Message: fmt.Sprintf(format, args...)})
	}
}

var (
	assignRE  = regexp.MustCompile(`^\s*([A-Za-z_][\w-]*)\s*=(.*)$`)
	loopRE    = regexp.MustCompile(`^\s*([A-Za-z_][\w-]*)\s+in\s+(.+?)\s*((?:\s(?:limit|offset|cols)\s*:\s*\S+|\sreversed)*)\s*$`)
	rangeRE   = regexp.MustCompile(`^\(\s*(\S+?)\s*\.\.\s*(\S+?)\s*\)$`)
	captureRE = regexp.MustCompile(`^\s*([A-Za-z_][\w-]*)\s*$`)
)

// declare collects assigned and captured names before the walk, so a use
// before the assignment in source order is not reported as unknown.
func (v *validator) declare(t *liquid.Template) {
	var visit func(n render.Node)
	visit = func(n render.Node) {
		switch n := n.(type) {
		case *render.SeqNode:
			for _, c := range n.Children {
				visit(c)
			}
		case *render.TagNode:
			if n.Name == "assign" {
				if m := assignRE.FindStringSubmatch(n.Args); m != nil {
					v.locals[m[1]] = true
				}
			}
		case *render.BlockNode:
			if n.Name == "capture" {
				if m := captureRE.FindStringSubmatch(n.Args); m != nil {
					v.locals[m[1]] = true
				}
			}
			for _, c := range n.Body {
				visit(c)
			}
			for _, c := range n.Clauses {
				visit(c)
			}
		}
	}
	visit(t.GetRoot())
}

// walk checks n. loops maps loop variable names to the list path they
// walk ("" for a range); depth is the loop nesting.
func (v *validator) walk(n render.Node, loops map[string]string, depth int) {
	switch n := n.(type) {
	case *render.SeqNode:
		for _, c := range n.Children {
			v.walk(c, loops, depth)
		}
	case *render.ObjectNode:
		v.expr(n.SourceLoc.LineNo, n.Args, loops)
	case *render.TagNode:
		line := n.SourceLoc.LineNo
		switch n.Name {
		case "assign":
			if m := assignRE.FindStringSubmatch(n.Args); m != nil {
				v.expr(line, m[2], loops)
			}
		case "include":
			v.add(line, "{%% include %%} is not available in campaign content")
		case "cycle":
			v.expr(line, n.Args, loops)
		}
	case *render.BlockNode:
		v.block(n, loops, depth)
	}
}

func (v *validator) block(n *render.BlockNode, loops map[string]string, depth int) {
	line := n.SourceLoc.LineNo
	body := func(loops map[string]string, depth int) {
		for _, c := range n.Body {
			v.walk(c, loops, depth)
		}
		for _, c := range n.Clauses {
			v.block(c, loops, depth)
		}
	}
	switch n.Name {
	case "comment", "raw":
		return
	case "for", "tablerow":
		if v.capturing > 0 {
			v.add(line, "{%% %s %%} cannot be used inside {%% capture %%}", n.Name)
		}
		m := loopRE.FindStringSubmatch(n.Args)
		if m == nil {
			v.add(line, "{%% %s %%} needs the form: item in list", n.Name)
			return
		}
		if depth+1 > MaxLoopDepth {
			v.add(line, "loops are nested more than %d deep", MaxLoopDepth)
		}
		inner := make(map[string]string, len(loops)+2)
		for k, p := range loops {
			inner[k] = p
		}
		coll := strings.TrimSpace(m[2])
		if r := rangeRE.FindStringSubmatch(coll); r != nil {
			v.rangeBounds(line, r[1], r[2])
			inner[m[1]] = ""
		} else {
			path := v.expr(line, coll, loops)
			inner[m[1]] = path
		}
		if rest := strings.TrimSpace(m[3]); rest != "" {
			v.expr(line, strings.NewReplacer("limit:", " ", "offset:", " ", "cols:", " ", "reversed", " ").Replace(rest), loops)
		}
		inner["forloop"], inner["tablerowloop"] = "", ""
		body(inner, depth+1)
	case "capture":
		if captureRE.FindStringSubmatch(n.Args) == nil {
			v.add(line, "{%% capture %%} needs one variable name")
		}
		v.capturing++
		body(loops, depth)
		v.capturing--
	case "when":
		v.expr(line, strings.ReplaceAll(n.Args, ",", " or "), loops)
		body(loops, depth)
	default: // if, elsif, unless, case, else
		v.expr(line, n.Args, loops)
		body(loops, depth)
	}
}

// rangeBounds checks a literal range (a..b).
func (v *validator) rangeBounds(line int, a, b string) {
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	switch {
	case err1 != nil || err2 != nil:
		v.add(line, "range (%s..%s): bounds must be whole numbers written in the template", a, b)
	case hi-lo+1 > MaxRange:
		v.add(line, "range (%d..%d) walks %d values; at most %d", lo, hi, hi-lo+1, MaxRange)
	}
}

// keywords are the words of Liquid's expression language that are not variables.
var keywords = map[string]bool{"and": true, "or": true, "not": true, "contains": true, "in": true, "true": true, "false": true,
	"nil": true, "null": true, "empty": true, "blank": true, "reversed": true, "limit": true, "offset": true, "cols": true}

// listProps are the properties every list has.
var listProps = map[string]bool{"first": true, "last": true, "size": true}

// expr checks the variables and filters of one expression and returns
// the catalog path of its leading variable when it is a list (for loops).
func (v *validator) expr(line int, src string, loops map[string]string) string {
	firstList := ""
	first := true
	afterPipe := false
	for _, tok := range lex(src) {
		switch {
		case tok == "|":
			afterPipe = true
			continue
		case afterPipe:
			afterPipe = false
			if !filters[tok] {
				v.add(line, "unknown filter %q%s", tok, suggest(tok, keysOf(filters), ""))
			}
			continue
		case tok[0] == '"' || tok[0] == '\'' || (tok[0] >= '0' && tok[0] <= '9') || tok[0] == '-' || !isIdentStart(tok[0]):
			continue
		}
		path := v.variable(line, tok, loops)
		if first && known[path] == "list" {
			firstList = path
		}
		first = false
	}
	return firstList
}

// variable checks one variable reference (a.b[0].c) and returns its
// catalog path ("" when it is not a catalog variable).
func (v *validator) variable(line int, ref string, loops map[string]string) string {
	segs := strings.Split(ref, ".")
	root := segs[0]
	if keywords[root] {
		return ""
	}
	if v.locals[root] {
		if v.capturing > 0 {
			v.add(line, "{%% capture %%} may use only the catalog's variables, not %s (assigned in the template)", root)
		}
		return ""
	}
	base, isLoop := loops[root]
	switch {
	case isLoop && base == "":
		return "" // a range counter or forloop: any property is fine
	case isLoop:
		// An element of a list: its fields are the list's element fields.
		return v.path(line, ref, base+"[]", segs[1:])
	case !roots[root]:
		v.add(line, "unknown variable %s%s", root, suggest(root, rootNames(), ""))
		return ""
	}
	return v.path(line, ref, root, segs[1:])
}

// path walks the property segments from a known prefix.
func (v *validator) path(line int, ref, prefix string, segs []string) string {
	p := prefix
	for i, s := range segs {
		switch t := known[p]; {
		case t == "list" && listProps[s]:
			if s == "size" {
				return ""
			}
			p += "[]" // first, last: an element
			continue
		case t != "" && t != "list" && s == "size":
			return "" // the length of a string
		}
		next := p + "." + s
		if _, ok := known[next]; !ok {
			// Name it as written, suggest a sibling spelled the same way.
			written := strings.Join(strings.Split(ref, ".")[:i+2], ".")
			v.add(line, "unknown variable %s%s", written, suggest(s, children(p), strings.TrimSuffix(written, s)))
			return ""
		}
		p = next
	}
	return p
}

// children lists the names directly under p.
func children(p string) []string {
	var out []string
	for k := range known {
		if rest, ok := strings.CutPrefix(k, p+"."); ok && !strings.Contains(rest, ".") {
			out = append(out, rest)
		}
	}
	return out
}

func rootNames() []string {
	out := make([]string, 0, len(roots))
	for r := range roots {
		out = append(out, r)
	}
	return out
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// suggest returns "; did you mean <prefix>X?" for the candidate nearest
// to got: within two edits or a third of its length, or else one that holds
// got's letters in order (qty → quantity).
func suggest(got string, candidates []string, prefix string) string {
	sort.Strings(candidates)
	best, bestD := "", max(2, len(got)/3)+1
	for _, c := range candidates {
		if d := distance(got, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		for _, c := range candidates {
			if len(got) >= 2 && got[0] == c[0] && subsequence(got, c) {
				best = c
				break
			}
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + prefix + best + "?"
}

// subsequence reports whether a's letters appear in b in order.
func subsequence(a, b string) bool {
	i := 0
	for j := 0; i < len(a) && j < len(b); j++ {
		if a[i] == b[j] {
			i++
		}
	}
	return i == len(a)
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// lex splits an expression into tokens: quoted strings, numbers, "|",
// and variable references with their dotted properties (index brackets
// dropped: a[0].b is a.b), skipping operators and punctuation.
func lex(src string) []string {
	var out []string
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c {
				j++
			}
			out = append(out, src[i:min(j+1, len(src))])
			i = j + 1
		case c == '|':
			out = append(out, "|")
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.' && j+1 < len(src) && src[j+1] != '.') {
				j++
			}
			out = append(out, src[i:j])
			i = j
		case isIdentStart(c):
			var b strings.Builder
			j := i
			for j < len(src) {
				k := j
				for k < len(src) && (isIdentStart(src[k]) || src[k] >= '0' && src[k] <= '9' || src[k] == '-' || src[k] == '?') {
					k++
				}
				b.WriteString(src[j:k])
				j = k
				// Index brackets: a[0], a["x"]: skip them (the index itself is
				// not checked), keep following properties.
				for j < len(src) && src[j] == '[' {
					depth := 0
					for j < len(src) {
						if src[j] == '[' {
							depth++
						} else if src[j] == ']' {
							depth--
							if depth == 0 {
								j++
								break
							}
						}
						j++
					}
				}
				if j+1 < len(src) && src[j] == '.' && isIdentStart(src[j+1]) {
					b.WriteByte('.')
					j++
					continue
				}
				break
			}
			out = append(out, b.String())
			i = j
		default:
			i++
		}
	}
	return out
}
