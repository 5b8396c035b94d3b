package copilot

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Offline is the deterministic engine: it recognises the common questions
// by their words, calls the same tools as the model through the registry
// (so the caller's tenant and role apply alike), and writes the answer
// from the numbers they return. What it does not recognise it says so,
// with examples of what it can answer.
type Offline struct {
	tools *Registry
	now   func() time.Time
}

// NewOffline returns the offline engine over the registry.
func NewOffline(tools *Registry, now func() time.Time) *Offline {
	if now == nil {
		now = time.Now
	}
	return &Offline{tools: tools, now: now}
}

// intent is one kind of question the offline engine answers.
type intent struct {
	name   string
	match  *regexp.Regexp
	answer func(o *Offline, ctx context.Context, q Question) (string, error)
}

// The order matters: the first match answers ("revenue of my top
// customers" is about customers).
var intents = []intent{
	{"campaign-draft", regexp.MustCompile(`\b(draft|create|make|build|set up|setup|prepare|plan|write)\b.*\bcampaign\b`), (*Offline).campaignDraft},
	{"copy", regexp.MustCompile(`\b(write|draft|suggest|compose|give me|come up with)\b.*\b(copy|subject|subjects|sms|text message|email|push|whatsapp|message)\b`), (*Offline).writeCopy},
	{"segments", regexp.MustCompile(`\bsegments?\b`), (*Offline).segments},
	{"at-risk", regexp.MustCompile(`\b(at[- ]risk|churn\w*|lapsed|slipping|win[- ]?back|losing|about to leave|inactive)\b`), (*Offline).atRisk},
	{"top-customers", regexp.MustCompile(`\b(top|best|biggest|most valuable|vip|loyal\w*|largest)\b.*\b(customers?|buyers?|shoppers?|spenders?|clients?)\b|\bwho (spent|buys|bought|orders?) (the )?most\b`), (*Offline).topCustomers},
	{"channel-time", regexp.MustCompile(`\b(best|which|what|right|ideal|optimal)\b.*\b(channel|time|hour)\b|\bwhen (should|to|do) (i|we)?\s*(send|email|text|message)\b`), (*Offline).engagement},
	{"overview", regexp.MustCompile(`\b(revenue|sales|sold|sell|turnover|income|earn\w*|made|make|orders?|aov|average order|basket|how (much|many)|performance|doing)\b`), (*Offline).overview},
}

// canAnswer lists examples of what the offline engine answers.
const canAnswer = `I can answer these without the AI model:
- "What was my revenue in the last 30 days?" (also "this month", "in March", "yesterday")
- "How many orders and what average order value this week?"
- "Who are my top 10 customers?"
- "Which customers are at risk of churning?"
- "How big are my segments?"
- "What is the best channel and time to send?"
- "Write an SMS about 20% off winter boots"
- "Draft a win-back campaign for at-risk customers"`

// Answer answers q from the tools.
func (o *Offline) Answer(ctx context.Context, q Question, emit Emit) (Answer, error) {
	text := strings.ToLower(q.Text)
	var out string
	var err error
	matched := false
	for _, in := range intents {
		if in.match.MatchString(text) {
			matched = true
			out, err = in.answer(o, ctx, q)
			break
		}
	}
	switch k := apperr.KindOf(err); {
	case err == nil && !matched:
		out = "I can't answer that offline.\n\n" + canAnswer
	case err == nil:
	case k == apperr.Forbidden:
		out = "Your role (" + string(q.Caller.Role) + ") may not see that: " + apperr.Message(err) + "."
	case k == apperr.NotFound:
		out = "I can't answer that yet: the data it needs is not available in this workspace.\n\n" + canAnswer
	default:
		return Answer{}, err
	}
	// Stream it in words, as a model would.
	for _, piece := range splitKeep(out) {
		emit(piece)
	}
	return Answer{Text: out, Engine: EngineOffline}, nil
}

