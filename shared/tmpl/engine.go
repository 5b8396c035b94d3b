package tmpl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/render"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Limits that keep rendering bounded whatever the content says.
const (
	// MaxSource is the longest content accepted.
	MaxSource = 256 << 10
	// MaxOutput is the most a render may write; rendering stops with an
	// error beyond it.
	MaxOutput = 512 << 10
	// MaxString bounds any string a filter builds (append, prepend,
	// replace, escape, join, json, …), so doubling a string in a loop
	// cannot exhaust memory.
	MaxString = 32 << 10
	// MaxList bounds any list a filter builds (split, concat).
	MaxList = 500
	// MaxRange is the widest literal range a loop may walk, (1..100).
	MaxRange = 100
	// MaxLoopDepth is how deeply loops may nest.
	MaxLoopDepth = 2
)

// errTooLarge is returned when a render would exceed a limit.
var errTooLarge = errors.New("the rendered content is too large")

// Engine parses and renders content. It is safe for concurrent use.
type Engine struct {
	e *liquid.Engine
}

// New returns an Engine with Liquid's standard tags and filters, Shopify's
// money filters, and the limits above. {% include %} is disabled: content
// never reads files.
func New() *Engine {
	e := liquid.NewEngine()
	e.RegisterTag("include", func(render.Context) (string, error) {
		return "", errors.New("{% include %} is not available in campaign content")
	})
	// Every filter that can make a string or a list longer is capped, so
	// no loop of assignments can grow a value without bound ({% capture %}
	// bodies are restricted by Validate instead).
	capped := func(s string) (string, error) {
		if len(s) > MaxString {
			return "", errTooLarge
		}
		return s, nil
	}
	e.RegisterFilter("append", func(s, t string) (string, error) { return capped(s + t) })
	e.RegisterFilter("prepend", func(s, t string) (string, error) { return capped(t + s) })
	e.RegisterFilter("replace", func(s, old, new string) (string, error) {
		if old != "" && len(new) > len(old) && len(s)+strings.Count(s, old)*(len(new)-len(old)) > MaxString {
			return "", errTooLarge
		}
		return capped(strings.ReplaceAll(s, old, new))
	})
	e.RegisterFilter("replace_first", func(s, old, new string) (string, error) { return capped(strings.Replace(s, old, new, 1)) })
	e.RegisterFilter("escape", func(s string) (string, error) { return capped(html.EscapeString(s)) })
	e.RegisterFilter("escape_once", func(s string) (string, error) { return capped(html.EscapeString(html.UnescapeString(s))) })
	e.RegisterFilter("url_encode", func(s string) (string, error) { return capped(url.QueryEscape(s)) })
	e.RegisterFilter("newline_to_br", func(s string) (string, error) { return capped(strings.ReplaceAll(s, "\n", "<br />")) })
	e.RegisterFilter("json", func(v any) (string, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		return capped(string(b))
	})
	e.RegisterFilter("join", func(a []any, sep func(string) string) (string, error) {
		parts := make([]string, 0, len(a))
		for _, v := range a {
			if v != nil {
				parts = append(parts, fmt.Sprint(v))
			}
		}
		return capped(strings.Join(parts, sep(" ")))
	})
	e.RegisterFilter("split", func(s, sep string) ([]string, error) {
		parts := strings.Split(s, sep)
		if len(parts) > MaxList {
			return nil, errTooLarge
		}
		return parts, nil
	})
	e.RegisterFilter("concat", func(a, b []any) ([]any, error) {
		if len(a)+len(b) > MaxList {
			return nil, errTooLarge
		}
		return append(append(make([]any, 0, len(a)+len(b)), a...), b...), nil
	})
	e.RegisterFilter("money", func(v any) string { return money(v) })
	e.RegisterFilter("money_with_currency", func(v any, currency func(string) string) string {
		return strings.TrimSpace(money(v) + " " + currency(""))
	})
	e.RegisterFilter("money_without_trailing_zeros", func(v any) string {
		return strings.TrimSuffix(money(v), ".00")
	})
	return &Engine{e: e}
}

// filters are the filter names content may use: Liquid's standard set and
// Shopify's money filters.
var filters = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`default json compact concat join map reverse sort first last uniq date abs ceil floor modulo
		minus plus times divided_by round size append capitalize downcase escape escape_once newline_to_br prepend remove
		remove_first replace replace_first sort_natural slice split strip_html strip_newlines strip lstrip rstrip truncate
		truncatewords upcase url_encode url_decode money money_with_currency money_without_trailing_zeros`) {
		filters[f] = true
	}
}

// money formats minor units as a decimal amount: 5990 → "59.90".
func money(v any) string {
	var cents float64
	switch x := v.(type) {
	case int:
		cents = float64(x)
	case int64:
		cents = float64(x)
	case float64:
		cents = x
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return x
		}
		cents = f
	case nil:
		cents = 0
	default:
		return fmt.Sprint(v)
	}
	return strconv.FormatFloat(math.Round(cents)/100, 'f', 2, 64)
}

// Template is parsed content, ready to render many times.
type Template struct {
	t *liquid.Template
}

// Compile validates src (see Validate) and parses it once. field names
// the content in errors, e.g. "content.email.body".
func (e *Engine) Compile(field, src string) (*Template, error) {
	if err := e.Validate(field, src); err != nil {
		return nil, err
	}
	t, serr := e.e.ParseTemplateLocation([]byte(src), "", 1)
	if serr != nil {
		return nil, Problems{problemOf(field, serr)}
	}
	return &Template{t: t}, nil
}

// limitWriter keeps at most MaxOutput bytes and remembers that more came.
// It never fails a write: Liquid panics on writer errors.
type limitWriter struct {
	buf  bytes.Buffer
	over bool
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.over || w.buf.Len()+len(p) > MaxOutput {
		w.over = true
		return len(p), nil
	}
	return w.buf.Write(p)
}

// Render renders t with d. An error (apperr.Invalid) names what failed: a
// value the template could not use, or a limit.
func (t *Template) Render(d Data) (out string, err error) {
	defer func() {
		// Liquid reports some failures by panicking (a writer or filter error).
		if r := recover(); r != nil {
			out, err = "", renderError(fmt.Errorf("%v", r))
		}
	}()
	var w limitWriter
	if err := t.t.FRender(&w, d.bindings()); err != nil {
		return "", renderError(err)
	}
	if w.over {
		return "", renderError(errTooLarge)
	}
	return w.buf.String(), nil
}

func renderError(err error) error {
	if errors.Is(err, errTooLarge) || strings.Contains(err.Error(), errTooLarge.Error()) {
		return apperr.E(apperr.Invalid, "the rendered content is larger than %d bytes, or builds a string or list above the limits (%d bytes, %d items)", MaxOutput, MaxString, MaxList)
	}
	return apperr.Wrap(apperr.Invalid, err, "the content could not be rendered: %s", err.Error())
}
