package copilot

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Channels content can be written for.
var contentChannels = []string{"email", "sms", "push", "whatsapp"}

// SuggestRequest asks for campaign copy (POST /v1/content/suggest and the
// write_copy tool).
type SuggestRequest struct {
	Channel  string `json:"channel" enum:"email,sms,push,whatsapp" description:"the channel the copy is for"`
	Brief    string `json:"brief" description:"what the message is about: the offer, the product, the occasion"`
	Audience string `json:"audience,omitempty" description:"who receives it, e.g. at-risk customers"`
	Tone     string `json:"tone,omitempty" description:"e.g. friendly (default), urgent, playful, luxury, professional"`
	Variants int    `json:"variants,omitempty" description:"how many variants, 1 to 5 (default 3)"`
}

// Validate checks the request; errors name the field.
func (r SuggestRequest) Validate() error {
	bad := func(field, format string, a ...any) error {
		return &apperr.Error{Kind: apperr.Invalid, Field: field, Message: fmt.Sprintf(format, a...)}
	}
	switch {
	case !slices.Contains(contentChannels, r.Channel):
		return bad("channel", "channel must be one of %s", strings.Join(contentChannels, ", "))
	case strings.TrimSpace(r.Brief) == "":
		return bad("brief", "brief is required: what the message is about")
	case utf8.RuneCountInString(r.Brief) > 1000:
		return bad("brief", "brief is %d characters; at most 1000", utf8.RuneCountInString(r.Brief))
	case utf8.RuneCountInString(r.Audience) > 200:
		return bad("audience", "audience is at most 200 characters")
	case utf8.RuneCountInString(r.Tone) > 40:
		return bad("tone", "tone is at most 40 characters")
	case r.Variants < 0 || r.Variants > 5:
		return bad("variants", "variants must be between 1 and 5")
	}
	return nil
}

func (r SuggestRequest) variants() int {
	if r.Variants == 0 {
		return 3
	}
	return r.Variants
}

// Suggestion is one piece of copy with its checks. Subject is the email
// subject or the push title.
type Suggestion struct {
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
	Checks  Checks `json:"checks"`
}

// Suggestions is the answer: which engine wrote them, and the items.
type Suggestions struct {
	Engine string       `json:"engine"`
	Notice string       `json:"notice,omitempty"` // why the offline engine wrote them, when a model is configured
	Items  []Suggestion `json:"items"`
}

// Checks are what a marketer should know before using a suggestion.
type Checks struct {
	OK            bool     `json:"ok"`                      // no warning
	Characters    int      `json:"characters"`              // the body as rendered (variables at typical lengths)
	SubjectLength int      `json:"subjectLength,omitempty"` // likewise
	SpamWords     []string `json:"spamWords"`
	Variables     []string `json:"variables"` // Liquid variables used
	Warnings      []string `json:"warnings"`
}

// Limits the checks hold copy to.
const (
	MaxSubject   = 60  // email subject characters shown in most inboxes
	MaxPushTitle = 50  // push titles truncate past this on most devices
	MaxPushBody  = 178 // iOS lock-screen body
)

// spamWords are phrases that mail filters score against (a short,
// conservative list; each found one is a warning).
var spamWords = []string{"100% free", "act now", "apply now", "buy now!!!", "cash", "click here", "congratulations",
	"don't delete", "double your", "earn money", "extra income", "free gift", "free money", "guarantee", "limited time only",
	"lowest price", "no cost", "no obligation", "once in a lifetime", "risk-free", "risk free", "urgent", "winner", "you have been selected", "$$$"}

var reVariable = regexp.MustCompile(`\{\{-?\s*([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)`)

// typical is the length a variable usually renders to, for the length
// checks of copy that is still a template.
var typical = map[string]int{"customer.first_name": 6, "customer.last_name": 8, "customer.name": 15, "shop.name": 12,
	"shop.url": 26, "product.title": 24, "product.url": 45, "checkout.url": 60, "unsubscribe_url": 60}

var reTag = regexp.MustCompile(`\{\{.*?\}\}|\{%.*?%\}`)

