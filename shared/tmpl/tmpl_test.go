package tmpl

import (
	"errors"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

var shop = Shop{Name: "Demo Records", Domain: "demo-store.myshopify.com", URL: "https://demo-store.myshopify.com", Currency: "USD"}

func TestValidate(t *testing.T) {
	e := New()
	tests := []struct {
		name, src string
		want      []string // substrings of the problems, in order; none: valid
	}{
		{"plain", "Hello", nil},
		{"catalog", "Hi {{ customer.first_name | default: 'there' }}, {{ shop.name }} {{ customer.orders_count | plus: 1 }} {{ unsubscribe_url }}", nil},
		{"typo with suggestion", "Hi {{ customer.frist_name }}", []string{"line 1: unknown variable customer.frist_name; did you mean customer.first_name?"}},
		{"line of a later problem", "a\nb\n{{ shop.nme }}", []string{"line 3: unknown variable shop.nme; did you mean shop.name?"}},
		{"unknown root", "{{ cusomer.email }}", []string{"unknown variable cusomer; did you mean customer?"}},
		{"unknown root no suggestion", "{{ weather }}", []string{"unknown variable weather"}},
		{"loop element", "{% for item in order.line_items %}{{ item.title }} x{{ item.quantity }} {{ item.price | money }}{% endfor %}", nil},
		{"loop element typo", "{% for item in checkout.line_items %}{{ item.qty }}{% endfor %}", []string{"unknown variable item.qty; did you mean item.quantity?"}},
		{"list props", "{{ order.line_items.first.title }} {{ order.line_items.size }} {{ customer.first_name.size }}", nil},
		{"list first typo", "{{ order.line_items.first.titel }}", []string{"unknown variable order.line_items.first.titel; did you mean order.line_items.first.title?"}},
		{"forloop inside", "{% for i in (1..3) %}{{ forloop.index }}{{ i }}{% endfor %}", nil},
		{"forloop outside", "{{ forloop.index }}", []string{"unknown variable forloop"}},
		{"assigned", "{% assign greeting = 'Hi ' | append: customer.first_name %}{{ greeting }}", nil},
		{"used before assigned", "{{ n }}{% assign n = 1 %}", nil},
		{"captured", "{% capture g %}Hi {{ customer.first_name }}{% endcapture %}{{ g | upcase }}", nil},
		{"capture feeding on itself", "{% capture x %}{{ x }}y{% endcapture %}", []string{"{% capture %} may use only the catalog's variables, not x"}},
		{"loop in capture", "{% capture x %}{% for i in (1..3) %}y{% endfor %}{% endcapture %}", []string{"{% for %} cannot be used inside {% capture %}"}},
		{"unknown filter", "{{ customer.first_name | upcasee }}", []string{`unknown filter "upcasee"; did you mean upcase?`}},
		{"filter args checked", "{{ customer.first_name | default: customer.nam }}", []string{"unknown variable customer.nam; did you mean customer.name?"}},
		{"money filters", "{{ order.total_price | money }} {{ order.total_price | money_with_currency: shop.currency }}", nil},
		{"conditions", "{% if customer.orders_count > 2 and customer.tags contains 'vip' %}VIP{% elsif customer.total_spent > 1000 %}x{% else %}y{% endif %}", nil},
		{"condition typo", "{% if customer.order_count > 2 %}x{% endif %}", []string{"unknown variable customer.order_count; did you mean customer.orders_count?"}},
		{"case when", "{% case customer.currency %}{% when 'EUR', 'USD' %}x{% when shop.currency %}y{% endcase %}", nil},
		{"unless typo", "{% unless checkout.urll %}x{% endunless %}", []string{"unknown variable checkout.urll; did you mean checkout.url?"}},
		{"invalid liquid", "a\n{% if customer.first_name %}", []string{`line 2: invalid Liquid: unterminated "if" block`}},
		{"unknown tag", "{% frobnicate %}", []string{"invalid Liquid"}},
		{"include refused", "{% include 'secrets.txt' %}", []string{"{% include %} is not available"}},
		{"wide range", "{% for i in (1..1000) %}x{% endfor %}", []string{"range (1..1000) walks 1000 values; at most 100"}},
		{"variable range", "{% for i in (1..customer.orders_count) %}x{% endfor %}", []string{"bounds must be whole numbers"}},
		{"deep loops", "{% for a in (1..2) %}{% for b in (1..2) %}{% for c in (1..2) %}x{% endfor %}{% endfor %}{% endfor %}", []string{"loops are nested more than 2 deep"}},
		{"raw is not checked", "{% raw %}{{ nothing.here }}{% endraw %}", nil},
		{"comment is not checked", "{% comment %}{{ nothing.here }}{% endcomment %}", nil},
		{"strings are not variables", `{{ "customer.frist_name" | append: 'shop.nme' }}`, nil},
		{"several problems", "{{ a }} {{ b }}", []string{"unknown variable a", "unknown variable b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Validate("content.email.body", tt.src)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			if len(ps) != len(tt.want) {
				t.Fatalf("got %d problems %v, want %d", len(ps), ps, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(ps[i].String(), w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, ps[i].String(), w)
				}
				if ps[i].Field != "content.email.body" {
					t.Errorf("field %q", ps[i].Field)
				}
			}
			if apperr.KindOf(err) != apperr.Invalid {
				t.Errorf("kind %v, want invalid", apperr.KindOf(err))
			}
		})
	}
}

