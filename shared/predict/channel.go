package predict

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// Beta is a Beta(Alpha, Beta) distribution: the posterior of a rate after
// Alpha-1 successes and Beta-1 failures on a uniform prior, or on any prior
// Beta(α0, β0) after Alpha-α0 and Beta-β0.
type Beta struct {
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
}

// Mean is the posterior mean rate.
func (b Beta) Mean() float64 { return b.Alpha / (b.Alpha + b.Beta) }

// Observe returns the posterior after successes out of trials more.
func (b Beta) Observe(successes, trials float64) Beta {
	return Beta{Alpha: b.Alpha + successes, Beta: b.Beta + trials - successes}
}

func (b Beta) valid() bool { return b.Alpha > 0 && b.Beta > 0 }

// ChannelOption is a channel a message could go out on, with what is known
// of it for the customer's segment.
type ChannelOption struct {
	Channel    string
	Conversion Beta    // posterior of P(conversion | a message on this channel), for the segment
	CostCents  float64 // what one message costs
}

// ChannelChoice is ChooseChannel's answer.
type ChannelChoice struct {
	Channel string
	// Sampled is the net value per message (cents) of the draw that won.
	Sampled float64
	// Expected is the chosen channel's posterior mean net value per message.
	Expected float64
}

// ErrNoChannel means none of the options is allowed for the customer.
var ErrNoChannel = errors.New("predict: no allowed channel")

// ChooseChannel picks the channel for one message by Thompson sampling: for
// each option whose channel is in allowed (the channels the customer
// consented to and can receive), draw a conversion rate from its posterior
// and value it at rate × valueCents − CostCents; the largest draw wins.
// Channels are explored in proportion to the chance that they are the best,
// so a channel that is probably worse is still tried now and then until the
// data rule it out. valueCents is what a conversion is worth (an average
// order, or the customer's predicted order value). rng makes the choice
// reproducible.
func ChooseChannel(rng *rand.Rand, options []ChannelOption, allowed []string, valueCents float64) (ChannelChoice, error) {
	var best ChannelChoice
	found := false
	for _, o := range options {
		if !slices.Contains(allowed, o.Channel) {
			continue
		}
		if !o.Conversion.valid() {
			return ChannelChoice{}, fmt.Errorf("predict: channel %q: conversion posterior Beta(%g, %g): want both parameters > 0", o.Channel, o.Conversion.Alpha, o.Conversion.Beta)
		}
		rate := distuv.Beta{Alpha: o.Conversion.Alpha, Beta: o.Conversion.Beta, Src: rng}.Rand()
		v := rate*valueCents - o.CostCents
		if !found || v > best.Sampled {
			best = ChannelChoice{Channel: o.Channel, Sampled: v, Expected: o.Conversion.Mean()*valueCents - o.CostCents}
			found = true
		}
	}
	if !found {
		return ChannelChoice{}, fmt.Errorf("%w among %d options for allowed channels %q", ErrNoChannel, len(options), allowed)
	}
	return best, nil
}
