package meta

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// Hash is Meta's hashing: the lower-case hex SHA-256 of the normalised value.
func Hash(normalised string) string {
	sum := sha256.Sum256([]byte(normalised))
	return hex.EncodeToString(sum[:])
}

// NormEmail trims and lower-cases an email ("em").
func NormEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormPhone keeps digits only and drops leading zeros (an international
// "00" prefix, a trunk "0"), as Meta asks ("ph"). Meta needs the country
// code; a 10-digit national number gets defaultCountryCode (e.g. "1").
func NormPhone(s, defaultCountryCode string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := strings.TrimLeft(b.String(), "0")
	if len(d) == 10 && !strings.HasPrefix(strings.TrimSpace(s), "+") && defaultCountryCode != "" {
		d = defaultCountryCode + d
	}
	return d
}

// NormName lower-cases and removes punctuation, symbols and spaces from a
// first or last name ("fn", "ln"); letters outside a-z stay, in UTF-8.
func NormName(s string) string { return lettersDigits(s) }

// NormCity lower-cases and removes punctuation and spaces ("ct").
func NormCity(s string) string { return lettersDigits(s) }

// NormState returns the lower-case 2-letter code of a US state name or
// code, or the lower-cased name without punctuation or spaces elsewhere ("st").
func NormState(s string) string {
	n := lettersDigits(s)
	if code, ok := usStates[n]; ok {
		return code
	}
	return n
}

// NormZip lower-cases and removes spaces and dashes ("zp"); a US ZIP+4
// keeps its first 5 digits.
func NormZip(s, country string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r != ' ' && r != '-' {
			b.WriteRune(r)
		}
	}
	z := b.String()
	if (NormCountry(country) == "us" || country == "") && len(z) == 9 && allDigits(z) {
		z = z[:5]
	}
	return z
}

// NormCountry returns the lower-case ISO 3166-1 alpha-2 code ("country").
func NormCountry(s string) string {
	n := lettersDigits(s)
	if len(n) == 2 {
		return n
	}
	if code, ok := countries[n]; ok {
		return code
	}
	return n
}

// NormExternalID trims an advertiser id; Meta recommends hashing it too.
func NormExternalID(s string) string { return strings.TrimSpace(s) }

func lettersDigits(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

var countries = map[string]string{
	"unitedstates": "us", "unitedstatesofamerica": "us", "usa": "us", "canada": "ca", "unitedkingdom": "gb",
	"greatbritain": "gb", "germany": "de", "france": "fr", "spain": "es", "italy": "it", "australia": "au",
	"netherlands": "nl", "ireland": "ie", "mexico": "mx", "brazil": "br", "japan": "jp", "india": "in",
}

var usStates = func() map[string]string {
	names := map[string]string{
		"alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca", "colorado": "co",
		"connecticut": "ct", "delaware": "de", "districtofcolumbia": "dc", "florida": "fl", "georgia": "ga",
		"hawaii": "hi", "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia", "kansas": "ks",
		"kentucky": "ky", "louisiana": "la", "maine": "me", "maryland": "md", "massachusetts": "ma",
		"michigan": "mi", "minnesota": "mn", "mississippi": "ms", "missouri": "mo", "montana": "mt",
		"nebraska": "ne", "nevada": "nv", "newhampshire": "nh", "newjersey": "nj", "newmexico": "nm",
		"newyork": "ny", "northcarolina": "nc", "northdakota": "nd", "ohio": "oh", "oklahoma": "ok",
		"oregon": "or", "pennsylvania": "pa", "rhodeisland": "ri", "southcarolina": "sc", "southdakota": "sd",
		"tennessee": "tn", "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
		"westvirginia": "wv", "wisconsin": "wi", "wyoming": "wy",
	}
	m := make(map[string]string, 2*len(names))
	for n, c := range names {
		m[n] = c
		m[c] = c
	}
	return m
}()

// Person is what PulseHub knows about a customer, in plain text.
type Person struct {
	Email, Phone, FirstName, LastName string
	City, State, Zip, Country         string
	ExternalID                        string // PulseHub's customer id
	ClientIP, UserAgent               string // sent unhashed, as Meta requires
	Fbc, Fbp                          string // Meta's click and browser ids, unhashed
}

// UserData is CAPI's user_data: hashed identifiers plus the unhashed
// browser fields.
type UserData struct {
	Em              []string `json:"em,omitempty"`
	Ph              []string `json:"ph,omitempty"`
	Fn              []string `json:"fn,omitempty"`
	Ln              []string `json:"ln,omitempty"`
	Ct              []string `json:"ct,omitempty"`
	St              []string `json:"st,omitempty"`
	Zp              []string `json:"zp,omitempty"`
	Country         []string `json:"country,omitempty"`
	ExternalID      []string `json:"external_id,omitempty"`
	ClientIPAddress string   `json:"client_ip_address,omitempty"`
	ClientUserAgent string   `json:"client_user_agent,omitempty"`
	Fbc             string   `json:"fbc,omitempty"`
	Fbp             string   `json:"fbp,omitempty"`
}

// UserDataOf normalises and hashes p. Empty values are left out (Meta
// rejects the hash of an empty string as a match key).
func UserDataOf(p Person) UserData {
	h := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{Hash(v)}
	}
	return UserData{
		Em: h(NormEmail(p.Email)), Ph: h(NormPhone(p.Phone, "1")),
		Fn: h(NormName(p.FirstName)), Ln: h(NormName(p.LastName)),
		Ct: h(NormCity(p.City)), St: h(NormState(p.State)), Zp: h(NormZip(p.Zip, p.Country)),
		Country: h(NormCountry(p.Country)), ExternalID: h(NormExternalID(p.ExternalID)),
		ClientIPAddress: strings.TrimSpace(p.ClientIP), ClientUserAgent: p.UserAgent, Fbc: p.Fbc, Fbp: p.Fbp,
	}
}

// Empty reports whether u carries no identifier Meta can match on.
func (u UserData) Empty() bool {
	return len(u.Em)+len(u.Ph)+len(u.ExternalID)+len(u.Fn)+len(u.Ln) == 0 && u.ClientIPAddress == "" && u.Fbc == "" && u.Fbp == ""
}