func TestValidateTooLong(t *testing.T) {
	err := New().Validate("content.sms.body", strings.Repeat("x", MaxSource+1))
	if err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("err %v", err)
	}
}

func TestRender(t *testing.T) {
	e := New()
	d := Sample(shop)
	tests := []struct {
		name, src string
		d         Data
		want      string
	}{
		{"names", "Hi {{ customer.first_name }} {{ customer.last_name }} / {{ customer.name }}", d, "Hi Ada Lovelace / Ada Lovelace"},
		{"default when empty", "Hi {{ customer.first_name | default: 'there' }}!", Data{}, "Hi there!"},
		{"numbers", "{{ customer.orders_count }} orders, {{ customer.total_spent | money }} spent, {{ customer.average_order_value | money }} each", d, "3 orders, 187.50 spent, 62.50 each"},
		{"money with currency", "{{ order.total_price | money_with_currency: order.currency }}", d, "59.90 USD"},
		{"money no trailing zeros", "{{ 5000 | money_without_trailing_zeros }}", d, "50"},
		{"lines", "{% for l in order.line_items %}{{ l.title }}×{{ l.quantity }}{% unless forloop.last %}, {% endunless %}{% endfor %}", d, "Blue Train (LP)×1, Kind of Blue (LP)×1"},
		{"item count", "{{ order.item_count }} items in {{ order.name }}", d, "2 items in #1001"},
		{"missing order", "[{{ order.name }}][{{ order.line_items.size }}]", Data{}, "[][0]"},
		{"checkout link", "{{ checkout.url }}", d, "https://demo-store.myshopify.com/checkouts/sample"},
		{"date", "{{ customer.last_order_at | date: '%b %d, %Y' }}", d, "Mar 14, 2026"},
		{"conditions", "{% if customer.orders_count >= 3 %}loyal{% else %}new{% endif %}", d, "loyal"},
		{"shop", "{{ shop.name }} ({{ shop.domain }})", d, "Demo Records (demo-store.myshopify.com)"},
		{"unsubscribe", "{{ unsubscribe_url }}", d, "https://example.com/unsubscribe/sample"},
		{"product", "{{ product.title }} {{ product.price | money }} {{ product.url }}", d, "A Love Supreme (LP) 34.90 https://demo-store.myshopify.com/products/a-love-supreme"},
		{"capture", "{% capture g %}Hey {{ customer.first_name }}{% endcapture %}{{ g | upcase }}", d, "HEY ADA"},
		{"escape", "{{ '<b>' | escape }}", d, "&lt;b&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := e.Compile("f", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tp.Render(tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderLimits(t *testing.T) {
	e := New()
	tests := []struct{ name, src string }{
		{"doubling by append", "{% assign s = 'xx' %}{% for i in (1..60) %}{% assign s = s | append: s %}{% endfor %}{{ s }}"},
		{"growing by escape", "{% assign s = '&' %}{% for i in (1..14) %}{% assign s = s | append: s %}{% endfor %}{{ s | escape }}"},
		{"doubling a list", "{% assign a = 'a,b' | split: ',' %}{% for i in (1..60) %}{% assign a = a | concat: a %}{% endfor %}{{ a | size }}"},
		{"output", "{% assign s = 'x' %}{% for i in (1..14) %}{% assign s = s | append: s %}{% endfor %}{% for i in (1..100) %}{% for j in (1..100) %}{{ s }}{% endfor %}{% endfor %}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := e.Compile("f", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tp.Render(Data{})
			if err == nil || !strings.Contains(err.Error(), "larger than") {
				t.Fatalf("want a size error, got %d bytes, %v", len(out), err)
			}
			if apperr.KindOf(err) != apperr.Invalid {
				t.Errorf("kind %v", apperr.KindOf(err))
			}
		})
	}
}

func TestCompileRefusesInvalid(t *testing.T) {
	_, err := New().Compile("content.push.title", "{{ customer.frist_name }}")
	var ps Problems
	if !errors.As(err, &ps) || ps[0].Field != "content.push.title" {
		t.Fatalf("err %v", err)
	}
}

func TestTemplateConcurrentRender(t *testing.T) {
	tp, err := New().Compile("f", "{% for l in order.line_items %}{{ l.title }}{% endfor %} {{ customer.first_name }}")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 32)
	for i := range 32 {
		go func() {
			d := Sample(shop)
			d.Customer.FirstName = strings.Repeat("z", i)
			out, err := tp.Render(d)
			if err != nil {
				done <- err.Error()
				return
			}
			if !strings.HasSuffix(out, " "+strings.Repeat("z", i)) {
				done <- "crossed renders: " + out
				return
			}
			done <- ""
		}()
	}
	for range 32 {
		if msg := <-done; msg != "" {
			t.Fatal(msg)
		}
	}
}