// call runs a tool through the registry with typed arguments.
func (o *Offline) call(ctx context.Context, q Question, name string, args any) (any, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("copilot offline: %s arguments: %w", name, err)
	}
	r, err := o.tools.Call(ctx, q.Caller, name, b, AsksForDraft(q.Text))
	return r.Value, err
}

func (o *Offline) overview(ctx context.Context, q Question) (string, error) {
	p, ok := ParsePeriod(q.Text, o.now())
	if !ok {
		p = Last30Days(o.now())
	}
	v, err := o.call(ctx, q, ToolOverview, OverviewInput{From: p.From.Format(Day), To: p.LastDay().Format(Day)})
	if err != nil {
		return "", err
	}
	ov := v.(Overview)
	var b strings.Builder
	fmt.Fprintf(&b, "Revenue for %s (%s): %s from %s", p.Label, p, Money(ov.Revenue, ov.Currency), count(ov.Orders, "order"))
	if ov.Orders > 0 {
		fmt.Fprintf(&b, ", an average order value of %s, from %s", Money(ov.AverageOrderValue, ov.Currency), count(ov.Customers, "customer"))
	}
	b.WriteString(".")
	prev := ov.Previous
	fmt.Fprintf(&b, "\nThe %s before: %s from %s", count(int(p.To.Sub(p.From).Hours()/24), "day"), Money(prev.Revenue, ov.Currency), count(prev.Orders, "order"))
	if prev.Revenue > 0 {
		fmt.Fprintf(&b, ", so revenue is %s", change(ov.Revenue, prev.Revenue))
	}
	b.WriteString(".")
	return b.String(), nil
}

var (
	reNumber   = regexp.MustCompile(`\b(\d{1,2})\b`)
	reByOrders = regexp.MustCompile(`\b(orders|often|frequent\w*|times)\b`)
)