// Rendered is text as long as it will be once rendered: each variable
// replaced by a stand-in of its typical length (10 characters for one not
// listed), tags removed.
func Rendered(text string) string {
	return reTag.ReplaceAllStringFunc(text, func(tag string) string {
		if strings.HasPrefix(tag, "{%") {
			return ""
		}
		n := 10
		if m := reVariable.FindStringSubmatch(tag); m != nil {
			if l, ok := typical[m[1]]; ok {
				n = l
			}
		}
		return strings.Repeat("x", n)
	})
}

// Check checks one suggestion for channel. Lengths are of the rendered
// text (Rendered).
func Check(channel string, s Suggestion) Checks {
	c := Checks{Characters: utf8.RuneCountInString(Rendered(s.Body)), SpamWords: []string{}, Variables: []string{}, Warnings: []string{}}
	text := strings.ToLower(s.Subject + "\n" + s.Body)
	for _, w := range spamWords {
		if strings.Contains(text, w) {
			c.SpamWords = append(c.SpamWords, w)
		}
	}
	if len(c.SpamWords) > 0 {
		c.Warnings = append(c.Warnings, "words spam filters score against: "+strings.Join(c.SpamWords, ", "))
	}
	if s.Subject != "" {
		c.SubjectLength = utf8.RuneCountInString(Rendered(s.Subject))
	}
	switch channel {
	case "email":
		switch {
		case s.Subject == "":
			c.Warnings = append(c.Warnings, "no subject")
		case c.SubjectLength > MaxSubject:
			c.Warnings = append(c.Warnings, fmt.Sprintf("subject is %d characters; most inboxes show %d", c.SubjectLength, MaxSubject))
		}
		if strings.Count(s.Subject, "!") > 1 || s.Subject != "" && s.Subject == strings.ToUpper(s.Subject) && strings.ToLower(s.Subject) != s.Subject {
			c.Warnings = append(c.Warnings, "shouting subject (capitals or several !)")
		}
	case "push":
		if c.SubjectLength > MaxPushTitle {
			c.Warnings = append(c.Warnings, fmt.Sprintf("title is %d characters; devices cut it past %d", c.SubjectLength, MaxPushTitle))
		}
		if c.Characters > MaxPushBody {
			c.Warnings = append(c.Warnings, fmt.Sprintf("body is %d characters; lock screens show about %d", c.Characters, MaxPushBody))
		}
	}
	for _, m := range reVariable.FindAllStringSubmatch(s.Subject+"\n"+s.Body, -1) {
		if !slices.Contains(c.Variables, m[1]) {
			c.Variables = append(c.Variables, m[1])
		}
	}
	c.OK = len(c.Warnings) == 0
	return c
}

// Suggest writes copy: with the model when the copilot may ask it (key,
// cap, breaker), else from templates. Every item is checked.
func (c *Copilot) Suggest(ctx context.Context, caller Caller, req SuggestRequest) (Suggestions, error) {
	if err := req.Validate(); err != nil {
		return Suggestions{}, err
	}
	notice, err := c.modelNotice(ctx, caller.TenantID)
	if err != nil {
		return Suggestions{}, err
	}
	if notice == "" {
		items, err := c.suggestWithModel(ctx, caller, req)
		if err == nil {
			return Suggestions{Engine: EngineModel, Items: checked(req.Channel, items)}, nil
		}
		c.o.Logger.WarnContext(ctx, "copilot: model suggestions failed; writing offline", "err", err)
		notice = "The AI model did not answer (" + apperr.Message(err) + "), so the suggestions come from templates."
	}
	return Suggestions{Engine: EngineOffline, Notice: notice, Items: checked(req.Channel, templateCopy(req))}, nil
}

func checked(channel string, items []Suggestion) []Suggestion {
	for i := range items {
		items[i].Checks = Check(channel, items[i])
	}
	return items
}

// copyPrompt asks the model for JSON copy.
func copyPrompt(req SuggestRequest) (system, user string) {
	system = "You write marketing copy for an online shop. Answer with JSON only: " +
		`{"items":[{"subject":"…","body":"…"}]}` + ". Use Liquid variables where they help, only these: " +
		"{{ customer.first_name | default: \"there\" }}, {{ shop.name }}, {{ shop.url }}, {{ product.title }}, {{ product.url }}, {{ unsubscribe_url }} (email). " +
		"email: subject up to 60 characters and a short body; sms: body only, under 160 GSM-7 characters, no emoji; " +
		"push: subject is the title (up to 50 characters), body up to 170 characters; whatsapp: body only. " +
		"Avoid words spam filters score against (free!!!, act now, guarantee, winner, cash). " + dataNote
	user = fmt.Sprintf("Channel: %s\nVariants: %d\nTone: %s\nAudience: ⟦%s⟧\nBrief: ⟦%s⟧",
		req.Channel, req.variants(), Text(cmpOr(req.Tone, "friendly")).Clean(), Text(req.Audience).Clean(), Text(req.Brief).Clean())
	return system, user
}

