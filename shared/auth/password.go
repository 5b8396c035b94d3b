package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Argon2Params are argon2id's cost parameters. Hashes carry their
// parameters (PHC string format), so raising the cost later needs no
// migration: old hashes keep verifying with the parameters they were made with.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultArgon2 costs ~100–300 ms and 64 MiB per hash on a Lambda-class
// CPU (see docs/security.md and BenchmarkHashPassword). Logins are
// throttled before hashing and at most MaxConcurrentHashes run at once per
// process, so hashing is never a CPU or memory exhaustion vector. A
// function, not a variable, so no package can lower the production cost.
func DefaultArgon2() Argon2Params { return Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 2} }

// MaxConcurrentHashes bounds simultaneous argon2id computations per process.
const MaxConcurrentHashes = 4

// Password length bounds; the upper one stops absurd inputs early.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// Hasher hashes and verifies passwords with a bounded number of concurrent
// computations.
type Hasher struct {
	params Argon2Params
	slots  chan struct{}
}

// NewHasher returns a Hasher with params.
func NewHasher(p Argon2Params) *Hasher {
	return &Hasher{params: p, slots: make(chan struct{}, MaxConcurrentHashes)}
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return apperr.Wrap(apperr.Transient, ctx.Err(), "server busy; retry")
	}
}

func (h *Hasher) release() { <-h.slots }

// CheckPassword validates a new password's length.
func CheckPassword(pw string) error {
	if n := len([]rune(pw)); n < MinPasswordLen || len(pw) > MaxPasswordLen {
		return &apperr.Error{Kind: apperr.Invalid, Field: "password", Message: fmt.Sprintf("password must be %d to %d characters", MinPasswordLen, MaxPasswordLen)}
	}
	return nil
}

// Hash returns the PHC-encoded argon2id hash of pw.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, 16)
	rand.Read(salt)
	p := h.params
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether pw matches encoded, in constant time.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	if len(pw) > MaxPasswordLen {
		return false, nil
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parseHash(s string) (Argon2Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	bad := fmt.Errorf("auth: stored password hash is not an argon2id PHC string")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return Argon2Params{}, nil, nil, bad
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 1<<20 {
		return Argon2Params{}, nil, nil, bad
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return Argon2Params{}, nil, nil, bad
	}
	return p, salt, key, nil
}