func (o *Offline) topCustomers(ctx context.Context, q Question) (string, error) {
	in := TopInput{Limit: 10}
	if m := reNumber.FindStringSubmatch(q.Text); m != nil {
		fmt.Sscan(m[1], &in.Limit)
		in.Limit = max(1, min(in.Limit, 25))
	}
	if reByOrders.MatchString(strings.ToLower(q.Text)) {
		in.By = "orders"
	}
	v, err := o.call(ctx, q, ToolTopCustomers, in)
	if err != nil {
		return "", err
	}
	top := v.(TopCustomers)
	if len(top.Customers) == 0 {
		return "No customer has ordered yet, so there are no top customers to show.", nil
	}
	var b strings.Builder
	by := "total spent"
	if top.By == "orders" {
		by = "number of orders"
	}
	fmt.Fprintf(&b, "Your top %d customers by %s:\n", len(top.Customers), by)
	for i, c := range top.Customers {
		fmt.Fprintf(&b, "%d. %s — %s over %s", i+1, c.Name.Clean(), Money(c.TotalSpent, c.Currency), count(c.OrdersCount, "order"))
		if c.LastOrderAt != "" {
			fmt.Fprintf(&b, ", last on %s", c.LastOrderAt[:min(10, len(c.LastOrderAt))])
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func (o *Offline) atRisk(ctx context.Context, q Question) (string, error) {
	v, err := o.call(ctx, q, ToolAtRisk, LimitInput{Limit: 5})
	if err != nil {
		return "", err
	}
	r := v.(AtRisk)
	if r.Count == 0 {
		return "No customers are at risk right now (" + r.Rule + ").", nil
	}
	var b strings.Builder
	currency := ""
	if len(r.Customers) > 0 {
		currency = r.Customers[0].Currency
	}
	fmt.Fprintf(&b, "%s at risk of churning (%s). Together they have spent %s.\nThose who spent most:\n",
		count(r.Count, "customer is", "customers are"), r.Rule, Money(r.TotalSpent, currency))
	for i, c := range r.Customers {
		fmt.Fprintf(&b, "%d. %s — %s over %s, last on %s\n", i+1, c.Name.Clean(), Money(c.TotalSpent, c.Currency), count(c.OrdersCount, "order"), c.LastOrderAt[:min(10, len(c.LastOrderAt))])
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func (o *Offline) engagement(ctx context.Context, q Question) (string, error) {
	v, err := o.call(ctx, q, ToolEngagement, struct{}{})
	if err != nil {
		return "", err
	}
	e := v.(Engagement)
	if e.Customers == 0 {
		return "There is no customer activity recorded yet, so I can't say which channel or time works best.", nil
	}
	var b strings.Builder
	if e.BestChannel != "" {
		fmt.Fprintf(&b, "Best channel: %s — %s engaged with a message last by %s.",
			e.BestChannel, count(e.Channels[e.BestChannel], "customer"), e.BestChannel)
	} else {
		b.WriteString("No customer has engaged with a message yet, so no channel stands out.")
	}
	fmt.Fprintf(&b, "\nBest time: %02d:00–%02d:00 UTC, when %.0f%% of customer activity happens.", e.BestHourUTC, (e.BestHourUTC+1)%24, e.HourShare*100)
	return b.String(), nil
}

func (o *Offline) segments(ctx context.Context, q Question) (string, error) {
	v, err := o.call(ctx, q, ToolSegments, struct{}{})
	if err != nil {
		return "", err
	}
	list := v.(SegmentList).Segments
	if len(list) == 0 {
		return "There are no segments yet: the nightly run creates the RFM segments once customers have ordered, and you can add rule segments in Segments.", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Your %s, largest first:\n", count(len(list), "segment"))
	for _, sg := range list {
		fmt.Fprintf(&b, "- %s (%s): %s\n", sg.Name.Clean(), sg.Kind, count(int(sg.Size), "customer"))
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// channelIn names the channel a question asks about (email by default).
func channelIn(text string) string {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "whatsapp"):
		return "whatsapp"
	case reSMS.MatchString(t):
		return "sms"
	case strings.Contains(t, "push"):
		return "push"
	}
	return "email"
}

var (
	reSMS     = regexp.MustCompile(`\b(sms|text message|texts?)\b`)
	reWinBack = regexp.MustCompile(`\b(win[- ]?back|at[- ]risk|churn\w*|lapsed|inactive|lost)\b`)
)

func (o *Offline) writeCopy(ctx context.Context, q Question) (string, error) {
	ch := channelIn(q.Text)
	v, err := o.call(ctx, q, ToolWriteCopy, SuggestRequest{Channel: ch, Brief: Brief(q.Text), Variants: 3})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Three %s drafts (nothing is saved or sent; Liquid variables fill in per customer):\n", channelName(ch))
	writeSuggestions(&b, v.(Suggestions).Items)
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func channelName(ch string) string {
	return map[string]string{"email": "email", "sms": "SMS", "push": "push", "whatsapp": "WhatsApp"}[ch]
}

func writeSuggestions(b *strings.Builder, items []Suggestion) {
	for i, s := range items {
		fmt.Fprintf(b, "\n%d.", i+1)
		if s.Subject != "" {
			fmt.Fprintf(b, " Subject: %s\n", s.Subject)
		} else {
			b.WriteString(" ")
		}
		fmt.Fprintf(b, "%s\n", s.Body)
		if len(s.Checks.Warnings) == 0 {
			fmt.Fprintf(b, "   Checks: fine (%d characters).\n", s.Checks.Characters)
		} else {
			fmt.Fprintf(b, "   Checks: %s.\n", strings.Join(s.Checks.Warnings, "; "))
		}
	}
}

// campaignDraft plans a campaign in words: the audience (the at-risk
// customers for a win-back), the best channel and hour, and checked copy.
// It creates nothing: the user creates the campaign in PulseHub.
func (o *Offline) campaignDraft(ctx context.Context, q Question) (string, error) {
	var b strings.Builder
	text := strings.ToLower(q.Text)
	winBack := reWinBack.MatchString(text)
	audience := "all customers"
	if winBack {
		v, err := o.call(ctx, q, ToolAtRisk, LimitInput{Limit: 3})
		if err != nil {
			return "", err
		}
		r := v.(AtRisk)
		audience = fmt.Sprintf("%s at risk (%s)", count(r.Count, "customer"), r.Rule)
		if r.Count == 0 {
			return "No customers are at risk right now (" + r.Rule + "), so a win-back campaign would reach no one.", nil
		}
	}
	ch, when := "email", ""
	if v, err := o.call(ctx, q, ToolEngagement, struct{}{}); err == nil {
		e := v.(Engagement)
		if e.BestChannel != "" && slices.Contains(contentChannels, e.BestChannel) {
			ch = e.BestChannel
		}
		if e.Customers > 0 {
			when = fmt.Sprintf("%02d:00 UTC, the busiest hour of your customers", e.BestHourUTC)
		}
	} else if apperr.KindOf(err) != apperr.Forbidden {
		return "", err
	}
	if c := channelIn(q.Text); c != "email" || strings.Contains(text, "email") {
		ch = c // the user's own choice wins
	}
	brief := Brief(q.Text)
	if winBack {
		brief = "15% off your next order — we miss you. Come back and see what is new"
	}
	v, err := o.call(ctx, q, ToolWriteCopy, SuggestRequest{Channel: ch, Brief: brief, Tone: "friendly", Variants: 2})
	if err != nil {
		return "", err
	}
	kind := "campaign"
	if winBack {
		kind = "win-back campaign"
	}
	fmt.Fprintf(&b, "A draft %s (nothing is created or sent):\n- Audience: %s\n- Channel: %s\n", kind, audience, channelName(ch))
	if when != "" {
		fmt.Fprintf(&b, "- Send at: %s\n", when)
	}
	b.WriteString("- Content, two variants to test:\n")
	writeSuggestions(&b, v.(Suggestions).Items)
	b.WriteString("\nTo use it, create the campaign in PulseHub with this audience and content; it stays a draft until you schedule it yourself.")
	return b.String(), nil
}

// reDraft finds a request for a draft in the user's own words.
var reDraft = regexp.MustCompile(`\b(draft|create|make|build|set up|setup|prepare|write|compose|plan|start)\b.*\b(campaign|segment|audience|email|sms|text|message|copy|push|whatsapp|subject)`)

// AsksForDraft reports whether the user's message asks for something to
// be drafted. Tools that create drafts run only in such a turn: text in
// tool results (customer names, order data) can never start one.
func AsksForDraft(userText string) bool { return reDraft.MatchString(strings.ToLower(userText)) }

// Money formats an amount: "$1,234.50" for USD, "1,234.50 EUR" otherwise.
func Money(v float64, currency string) string {
	neg := v < 0
	v = math.Abs(v)
	units := int64(v)
	frac := int64(math.Round((v - float64(units)) * 100))
	if frac == 100 {
		units, frac = units+1, 0
	}
	s := fmt.Sprintf("%s.%02d", groupDigits(units), frac)
	switch currency {
	case "", "USD":
		s = "$" + s
	default:
		s += " " + currency
	}
	if neg {
		s = "-" + s
	}
	return s
}

// change is "up 50.8%" or "down 3.0%": the change from prev to cur, to a
// tenth of a percent, computed in whole cents so halves round up exactly.
func change(cur, prev float64) string {
	c, p := int64(math.Round(cur*100)), int64(math.Round(prev*100))
	dir, d := "up", c-p
	if d < 0 {
		dir, d = "down", -d
	}
	tenths := (2*d*1000 + p) / (2 * p) // round(d*1000/p), half up
	return fmt.Sprintf("%s %d.%d%%", dir, tenths/10, tenths%10)
}

// count writes "1 order", "2 orders": the noun, its plural with an "s" or
// the given plural form.
func count(n int, noun string, plural ...string) string {
	if n == 1 {
		return "1 " + noun
	}
	p := noun + "s"
	if len(plural) > 0 {
		p = plural[0]
	}
	return groupDigits(int64(n)) + " " + p
}

// groupDigits writes n with thousands separators.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// splitKeep splits text into words, keeping the spaces with them.
func splitKeep(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		if r == ' ' || r == '\n' {
			out = append(out, s[start:i+1])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
