package tmpl

import (
	"errors"
	"testing"
)

// FuzzValidate: the validator never panics, reports only Problems, and
// whatever it accepts renders without panicking, within the limits.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		"Hi {{ customer.first_name | default: 'there' }}",
		"{% for item in order.line_items %}{{ item.title }}{% endfor %}",
		"{% if customer.orders_count > 2 %}x{% elsif a %}y{% else %}z{% endif %}",
		"{% capture g %}{{ shop.name }}{% endcapture %}{{ g }}",
		"{% assign s = 'x' %}{% for i in (1..50) %}{% assign s = s | append: s %}{% endfor %}",
		"{% case customer.currency %}{% when 'EUR' %}€{% endcase %}",
		"{{ a[0].b['c'] | d: e, f }}", "{% for %}", "{{", "}}", "{% raw %}{{", "{{ '\" }}",
		"{% tablerow p in order.line_items cols:2 %}{{ p.title }}{% endtablerow %}",
	} {
		f.Add(s)
	}
	e := New()
	d := Sample(shop)
	f.Fuzz(func(t *testing.T, src string) {
		err := e.Validate("f", src)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("Validate(%q) = %v, want Problems", src, err)
			}
			return
		}
		tp, err := e.Compile("f", src)
		if err != nil {
			t.Fatalf("Validate accepted %q but Compile failed: %v", src, err)
		}
		out, err := tp.Render(d)
		if err == nil && len(out) > MaxOutput {
			t.Fatalf("rendered %d bytes", len(out))
		}
	})
}

func BenchmarkRender(b *testing.B) {
	tp, err := New().Compile("content.email.body", `<p>Hi {{ customer.first_name | default: "there" }},</p>
<p>Thanks for your {{ customer.orders_count }} orders ({{ customer.total_spent | money_with_currency: shop.currency }}).</p>
<ul>{% for item in order.line_items %}<li>{{ item.title }} × {{ item.quantity }} — {{ item.price | money }}</li>{% endfor %}</ul>
{% if customer.orders_count > 2 %}<p>You are one of our best customers.</p>{% endif %}
<p><a href="{{ checkout.url }}">Complete your order</a> · <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>`)
	if err != nil {
		b.Fatal(err)
	}
	d := Sample(shop)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tp.Render(d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCompile(b *testing.B) {
	e := New()
	src := `Hi {{ customer.first_name | default: "there" }}, {% for item in order.line_items %}{{ item.title }}{% endfor %}`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Compile("f", src); err != nil {
			b.Fatal(err)
		}
	}
}
