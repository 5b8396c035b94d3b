package sms

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name     string
		body     string
		enc      string
		units    int
		segments int
	}{
		{"empty", "", GSM7, 0, 1},
		{"short", "Hello", GSM7, 5, 1},
		{"160 fit one", a(160), GSM7, 160, 1},
		{"161 need two", a(161), GSM7, 161, 2},
		{"306 fill two parts", a(306), GSM7, 306, 2},
		{"307 need three", a(307), GSM7, 307, 3},
		{"extended chars count two", "{}[]~|^€\\\f", GSM7, 20, 1},
		{"80 euros fit one", strings.Repeat("€", 80), GSM7, 160, 1},
		{"81 euros need two", strings.Repeat("€", 81), GSM7, 162, 2},
		// 306 septets would fill two parts, but the escape pair cannot
		// straddle the boundary after 152 septets: the € moves on, and the
		// last 'a' needs a third part.
		{"escape never split", a(152) + "€" + a(152), GSM7, 306, 3},
		{"Ç is GSM, ç is not", "Ç", GSM7, 1, 1},
		{"ç forces UCS-2", "façade", UCS2, 6, 1},
		{"basic GSM symbols", "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\r\n", GSM7, 44, 1},
		{"70 UCS-2 fit one", strings.Repeat("я", 70), UCS2, 70, 1},
		{"71 UCS-2 need two", strings.Repeat("я", 71), UCS2, 71, 2},
		{"134 UCS-2 fill two parts", strings.Repeat("я", 134), UCS2, 134, 2},
		{"135 UCS-2 need three", strings.Repeat("я", 135), UCS2, 135, 3},
		{"emoji is two code units", strings.Repeat("😀", 35), UCS2, 70, 1},
		{"36 emoji need two", strings.Repeat("😀", 36), UCS2, 72, 2},
		// 134 code units would fill two parts, but the surrogate pair
		// cannot straddle the boundary after 66 units.
		{"surrogate pair never split", a(66) + "😀" + a(66), UCS2, 134, 3},
		{"one non-GSM char makes it all UCS-2", a(100) + "✓", UCS2, 101, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Segments(tt.body)
			if got.Encoding != tt.enc || got.Units != tt.units || got.Segments != tt.segments {
				t.Fatalf("Segments = %+v, want %s %d units %d segments", got, tt.enc, tt.units, tt.segments)
			}
			single, part := 160, 153
			if tt.enc == UCS2 {
				single, part = 70, 67
			}
			if want := map[bool]int{true: single, false: part}[tt.segments == 1]; got.PerSegment != want {
				t.Errorf("PerSegment %d, want %d", got.PerSegment, want)
			}
		})
	}
}

func TestGSMAlphabet(t *testing.T) {
	one, two := 0, 0
	for _, c := range gsmCost {
		switch c {
		case 1:
			one++
		case 2:
			two++
		}
	}
	// 128 default-alphabet positions less the escape; 10 extension characters.
	if one != 127 || two != 10 {
		t.Fatalf("alphabet has %d basic and %d extended characters, want 127 and 10", one, two)
	}
}

func FuzzSegments(f *testing.F) {
	for _, s := range []string{"", "hi", "€{}", "😀x", "façade", strings.Repeat("a", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Segments(s)
		if got.Segments < 1 || got.Units < 0 || (got.Encoding != GSM7 && got.Encoding != UCS2) {
			t.Fatalf("Segments(%q) = %+v", s, got)
		}
		// Never fewer segments than the units need, never more than one per character.
		if got.Units > got.PerSegment && got.Segments*got.PerSegment < got.Units {
			t.Fatalf("Segments(%q) = %+v: too few", s, got)
		}
		if n := len([]rune(s)); n > 0 && got.Segments > n {
			t.Fatalf("Segments(%q) = %+v: more segments than characters", s, got)
		}
	})
}
