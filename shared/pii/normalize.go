package pii

import (
	"strings"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// NormalizeEmail trims and lowercases an email address, so that the blind
// index of "Ann@Example.com " equals that of "ann@example.com".
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// NormalizePhone returns a phone number in E.164 form ("+" and 8 to 15
// digits). Spaces, dashes, dots and parentheses are dropped and a leading
// "00" counts as "+". A number without a country code is rejected: guessing
// the country would index the same person under two values.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "00"):
		s = s[2:]
	default:
		return "", apperr.E(apperr.Invalid, "phone number must start with + and a country code (E.164)")
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", apperr.E(apperr.Invalid, "phone number contains %q; only digits, spaces, dashes, dots and parentheses are allowed", r)
		}
	}
	out := b.String()
	if n := len(out) - 1; n < 8 || n > 15 || out[1] == '0' {
		return "", apperr.E(apperr.Invalid, "phone number must have 8 to 15 digits after the + and a country code not starting with 0")
	}
	return out, nil
}