func (c *Copilot) suggestWithModel(ctx context.Context, caller Caller, req SuggestRequest) ([]Suggestion, error) {
	m, ok := c.o.Model.(JSONModel)
	if !ok {
		return nil, apperr.E(apperr.Internal, "the model engine cannot write JSON")
	}
	system, user := copyPrompt(req)
	var raw string
	err := c.askModel(ctx, caller.TenantID, func(mctx context.Context) (Usage, error) {
		var u Usage
		var err error
		raw, u, err = m.JSON(mctx, system, user)
		return u, err
	})
	if err != nil {
		return nil, err
	}
	var out struct {
		Items []Suggestion `json:"items"`
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil || len(out.Items) == 0 {
		return nil, apperr.E(apperr.Transient, "the model's answer was not the JSON asked for")
	}
	items := out.Items[:min(len(out.Items), req.variants())]
	for i := range items {
		items[i].Body = strings.TrimSpace(items[i].Body)
		if req.Channel == "sms" || req.Channel == "whatsapp" {
			items[i].Subject = ""
		}
		if items[i].Body == "" {
			return nil, apperr.E(apperr.Transient, "the model wrote an empty body")
		}
	}
	return items, nil
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

var (
	rePercent  = regexp.MustCompile(`(\d{1,2})\s?%(\s*(off|discount))?`)
	reCode     = regexp.MustCompile(`(?i)[,;]?\s*\b(?:with |use )?code\s+([A-Z0-9]{3,20})\b`)
	reFreeShip = regexp.MustCompile(`(?i)free (shipping|delivery)`)
	// reAsk is a chat request around a brief: "write an SMS about …".
	reAsk = regexp.MustCompile(`(?i)^\s*(please\s+)?(write|draft|suggest|compose|create|make|give me|come up with)\s+(me\s+)?((an?|some|\d+|three|two)\s+)?` +
		`(sms|texts?|text messages?|emails?|push( notifications?)?|whatsapp( messages?)?|messages?|copy|subject( lines?)?s?)(\s+(about|for|on|announcing|promoting|to promote))?\s*`)
)

// offer finds the offer in a brief: "20% off", "free shipping", a code.
func offer(brief string) (headline, code string) {
	switch {
	case rePercent.MatchString(brief):
		headline = rePercent.FindStringSubmatch(brief)[1] + "% off"
	case reFreeShip.MatchString(brief):
		headline = "free " + strings.ToLower(reFreeShip.FindStringSubmatch(brief)[1])
	}
	if m := reCode.FindStringSubmatch(brief); m != nil {
		code = m[1]
	}
	return headline, code
}

// Brief strips a chat request's own words from a brief ("write an SMS
// about 20% off boots" → "20% off boots").
func Brief(text string) string { return strings.TrimSpace(reAsk.ReplaceAllString(text, "")) }

// topic is the brief's subject without the offer or code, short enough
// for a subject line: "20% off winter boots this weekend, code WARM20" →
// "Winter boots this weekend".
func topic(brief string) string {
	t := strings.TrimSpace(strings.Split(strings.TrimSpace(brief), "\n")[0])
	t = reCode.ReplaceAllString(t, "")
	t = rePercent.ReplaceAllString(t, "")
	t = reFreeShip.ReplaceAllString(t, "")
	t = strings.Join(strings.Fields(t), " ")
	t = strings.TrimLeft(t, " ,.:;-–—and+&")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "on "), "for ")
	if i := strings.IndexAny(t, ".;:!?"); i > 0 {
		t = t[:i]
	}
	if r := []rune(t); len(r) > 40 {
		t = string(r[:40])
		if i := strings.LastIndexByte(t, ' '); i > 20 {
			t = t[:i]
		}
	}
	t = strings.TrimRight(t, " ,-")
	if t == "" {
		return "Something new"
	}
	r := []rune(t)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// templateCopy is the offline writer: the brief's topic and offer in a
// few tested shapes per channel, with the tone's opener.
func templateCopy(req SuggestRequest) []Suggestion {
	name := `{{ customer.first_name | default: "there" }}`
	t := topic(req.Brief)
	brief := strings.TrimRight(strings.TrimSpace(reCode.ReplaceAllString(Text(req.Brief).Clean(), "")), ",;")
	head, code := offer(req.Brief)
	deal := t
	if head != "" {
		deal = head + " " + lowerFirst(t)
		if t == "Something new" {
			deal = head + " everything"
		}
	}
	codeLine := ""
	if code != "" {
		codeLine = " Use code " + code + " at checkout."
	}
	opener := map[string]string{"urgent": "Last chance", "playful": "Psst", "luxury": "An invitation", "professional": "News from {{ shop.name }}"}[strings.ToLower(strings.TrimSpace(req.Tone))]
	if opener == "" {
		opener = "Good news"
	}
	var out []Suggestion
	switch req.Channel {
	case "email":
		out = []Suggestion{
			{Subject: name + ", " + lowerFirst(deal), Body: "Hi " + name + ",\n\n" + sentence(brief) + codeLine + "\n\nTake a look: {{ shop.url }}\n\nThe {{ shop.name }} team\n\nUnsubscribe: {{ unsubscribe_url }}"},
			{Subject: opener + ": " + lowerFirst(deal), Body: "Hello " + name + ",\n\n" + opener + " from {{ shop.name }}. " + sentence(brief) + codeLine + "\n\nShop now: {{ shop.url }}\n\nUnsubscribe: {{ unsubscribe_url }}"},
			{Subject: "Picked for you: " + lowerFirst(t), Body: "Hi " + name + ",\n\nWe thought of you. " + sentence(brief) + codeLine + "\n\n{{ shop.url }}\n\nUnsubscribe: {{ unsubscribe_url }}"},
		}
	case "sms":
		out = []Suggestion{
			{Body: "{{ shop.name }}: " + deal + "." + codeLine + " {{ shop.url }} Reply STOP to opt out"},
			{Body: "Hi " + name + ", " + lowerFirst(deal) + " at {{ shop.name }}." + codeLine + " {{ shop.url }} STOP to opt out"},
			{Body: opener + " from {{ shop.name }}: " + lowerFirst(deal) + ". {{ shop.url }} STOP to opt out"},
		}
	case "push":
		out = []Suggestion{
			{Subject: deal, Body: sentence(brief) + codeLine + " Only at {{ shop.name }}."},
			{Subject: opener + ", " + name, Body: sentence(deal) + " Tap to see it."},
			{Subject: "{{ shop.name }}", Body: deal + "." + codeLine},
		}
	case "whatsapp":
		out = []Suggestion{
			{Body: "Hi " + name + " 👋\n\n" + sentence(brief) + codeLine + "\n\n{{ shop.url }}"},
			{Body: opener + " from {{ shop.name }}: " + lowerFirst(deal) + "." + codeLine + "\n\nSee more: {{ shop.url }}"},
			{Body: "Hello " + name + ", " + lowerFirst(deal) + " is waiting for you at {{ shop.name }}.\n\n{{ shop.url }}"},
		}
	}
	n := req.variants()
	for len(out) < n { // more variants than shapes: the shapes again, numbered
		s := out[len(out)%3]
		if s.Subject != "" {
			s.Subject = fmt.Sprintf("%s (%d)", s.Subject, len(out)+1)
		}
		out = append(out, s)
	}
	return out[:n]
}

func lowerFirst(s string) string {
	if s == "" || strings.HasPrefix(s, "{{") {
		return s
	}
	r := []rune(s)
	if len(r) > 1 && r[1] >= 'A' && r[1] <= 'Z' { // an acronym stays
		return s
	}
	return strings.ToLower(string(r[0])) + string(r[1:])
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r := []rune(s)
	s = strings.ToUpper(string(r[0])) + string(r[1:])
	if !strings.ContainsAny(s[len(s)-1:], ".!?") {
		s += "."
	}
	return s
}
