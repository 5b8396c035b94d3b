package sms

import "unicode/utf16"

// Encodings of an SMS body.
const (
	GSM7 = "GSM-7"
	UCS2 = "UCS-2"
)

// Segment sizes: a single message holds 160 GSM-7 septets or 70 UCS-2
// code units; in a concatenated message each part loses room to its
// 6-byte header, leaving 153 septets or 67 code units.
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// gsmBasic is the GSM 03.38 default alphabet (one septet each).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtended is the default alphabet's extension table: each costs an
// escape septet plus its own, two in all.
const gsmExtended = "\f^{}\\[~]|€"

var gsmCost = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtended {
		m[r] = 2
	}
	return m
}()

// Info is how an SMS body travels: its encoding, its length in that
// encoding's units (septets, or UTF-16 code units) and the number of
// segments carriers bill.
type Info struct {
	Encoding string `json:"encoding"`
	Units    int    `json:"units"`
	Segments int    `json:"segments"`
	// PerSegment is the room of one segment at this length (160/153 or 70/67).
	PerSegment int `json:"perSegment"`
}

// Segments returns the encoding and segment count of body. A body that
// fits the GSM-7 alphabet (extension characters cost two septets) goes as
// GSM-7, anything else as UCS-2, where a character outside the Basic
// Multilingual Plane (most emoji) takes two code units. A concatenated
// message never splits an escape sequence or a surrogate pair across two
// segments, so such a character at a boundary moves to the next segment,
// as handsets and Twilio count it. An empty body is one segment.
func Segments(body string) Info {
	units := make([]int, 0, len(body)) // cost of each character in its encoding
	enc := GSM7
	for _, r := range body {
		c, ok := gsmCost[r]
		if !ok {
			enc = UCS2
			break
		}
		units = append(units, c)
	}
	single, part := gsmSingle, gsmPart
	if enc == UCS2 {
		single, part = ucs2Single, ucs2Part
		units = units[:0]
		for _, r := range body {
			units = append(units, utf16.RuneLen(r))
		}
	}
	total := 0
	for _, u := range units {
		total += u
	}
	if total <= single {
		return Info{Encoding: enc, Units: total, Segments: 1, PerSegment: single}
	}
	segs, used := 1, 0
	for _, u := range units {
		if used+u > part {
			segs++
			used = 0
		}
		used += u
	}
	return Info{Encoding: enc, Units: total, Segments: segs, PerSegment: part}
}
