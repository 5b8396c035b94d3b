package meta

import "testing"

// Vectors from Meta's customer information parameters documentation
// (input, normalised form and the expected SHA-256 it publishes).
func TestMetaDocumentedVectors(t *testing.T) {
	tests := []struct {
		param, input, norm, hash string
		f                        func(string) string
	}{
		{"em", "John_Smith@gmail.com", "john_smith@gmail.com", "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f", NormEmail},
		{"ph", "(650)555-1212", "16505551212", "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176", func(s string) string { return NormPhone(s, "1") }},
		{"fn", "Mary", "mary", "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec", NormName},
		{"fn", "정", "정", "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14", NormName},
		{"fn", "Valéry", "valéry", "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c", NormName},
	}
	for _, tt := range tests {
		t.Run(tt.param+" "+tt.input, func(t *testing.T) {
			n := tt.f(tt.input)
			if n != tt.norm {
				t.Fatalf("normalised %q to %q, want %q", tt.input, n, tt.norm)
			}
			if h := Hash(n); h != tt.hash {
				t.Fatalf("Hash(%q) = %s, want %s", n, h, tt.hash)
			}
		})
	}
}

func TestNormalisationRules(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"email spaces", NormEmail("  Person@Example.COM "), "person@example.com"},
		{"phone +44", NormPhone("+44 844 412 4653", "1"), "448444124653"},
		{"phone 00 prefix", NormPhone("0044 844 412 4653", "1"), "448444124653"},
		{"phone with country code kept", NormPhone("+1 (616) 954-78 88", "1"), "16169547888"},
		{"name punctuation", NormName(" O'Brien-Smith "), "obriensmith"},
		{"city spaces", NormCity("Menlo Park"), "menlopark"},
		{"city accents", NormCity("São Paulo"), "sãopaulo"},
		{"state name", NormState("California"), "ca"},
		{"state code", NormState("TX"), "tx"},
		{"state abroad", NormState("Île-de-France"), "îledefrance"},
		{"zip us+4", NormZip("37221-3312", "US"), "37221"},
		{"zip uk", NormZip("SW1A 1AA", "GB"), "sw1a1aa"},
		{"country code", NormCountry("US"), "us"},
		{"country name", NormCountry("United States"), "us"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestUserDataHashesIdentifiersOnly(t *testing.T) {
	u := UserDataOf(Person{Email: "A@B.co", ClientIP: "203.0.113.7", UserAgent: "Mozilla/5.0", ExternalID: "c_1"})
	if len(u.Em) != 1 || u.Em[0] != Hash("a@b.co") || u.ExternalID[0] != Hash("c_1") {
		t.Fatalf("hashed fields wrong: %+v", u)
	}
	if u.ClientIPAddress != "203.0.113.7" || u.ClientUserAgent != "Mozilla/5.0" {
		t.Fatalf("browser fields must stay unhashed: %+v", u)
	}
	if u.Ph != nil || u.Fn != nil {
		t.Fatalf("empty values must be left out: %+v", u)
	}
}

func FuzzNormPhone(f *testing.F) {
	f.Add("(650)555-1212")
	f.Add("+44 844 412 4653")
	f.Fuzz(func(t *testing.T, s string) {
		n := NormPhone(s, "1")
		if !allDigits(n) && n != "" {
			t.Fatalf("NormPhone(%q) = %q has non-digits", s, n)
		}
		if len(n) > 0 && n[0] == '0' {
			t.Fatalf("NormPhone(%q) = %q keeps a leading zero", s, n)
		}
	})
}

func FuzzNormZipCountry(f *testing.F) {
	f.Add("37221-3312", "US")
	f.Fuzz(func(t *testing.T, zip, country string) {
		z := NormZip(zip, country)
		for _, r := range z {
			if r == ' ' || r == '-' {
				t.Fatalf("NormZip(%q) = %q keeps a space or dash", zip, z)
			}
		}
		_ = NormCountry(country)
	})
}
