package abtest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
)

// Holdout is the arm name of the customers who receive nothing, so the
// campaign's own effect can be measured against them.
const Holdout = "holdout"

// Arm is a variant and its share of the non-holdout customers (weights are
// relative: 1 and 1 split evenly, 3 and 1 three to one).
type Arm struct {
	Name   string
	Weight float64
}

// Plan is how a campaign's customers are split. It must not change while
// the campaign runs: assignments depend on it.
type Plan struct {
	Arms         []Arm
	HoldoutShare float64 // in [0, 1): the share of customers held out
}

// Validate names the first problem with the plan.
func (p Plan) Validate() error {
	if len(p.Arms) == 0 {
		return fmt.Errorf("abtest: a plan needs at least one arm")
	}
	if !(p.HoldoutShare >= 0 && p.HoldoutShare < 1) {
		return fmt.Errorf("abtest: holdout share %v: want 0 ≤ share < 1", p.HoldoutShare)
	}
	seen := map[string]bool{}
	for i, a := range p.Arms {
		switch {
		case a.Name == "" || a.Name == Holdout:
			return fmt.Errorf("abtest: arms[%d].name %q: want a non-empty name other than %q", i, a.Name, Holdout)
		case seen[a.Name]:
			return fmt.Errorf("abtest: arms[%d].name %q: duplicate", i, a.Name)
		case !(a.Weight > 0) || math.IsInf(a.Weight, 0):
			return fmt.Errorf("abtest: arms[%d].weight %v: want a finite weight > 0", i, a.Weight)
		}
		seen[a.Name] = true
	}
	return nil
}

// Assign returns the arm of customerID in campaignID: the same answer every
// time, on every machine, with no stored state. SHA-256 of the pair gives
// two independent uniform numbers: the first decides the holdout, the
// second the arm, so changing the holdout share between campaigns does
// not reshuffle who sees which variant among the others. The plan must be
// valid (Validate).
func (p Plan) Assign(campaignID, customerID string) string {
	h := sha256.Sum256([]byte(campaignID + "\x00" + customerID))
	if p.HoldoutShare > 0 && unit(h[0:8]) < p.HoldoutShare {
		return Holdout
	}
	var total float64
	for _, a := range p.Arms {
		total += a.Weight
	}
	u := unit(h[8:16]) * total
	for _, a := range p.Arms {
		if u < a.Weight {
			return a.Name
		}
		u -= a.Weight
	}
	return p.Arms[len(p.Arms)-1].Name // rounding at the very top of the range
}

// unit maps 8 bytes to a uniform number in [0, 1) with 53 bits.
func unit(b []byte) float64 {
	return float64(binary.BigEndian.Uint64(b)>>11) / (1 << 53)
}
