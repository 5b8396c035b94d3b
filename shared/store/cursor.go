package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// cursorCodec turns a position into an opaque string and back: the one
// cursor format of the API. The cursor carries an HMAC over the query
// scope and the position, so a client can neither forge a position nor
// reuse a cursor on another tenant's partition or another query. A position
// is a map of strings: a LastEvaluatedKey (every key attribute in the table
// is a string) or a caller's own positions (SignCursor).
type cursorCodec struct{ secret []byte }

var errBadCursor = &apperr.Error{Kind: apperr.Invalid, Field: "cursor", Message: "cursor is invalid or belongs to another query"}

// Scopes of the two kinds of cursor are kept apart, so a key cursor can
// never be opened as a caller's position or the reverse.
const (
	keyScope = "key\x00"
	posScope = "pos\x00"
)

func (c cursorCodec) encode(scope string, key map[string]types.AttributeValue) (string, error) {
	plain := make(map[string]string, len(key))
	for k, v := range key {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("store: cursor key %s is not a string attribute", k)
		}
		plain[k] = s.Value
	}
	return c.sign(keyScope+scope, plain)
}

func (c cursorCodec) decode(scope, cursor string) (map[string]types.AttributeValue, error) {
	plain, err := c.open(keyScope+scope, cursor)
	if err != nil {
		return nil, err
	}
	key := make(map[string]types.AttributeValue, len(plain))
	for k, v := range plain {
		key[k] = &types.AttributeValueMemberS{Value: v}
	}
	return key, nil
}

func (c cursorCodec) sign(scope string, plain map[string]string) (string, error) {
	body, err := json.Marshal(plain)
	if err != nil {
		return "", fmt.Errorf("store: cursor: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(c.mac(scope, body)), nil
}

func (c cursorCodec) open(scope, cursor string) (map[string]string, error) {
	// Strict: a cursor has exactly one spelling, so only what sign
	// produced is accepted (no variants in the unused trailing bits).
	enc := base64.RawURLEncoding.Strict()
	// The decoder skips \r and \n; refuse them (and anything else outside
	// the alphabet) up front so no second spelling gets through.
	if len(cursor) > maxCursor || strings.ContainsFunc(cursor, notCursorChar) {
		return nil, errBadCursor
	}
	b64body, b64mac, ok := strings.Cut(cursor, ".")
	if !ok {
		return nil, errBadCursor
	}
	body, err1 := enc.DecodeString(b64body)
	mac, err2 := enc.DecodeString(b64mac)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, c.mac(scope, body)) {
		return nil, errBadCursor
	}
	var plain map[string]string
	if err := json.Unmarshal(body, &plain); err != nil || len(plain) == 0 {
		return nil, errBadCursor
	}
	return plain, nil
}

// SignCursor returns the cursor of a caller's own position pos (not empty)
// bound to scope, for a listing that pages over several queries at once
// (the customer list keeps one position per shard). OpenCursor reads it
// back; both use the table's cursor secret and format.
func (t *Table) SignCursor(scope string, pos map[string]string) (string, error) {
	return t.cursor.sign(posScope+scope, pos)
}

// OpenCursor returns the position SignCursor signed for scope, or an
// apperr.Invalid error (field "cursor") for anything else.
func (t *Table) OpenCursor(scope, cursor string) (map[string]string, error) {
	return t.cursor.open(posScope+scope, cursor)
}

// maxCursor bounds the work an attacker can ask of decode; real cursors
// (at most four key attributes of at most 2 KB each) fit well within it.
const maxCursor = 16 << 10

func notCursorChar(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

func (c cursorCodec) mac(scope string, body []byte) []byte {
	h := hmac.New(sha256.New, c.secret)
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)[:16]
}
