package meta

import (
	"encoding/hex"
	"testing"
)

// Normalising twice changes nothing: a value PulseHub already normalised
// (or that a merchant typed in normal form) hashes to the same match key.
func FuzzNormalisersIdempotent(f *testing.F) {
	f.Add("  John_Smith@Gmail.COM ", " O'Brien-Smith ", "São Paulo", "California", "37221-3312", "United States")
	f.Add("İstanbul@x.tr", "ǅemal", "ſt. Louis", "TX", "SW1A 1AA", "GB")
	f.Add("", "", "", "Île-de-France", "123456789", "")
	f.Fuzz(func(t *testing.T, email, name, city, state, zip, country string) {
		for _, c := range []struct {
			name string
			norm func(string) string
			in   string
		}{
			{"NormEmail", NormEmail, email}, {"NormName", NormName, name}, {"NormCity", NormCity, city},
			{"NormState", NormState, state}, {"NormCountry", NormCountry, country}, {"NormExternalID", NormExternalID, name},
			{"NormZip", func(s string) string { return NormZip(s, country) }, zip},
		} {
			once := c.norm(c.in)
			if twice := c.norm(once); twice != once {
				t.Fatalf("%s(%q) = %q, but %s(%q) = %q", c.name, c.in, once, c.name, once, twice)
			}
		}
	})
}

// UserDataOf sends exactly one lower-case SHA-256 per non-empty normalised
// identifier, the hash of that normal form, and nothing for an empty one.
func FuzzUserDataOf(f *testing.F) {
	f.Add("A@B.co", "(650)555-1212", "Mary", "Valéry", "Menlo Park", "CA", "94025", "US", "c_1")
	f.Add(" ", "+", "'", "-", " ", "", "- ", "", " ")
	f.Fuzz(func(t *testing.T, email, phone, fn, ln, city, state, zip, country, ext string) {
		u := UserDataOf(Person{Email: email, Phone: phone, FirstName: fn, LastName: ln, City: city, State: state, Zip: zip, Country: country, ExternalID: ext})
		for _, c := range []struct {
			field string
			got   []string
			norm  string
		}{
			{"em", u.Em, NormEmail(email)}, {"ph", u.Ph, NormPhone(phone, "1")}, {"fn", u.Fn, NormName(fn)}, {"ln", u.Ln, NormName(ln)},
			{"ct", u.Ct, NormCity(city)}, {"st", u.St, NormState(state)}, {"zp", u.Zp, NormZip(zip, country)},
			{"country", u.Country, NormCountry(country)}, {"external_id", u.ExternalID, NormExternalID(ext)},
		} {
			if c.norm == "" {
				if len(c.got) != 0 {
					t.Fatalf("%s: %v sent for an empty value", c.field, c.got)
				}
				continue
			}
			if len(c.got) != 1 || c.got[0] != Hash(c.norm) || len(c.got[0]) != 64 {
				t.Fatalf("%s: %v for %q", c.field, c.got, c.norm)
			}
			if b, err := hex.DecodeString(c.got[0]); err != nil || hex.EncodeToString(b) != c.got[0] {
				t.Fatalf("%s: %q is not lower-case hex", c.field, c.got[0])
			}
		}
		if u.Empty() != (len(u.Em)+len(u.Ph)+len(u.Fn)+len(u.Ln)+len(u.ExternalID) == 0) {
			t.Fatalf("Empty() = %v for %+v", u.Empty(), u)
		}
	})
}