func TestVariablesDocumented(t *testing.T) {
	vs := Variables()
	seen := map[string]bool{}
	for _, v := range vs {
		if v.Description == "" || v.Type == "" || seen[v.Path] {
			t.Errorf("variable %+v: needs a type and a description, once", v)
		}
		seen[v.Path] = true
	}
	// Every variable validates, and every catalog path is bound when rendering.
	e := New()
	b := Sample(shop).bindings()
	for _, v := range vs {
		if strings.Contains(v.Path, "[]") {
			continue
		}
		src := "{{ " + v.Path + " }}"
		if err := e.Validate("f", src); err != nil {
			t.Errorf("%s: %v", v.Path, err)
		}
		root, rest, ok := strings.Cut(v.Path, ".")
		if !ok {
			if _, ok := b[root]; !ok {
				t.Errorf("%s is not bound", v.Path)
			}
			continue
		}
		if _, ok := b[root].(map[string]any)[rest]; !ok {
			t.Errorf("%s is not bound", v.Path)
		}
	}
}

func TestSuggest(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{"frist_name", "first_name"}, {"qty", "quantity"}, {"nme", "name"}, {"zzzzzz", ""},
	} {
		got := suggest(tt.got, []string{"first_name", "quantity", "name", "email"}, "")
		if tt.want == "" && got != "" || tt.want != "" && got != "; did you mean "+tt.want+"?" {
			t.Errorf("suggest(%q) = %q, want %q", tt.got, got, tt.want)
		}
	}
}
